"""Concurrent use: one ingest at a time, and questions answered while an ingest runs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client

from assistant import Assistant
from core.errors import IngestInProgress
from tests.conftest import KNOWN_WRONG, ROOT, SEEDS, TEST_DATA, RunningApp
from tests.corpus import write_corpus

pytestmark = pytest.mark.slow


def seed_facts() -> list[dict]:
    rows = [json.loads(x) for x in (TEST_DATA / "seed_questions.jsonl").read_text().splitlines()]
    return [r for r in rows if r["kind"] == "fact" and r["id"] not in KNOWN_WRONG][:8]


def correct(row: dict, text: str, sources: set[str]) -> bool:
    return any(a.lower() in text.lower() for a in row["answers"]) and bool(
        sources & set(row["sources"])
    )


def ingest_command(data_dir: Path, folder: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ui.cli",
        "ingest",
        "--data-dir",
        str(data_dir),
        str(folder),
    ]


def test_a_second_ingest_process_is_refused_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_corpus(folder, 200)
    data_dir = tmp_path / "data"
    first = subprocess.Popen(
        ingest_command(data_dir, folder), cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        lock = data_dir / ".ingest.lock"
        deadline = time.monotonic() + 60
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        second = subprocess.run(
            ingest_command(data_dir, SEEDS), cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert first.poll() is None, "the first ingest should still be running"
        assert second.returncode == 1
        assert "another ingest into" in second.stderr and "is running" in second.stderr
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert len(Assistant(data_dir=data_dir).sources()) == 200


def test_questions_are_answered_while_the_same_process_ingests(
    make_assistant, seed_copy: Path, tmp_path: Path
) -> None:
    bot: Assistant = make_assistant()
    bot.ingest([seed_copy])
    folder = tmp_path / "articles"
    facts = write_corpus(folder, 200, seed=9)
    failures: list[str] = []
    answered = 0
    ingesting = threading.Event()
    ingesting.set()

    def ask() -> None:
        nonlocal answered
        rows = seed_facts()
        while ingesting.is_set():
            for row in rows:
                try:
                    answer = bot.answer(row["question"])
                except Exception as exc:  # the test reports every failure, not just the first
                    failures.append(f"{row['id']}: {type(exc).__name__}: {exc}")
                    continue
                if not correct(row, answer.text, {c.source for c in answer.citations}):
                    failures.append(f"{row['id']}: {answer.text[:120]}")
                answered += 1

    askers = [threading.Thread(target=ask) for _ in range(3)]
    for t in askers:
        t.start()
    try:
        refused: list[Exception] = []

        def second_ingest() -> None:
            time.sleep(2)
            try:
                bot.ingest([seed_copy])
            except IngestInProgress as exc:
                refused.append(exc)

        other = threading.Thread(target=second_ingest)
        other.start()
        report = bot.ingest([folder])
        other.join()
    finally:
        ingesting.clear()
        for t in askers:
            t.join()
    assert report.count("added") == 200
    assert len(refused) == 1
    assert not failures, failures[:5]
    assert answered >= 24
    fact = facts[123]
    answer = bot.answer(fact.question)
    assert fact.answer in answer.text and answer.citations[0].source == fact.file


@pytest.mark.app
def test_the_web_app_answers_while_another_process_ingests(app: RunningApp, tmp_path: Path):
    folder = tmp_path / "articles"
    facts = write_corpus(folder, 200, seed=11)
    client = Client(app.url, verbose=False)
    rows = seed_facts()
    log_start = len(app.log)  # earlier tests log their (expected) errors
    ingest = subprocess.Popen(
        ingest_command(app.data_dir, folder), cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    asked = 0
    try:
        while ingest.poll() is None or asked < len(rows):
            row = rows[asked % len(rows)]
            result = client.predict(row["question"], api_name="/ask")
            sources = {c["source"] for c in result["citations"]}
            assert correct(row, result["text"], sources), (row["id"], result["text"])
            asked += 1
        _, err = ingest.communicate(timeout=300)
        assert ingest.returncode == 0, err[-2000:]
        # The app sees the new articles without a restart.
        fact = facts[42]
        result = client.predict(fact.question, api_name="/ask")
        assert fact.answer in result["text"]
        assert result["citations"][0]["source"] == fact.file
    finally:
        if ingest.poll() is None:
            ingest.kill()
        client.predict([f.file for f in facts], api_name="/delete_articles")
    assert asked >= len(rows)
    assert "Traceback" not in app.log[log_start:]
