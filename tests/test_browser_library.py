"""The Library tab in headless Chromium: search, no clipped headers, delete, live updates.

The app runs with ``--watch`` on a folder of its own, so files dropped there show
up as a watcher ingests them; ``dossier ingest`` from another process shows too.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GSIM, MIA, ROOT, RunningApp, app_page, running_app

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000

# Header cells of the library table whose text does not fit (scrolled or cut off).
CLIPPED_HEADERS = """() => [...document.querySelectorAll('#articles thead th')]
  .filter(th => th.offsetParent !== null)
  .filter(th => [th, ...th.querySelectorAll('*')].some(
      e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible'))
  .map(th => th.innerText.trim())"""


def article(title: str, body: str) -> str:
    return f"{title}\n\n{body} The figures were published by the county council on Monday.\n"


@pytest.fixture(scope="module")
def watched_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningApp, Path]]:
    workdir = tmp_path_factory.mktemp("library-app")
    inbox = workdir / "inbox"
    inbox.mkdir()
    with running_app(workdir, "--watch", str(inbox), "--watch-debounce", "0.3") as running:
        yield running, inbox


@pytest.fixture
def page(browser, watched_app) -> Iterator:
    app, _ = watched_app
    with app_page(browser, app.url, height=800, timeout_ms=TIMEOUT_MS) as page:
        page.get_by_role("tab", name="Library").click()
        wait_for_text(page, "#articles", MIA)
        yield page


def wait_for_text(page, selector: str, text: str, present: bool = True) -> None:
    page.wait_for_function(
        "([selector, text, present]) => "
        "(document.querySelector(selector)?.innerText.includes(text) ?? false) === present",
        arg=[selector, text, present],
        timeout=TIMEOUT_MS,
    )


def test_the_search_filters_the_table(page):
    search = page.locator("#library-search textarea, #library-search input").first
    search.fill("kidal coalition")  # words of GSIM's text, not of its title
    wait_for_text(page, "#articles", MIA, present=False)
    assert GSIM in page.locator("#articles").inner_text()
    search.fill("")
    wait_for_text(page, "#articles", MIA)
    assert GSIM in page.locator("#articles").inner_text()


def test_no_header_is_clipped_at_1280_px(page):
    headers = page.locator("#articles thead th").all_inner_texts()
    for name in ("Title", "Outlet", "Date", "Chunks", "Ingested (UTC)", "File"):
        assert any(name in shown for shown in headers), headers
    assert page.evaluate(CLIPPED_HEADERS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_files_dropped_in_the_watched_folder_appear_without_a_reload(page, watched_app):
    _, inbox = watched_app
    (inbox / "otters.txt").write_text(
        article("Otter census on the Tweed", "Volunteers counted 412 otters on the Tweed.")
    )
    wait_for_text(page, "#articles", "Otter census on the Tweed")
    (inbox / "otters.txt").unlink()
    wait_for_text(page, "#articles", "Otter census on the Tweed", present=False)


def test_an_article_ingested_by_another_process_appears_without_a_reload(page, watched_app):
    app, _ = watched_app
    outside = app.workdir / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "tram.txt").write_text(
        article("Tram line reaches the harbour", "The tram line now has 14 stops.")
    )
    command = [sys.executable, "-m", "ui.cli", "ingest", "--data-dir", str(app.data_dir)]
    done = subprocess.run(
        [*command, str(outside / "tram.txt")], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    try:
        wait_for_text(page, "#articles", "Tram line reaches the harbour")
    finally:
        subprocess.run(
            [*command[:3], "delete", "--data-dir", str(app.data_dir), "tram.txt"],
            capture_output=True,
            cwd=ROOT,
        )


def test_delete_asks_first_and_old_answers_say_their_source_is_gone(page, watched_app):
    _, inbox = watched_app
    (inbox / "heron.txt").write_text(
        article("Heron colony found", "Birdwatchers found a colony of 57 herons at Loch Vell.")
    )
    wait_for_text(page, "#articles", "Heron colony found")

    page.get_by_role("tab", name="Chat").click()
    page.fill("#question textarea", "How many herons were found at Loch Vell?")
    page.press("#question textarea", "Enter")
    answer = page.locator("#chat .dossier-answer.dossier-final").last
    answer.wait_for(timeout=TIMEOUT_MS)
    assert "heron.txt" in answer.locator("details.dossier-source").first.inner_text()
    assert "deleted from the library" not in answer.inner_text()

    page.get_by_role("tab", name="Library").click()
    page.locator("#doomed input").fill("Heron colony")
    page.get_by_role("option", name="Heron colony found (heron.txt)").click()
    page.locator("#delete").click()
    confirm = page.locator("#confirm-delete")
    confirm.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "Delete 1 article? This cannot be undone." in confirm.inner_text()
    page.locator("#confirm-delete-no").click()
    confirm.wait_for(state="hidden", timeout=TIMEOUT_MS)
    assert "Heron colony found" in page.locator("#articles").inner_text()

    page.locator("#delete").click()
    confirm.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.locator("#confirm-delete-yes").click()
    wait_for_text(page, "#articles", "Heron colony found", present=False)
    confirm.wait_for(state="hidden", timeout=TIMEOUT_MS)

    page.get_by_role("tab", name="Chat").click()
    wait_for_text(page, "#chat", "(this source has since been deleted from the library)")
    (inbox / "heron.txt").unlink()  # (left there, its next change would bring it back)
