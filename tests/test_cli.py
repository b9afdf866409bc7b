"""The bookslot-data command line, in-process through main() and once as installed."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pty
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
import zipcodes
from bookslot_factories import FIELDS, configure, validate
from bookslot_factories.cli import main
from bookslot_factories.config import LOCATIONS
from bookslot_factories.datasets import STANDARD_SETS
from bookslot_factories.files import load
from oracles import born_on, years_old, zip_miles

AS_OF = "2026-11-29"
AS_OF_DATE = date(2026, 11, 29)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _restore_config():
    yield
    configure(None)


def run(*args: str) -> int:
    return main([*args])


def generate(path: Path, *extra: str, count: int = 25, seed: int = 1) -> int:
    return run(
        "generate", "--output", str(path), "--count", str(count), "--seed", str(seed),
        "--as-of", AS_OF, *extra,
    )  # fmt: skip


def ages(records: list[dict[str, str]]) -> list[int]:
    return [years_old(born_on(record["dob"]), AS_OF_DATE) for record in records]


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml", ".jsonl", ".ndjson", ".csv"])
def test_generate_writes_every_format_by_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    assert generate(path) == 0
    records = load(path, as_of=AS_OF_DATE)
    assert len(records) == 25
    assert all(tuple(r) == FIELDS for r in records)
    assert len({r["email"] for r in records}) == 25


def test_files_load_with_plain_readers(tmp_path: Path) -> None:
    for name in ("a.json", "a.yaml", "a.jsonl", "a.csv"):
        assert generate(tmp_path / name, count=7) == 0
    by_json = json.loads((tmp_path / "a.json").read_text("utf-8"))
    by_yaml = yaml.safe_load((tmp_path / "a.yaml").read_text("utf-8"))
    by_lines = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text("utf-8").splitlines()]
    with (tmp_path / "a.csv").open(newline="", encoding="utf-8") as handle:
        by_csv = list(csv.DictReader(handle))
    assert by_json == by_yaml == by_lines == by_csv
    assert len(by_json) == 7


def test_format_option_overrides_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    assert generate(path, "--format", "csv", count=3) == 0
    assert path.read_text("utf-8").splitlines()[0] == ",".join(FIELDS)


def test_output_dash_writes_json_lines_to_stdout(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    assert run("generate", "--output", "-", "--count", "4", "--seed", "3", "--as-of", AS_OF) == 0
    lines = capsysbinary.readouterr().out.splitlines()
    assert len(lines) == 4
    for line in lines:
        validate(json.loads(line), as_of=AS_OF_DATE)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert generate(a, seed=9) == generate(b, seed=9) == generate(c, seed=10) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".yaml", ".xml"])
def test_workers_do_not_change_the_bytes(tmp_path: Path, suffix: str) -> None:
    # Each worker writes its own blocks into the file, between the format's head and
    # tail that this process writes.
    one, two, three = (tmp_path / f"{n}{suffix}" for n in ("one", "two", "three"))
    assert generate(one, "--workers", "1", "--dynamic-zip", count=25_003) == 0
    assert generate(two, "--workers", "2", "--dynamic-zip", count=25_003) == 0
    assert generate(three, "--workers", "3", "--dynamic-zip", count=25_003) == 0
    digests = {hashlib.sha256(path.read_bytes()).digest() for path in (one, two, three)}
    assert len(digests) == 1


@pytest.mark.parametrize(
    ("flags", "check"),
    [
        (["--young"], lambda rs: all(18 <= a <= 30 for a in ages(rs))),
        (["--senior"], lambda rs: all(65 <= a <= 90 for a in ages(rs))),
        (["--dynamic-location"], lambda rs: [r["zip"] for r in rs[:8]] == list(LOCATIONS)),
        (["--dynamic-phone"], lambda rs: all(r["phone_number"][3:8] == "55501" for r in rs)),
        (["--state", "TX"], lambda rs: all(zipcodes.matching(r["zip"])[0]["state"] == "TX" for r in rs)),
        (["--dynamic-zip"], lambda rs: len({r["zip"] for r in rs}) > 5),
        (["--near", "20678"], lambda rs: all(zip_miles("20678", r["zip"]) <= int(r["zip_distance"]) + 0.01 for r in rs)),
    ],
)  # fmt: skip
def test_variant_flags(tmp_path: Path, flags: list[str], check) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "v.jsonl"
    assert generate(path, *flags, count=40) == 0
    assert check(load(path, as_of=AS_OF_DATE))


def test_standard_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new" / "sets"
    assert run("generate", "--out-dir", str(out), "--seed", "5", "--as-of", AS_OF) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{n}.{f}" for n in STANDARD_SETS for f in ("json", "yaml"))
    assert len(capsys.readouterr().out.splitlines()) == 10
    for name in STANDARD_SETS:
        from_json = load(out / f"{name}.json", as_of=AS_OF_DATE)
        assert len(from_json) == 10
        assert load(out / f"{name}.yaml", as_of=AS_OF_DATE) == from_json
    assert all(a >= 65 for a in ages(load(out / "bookslot_senior_patients.json", as_of=AS_OF_DATE)))
    again = tmp_path / "again"
    assert run("generate", "--out-dir", str(again), "--seed", "5", "--as-of", AS_OF, "-n", "3") == 0
    assert len(load(again / "bookslot_data.json", as_of=AS_OF_DATE)) == 3


def test_committed_data_sets_are_reproducible(tmp_path: Path) -> None:
    # The Makefile's fixed seed and date regenerate the committed files. Names come
    # from Faker's tables, which change between Faker releases, and ZIPs from the
    # zipcodes data set; every other column has its own random stream, so it must
    # match exactly whatever those data sets hold.
    makefile = (ROOT / "Makefile").read_text()
    settings = dict(line.split("?=") for line in makefile.splitlines() if line.startswith("DATA_"))
    seed, as_of = settings["DATA_SEED "].strip(), settings["DATA_AS_OF "].strip()
    assert run("generate", "--out-dir", str(tmp_path), "--seed", seed, "--as-of", as_of) == 0
    committed = ROOT / "test_data" / "bookslot"
    own = (
        "contact_method",
        "verification_code",
        "zip_distance",
        "dob",
        "idNumber",
        "GroupNumber",
        "PayerName",
    )
    for path in sorted(tmp_path.iterdir()):
        new, old = load(path, as_of=as_of), load(committed / path.name, as_of=as_of)
        assert len(new) == len(old) == 10
        for fresh, kept in zip(new, old, strict=True):
            assert [fresh[k] for k in own] == [kept[k] for k in own], path.name
            assert fresh["email"].split(".")[-3:] == kept["email"].split(".")[-3:]


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "--young"],
        ["generate", "--format", "csv"],
        ["generate", "--output", "x.json", "--young", "--senior"],
        ["generate", "--output", "x.json", "--seed", "abc"],
        ["generate", "--output", "x.json", "--seed", "-1"],
        ["generate", "--output", "x.json", "--count", "-5"],
        ["generate", "--output", "x.json", "--count", "100000000000000"],
        ["generate", "--output", "x.json", "--as-of", "2026-13-01"],
        ["generate", "--output", "x.json", "--workers", "0"],
        ["generate", "--output", "x.json", "--format", "toml"],
        ["generate", "--output", "x.json", "--out-dir", "d"],
        ["generate", "--output", "x.json", "--stat", "TX"],  # no abbreviations
        ["--conf", "c.yaml", "sample"],
        ["sample", "--bogus"],
        ["validate"],
        [],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--state", "ZZ"], "state 'ZZ'"),
        (["--near", "99999"], "99999"),
        (["--dynamic-location", "--state", "CA"], "--dynamic-location"),
        (["--output", "{tmp}/missing/x.json"], "missing"),
        (["--output", "{tmp}/x.toml"], "toml"),
        (["--config", "{tmp}/nope.yaml"], "nope.yaml"),
    ],
)
def test_our_errors_exit_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--output" not in args:
        args += ["--output", str(tmp_path / "x.json")]
    assert run("generate", "--seed", "1", *args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("*.json"))


def test_validate_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    assert generate(good, count=5) == 0
    records = json.loads(good.read_text("utf-8"))
    records[1]["zip"] = "ABCDE"
    records[3]["PayerName"] = "Nobody"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(records, indent=2), "utf-8")
    assert run("validate", "--as-of", AS_OF, str(good)) == 0
    capsys.readouterr()
    assert run("validate", "--as-of", AS_OF, str(good), str(bad)) == 1
    err = capsys.readouterr().err
    assert "record 2" in err
    assert "'zip'" in err
    assert "record 4" in err
    assert "'PayerName'" in err
    assert str(good) not in err


def test_validate_follows_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("payers: [Acme Health]\n", "utf-8")
    path = tmp_path / "data.csv"
    assert generate(path, "--config", str(config), count=20) == 0
    with path.open(newline="", encoding="utf-8") as handle:
        assert {row["PayerName"] for row in csv.DictReader(handle)} == {"Acme Health"}
    assert run("validate", "--config", str(config), "--as-of", AS_OF, str(path)) == 0
    assert run("validate", "--as-of", AS_OF, str(path)) == 1
    assert "Acme Health" in capsys.readouterr().err


def test_sample_prints_one_valid_payload(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("sample", "--seed", "4", "--senior", "--dynamic-phone", "--as-of", AS_OF) == 0
    first = capsys.readouterr().out
    payload = json.loads(first)
    validate(payload, as_of=AS_OF_DATE)
    assert ages([payload])[0] >= 65
    assert run("sample", "--seed", "4", "--senior", "--dynamic-phone", "--as-of", AS_OF) == 0
    assert capsys.readouterr().out == first


@pytest.mark.parametrize("command", [[], ["generate"], ["validate"], ["sample"]])
def test_help_everywhere(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: bookslot-data" in capsys.readouterr().out


def test_installed_console_script(tmp_path: Path) -> None:
    script = shutil.which("bookslot-data", path=str(Path(sys.executable).parent))
    assert script, "the console script is installed with the package"
    out = tmp_path / "x.jsonl"
    args = ["generate", "-o", str(out), "-n", "12", "--seed", "8", "--as-of", AS_OF]
    done = subprocess.run([script, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # silent when stderr is not a terminal
    by_module = tmp_path / "y.jsonl"
    args[2] = str(by_module)
    subprocess.run([sys.executable, "-m", "bookslot_factories", *args], check=True)
    assert out.read_bytes() == by_module.read_bytes()
    bad = subprocess.run(
        [script, "generate", "-o", str(out), "--state", "ZZ"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ")
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "target",
    [["-o", "p.jsonl"], ["--db", "sqlite:///p.db"], ["--db", "sqlite:///p.db", "--workers", "2"]],
    ids=["file", "db", "db-2-workers"],
)
def test_progress_bar_on_a_terminal(tmp_path: Path, target: list[str]) -> None:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bookslot_factories", "generate", *target,
             "-n", "100000", "--seed", "1"],
            cwd=tmp_path,
            stderr=terminal, stdout=subprocess.DEVNULL, check=False, timeout=120,
        )  # fmt: skip
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert done.returncode == 0
    assert b"100,000/100,000 records" in shown


# --- in a real shell, with the installed console script ---------------------------------

BIN = Path(sys.executable).parent


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a bash pipeline with the installed bookslot-data first on the PATH."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("fmt", ["jsonl", "json", "yaml", "csv"])
@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("output", ["-", "/dev/stdout"])
def test_a_closed_pipe_ends_generate_quietly(
    tmp_path: Path, fmt: str, workers: str, output: str
) -> None:
    # As `yes | head` does, but with exit status 0: the reader chose to stop, so a
    # `set -o pipefail` script goes on.
    done = shell(
        f"bookslot-data generate --output {output} --format {fmt} --count 300000 --seed 1 "
        f"--workers {workers} | head -c 1000 >/dev/null",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_validate_reads_standard_input(tmp_path: Path) -> None:
    done = shell(
        f"bookslot-data generate -o - -n 3 --seed 7 --as-of {AS_OF} "
        f"| bookslot-data validate --as-of {AS_OF} -",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    bad = shell(
        f"bookslot-data generate -o - -n 3 --seed 7 --as-of {AS_OF} | sed 's/INS-/ID-/' "
        f"| bookslot-data validate --as-of {AS_OF} -",
        tmp_path,
    )
    assert bad.returncode == 1
    assert "error: <stdin>, record 1, line 1: field 'idNumber'" in bad.stderr
    csv_in = shell(
        f"bookslot-data generate -o - -f csv -n 3 --as-of {AS_OF} "
        f"| bookslot-data validate --format csv --as-of {AS_OF} -",
        tmp_path,
    )
    assert csv_in.returncode == 0, csv_in.stderr


def test_validate_format_reads_any_suffix(tmp_path: Path) -> None:
    done = shell(
        f"bookslot-data generate -o p.txt -f csv -n 4 --as-of {AS_OF} && "
        f"bookslot-data validate --format csv --as-of {AS_OF} p.txt && "
        f"bookslot-data validate -f yml --as-of {AS_OF} p.txt",
        tmp_path,
    )
    assert done.returncode == 1  # the CSV file is not YAML
    assert "p.txt" in done.stderr
    assert "validate --format csv" not in done.stderr
    without = shell(f"bookslot-data validate --as-of {AS_OF} p.txt", tmp_path)
    assert without.returncode == 1
    assert "--format" in without.stderr
    assert "format=" not in without.stderr.replace("--format", "")


def test_one_seed_is_one_stream_sample_is_the_first_generated_record(tmp_path: Path) -> None:
    for variants in ("", "--senior --state TX --dynamic-phone", "--dynamic-location"):
        done = shell(
            f"bookslot-data sample --seed 7 --as-of {AS_OF} {variants} > sample.json && "
            f"bookslot-data generate -o - -n 5 --seed 7 --as-of {AS_OF} {variants} | head -1",
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads((tmp_path / "sample.json").read_text()) == json.loads(done.stdout)


def test_state_in_lower_case_is_refused_with_the_code_suggested(tmp_path: Path) -> None:
    done = shell("bookslot-data generate -o - -n 2 --state tx", tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "did you mean 'TX'?" in done.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_shared_options_go_before_or_after_the_subcommand(tmp_path: Path, where: str) -> None:
    (tmp_path / "bookslot.yaml").write_text("payers: [Acme Health]\n")
    shared = f"--config bookslot.yaml --as-of {AS_OF}"
    command = (
        f"bookslot-data {shared} sample --seed 3"
        if where == "before"
        else f"bookslot-data sample --seed 3 {shared}"
    )
    done = shell(command, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["PayerName"] == "Acme Health"
    check = shell(f"bookslot-data sample {shared} --seed 3 | head -c 1 >/dev/null", tmp_path)
    assert check.returncode == 0


def test_an_unknown_option_shows_the_subcommand_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["generate", "--bogus"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: bookslot-data generate")
    assert "unrecognized arguments: --bogus" in err


def test_help_lists_the_variants_together(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    out = capsys.readouterr().out
    variants = out[out.index("variants:") :]
    for flag in ("--young", "--senior", "--dynamic-zip", "--dynamic-location", "--dynamic-phone"):
        assert flag in variants
    assert "--young" not in out[: out.index("variants:")].split("usage:", 1)[1].split("\n\n", 1)[1]


def test_variants_without_output_name_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--senior"])
    assert "--senior goes only with --output FILE" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["generate", "validate"])
def test_format_help_names_every_registered_format(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bookslot_factories.files import FORMATS

    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    block = out[out.index("--format FORMAT, -f FORMAT") :]
    for name in FORMATS:
        assert f" {name}," in block or f" {name} " in block, name


# --- serve (issue 11) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--max-body", "-1"], "--max-body"),
        (["--max-body", "lots"], "--max-body"),
        (["--max-count", "0x10"], "--max-count"),
        (["--port", "70000"], "--port"),
    ],
)
def test_serve_usage_errors_name_the_option(
    args: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["serve", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err
    assert f"argument {option}" in err
