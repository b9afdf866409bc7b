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


def test_build_is_typed_as_bookslot_payload_under_mypy_strict(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    bookslot_factories.seed(77)
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    # The cache plugin may be off (-p no:cacheprovider): then mypy starts cold.
    cache_plugin = getattr(pytestconfig, "cache", None)
    cache = cache_plugin.mkdir("bookslot-mypy") if cache_plugin else tmp_path
    # mypy cannot see through the editable install's import hook: show it the package
    # under its import name, as a plain pip install would.
    (tmp_path / "path").mkdir()
    (tmp_path / "path" / "bookslot_factories").symlink_to(ROOT / "factories")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--strict",
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            "--hide-error-context",
            str(snippet),
        ],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(tmp_path / "path")},
        capture_output=True,
        text=True,
        timeout=300,
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
