"""The HTTP API against the CLI: the same bytes, headers that replay it, 422 in its words."""

from __future__ import annotations

import json
import shlex
import sys

import httpx
import pytest
from bookslot_factories.cli import main
from oracles import assert_real_residential_zip, born_on, years_old

from conftest import MAX_COUNT

CONTENT_TYPES = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "yaml": "application/yaml",
    "xml": "application/xml",
    "fhir": "application/fhir+json",
    "fhir-ndjson": "application/fhir+ndjson",
    "parquet": "application/vnd.apache.parquet",
}
VARIANT_SETS = [
    {},
    {"senior": "true", "state": "TX"},
    {"young": "true", "dynamic_phone": "true", "near": "20678"},
    {"dynamic_location": "true"},
    {"dynamic_zip": "true"},
]


def cli_bytes(args: list[str], capfdbinary: pytest.CaptureFixture[bytes]) -> bytes:
    capfdbinary.readouterr()
    assert main(args) == 0
    sys.stdout.flush()
    return capfdbinary.readouterr().out


@pytest.mark.parametrize("fmt", sorted(CONTENT_TYPES))
@pytest.mark.parametrize("variants", VARIANT_SETS, ids=lambda v: "-".join(v) or "plain")
def test_payloads_are_the_cli_bytes(
    base_url: str, fmt: str, variants: dict[str, str], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    params = {"count": "1234", "seed": "7", "as_of": "2026-11-29", "format": fmt, **variants}
    response = httpx.get(f"{base_url}/api/payloads", params=params, timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == CONTENT_TYPES[fmt]
    assert response.headers["x-bookslot-seed"] == "7"
    assert response.headers["x-bookslot-as-of"] == "2026-11-29"
    command = shlex.split(response.headers["x-bookslot-command"])
    assert command[:2] == ["bookslot-data", "generate"]
    # The command in the header replays the body byte for byte.
    assert response.content == cli_bytes(command[1:], capfdbinary)


def test_random_seed_and_today_are_told_and_replay(
    base_url: str, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    first = httpx.get(f"{base_url}/api/payloads", params={"format": "jsonl"})
    seed = int(first.headers["x-bookslot-seed"])
    assert 0 <= seed < 2**64
    assert len(first.content.splitlines()) == 10
    command = shlex.split(first.headers["x-bookslot-command"])
    assert first.content == cli_bytes(command[1:], capfdbinary)


def test_one_payload_is_the_first_record(base_url: str) -> None:
    params = {"seed": "11", "as_of": "2026-11-29", "senior": "true", "state": "TX"}
    one = httpx.get(f"{base_url}/api/payload", params=params)
    many = httpx.get(f"{base_url}/api/payloads", params={**params, "format": "jsonl", "count": "3"})
    assert one.status_code == 200
    assert one.json() == json.loads(many.content.splitlines()[0])
    record = one.json()
    assert assert_real_residential_zip(record["zip"])["state"] == "TX"
    assert years_old(born_on(record["dob"]), __import__("datetime").date(2026, 11, 29)) >= 65


def test_healthz(base_url: str) -> None:
    assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}


def test_zips(base_url: str) -> None:
    found = httpx.get(f"{base_url}/api/zips/20678")
    assert found.status_code == 200
    assert found.json()["state"] == assert_real_residential_zip("20678")["state"]
    assert httpx.get(f"{base_url}/api/zips/00000").status_code == 404


@pytest.mark.parametrize(
    ("params", "name", "words"),
    [
        ({"count": "x"}, "count", "not a whole number"),
        ({"count": str(MAX_COUNT + 1)}, "count", "out of range"),
        ({"seed": "-1"}, "seed", "out of range"),
        ({"seed": "abc"}, "seed", "not a whole number"),
        ({"as_of": "2026-02-30"}, "as_of", "expected YYYY-MM-DD"),
        ({"format": "pdf"}, "format", "unknown format"),
        ({"young": "true", "senior": "true"}, "young", "exclude each other"),
        ({"state": "tx"}, "state", "did you mean 'TX'"),
        ({"near": "123"}, "near", "5-digit"),
        ({"senior": "maybe"}, "senior", "not a bool"),
        ({"senoir": "true"}, "senoir", "unknown parameter"),
    ],
)
def test_bad_parameters_answer_422_naming_them(
    base_url: str, params: dict[str, str], name: str, words: str
) -> None:
    for path in ("/api/payloads", "/api/payload"):
        response = httpx.get(f"{base_url}{path}", params=params)
        assert response.status_code == 422
        (detail,) = response.json()["detail"]
        assert detail["loc"] == ["query", name]
        assert words in detail["msg"]


def test_the_page_and_its_files_are_served_from_the_package_without_a_cdn(base_url: str) -> None:
    page = httpx.get(f"{base_url}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    types = {"app.js": "text/javascript", "app.css": "text/css"}
    for name, media_type in types.items():
        assert f'"static/{name}"' in page.text
        asset = httpx.get(f"{base_url}/static/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(media_type)
        # Works offline: nothing is fetched from another origin.
        assert "http://" not in asset.text
        assert "https://" not in asset.text
    assert "http://" not in page.text
    assert "https://" not in page.text
