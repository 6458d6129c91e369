"""The openai:<model> mode over real HTTP, against a scripted OpenAI-protocol server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant import Answer, Assistant
from core.errors import ModelUnavailable
from tests.conftest import MIA, free_port
from ui.cli import main

QUESTION = "Who leads the Islamic Movement for Azawad?"
REPLY = "The Islamic Movement for Azawad is led by Alghabass Ag Intallah. [1]"


class ScriptedOpenAI:
    """A /v1/chat/completions server that replies from a script and records each request."""

    def __init__(self, replies: list[str], delay: float = 0.0) -> None:
        self.replies = list(replies)
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.keys: list[str | None] = []  # the Authorization header of each request
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.keys.append(self.headers.get("Authorization"))
                time.sleep(server.delay)
                reply = server.replies.pop(0)
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for piece in [w + " " for w in reply.split(" ")]:
                        self._event({"delta": {"content": piece}, "finish_reason": None})
                    self._event({"delta": {}, "finish_reason": "stop"})
                    self.wfile.write(b"data: [DONE]\n\n")
                else:
                    message = {"role": "assistant", "content": reply}
                    payload = self._payload({"message": message, "finish_reason": "stop"})
                    data = json.dumps({**payload, "object": "chat.completion"}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def _payload(self, choice: dict[str, Any]) -> dict[str, Any]:
                return {
                    "id": "chatcmpl-test",
                    "created": int(time.time()),
                    "model": "scripted",
                    "choices": [{"index": 0, **choice}],
                }

            def _event(self, choice: dict[str, Any]) -> None:
                chunk = {**self._payload(choice), "object": "chat.completion.chunk"}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    running = ScriptedOpenAI([REPLY, REPLY])
    yield running
    running.close()


def openai_bot(seeded: Assistant, url: str, **settings: Any) -> Assistant:
    return Assistant(
        data_dir=seeded.settings.data_dir, llm="openai:scripted", openai_base_url=url, **settings
    )


def test_answers_stream_over_http_with_checked_citations(
    seeded: Assistant, server: ScriptedOpenAI
) -> None:
    bot = openai_bot(seeded, server.url)
    stream = bot.stream(QUESTION)
    pieces = list(stream)
    answer = stream.answer()
    assert isinstance(answer, Answer)
    assert len(pieces) >= 10 and "".join(pieces).strip() == REPLY
    assert answer.mode == "openai:scripted" and answer.text == REPLY and not answer.notice
    assert answer.citations[0].source == MIA and "Alghabass" in answer.citations[0].quote

    (request,) = server.requests
    assert request["model"] == "scripted" and request["stream"] is True
    assert request["temperature"] == 0
    system, human = request["messages"]
    assert system["role"] == "system" and "untrusted" in system["content"]
    assert human["content"].endswith(f"Question: {QUESTION}")
    assert 'passage number="1"' in human["content"]
    assert server.keys[0] == "Bearer not-needed"  # local servers need none


def test_the_api_key_comes_from_the_environment(
    seeded: Assistant, server: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    openai_bot(seeded, server.url).answer(QUESTION)
    assert server.keys[0] == "Bearer sk-test-123"


def test_a_server_that_does_not_answer_times_out_with_a_clear_error(seeded: Assistant) -> None:
    slow = ScriptedOpenAI([REPLY], delay=6)
    try:
        bot = openai_bot(seeded, slow.url, llm_timeout=1)
        started = time.monotonic()
        with pytest.raises(ModelUnavailable) as error:
            bot.answer(QUESTION)
        assert time.monotonic() - started < 5
        assert "did not answer within 1 s" in str(error.value)
        assert "DOSSIER_LLM_TIMEOUT" in str(error.value) and "--llm extractive" in str(error.value)
    finally:
        slow.close()


def test_an_unreachable_server_gives_a_clear_error_fast(seeded: Assistant) -> None:
    bot = openai_bot(seeded, f"http://127.0.0.1:{free_port()}/v1", llm_timeout=2)
    started = time.monotonic()
    with pytest.raises(
        ModelUnavailable, match=r"cannot reach openai:scripted at http://127\.0\.0\.1"
    ):
        bot.answer(QUESTION)
    assert time.monotonic() - started < 5
    answer = bot.answer(QUESTION, fallback=True)
    assert answer.mode == "extractive" and "DOSSIER_OPENAI_BASE_URL" in answer.notice
    assert answer.citations[0].source == MIA


def test_cli_streams_the_answer_then_prints_the_checked_one(
    seeded: Assistant,
    server: ScriptedOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOSSIER_OPENAI_BASE_URL", server.url)
    data = str(seeded.settings.data_dir)
    assert main(["ask", "--data-dir", data, "--llm", "openai:scripted", QUESTION]) == 0
    out = capsys.readouterr().out
    streamed, checked = out.split("Checked against the passages:")
    assert REPLY.split(" [")[0] in streamed
    assert REPLY in checked and f"- {MIA}" in checked


def test_cli_reports_an_unreachable_server_in_one_line(
    seeded: Assistant, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOSSIER_OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    data = str(seeded.settings.data_dir)
    assert main(["ask", "--data-dir", data, "--llm", "openai:scripted", QUESTION]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("dossier: error: cannot reach openai:scripted")
    assert "DOSSIER_OPENAI_BASE_URL" in err


def test_bad_llm_settings_are_refused_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--llm", "gpt4", QUESTION]) == 1
    assert "answer mode 'gpt4' is not known" in capsys.readouterr().err
    with pytest.raises(Exception, match="DOSSIER_OLLAMA_URL 'ftp://x' is not an http"):
        Assistant(data_dir="unused", ollama_url="ftp://x")
