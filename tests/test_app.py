"""The web app, launched for real with `dossier ui` on loopback, driven through gradio_client."""

from __future__ import annotations

import concurrent.futures
import json
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.conftest import GSIM, KNOWN_WRONG, MIA, TEST_DATA, RunningApp, running_app

pytestmark = pytest.mark.app

BLATTEN = """Glacier collapse forces Swiss village of Blatten to rebuild

The Swiss village of Blatten in the canton of Valais will be rebuilt two kilometres further
down the valley, the municipal council announced on Tuesday. The decision follows the collapse
of the Birch glacier, which buried most of the old village under ice and rock in May.
Reconstruction of Blatten is expected to cost about 300 million Swiss francs, the council said.
"""


@pytest.fixture(scope="module")
def client(app: RunningApp) -> Client:
    return Client(app.url, verbose=False)


def seed_questions() -> list[dict]:
    lines = (TEST_DATA / "seed_questions.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_ask_returns_the_answer_with_citations(client: Client):
    result = client.predict("Who leads the Islamic Movement for Azawad?", api_name="/ask")
    assert "Alghabass Ag Intallah" in result["text"]
    assert result["answered"] is True
    first = result["citations"][0]
    assert first["source"] == MIA
    assert first["quote"] in first["passage"]
    assert "Alghabass Ag Intallah" in first["quote"]
    # The same fields as the Python Answer.
    assert set(result) == {
        "question",
        "text",
        "citations",
        "passages",
        "answered",
        "mode",
        "unsupported",
        "spans",
        "notice",
        "as_of",
        "verdict",
    }


def test_an_llm_that_cannot_be_reached_gives_the_extractive_answer_with_a_notice(
    client: Client,
):
    question = "Who leads the Islamic Movement for Azawad?"
    started = time.monotonic()
    result = client.predict(question, None, None, "openai:gone", api_name="/ask")
    assert time.monotonic() - started < 10
    assert result["mode"] == "extractive" and result["citations"][0]["source"] == MIA
    assert "cannot reach openai:gone" in result["notice"]
    assert "DOSSIER_OPENAI_BASE_URL" in result["notice"]


def test_seed_questions_through_the_api(client: Client):
    """Every answerable seed question answered with its gold source, as in Python."""
    for item in seed_questions():
        if item["kind"] not in ("fact",) or item["id"] in KNOWN_WRONG:  # see test_api
            continue
        result = client.predict(item["question"], api_name="/ask")
        assert any(a.lower() in result["text"].lower() for a in item["answers"]), item
        assert {c["source"] for c in result["citations"]} & set(item["sources"]), item


def test_follow_ups_with_history(client: Client):
    """The seed follow-ups, with the chat so far in Gradio's messages format."""
    for item in seed_questions():
        if item["kind"] != "followup":
            continue
        history = [{"role": "user", "content": user} for user, _ in item["history"]]
        result = client.predict(item["question"], history, api_name="/ask")
        assert any(a in result["text"] for a in item["answers"]), item
        assert {c["source"] for c in result["citations"]} & set(item["sources"]), item


def test_unanswerable_question_is_refused_without_sources(client: Client):
    result = client.predict("What is the capital of Australia?", api_name="/ask")
    assert result["answered"] is False
    assert result["citations"] == []


def test_bad_question_gets_a_clear_error(client: Client):
    with pytest.raises(AppError, match="the question is empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(AppError, match="answer mode 'oracle' is not known"):
        client.predict("Who leads the MIA?", None, None, "oracle", api_name="/ask")


def test_upload_answer_delete(client: Client, app: RunningApp, tmp_path: Path):
    article = tmp_path / "blatten rebuild.txt"
    article.write_text(BLATTEN)
    question = "How much will the reconstruction of Blatten cost?"
    assert client.predict(question, api_name="/ask")["answered"] is False

    results = client.predict([handle_file(str(article))], api_name="/add_articles")[0]
    assert results["data"] == [["blatten rebuild.txt", "added", 1, ""]]
    listed = {a["source"]: a for a in client.predict(api_name="/articles")}
    assert {"blatten rebuild.txt", MIA, GSIM} <= set(listed)
    assert listed["blatten rebuild.txt"]["title"].startswith("Glacier collapse")

    answer = client.predict(question, api_name="/ask")
    assert "300 million Swiss francs" in answer["text"]
    assert answer["citations"][0]["source"] == "blatten rebuild.txt"

    # The same file again is unchanged; nothing is embedded twice.
    again = client.predict([handle_file(str(article))], api_name="/add_articles")[0]
    assert again["data"] == [["blatten rebuild.txt", "unchanged", 1, ""]]

    stored = app.data_dir / "uploads" / "blatten rebuild.txt"
    assert stored.read_text() == BLATTEN
    removed = client.predict(["blatten rebuild.txt"], api_name="/delete_articles")
    assert removed == 1
    assert not stored.exists()
    assert "blatten rebuild.txt" not in {a["source"] for a in client.predict(api_name="/articles")}
    gone = client.predict(question, api_name="/ask")
    assert gone["answered"] is False
    assert "blatten rebuild.txt" not in {p["source"] for p in gone["passages"]}


MEMO = b"""Confidential memo

The board of Tweed Mills will close the Galashiels plant on 3 March and tell no one before then.
"""


def _upload(app: RunningApp, name: str, data: bytes) -> Path:
    """Upload a file as the browser does; the path of Gradio's cached copy."""
    response = httpx.post(
        app.url + "gradio_api/upload", files={"files": (name, data, "text/plain")}, timeout=30
    )
    assert response.status_code == 200, response.text
    (cached,) = response.json()
    return Path(cached)


def _served(app: RunningApp, path: Path) -> httpx.Response:
    return httpx.get(f"{app.url}gradio_api/file={path}", timeout=10)


def test_uploads_are_not_served_once_handled_nor_kept_after_delete(client: Client, app: RunningApp):
    cached = _upload(app, "confidential-memo.txt", MEMO)
    # Gradio's upload cache is a private folder of this app: <cache>/<hash>/<name>.
    cache = cached.parent.parent
    assert cache.name.startswith("dossier-gradio-"), cached
    assert cache.stat().st_mode & 0o777 == 0o700
    assert MEMO in _served(app, cached).content  # served until it is handled

    results = client.predict([handle_file(str(cached))], api_name="/add_articles")[0]["data"]
    assert [r[:2] for r in results] == [["confidential-memo.txt", "added"]]
    response = _served(app, cached)
    assert response.status_code in (403, 404), response.status_code
    assert b"Tweed Mills" not in response.content
    assert not list(cache.rglob("confidential-memo.txt"))  # no copy left in the cache

    stored = app.data_dir / "uploads" / "confidential-memo.txt"
    assert stored.read_bytes() == MEMO
    assert client.predict(["confidential-memo.txt"], api_name="/delete_articles") > 0
    assert not stored.exists()
    assert not list(cache.rglob("confidential-memo.txt"))
    assert _served(app, cached).status_code in (403, 404)


def test_an_upload_refused_during_an_ingest_leaves_nothing_behind(client: Client, app: RunningApp):
    from filelock import FileLock

    cached = _upload(app, "confidential-memo.txt", MEMO)
    lock = FileLock(str(app.data_dir / ".ingest.lock"), timeout=0)
    with lock, pytest.raises(AppError, match="another ingest"):
        client.predict([handle_file(str(cached))], api_name="/add_articles")
    assert not (app.data_dir / "uploads" / "confidential-memo.txt").exists()
    assert not list(cached.parent.parent.rglob("confidential-memo.txt"))
    assert _served(app, cached).status_code in (403, 404)
    assert "confidential-memo.txt" not in {
        a["source"] for a in client.predict(api_name="/articles")
    }


def test_bad_uploads_are_refused_with_reasons(client: Client, tmp_path: Path):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    empty = tmp_path / "empty.md"
    empty.write_text("  \n")
    results = client.predict(
        [handle_file(str(binary)), handle_file(str(empty))], api_name="/add_articles"
    )[0]["data"]
    assert [r[:2] for r in results] == [["photo.txt", "failed"], ["empty.md", "failed"]]
    assert "PNG image" in results[0][3]
    assert "whitespace" in results[1][3]

    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(AppError, match="Invalid file type"):
        client.predict([handle_file(str(image))], api_name="/add_articles")
    assert {a["source"] for a in client.predict(api_name="/articles")} >= {MIA, GSIM}


@pytest.mark.parametrize(
    "name", ["../../../../evil.txt", "..\\..\\evil.txt", "/etc/evil.txt", "....//evil.txt"]
)
def test_hostile_upload_names_write_nothing_outside_the_data_dir(
    client: Client, app: RunningApp, name: str
):
    text = b"Evil council meets\n\nThe council of Evilton met on Monday about its budget.\n"
    response = httpx.post(
        app.url + "gradio_api/upload", files={"files": (name, text, "text/plain")}, timeout=30
    )
    assert response.status_code == 200, response.text
    (server_path,) = response.json()
    assert Path(server_path).name.endswith("evil.txt") and ".." not in Path(server_path).parts
    results = client.predict([handle_file(server_path)], api_name="/add_articles")[0]["data"]
    assert [r[:2] for r in results] == [["evil.txt", "added"]]
    assert (app.data_dir / "uploads" / "evil.txt").is_file()
    root = Path(__file__).resolve().parent.parent
    for place in (root, app.workdir, app.data_dir, Path("/etc"), Path("/tmp")):
        assert not (place / "evil.txt").exists(), place
    client.predict(["evil.txt"], api_name="/delete_articles")


def test_an_oversize_upload_is_refused(client: Client, tmp_path: Path):
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.write(b"A long line of plausible article text.\n" * (21 * 1024 * 1024 // 39 + 1))
    with pytest.raises(Exception, match=r"(?i)too large|exceeds|maximum"):
        client.predict([handle_file(str(big))], api_name="/add_articles")
    assert "big.txt" not in {a["source"] for a in client.predict(api_name="/articles")}


@pytest.mark.parametrize(
    "path",
    [
        "gradio_api/file={data}/records.sqlite",
        "gradio_api/file={data}/chroma/chroma.sqlite3",
        "gradio_api/file={root}/pyproject.toml",
        "gradio_api/file=pyproject.toml",
        "gradio_api/file=../../../../../../{data}/records.sqlite",
        "gradio_api/file=%2Fetc%2Fpasswd",
        "gradio_api/file=/etc/passwd",
        "file={data}/records.sqlite",
        "static/../../pyproject.toml",
        "assets/..%2f..%2fpyproject.toml",
        "gradio_api/upload/../../{data}/records.sqlite",
    ],
)
def test_data_directory_and_project_files_are_never_served(app: RunningApp, path: str):
    data = app.data_dir.resolve()
    assert (data / "records.sqlite").is_file()
    root = Path(__file__).resolve().parent.parent
    url = app.url + path.format(data=str(data).lstrip("/"), root=str(root).lstrip("/"))
    response = httpx.get(url, timeout=10)
    assert response.status_code in (403, 404, 405), (url, response.status_code)
    assert b"SQLite format" not in response.content
    assert b"[project]" not in response.content


def test_login_and_busy_queue(tmp_path: Path):
    """With DOSSIER_UI_USER/PASSWORD the app needs a login; a full queue says it is busy."""
    env = {"DOSSIER_UI_USER": "editor", "DOSSIER_UI_PASSWORD": "s3cret-pass"}
    args = ("--concurrency", "1", "--queue-size", "1")
    with running_app(tmp_path, *args, env=env) as running:
        url = running.url
        assert httpx.get(f"{url}config", timeout=5).status_code == 401
        with pytest.raises(Exception, match=r"(?i)login|auth|401"):
            Client(url, verbose=False)
        client = Client(url, auth=("editor", "s3cret-pass"), verbose=False)
        question = "Who leads the Islamic Movement for Azawad?"
        assert "Alghabass" in client.predict(question, api_name="/ask")["text"]

        def ask() -> str:
            try:
                return client.predict(question, api_name="/ask")["text"]
            except Exception as exc:  # the busy message, as the client reports it
                return f"error: {exc}"

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            outcomes = list(pool.map(lambda _: ask(), range(12)))
        answered = [o for o in outcomes if "Alghabass" in o]
        busy = [o for o in outcomes if o.startswith("error:")]
        assert answered, outcomes
        assert busy, outcomes
        assert len(answered) + len(busy) == len(outcomes), outcomes
        assert all("queue is full" in o.lower() for o in busy), busy
        assert "Traceback" not in running.log


LOGIN = {"DOSSIER_UI_USER": "ed", "DOSSIER_UI_PASSWORD": "pw"}


def test_failed_logins_are_throttled_and_the_schema_needs_a_login(tmp_path: Path):
    with running_app(tmp_path, env=LOGIN) as running:
        url = running.url
        for path in ("openapi.json", "docs", "redoc", "gradio_api/openapi.json", "gradio_api/info"):
            response = httpx.get(f"{url}{path}", timeout=5, follow_redirects=False)
            assert response.status_code in (302, 303, 307, 401, 403), (path, response.status_code)
            assert b'"openapi"' not in response.content
        assert httpx.get(url, timeout=5).status_code == 200  # the login page itself
        wrong = [
            httpx.post(f"{url}login", data={"username": "ed", "password": f"x{i}"}, timeout=5)
            for i in range(6)
        ]
        assert [r.status_code for r in wrong[:5]] == [400] * 5, [r.text for r in wrong]
        assert wrong[5].status_code == 429
        assert "too many failed logins; try again in" in wrong[5].text
        assert 0 < int(wrong[5].headers["retry-after"]) <= 300
        # While throttled even the right password is refused.
        right = httpx.post(f"{url}login", data={"username": "ed", "password": "pw"}, timeout=5)
        assert right.status_code == 429
        assert "try again in" in right.text
        assert "Traceback" not in running.log


def test_a_login_opens_the_schema(tmp_path: Path):
    with running_app(tmp_path, env=LOGIN) as running:
        url = running.url
        with httpx.Client(timeout=5) as http:
            bad = http.post(f"{url}login", data={"username": "ed", "password": "no"})
            assert bad.status_code == 400
            assert http.get(f"{url}openapi.json").status_code == 401
            good = http.post(f"{url}login", data={"username": "ed", "password": "pw"})
            assert good.status_code == 200, good.text
            schema = http.get(f"{url}openapi.json")
            assert schema.status_code == 200
            assert "openapi" in schema.json()
            assert http.get(f"{url}config").status_code == 200


def test_the_address_is_the_last_line_printed(tmp_path: Path):
    # An app of its own: the shared one's log goes on after start-up.
    with running_app(tmp_path) as started:
        time.sleep(1)  # the line is printed just after the server answers
        log = started.log
        cache = _upload(
            started, "note.txt", b"A note\n\nNothing to see here at all.\n"
        ).parent.parent
        assert cache.is_dir()
    assert not cache.exists()  # the private upload cache goes when the app stops
    assert "first start: ingested the seed articles" in log
    lines = [line for line in log.splitlines() if line.strip() and "http" in line]
    assert lines, log
    assert lines[-1] == f"Dossier is running at {started.url.rstrip('/')} (Ctrl+C to stop)", log
    assert log.index("first start") < log.index("Dossier is running at")
    assert "Running on local URL" not in log  # Gradio's own start-up lines are quiet
