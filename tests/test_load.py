"""20 gradio_client users asking the running web app 10 questions each, at once."""

from __future__ import annotations

import json

import pytest

from benchmarks.load import ask_once, drive
from tests.conftest import TEST_DATA, RunningApp

pytestmark = [pytest.mark.slow, pytest.mark.app]


def test_twenty_users_at_once_get_the_single_user_answers(app: RunningApp):
    rows = [json.loads(x) for x in (TEST_DATA / "seed_questions.jsonl").read_text().splitlines()]
    questions = [r["question"] for r in rows if r["kind"] != "followup"]
    single = {q: ask_once(app.url, q) for q in questions}
    log_start = len(app.log)  # earlier tests log their (expected) errors

    crowd = drive(app.url, questions, users=20, per_user=10)

    assert not crowd.errors, crowd.errors[:3]
    assert crowd.answered + crowd.busy == 200
    assert crowd.busy == 0  # the queue (64) holds 20 users; a smaller one answers "busy"
    for question, answers in crowd.answers.items():
        assert answers == {single[question]}, question  # same text and sources, every time
    log = app.log[log_start:]
    assert "Traceback" not in log and "ERROR" not in log
