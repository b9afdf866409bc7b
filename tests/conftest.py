"""Puts this folder on the import path, for ``from oracles import ...`` in every test module.

Pytest's default import mode adds a test module's own folder to the path, so the
modules in ``tests/files/`` would not find ``tests/oracles.py`` on their own (and they
are collected first).
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
