"""Server mode against a real `chroma run` on loopback, and a clear error when it is down."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.common import running_chroma as chroma_server_process
from core.errors import StoreUnavailable
from tests.conftest import MIA, free_port

pytestmark = pytest.mark.server


@contextmanager
def running_chroma(path: Path, port: int) -> Iterator[str]:
    """A real `chroma run` on loopback, storing in ``path``; yields its URL."""
    path.mkdir(parents=True, exist_ok=True)
    with chroma_server_process(path / "db", port, path / "server.log") as server:
        yield server.url


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_chroma(tmp_path_factory.mktemp("chroma-server"), free_port()) as url:
        yield url


def test_ingest_and_answer_through_a_chroma_server(
    make_assistant, seed_copy: Path, chroma_server: str, tmp_path: Path
):
    bot = make_assistant(chroma_url=chroma_server, collection="server-test")
    report = bot.ingest([seed_copy])
    assert report.count("added") == 2
    assert not (tmp_path / "data" / "chroma").exists()  # nothing stored locally but records

    answer = bot.answer("Who leads the Islamic Movement for Azawad?")
    assert "Alghabass Ag Intallah" in answer.text
    assert answer.citations[0].source == MIA

    again = make_assistant(chroma_url=chroma_server, collection="server-test")
    assert again.ingest([seed_copy]).chunks_embedded == 0
    assert again.store.count() == bot.store.count()


def test_the_http_timeout_reaches_chromas_client(chroma_server: str):
    """set_http_timeout reaches into chromadb's private session: this fails if it moves."""
    from urllib.parse import urlsplit

    import chromadb

    from vectorstore.chroma import set_http_timeout

    parts = urlsplit(chroma_server)
    client = chromadb.HttpClient(host=parts.hostname, port=parts.port)
    assert set_http_timeout(client, 3.0)


def test_unreachable_server_fails_fast_with_the_fix(make_assistant):
    bot = make_assistant(chroma_url=f"http://127.0.0.1:{free_port()}", chroma_timeout=2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"did not answer.*chroma run.*DOSSIER_CHROMA_URL"):
        bot.answer("Who leads the MIA?")
    assert time.monotonic() - started < 10


def test_a_server_that_never_answers_times_out(make_assistant):
    # A socket that accepts connections but never replies: a hung server.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        bot = make_assistant(chroma_url=url, chroma_timeout=1.5)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"did not answer within 1\.5 s"):
            bot.sources()
        assert time.monotonic() - started < 10


def test_a_server_that_stops_mid_session_errors_fast_and_works_again_when_back(
    make_assistant, seed_copy: Path, tmp_path: Path
):
    question = "Who leads the Islamic Movement for Azawad?"
    port, where = free_port(), tmp_path / "server"
    with running_chroma(where, port) as url:
        bot = make_assistant(chroma_url=url, chroma_timeout=2)
        bot.ingest([seed_copy])
        assert bot.answer(question).citations[0].source == MIA
    # The server is gone; the same Assistant says so, quickly, every time it is asked.
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"did not answer within 2 s.*chroma run"):
            bot.answer(question)
        assert time.monotonic() - started < 10
    with running_chroma(where, port):
        # Back, with the same data: no restart of Dossier needed.
        assert bot.answer(question).citations[0].source == MIA
        assert bot.ingest([seed_copy]).chunks_embedded == 0
