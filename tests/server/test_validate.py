"""POST /api/validate against ``bookslot-data validate``: the same problems; 413 above the limit."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from bookslot_factories import DataFileError
from bookslot_factories.cli import main
from bookslot_factories.files import FORMATS

from conftest import MAX_BODY

AS_OF = "2026-11-29"


def generated(tmp_path: Path, fmt: str, count: int) -> Path:
    path = tmp_path / f"data.{fmt}"
    args = ["generate", "--output", str(path), "--format", fmt, "--count", str(count)]
    assert main([*args, "--seed", "3", "--as-of", AS_OF]) == 0
    return path


def cli_problems(path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    main(["validate", "--format", fmt, "--as-of", AS_OF, str(path)])
    lines = capsys.readouterr().err.splitlines()
    return [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]


def api_report(base_url: str, path: Path, fmt: str) -> dict[str, object]:
    response = httpx.post(
        f"{base_url}/api/validate",
        params={"format": fmt, "as_of": AS_OF},
        content=path.read_bytes(),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    report: dict[str, object] = response.json()
    return report


def as_cli_lines(report: dict[str, object], path: Path) -> list[str]:
    problems = report["problems"]
    assert isinstance(problems, list)
    return [
        str(DataFileError(p["message"], path=str(path), record=p["record"], line=p["line"]))
        for p in problems
    ]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_good_file_is_valid_with_its_records_counted(
    base_url: str, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = generated(tmp_path, fmt, 321)
    assert cli_problems(path, fmt, capsys) == []
    assert api_report(base_url, path, fmt) == {"valid": True, "records": 321, "problems": []}


def test_broken_records_give_the_cli_problems_with_record_line_and_field(
    base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = generated(tmp_path, "jsonl", 20)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[4]["zip"] = "ABCDE"
    records[11]["dob"] = "31/31/1990"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = api_report(base_url, path, "jsonl")
    assert report["valid"] is False
    assert report["records"] == 20
    problems = report["problems"]
    assert isinstance(problems, list)
    assert [(p["record"], p["line"], p["field"]) for p in problems] == [
        (5, 5, "zip"),
        (12, 12, "dob"),
    ]
    assert all(str(tmp_path) not in p["message"] for p in problems)
    expected = cli_problems(path, "jsonl", capsys)
    assert len(expected) == 2
    assert as_cli_lines(report, path) == expected


def test_a_syntax_error_stops_reading_and_is_the_last_problem(
    base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = generated(tmp_path, "jsonl", 5)
    path.write_bytes(path.read_bytes() + b"{not json\n")
    report = api_report(base_url, path, "jsonl")
    assert report["valid"] is False
    assert report["records"] == 5
    problems = report["problems"]
    assert isinstance(problems, list)
    assert problems[-1]["line"] == 6
    assert as_cli_lines(report, path) == cli_problems(path, "jsonl", capsys)


@pytest.mark.parametrize(
    ("params", "name"),
    [({"format": "pdf"}, "format"), ({"as_of": "2026-13-01"}, "as_of"), ({"kind": "x"}, "kind")],
)
def test_bad_parameters_answer_422_naming_them(
    base_url: str, params: dict[str, str], name: str
) -> None:
    response = httpx.post(f"{base_url}/api/validate", params=params, content=b"")
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["query", name]


def test_a_body_above_the_limit_answers_413(base_url: str) -> None:
    response = httpx.post(f"{base_url}/api/validate", content=b"x" * (MAX_BODY + 1))
    assert response.status_code == 413
    assert f"{MAX_BODY:,}" in response.json()["detail"]


def test_the_limit_holds_on_a_stream_the_client_has_not_finished(base_url: str) -> None:
    # Chunked, no Content-Length, and the body never ends: only a server that counts
    # the bytes as they arrive can answer (one that reads the body first would hang).
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /api/validate?format=jsonl HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"\n" * 65_536
        for _ in range(MAX_BODY // len(chunk) + 2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status == b"HTTP/1.1 413 Request Entity Too Large"


def test_a_body_at_the_limit_is_read(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/api/validate", params={"format": "jsonl"}, content=b"\n" * MAX_BODY
    )
    assert response.status_code == 200
    assert response.json() == {"valid": True, "records": 0, "problems": []}
