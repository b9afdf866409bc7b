# Everything runs in a local virtual environment that the targets create or reuse.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Fixed inputs of the committed standard data sets: same seed and date, same bytes.
DATA_SEED ?= 20261129
DATA_AS_OF ?= 2026-11-29

.PHONY: help install generate test lint typecheck pytest bench fuzz clean

help:
	@echo "make generate   set up and write the standard data sets into test_data/bookslot/"
	@echo "make test       set up and run lint, type checks and the whole test suite"
	@echo "make bench      benchmarks against factory_boy, Faker and mimesis"
	@echo "make fuzz       property-based tests with many more examples"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,xml,parquet,dask,serve,serve-test,postgres]'
	touch $(STAMP)

install: $(STAMP)

generate: $(STAMP)
	$(BIN)/bookslot-data generate --seed $(DATA_SEED) --as-of $(DATA_AS_OF)
	$(BIN)/bookslot-data validate --as-of $(DATA_AS_OF) test_data/bookslot/*.json test_data/bookslot/*.yaml
	$(BIN)/bookslot-data sample --seed $(DATA_SEED) --as-of $(DATA_AS_OF)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	mkdir -p build/typecheck && ln -sfn ../../factories build/typecheck/bookslot_factories
	$(BIN)/mypy

pytest: $(STAMP)
	.ci/with-postgres.sh $(BIN)/python -m pytest -n auto

test: lint typecheck pytest

bench: $(STAMP)
	.ci/with-postgres.sh $(BIN)/python benchmarks/bench.py

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m fuzz -p no:randomly tests

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist
