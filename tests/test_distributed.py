"""Runs on Dask: a real LocalCluster of worker processes, and the synchronous scheduler.

Without the dask extra these tests skip on a dev machine; with ``CI`` set they fail.
"""

from __future__ import annotations

import csv
import io
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bookslot_factories import bulk
from bookslot_factories.cli import main
from bookslot_factories.files import load
from bookslot_factories.model import BLOCK_SIZE, FIELDS

if os.environ.get("CI"):
    import distributed
else:
    distributed = pytest.importorskip("distributed")
import psutil  # a dependency of distributed
from oracles import loaded_by

CLI = (sys.executable, "-m", "bookslot_factories")

AS_OF = "2026-11-29"
ARGS = ("--seed", "41", "--as-of", AS_OF, "--senior")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    # One cluster per test process (xdist gives each its own); it starts in 1-2 s.
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address="127.0.0.1:0"
    ) as local:
        yield local


def single_file(tmp_path: Path, count: int, capfdbinary: pytest.CaptureFixture[bytes]) -> bytes:
    assert main(["generate", "--output", "-", "--count", str(count), *ARGS]) == 0
    return capfdbinary.readouterr().out


def parts(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def concatenated(folder: Path) -> bytes:
    return b"".join(part.read_bytes() for part in parts(folder))


def test_cluster_parts_in_name_order_are_the_single_file(
    cluster: Any, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    count = 2 * BLOCK_SIZE + 17  # a short last block
    out = tmp_path / "parts"
    assert (
        main(
            [
                "generate",
                "-o",
                str(out),
                "-n",
                str(count),
                "--dask",
                cluster.scheduler_address,
                *ARGS,
            ]
        )
        == 0
    )
    assert [p.name for p in parts(out)] == [
        "part-000000.jsonl",
        "part-000001.jsonl",
        "part-000002.jsonl",
    ]
    assert concatenated(out) == single_file(tmp_path, count, capfdbinary)
    assert [len(p.read_bytes().splitlines()) for p in parts(out)] == [BLOCK_SIZE, BLOCK_SIZE, 17]


def test_synchronous_scheduler_writes_the_same_bytes(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    count = BLOCK_SIZE + 3
    out = tmp_path / "parts"
    assert main(["generate", "-o", str(out), "-n", str(count), "--dask", "synchronous", *ARGS]) == 0
    assert concatenated(out) == single_file(tmp_path, count, capfdbinary)


def test_a_local_cluster_of_workers_writes_the_same_bytes(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = tmp_path / "parts"
    assert (
        main(
            ["generate", "-o", str(out), "-n", "12000", "--dask", "local", "--workers", "2", *ARGS]
        )
        == 0
    )
    assert len(parts(out)) == 2
    assert concatenated(out) == single_file(tmp_path, 12000, capfdbinary)


def test_every_csv_part_starts_with_the_header_and_holds_its_block(
    cluster: Any, tmp_path: Path
) -> None:
    count = BLOCK_SIZE + 250
    out = tmp_path / "csv"
    assert (
        main(
            [
                "generate",
                "-o",
                str(out),
                "-n",
                str(count),
                "-f",
                "csv",
                "--dask",
                cluster.scheduler_address,
                *ARGS,
            ]
        )
        == 0
    )
    rows: list[dict[str, str]] = []
    for part in parts(out):
        assert part.suffix == ".csv"
        text = part.read_text(encoding="utf-8")
        assert next(csv.reader(io.StringIO(text))) == list(FIELDS)
        rows.extend(load(part))
    job = bulk.Job.make(41, as_of=AS_OF, senior=True)
    assert rows == [record for block in bulk.blocks(job, count) for record in block]


def test_parquet_parts_are_complete_files_of_their_blocks(cluster: Any, tmp_path: Path) -> None:
    count = BLOCK_SIZE + 5
    out = tmp_path / "pq"
    assert (
        main(
            [
                "generate",
                "-o",
                str(out),
                "-n",
                str(count),
                "-f",
                "parquet",
                "--dask",
                cluster.scheduler_address,
                *ARGS,
            ]
        )
        == 0
    )
    loaded = [list(load(part)) for part in parts(out)]
    assert [len(records) for records in loaded] == [BLOCK_SIZE, 5]
    job = bulk.Job.make(41, as_of=AS_OF, senior=True)
    assert loaded == list(bulk.blocks(job, count))


def test_dask_bag_holds_the_bulk_records_one_partition_per_block(cluster: Any) -> None:
    count = 2 * BLOCK_SIZE + 1
    bag = bulk.dask_bag(count, 41, as_of=AS_OF, senior=True)
    assert bag.npartitions == 3
    job = bulk.Job.make(41, as_of=AS_OF, senior=True)
    expected = [record for block in bulk.blocks(job, count) for record in block]
    with distributed.Client(cluster) as client:
        assert client.compute(bag).result() == expected
    assert bag.compute(scheduler="synchronous") == expected
    assert bag.map_partitions(lambda records: [len(list(records))]).compute(
        scheduler="synchronous"
    ) == [
        BLOCK_SIZE,
        BLOCK_SIZE,
        1,
    ]


def test_a_worker_killed_mid_run_changes_nothing(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    # Its own cluster: the kill must not disturb the shared one.
    count = 16 * BLOCK_SIZE
    out = tmp_path / "parts"
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address="127.0.0.1:0"
        ) as local,
        distributed.Client(local) as client,
    ):
        pids: dict[str, int] = client.run(os.getpid)
        outcome: list[int] = []
        run = threading.Thread(
            target=lambda: outcome.append(
                main(
                    [
                        "generate",
                        "-o",
                        str(out),
                        "-n",
                        str(count),
                        "--dask",
                        local.scheduler_address,
                        *ARGS,
                    ]
                )
            )
        )
        run.start()
        killed = None
        while run.is_alive() and killed is None:
            # The parts go into a temporary folder beside the output until all are done.
            written = list(tmp_path.glob(".parts.*.tmp/part-*"))
            busy = [address for address, keys in client.processing().items() if keys]
            if written and busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed = (busy[0], len(written))
            time.sleep(0.005)
        run.join()
    assert killed is not None, "the run ended before a worker could be killed"
    assert killed[1] < 16  # the kill came mid-run
    assert outcome == [0]
    # No temporary file of the killed write, no temporary folder beside the output.
    assert [p.name for p in parts(out)] == [f"part-{n:06d}.jsonl" for n in range(16)]
    assert [p.name for p in tmp_path.iterdir()] == ["parts"]
    assert concatenated(out) == single_file(tmp_path, count, capfdbinary)


def test_a_folder_with_other_files_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["generate", "-o", str(tmp_path), "-n", "5", "--dask", "synchronous", *ARGS]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "notes.txt" in err
    assert len(err.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_rerun_replaces_an_earlier_runs_parts(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = tmp_path / "parts"
    assert (
        main(
            [
                "generate",
                "-o",
                str(out),
                "-n",
                str(BLOCK_SIZE + 1),
                "-f",
                "csv",
                "--dask",
                "synchronous",
                *ARGS,
            ]
        )
        == 0
    )
    out.chmod(0o750)
    assert main(["generate", "-o", str(out), "-n", "7", "--dask", "synchronous", *ARGS]) == 0
    assert [p.name for p in parts(out)] == ["part-000000.jsonl"]
    assert concatenated(out) == single_file(tmp_path, 7, capfdbinary)
    # A new folder took the old one's place: with its permissions, and nothing beside it.
    assert out.stat().st_mode & 0o777 == 0o750
    assert [p.name for p in tmp_path.iterdir()] == ["parts"]


def test_an_unknown_scheduler_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "-o", str(tmp_path / "p"), "-n", "5", "--dask", "spark", *ARGS]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown Dask scheduler 'spark'")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_without_dask_one_line_names_the_extra(tmp_path: Path) -> None:
    # A real process in which dask cannot be imported (None in sys.modules: ImportError).
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
        "import bookslot_factories.bulk\n"
        "from bookslot_factories.cli import main\n"
        f"sys.exit(main(['generate', '-o', {str(tmp_path / 'p')!r}, '-n', '5', '--dask', 'synchronous']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr == "error: Dask runs need dask: pip install 'bookslot-factories[dask]'\n"
    assert not (tmp_path / "p").exists()


def test_importing_the_package_and_the_bulk_engine_loads_no_dask() -> None:
    modules = "bookslot_factories, bookslot_factories.bulk, bookslot_factories.cli"
    assert loaded_by(modules, {"dask", "distributed"}) == []


def test_a_folder_named_like_a_part_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The whole output folder is replaced: a folder inside it is not an earlier part.
    out = tmp_path / "parts"
    (out / "part-000001.jsonl").mkdir(parents=True)
    (out / "part-000001.jsonl" / "mine.txt").write_text("mine")
    code = main(["generate", "-o", str(out), "-n", "5", "--dask", "synchronous", *ARGS])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: {out}: the output folder holds 'part-000001.jsonl'")
    assert len(err.splitlines()) == 1
    assert (out / "part-000001.jsonl" / "mine.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["parts"]


def test_an_unreachable_folder_is_refused_before_any_cluster_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "file"
    taken.write_text("mine")
    assert main(["generate", "-o", str(taken), "-n", "5", "--dask", "local", *ARGS]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {taken}: cannot use it as the output folder")
    assert len(err.splitlines()) == 1
    assert taken.read_text() == "mine"


# --- Ctrl-C, failures midway, unreachable schedulers: the real CLI in a process ----------


def snapshot(folder: Path) -> dict[str, Any]:
    """Everything a run could change: the names, bytes and modes of the folder and its files."""
    return {
        "mode": folder.stat().st_mode,
        "files": {p.name: (p.read_bytes(), p.stat().st_mode) for p in folder.iterdir()},
    }


def earlier_output(tmp_path: Path) -> Path:
    # An earlier, complete run in another format: anything of the new run would show.
    out = tmp_path / "parts"
    args = ["-n", str(BLOCK_SIZE + 1), "-f", "csv", "--dask", "synchronous", *ARGS]
    assert main(["generate", "-o", str(out), *args]) == 0
    return out


def start(*args: str, **popen: Any) -> subprocess.Popen[str]:
    # A session of its own, so that Ctrl-C can go to the whole group, as a terminal sends it.
    return subprocess.Popen(
        [*CLI, "generate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **popen,
    )


@pytest.mark.parametrize("scheduler", ["local", "synchronous"])
def test_ctrl_c_mid_run_leaves_the_earlier_output_and_no_process_behind(
    tmp_path: Path, scheduler: str
) -> None:
    out = earlier_output(tmp_path)
    before = snapshot(out)
    workers = ["--workers", "2"] if scheduler == "local" else []
    run = start("-o", str(out), "-n", str(100 * BLOCK_SIZE), "--dask", scheduler, *workers, *ARGS)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".parts.*.tmp/part-*")):
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "no part was written in 60 s"
        time.sleep(0.01)
    processes = psutil.Process(run.pid).children(recursive=True)
    if scheduler == "local":
        assert len(processes) >= 2  # the workers (and multiprocessing's resource tracker)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C in a terminal: every process of the group
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130
    assert stderr == "error: interrupted; no file was changed\n"
    assert stdout == ""
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["parts"]
    _, alive = psutil.wait_procs(processes, timeout=10)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []


def small_files() -> None:
    # Writes past 1 MB fail with EFBIG ("File too large"), in the CLI and its workers.
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))


@pytest.mark.parametrize("scheduler", ["local", "synchronous"])
def test_a_part_that_cannot_be_written_leaves_the_earlier_output(
    tmp_path: Path, scheduler: str
) -> None:
    out = earlier_output(tmp_path)
    before = snapshot(out)
    # A whole block's part is about 3 MB, the short last one a few kB: the run fails
    # on its full parts, whichever finishes first.
    run = start(
        "-o",
        str(out),
        "-n",
        str(2 * BLOCK_SIZE + 3),
        "--dask",
        scheduler,
        *ARGS,
        preexec_fn=small_files,
    )
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith(f"error: {out}{os.sep}part-00000")
    assert stderr.endswith(": cannot write: File too large\n")
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["parts"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens on it


def test_an_unreachable_scheduler_is_one_line_at_once(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    began = time.monotonic()
    run = start("-o", str(tmp_path / "p"), "-n", "5", "--dask", address, *ARGS)
    _, stderr = run.communicate(timeout=60)
    took = time.monotonic() - began
    assert run.returncode == 1
    assert stderr == (
        f"error: no Dask scheduler answers at {address} (connection refused); start one "
        "with `dask scheduler` or use --dask local\n"
    )
    assert not (tmp_path / "p").exists()
    assert list(tmp_path.iterdir()) == []
    assert took < 8  # it waited 10 s and more before


def test_a_port_that_is_no_scheduler_is_one_line_in_seconds(tmp_path: Path) -> None:
    # A web server where the scheduler should be: its answer is no Dask handshake.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"

        def answer() -> None:
            while True:
                try:
                    peer, _ = server.accept()
                except OSError:
                    return  # closed at the end of the test
                with peer:
                    peer.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

        threading.Thread(target=answer, daemon=True).start()
        began = time.monotonic()
        run = start("-o", str(tmp_path / "p"), "-n", "5", "--dask", address, *ARGS)
        _, stderr = run.communicate(timeout=60)
        took = time.monotonic() - began
    assert run.returncode == 1
    assert stderr.startswith(f"error: no Dask scheduler answers at {address} (the port ")
    assert stderr.endswith("; start one with `dask scheduler` or use --dask local\n")
    assert len(stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    assert took < 8
