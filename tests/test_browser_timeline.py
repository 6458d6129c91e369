"""The Timeline tab and the date settings, in headless Chromium on the dated corpus."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import RunningApp, app_page, running_app
from tests.corpus import write_dated_corpus

DONE = (
    "#chat .dossier-answer.dossier-final, #chat .dossier-answer.dossier-refused, "
    "#chat .dossier-answer.dossier-error"
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dated_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The web app on the dated Nolvar Front corpus (ingested on first start as its seeds)."""
    workdir = tmp_path_factory.mktemp("dated-app")
    write_dated_corpus(workdir / "seeds")
    with running_app(workdir) as running:
        yield running


@pytest.fixture
def page(browser, dated_app: RunningApp) -> Iterator:
    with app_page(browser, dated_app.url) as opened:
        yield opened


def ask(page, question: str):
    """Ask ``question`` and wait for its own answer to finish; returns that answer."""
    before = page.locator(DONE).count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length > n",
        arg=[DONE, before],
        timeout=60_000,
    )
    return page.locator("#chat .dossier-answer").last


def test_timeline_tab_lists_events_in_date_order_and_undated_apart(page):
    page.get_by_role("tab", name="Timeline").click()
    page.fill("#timeline-topic textarea", "Nolvar Front")
    page.click("#timeline-show")
    page.wait_for_selector("#timeline-events .dossier-event", timeout=60_000)
    dates = page.locator("#timeline-events ol.dossier-events .dossier-event-date").all_inner_texts()
    assert len(dates) >= 5 and dates == sorted(dates)
    named = page.locator("#timeline-events ol.dossier-events li", has_text="Dara Quint was named")
    assert named.locator(".dossier-event-date").inner_text() == "2023-03-02"
    assert "“on Thursday” in an article of 2023-03-03" in named.inner_text()
    assert "2023-03-03_river_times_new_leader.txt" in named.locator(".dossier-meta").inner_text()
    undated = page.locator("#timeline-events ul.dossier-undated li")
    assert "founded by shepherds" in undated.first.inner_text()

    page.fill("#timeline-topic textarea", "Zebulon Marchetti")
    page.press("#timeline-topic textarea", "Enter")
    page.wait_for_selector("#timeline-events .dossier-timeline-message", timeout=60_000)
    assert "No article sentence mentions" in page.inner_text("#timeline-events")


def test_settings_dates_filter_the_chat_and_answers_say_as_of(page):
    answer = ask(page, "Who currently leads the Nolvar Front?")
    assert "As of 2023-03-03" in answer.inner_text() and "Dara Quint" in answer.inner_text()

    page.get_by_text("Settings").click()
    page.fill("#until textarea", "2022")
    answer = ask(page, "Who leads the Nolvar Front?")
    assert "Ovid Tarr leads" in answer.inner_text() and "Dara Quint" not in answer.inner_text()
    assert "2021-05-10" in answer.locator(".dossier-meta").first.inner_text()

    page.fill("#until textarea", "not a date")
    error = ask(page, "Who leads the Nolvar Front?")
    assert "dossier-error" in error.get_attribute("class") and "YYYY-MM-DD" in error.inner_text()


def test_the_ask_api_takes_since_and_until(dated_app: RunningApp):
    from gradio_client import Client

    app = Client(dated_app.url, verbose=False)
    old = app.predict("Who leads the Nolvar Front?", until="2022", api_name="/ask")
    assert "Ovid Tarr leads" in old["text"] and old["citations"][0]["date"] == "2021-05-10"
    newest = app.predict("Who currently leads the Nolvar Front?", api_name="/ask")
    assert newest["as_of"] == "2023-03-03" and newest["citations"][0]["date"] == "2023-03-03"
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        app.predict("Who leads the Nolvar Front?", since="spring", api_name="/ask")
