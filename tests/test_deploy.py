"""The multi-machine deployment, for real: a `chroma run` server, PostgreSQL, two Dossier processes.

Each Dossier process has its own data directory (as on its own machine) and shares only
DOSSIER_CHROMA_URL (vectors) and DOSSIER_RECORD_MANAGER_URL (records and keyword index).
One ingests while the other answers; the ingest is killed mid-way and run again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from gradio_client import Client

from assistant import Assistant
from tests.conftest import MIA, ROOT, free_port, running_app
from tests.corpus import write_corpus
from tests.pg import pg_url_fixture, postgres_fixture  # noqa: F401  (fixtures)
from tests.test_server import running_chroma
from vectorstore.metadata import CHUNK_INDEX, SOURCE_ID

pytestmark = [pytest.mark.postgres, pytest.mark.server, pytest.mark.app, pytest.mark.slow]

ARTICLES = 120


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    with running_chroma(tmp_path / "chroma-server", free_port()) as url:
        yield url


def _records(url: str) -> int:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sqlalchemy.text("SELECT count(*) FROM upsertion_record")
                ).scalar_one()
            )
    except sqlalchemy.exc.ProgrammingError:  # the table is made by the first ingest
        return 0
    finally:
        engine.dispose()


def _ingest(folder: Path, data_dir: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "ingest", str(folder), "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **env},
        )


def test_ingest_through_one_process_answer_through_another_and_survive_a_kill(
    tmp_path: Path, chroma_url: str, pg_url: str
):
    shared = {"DOSSIER_CHROMA_URL": chroma_url, "DOSSIER_RECORD_MANAGER_URL": pg_url}
    facts = write_corpus(tmp_path / "news", ARTICLES)
    # The answering process: the web app, which ingests the two seed articles as it starts.
    with running_app(tmp_path / "web", env=shared) as app:
        client = Client(app.url, verbose=False)
        seeded = _records(pg_url)
        assert seeded > 0

        # The ingesting process, on "another machine", in small steps so that a kill lands
        # between steps; it is killed as soon as some of its articles are stored.
        worker = tmp_path / "worker"
        env = {**shared, "DOSSIER_INGEST_BATCH": "2"}
        log = tmp_path / "ingest.log"
        ingest = _ingest(tmp_path / "news", worker / "data", env, log)
        try:
            deadline = time.monotonic() + 240
            while _records(pg_url) <= seeded:
                assert ingest.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        finally:
            ingest.send_signal(signal.SIGKILL)
            ingest.wait(timeout=20)
        partial = _records(pg_url) - seeded

        # Run again; the other process answers while it runs, and it finishes the job.
        rerun = _ingest(tmp_path / "news", worker / "data", env, log)
        answer = client.predict("Who leads the Islamic Movement for Azawad?", api_name="/ask")
        assert "Alghabass Ag Intallah" in answer["text"]
        assert rerun.wait(timeout=300) == 0, log.read_text()
        assert 0 < partial < _records(pg_url) - seeded  # the kill did land mid-ingest

        # The web app answers about the new articles at once (no restart).
        for fact in facts[-3:]:
            answer = client.predict(fact.question, api_name="/ask")
            assert fact.answer in answer["text"], (fact, answer)
            assert answer["citations"][0]["source"] == fact.file

    # Nothing lost or duplicated: every article once, each chunk once, and the records,
    # Chroma and the keyword index agree.
    auditor = Assistant(
        tmp_path / "auditor" / "data", create=True, chroma_url=chroma_url, record_manager_url=pg_url
    )
    sources = [s.source for s in auditor.sources()]
    assert sorted(sources) == sorted([MIA, "001_a1a23fc04081479d.txt", *(f.file for f in facts)])
    chunks = auditor.store.get(include_text=False)
    per_article = Counter((c.metadata[SOURCE_ID], c.metadata[CHUNK_INDEX]) for c in chunks)
    assert max(per_article.values()) == 1
    assert len(chunks) == _records(pg_url) == len(auditor.store.keywords)
    checkup = auditor.check()
    assert checkup.ok, checkup.problems
