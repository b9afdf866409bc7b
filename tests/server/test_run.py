"""``bookslot-data serve`` as a real process: it serves, and Ctrl-C stops it cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest


def test_serve_answers_then_stops_cleanly_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bookslot_factories", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving http://127.0.0.1:"), line
        url = line.split()[1]
        assert httpx.get(f"{url}healthz", timeout=30).json() == {"status": "ok"}
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_a_public_host_is_warned_about() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bookslot_factories", "serve", "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("serving http://0.0.0.0:")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "warning: serving on 0.0.0.0" in err
    assert process.returncode == 0


def test_max_body_limits_what_validate_reads() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bookslot_factories", "serve", "--port", "0", "--max-body", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[1]
        validate = f"{url}api/validate?format=jsonl"
        assert httpx.post(validate, content=b"\n" * 100, timeout=30).status_code == 200
        assert httpx.post(validate, content=b"\n" * 101, timeout=30).status_code == 413
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0


def _peak_rss_kib(pid: int) -> int:
    """The process's peak resident memory (Linux's VmHWM), in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.mark.slow
def test_a_million_records_stream_with_flat_server_memory() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bookslot_factories", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[1]
        params = {"seed": "3", "as_of": "2026-11-29", "format": "jsonl"}
        small = httpx.get(f"{url}api/payloads", params={**params, "count": "20000"}, timeout=60)
        assert small.status_code == 200
        before = _peak_rss_kib(process.pid)
        lines = 0
        with httpx.stream(
            "GET", f"{url}api/payloads", params={**params, "count": "1000000"}, timeout=None
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if lines % 100_000 == 0:
                    assert json.loads(line)["email"].endswith(".com")
                lines += 1
        after = _peak_rss_kib(process.pid)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert lines == 1_000_000
    # 50x the records, and the server's peak grows by less than the size of a block's worth.
    assert after - before < 32 * 1024, f"{before} KiB -> {after} KiB"
