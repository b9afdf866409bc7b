"""The public API type-checks under mypy --strict: ``build()`` returns ``BookslotPayload``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import bookslot_factories
import pytest

ROOT = Path(__file__).resolve().parent.parent

SNIPPET = textwrap.dedent(
    """
    from bookslot_factories import (
        BookslotPayload,
        BookslotPayloadFactory,
        generate_bookslot_payload,
        seed,
    )

    seed(1)
    payload = BookslotPayloadFactory.build()
    reveal_type(payload)
    reveal_type(BookslotPayloadFactory.build_batch(2))
    reveal_type(BookslotPayloadFactory.create())
    reveal_type(payload["email"])
    reveal_type(generate_bookslot_payload())
    typed: BookslotPayload = payload
    wrong: int = BookslotPayloadFactory.build()
    """
)


def mypy(
    source: Path, tmp_path: Path, cache: Path, config: Path = ROOT / "pyproject.toml"
) -> subprocess.CompletedProcess[str]:
    """Run mypy --strict on one file, with the package as a user's install has it."""
    # mypy cannot see through the editable install's import hook: show it the package
    # under its import name, as a plain pip install would.
    (tmp_path / "path").mkdir(exist_ok=True)
    link = tmp_path / "path" / "bookslot_factories"
    if not link.exists():
        link.symlink_to(ROOT / "factories")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--strict",
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--hide-error-context",
            str(source),
        ],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(tmp_path / "path")},
        capture_output=True,
        text=True,
        timeout=300,
    )


USER_FACTORIES = textwrap.dedent(
    """
    from __future__ import annotations

    import factory
    import factory.fuzzy

    from bookslot_factories import BookslotPayloadFactory


    class ClinicPayloadFactory(BookslotPayloadFactory):
        first_name = factory.Faker("first_name_female")
        last_name = "Smith"
        email = factory.LazyAttribute(lambda o: f"{o.first_name}.smith@mailinator.com".lower())
        zip = factory.Iterator(["20678", "10001"])
        contact_method = factory.fuzzy.FuzzyChoice(["Text", "Call"])
        idNumber = factory.Sequence(lambda n: f"INS-{n:05d}")
        PayerName = factory.LazyFunction(lambda: "Humana")
        notes = factory.Faker("sentence")


    payload = ClinicPayloadFactory.build(senior=True)
    name: str = payload["first_name"]
    """
)


def test_a_users_subclass_that_overrides_fields_type_checks(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    source = tmp_path / "factories.py"
    source.write_text(USER_FACTORIES, encoding="utf-8")
    cache_plugin = getattr(pytestconfig, "cache", None)
    cache = cache_plugin.mkdir("bookslot-mypy") if cache_plugin else tmp_path
    # A user's strict config: factory_boy's functions are unannotated and its top-level
    # names re-exported, which --strict reports at every call whatever the base class,
    # so a strict user allows those two for factory_boy. Every other check stays on, the
    # override checks among them; our package is checked as installed (silently).
    config = tmp_path / "mypy.ini"
    config.write_text(
        "[mypy]\nstrict = True\n"
        "[mypy-factories]\nallow_untyped_calls = True\n"
        "[mypy-factory.*]\nimplicit_reexport = True\n"
        "[mypy-bookslot_factories.*]\nfollow_imports = silent\n"
    )
    done = mypy(source, tmp_path, cache, config=config)
    assert done.returncode == 0, done.stdout + done.stderr


def test_build_is_typed_as_bookslot_payload_under_mypy_strict(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    bookslot_factories.seed(77)
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    # The cache plugin may be off (-p no:cacheprovider): then mypy starts cold.
    cache_plugin = getattr(pytestconfig, "cache", None)
    done = mypy(
        snippet, tmp_path, cache_plugin.mkdir("bookslot-mypy") if cache_plugin else tmp_path
    )
    # Older mypy versions spell builtins as "builtins.str"; newer ones as "str".
    lines = [
        line.split(":", 2)[2].strip().replace("builtins.", "")
        for line in done.stdout.splitlines()
        if line.startswith(str(snippet)) or line.startswith("snippet.py")
    ]
    assert done.returncode == 1, done.stdout + done.stderr  # exactly the one planted error
    assert lines == [
        'note: Revealed type is "bookslot_factories.model.BookslotPayload"',
        'note: Revealed type is "list[bookslot_factories.model.BookslotPayload]"',
        'note: Revealed type is "bookslot_factories.model.BookslotPayload"',
        'note: Revealed type is "str"',
        'note: Revealed type is "dict[str, str]"',
        'error: Incompatible types in assignment (expression has type "BookslotPayload", '
        'variable has type "int")  [assignment]',
    ], done.stdout
