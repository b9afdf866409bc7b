"""``bookslot-data serve`` as a real process: it serves, and Ctrl-C stops it cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest


@dataclass
class Served:
    """A running ``serve`` process, the first line it printed, and, once stopped, its end."""

    process: subprocess.Popen[str]
    line: str
    err: str = ""

    @property
    def url(self) -> str:
        return self.line.split()[1]

    def interrupt(self) -> None:
        """Press Ctrl-C and wait for the process to end."""
        self.process.send_signal(signal.SIGINT)
        _, self.err = self.process.communicate(timeout=30)


@contextmanager
def serving(*options: str) -> Iterator[Served]:
    """Run ``bookslot-data serve --port 0 OPTIONS``; kill it if the test did not stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bookslot_factories", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield Served(process, process.stdout.readline())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_answers_then_stops_cleanly_on_ctrl_c() -> None:
    with serving() as served:
        assert served.line.startswith("serving http://127.0.0.1:"), served.line
        assert httpx.get(f"{served.url}healthz", timeout=30).json() == {"status": "ok"}
        served.interrupt()
    assert served.process.returncode == 0, served.err
    assert "Traceback" not in served.err


def test_a_public_host_is_warned_about() -> None:
    with serving("--host", "0.0.0.0") as served:
        assert served.line.startswith("serving http://0.0.0.0:")
        served.interrupt()
    assert "warning: serving on 0.0.0.0" in served.err
    assert served.process.returncode == 0


def test_max_body_limits_what_validate_reads() -> None:
    with serving("--max-body", "100") as served:
        validate = f"{served.url}api/validate?format=jsonl"
        assert httpx.post(validate, content=b"\n" * 100, timeout=30).status_code == 200
        assert httpx.post(validate, content=b"\n" * 101, timeout=30).status_code == 413
        served.interrupt()
    assert served.process.returncode == 0


def _peak_rss_kib(pid: int) -> int:
    """The process's peak resident memory (Linux's VmHWM), in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.mark.slow
def test_a_million_records_stream_with_flat_server_memory() -> None:
    with serving() as served:
        url = served.url
        params = {"seed": "3", "as_of": "2026-11-29", "format": "jsonl"}
        small = httpx.get(f"{url}api/payloads", params={**params, "count": "20000"}, timeout=60)
        assert small.status_code == 200
        before = _peak_rss_kib(served.process.pid)
        lines = 0
        with httpx.stream(
            "GET", f"{url}api/payloads", params={**params, "count": "1000000"}, timeout=None
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if lines % 100_000 == 0:
                    assert json.loads(line)["email"].endswith(".com")
                lines += 1
        after = _peak_rss_kib(served.process.pid)
        served.interrupt()
    assert lines == 1_000_000
    # 50x the records, and the server's peak grows by less than the size of a block's worth.
    assert after - before < 32 * 1024, f"{before} KiB -> {after} KiB"
