"""Benchmarks of ``bookslot-data serve`` (issue 11), called by ``bench.py``.

- A million JSON Lines records streamed over loopback and read by httpx, against the
  CLI writing the same records to a file (whole process); the bytes must be equal.
- ``GET /api/payload`` p50 latency beside a plain uvicorn "hello" app, in the same run.
- A bounded load test: ``connections`` clients for ``seconds`` on ``/api/payload``.

Run alone with small numbers: ``python benchmarks/bench_serve.py --count 20000``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CLI = [sys.executable, "-m", "bookslot_factories"]
HELLO = """
import socket, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})
# IPPROTO_TCP named: asyncio sets TCP_NODELAY only then (as bookslot-data serve).
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
sock.listen(2048)
print(f"serving http://127.0.0.1:{sock.getsockname()[1]}/", flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])
"""


@contextmanager
def server(command: list[str]) -> Iterator[str]:
    """A server process that prints ``serving URL`` first; its URL until it is stopped."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().split()[1].rstrip("/")
    finally:
        process.terminate()
        process.wait(30)


def p50_ms(client: httpx.Client, url: str, requests: int) -> float:
    """Median wall time of ``requests`` sequential GETs on one kept-alive connection."""
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(url).raise_for_status()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def load(url: str, connections: int, seconds: float) -> tuple[int, int]:
    """Requests answered 200 and others, with ``connections`` clients for ``seconds``."""
    ok = failed = 0
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal ok, failed
            while time.monotonic() < end:
                try:
                    response = await client.get(url)
                except httpx.HTTPError:
                    failed += 1
                    continue
                if response.status_code == 200:
                    ok += 1
                else:
                    failed += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return ok, failed


def run(
    big: int,
    folder: Path,
    record: Callable[[str, str, str, bool], None],
    at_least: Callable[[str, float, float], None],
    *,
    requests: int = 300,
    connections: int = 20,
    seconds: float = 10,
) -> None:
    """Measure the server; add the summary rows with ``record`` and ``at_least``."""
    args = ["--count", str(big), "--seed", "5", "--as-of", "2026-01-01", "--format", "jsonl"]
    path = folder / "serve-cli.jsonl"
    print(f"\nbookslot-data serve: {big:,} JSON Lines records over loopback (httpx)")
    start = time.perf_counter()
    subprocess.run([*CLI, "generate", "--output", str(path), *args], check=True)
    cli_s = time.perf_counter() - start
    print(f"  {'CLI to a file (whole process)':<48} {big / cli_s:>12,.0f} records/s")
    with server([*CLI, "serve", "--port", "0", "--max-count", str(big)]) as url:
        params = {"count": big, "seed": 5, "as_of": "2026-01-01", "format": "jsonl"}
        digest = hashlib.sha256()
        start = time.perf_counter()
        with httpx.stream("GET", f"{url}/api/payloads", params=params, timeout=None) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                digest.update(chunk)
        http_s = time.perf_counter() - start
        print(f"  {'GET /api/payloads read by httpx':<48} {big / http_s:>12,.0f} records/s")
        same = digest.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"  the same bytes as the CLI: {same}")
        at_least("serve stream vs CLI to a file", cli_s / http_s, 0.5)
        record("serve stream = CLI bytes", str(same), "True", same)

        with httpx.Client(timeout=30) as client, server([sys.executable, "-c", HELLO]) as hello:
            p50_hello = p50_ms(client, f"{hello}/", requests)
            p50_payload = p50_ms(client, f"{url}/api/payload?seed=1&as_of=2026-01-01", requests)
        print(f"  {'GET /api/payload p50':<48} {p50_payload:>10.2f} ms")
        print(f"  {'uvicorn hello p50':<48} {p50_hello:>10.2f} ms")
        record("GET /api/payload p50 (hello p50)", f"{p50_payload:.2f} ms", "reported", True)
        record("uvicorn hello p50", f"{p50_hello:.2f} ms", "reported", True)

        ok, failed = asyncio.run(load(f"{url}/api/payload", connections, seconds))
        print(
            f"  {f'{connections} connections for {seconds:g} s':<48} {ok / seconds:>10,.0f} req/s"
        )
        record(f"load: {connections} connections, errors", str(failed), "0", failed == 0)
        record("load: requests/s", f"{ok / seconds:,.0f}", "reported", True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10)
    options = parser.parse_args()

    def record(name: str, measured: str, goal: str, ok: bool) -> None:
        print(f"| {name} | {measured} | {goal} | {'met' if ok else 'MISSED'} |")

    def at_least(name: str, value: float, goal: float) -> None:
        record(name, f"{value:.2f}x", f">= {goal:g}x", value >= goal)

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run(
            options.count,
            Path(tmp),
            record,
            at_least,
            requests=options.requests,
            seconds=options.seconds,
        )


if __name__ == "__main__":
    main()
