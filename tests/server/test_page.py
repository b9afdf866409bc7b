"""The web page in a real headless Chromium: fill the form, check the preview, download."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from bookslot_factories import files, locations
from bookslot_factories.cli import main
from oracles import born_on, years_old

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AS_OF = "2026-11-29"

if not os.environ.get("CI") and (shutil.which("chromium") is None and not os.path.exists(CHROMIUM)):
    pytest.skip("no Chromium on this machine (CI must have it)", allow_module_level=True)
if not os.environ.get("CI"):
    pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.goto(f"{base_url}/")
    yield opened
    context.close()


def preview(page: Page) -> list[dict[str, str]]:
    """The preview's rows, once they are of what the Download link fetches."""
    page.wait_for_function(
        "() => { const t = document.getElementById('preview');"
        " const a = new URL(document.getElementById('download').href);"
        " return t.dataset.params === a.search.slice(1); }"
    )
    rows: list[dict[str, str]] = page.evaluate(
        "() => { const t = document.getElementById('preview');"
        " const names = [...t.tHead.rows[0].cells].map((c) => c.textContent);"
        " return [...t.tBodies[0].rows].map((r) =>"
        " Object.fromEntries([...r.cells].map((c, i) => [names[i], c.textContent]))); }"
    )
    return rows


def cli_bytes(args: list[str], capfdbinary: pytest.CaptureFixture[bytes]) -> bytes:
    capfdbinary.readouterr()
    assert main(args) == 0
    sys.stdout.flush()
    return capfdbinary.readouterr().out


def test_senior_texans_preview_download_and_replay(
    page: Page, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    page.get_by_label("Senior (65 to 90)").check()
    page.get_by_label("State").fill("TX")
    page.get_by_label("Seed").fill("7")
    page.get_by_label("Count").fill("25")
    page.get_by_label("Format").select_option("csv")
    page.get_by_label("As of (ages on)").fill(AS_OF)

    rows = preview(page)
    assert len(rows) == 10
    on = date.fromisoformat(AS_OF)
    for row in rows:
        assert locations.lookup(row["zip"]).state == "TX"
        assert 65 <= years_old(born_on(row["dob"]), on) <= 90
    assert page.get_by_role("status").text_content() == "Showing 10 of 25 records."

    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "bookslot.csv"
    saved = tmp_path / "bookslot.csv"
    download.save_as(saved)
    records = files.load(saved, as_of=on)
    assert len(records) == 25
    assert records[:10] == rows

    # The command shown writes the same bytes; the API URL shown is the download's.
    command = shlex.split(page.get_by_label("Command").input_value())
    assert command[:2] == ["bookslot-data", "generate"]
    assert saved.read_bytes() == cli_bytes(command[1:], capfdbinary)
    expected = ["generate", "--output", "-", "--format", "csv", "--count", "25", "--seed", "7"]
    assert saved.read_bytes() == cli_bytes(
        [*expected, "--as-of", AS_OF, "--senior", "--state", "TX"], capfdbinary
    )
    api_url = page.get_by_label("API URL").input_value()
    assert urlsplit(api_url).path == "/api/payloads"
    assert api_url == (page.get_by_role("link", name="Download").get_attribute("href") or "")

    page.screenshot(path=str(tmp_path / "page-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "page-390.png"), full_page=True)
    assert (tmp_path / "page-1280.png").stat().st_size > 0
    assert (tmp_path / "page-390.png").stat().st_size > 0
    # At 390 px the page does not scroll sideways (only the table's own region does).
    width: Any = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390


def test_a_bad_choice_shows_the_servers_words(page: Page) -> None:
    page.get_by_label("Young (18 to 30)").check()
    page.get_by_label("Senior (65 to 90)").check()
    status = page.get_by_role("status")
    page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    text = status.text_content() or ""
    assert "young" in text
    assert "senior" in text
    assert page.locator("#preview tbody tr").count() == 0


def test_the_form_is_usable_by_keyboard(page: Page) -> None:
    preview(page)
    page.get_by_label("Count").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Tab")  # to Format
    page.keyboard.press("ArrowDown")  # JSON Lines
    rows = preview(page)
    assert len(rows) == 3
    href = page.get_by_role("link", name="Download").get_attribute("href") or ""
    assert "format=jsonl" in href
    assert "count=3" in href
    # Every form control has a label a screen reader reads.
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('input, select, textarea')]"
        ".filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id || e.name)"
    )
    assert unlabelled == []
