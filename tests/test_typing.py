"""The public API type-checks under mypy --strict: ``build()`` returns ``BookslotPayload``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import factories

ROOT = Path(__file__).resolve().parent.parent

SNIPPET = textwrap.dedent(
    """
    from factories import (
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
    factories.seed(77)
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    # The cache plugin may be off (-p no:cacheprovider): then mypy starts cold.
    cache_plugin = getattr(pytestconfig, "cache", None)
    cache = cache_plugin.mkdir("bookslot-mypy") if cache_plugin else tmp_path
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
        'note: Revealed type is "factories.bookslot.BookslotPayload"',
        'note: Revealed type is "list[factories.bookslot.BookslotPayload]"',
        'note: Revealed type is "factories.bookslot.BookslotPayload"',
        'note: Revealed type is "str"',
        'note: Revealed type is "dict[str, str]"',
        'error: Incompatible types in assignment (expression has type "BookslotPayload", '
        'variable has type "int")  [assignment]',
    ], done.stdout
