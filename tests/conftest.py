"""Puts this folder on the import path, for ``from oracles import ...`` in every test module.

Pytest's default import mode adds a test module's own folder to the path, so the
modules in ``tests/files/`` would not find ``tests/oracles.py`` on their own (and they
are collected first).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

# A job started in the background of a non-interactive shell (how CI runners and
# `cmd &` start it) inherits SIGINT ignored, and so would every program the tests
# start: the Ctrl-C tests would see a run that cannot be interrupted. A handler set
# here is reset to the default in each child at exec, as a terminal's shell leaves it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
