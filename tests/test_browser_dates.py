"""The upload form's optional Date and Outlet boxes, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client

from tests.conftest import RunningApp
from tests.test_browser import page, wait_for_text  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

OTTERS = (
    "Otters return to the river Leet\n\nVolunteers counted 37 otters along the river Leet "
    "this autumn, the first seen there in forty years, the wildlife trust said.\n"
)


def test_upload_with_date_and_outlet(page, app: RunningApp, tmp_path: Path):  # noqa: F811
    page.get_by_role("tab", name="Library").click()
    article = tmp_path / "leet otters.txt"
    article.write_text(OTTERS, encoding="utf-8")
    page.set_input_files("#upload input[type=file]", str(article))
    try:
        # A date that is not one is refused before anything is added, with the format to use.
        page.fill("#upload-date input, #upload-date textarea", "soon")
        page.locator("#add").click()
        wait_for_text(page, "body", "is not a calendar date; write it as YYYY-MM-DD")
        assert "Otters return to the river Leet" not in page.locator("#articles").inner_text()

        page.fill("#upload-date input, #upload-date textarea", "2022-07-14")
        page.fill("#upload-outlet input, #upload-outlet textarea", "Leet Gazette")
        page.locator("#add").click()
        wait_for_text(page, "#results", "added")
        wait_for_text(page, "#articles", "Leet Gazette")
        wait_for_text(page, "#articles", "2022-07-14")  # the seeds are from 2012
        # Emptied once used, so the next upload does not take this date without being told.
        assert page.input_value("#upload-date input, #upload-date textarea") == ""
        assert page.input_value("#upload-outlet input, #upload-outlet textarea") == ""
    finally:
        Client(app.url, verbose=False).predict(["leet otters.txt"], api_name="/delete_articles")
