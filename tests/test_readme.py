"""The README's examples run as written, so they cannot rot."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bookslot_factories import FIELDS, configure
from bookslot_factories.config import DEFAULT, load_config
from bookslot_factories.files import load

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def python_block(marker: str) -> str:
    (found,) = [block for block in blocks("python") if marker in block]
    return found


def test_the_two_commands_come_first() -> None:
    first_block = blocks("sh")[0]
    assert "make generate" in first_block
    assert "make test" in first_block
    assert README.index("make generate") < 30 * 80


def test_quick_start_runs_as_a_test_module(pytester: pytest.Pytester) -> None:
    quick_start = blocks("python")[0]
    assert len(quick_start.strip().splitlines()) <= 15
    pytester.makepyfile(test_quick_start=quick_start)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert len(load(pytester.path / "patients.yaml")) == 100


def test_fixture_examples_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures=python_block("def test_default"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_wider_scope_fixture_example_is_order_independent(pytester: pytest.Pytester) -> None:
    example = python_block('scope="module"')
    record = "\n\ndef test_record(patients):\n    print('EMAILS', sorted(p['email'] for p in patients))\n"
    pytester.makepyfile(test_scoped=example + record)
    runs = [
        pytester.runpytest_subprocess("-s", "-p", "no:randomly", "--bookslot-seed=3", *select)
        for select in ([], ["-k", "test_record"])
    ]
    for result in runs:
        assert result.ret == 0
    emails = [
        [line[line.index("EMAILS") :] for line in r.outlines if "EMAILS" in line] for r in runs
    ]
    assert emails[0] == emails[1]
    assert len(emails[0]) == 1


def test_block_recipe_matches_the_cli(tmp_path: Path) -> None:
    recipe = python_block("ProcessPoolExecutor")
    script = tmp_path / "recipe.py"
    script.write_text(
        recipe + "\n    import json, sys\n    json.dump(records, open(sys.argv[1], 'w'))\n",
        "utf-8",
    )
    out = tmp_path / "recipe.json"
    subprocess.run([sys.executable, str(script), str(out)], check=True, cwd=tmp_path)
    by_recipe = json.loads(out.read_text("utf-8"))
    cli = tmp_path / "cli.jsonl"
    args = ["generate", "-o", str(cli), "-n", "25000", "--seed", "7", "--as-of", "2026-11-29"]
    subprocess.run([sys.executable, "-m", "bookslot_factories", *args, "--senior"], check=True)
    assert [json.loads(line) for line in cli.read_text("utf-8").splitlines()] == by_recipe


def test_command_line_examples_run(tmp_path: Path) -> None:
    (tmp_path / "test_data" / "bookslot").mkdir(parents=True)
    commands = [
        line
        for block in blocks("sh")[1:]
        for line in block.splitlines()
        if line.startswith("bookslot-data")
    ]
    assert len(commands) >= 5
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        # A smaller count keeps the suite fast; everything else runs as written, in a shell.
        done = subprocess.run(
            command.replace("1000000", "20000"),
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
    assert len(load(tmp_path / "patients.jsonl")) == 20000


def test_config_example_loads(tmp_path: Path) -> None:
    example = next(b for b in blocks("yaml") if "email_domains" in b)
    path = tmp_path / "bookslot.yaml"
    path.write_text(example, "utf-8")
    try:
        cfg = configure(load_config(path))
        assert cfg.payers == ("Aetna Health", "Humana")
        assert cfg.locations == ("20678", "10001", "60614")
        assert cfg.age_bands == DEFAULT.age_bands
    finally:
        configure(None)


def test_payload_table_lists_the_fields_in_order() -> None:
    table = README[README.index("| field | value | rule |") :].split("\n\n")[0]
    names = re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", table, flags=re.MULTILINE)
    listed = [name for pair in names for name in pair if name]
    assert tuple(listed) == FIELDS
