"""The Dossier web app: a chat whose answers cite their sources, and a library of articles.

The handlers are module-level functions of the ``Assistant`` and their inputs
(``respond``, ``library_view``, ``add_articles``, ``delete_articles``, ``ask``),
so tests call them without a server; ``build_app(bot)`` wires them into the
Gradio Blocks, and ``serve(bot, ...)`` launches it with the safety settings
(loopback by default, optional login, a bounded queue, the data directory
never served). ``dossier ui`` is the command that calls it.

The app's API, for ``gradio_client``:
    ``/ask`` (question, history, k, mode) -> the Answer as a dict;
    ``/articles`` () -> the ingested articles;
    ``/add_articles`` (files) -> per-file results;
    ``/delete_articles`` (sources) -> chunks removed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no phoning home

import gradio as gr
from gradio.utils import get_upload_folder  # where Gradio keeps uploads (GRADIO_TEMP_DIR)
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import Assistant
from assistant.service import MAX_QUESTION_CHARS
from assistant.uploads import UPLOAD_TYPES
from core.errors import DossierError
from core.types import FileResult
from ui import render

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REVEAL_SECONDS = 0.6  # the longest a finished answer takes to appear word by word
EXAMPLE_COUNT = 3
MAX_K = 100  # the most passages a question may retrieve (Assistant.retrieve's bound)
CACHE_SWEEP = (3600, 86400)  # every hour, uploads cached for more than a day are deleted

CSS = """
.dossier-answer .dossier-text { line-height: 1.55; }
.dossier-muted { opacity: 0.65; font-style: italic; }
.dossier-error .dossier-text { color: var(--error-text-color, #b91c1c); }
.dossier-refused .dossier-text { font-style: italic; }
.dossier-unsupported { text-decoration: underline wavy #d97706; }
.dossier-flag { font-size: 0.75em; color: #b45309; border: 1px solid #d97706;
  border-radius: 3px; padding: 0 3px; }
.dossier-notice { font-size: 0.9em; opacity: 0.8; margin-bottom: 0.4em; }
a.dossier-cite { font-weight: 600; text-decoration: none; padding: 0 1px; }
.dossier-sources { margin-top: 0.8em; border-top: 1px solid var(--border-color-primary);
  padding-top: 0.5em; }
.dossier-label { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.05em;
  opacity: 0.7; margin-bottom: 0.3em; }
details.dossier-source { margin: 0.3em 0; border-left: 3px solid var(--color-accent);
  padding: 0.2em 0.6em; border-radius: 2px; }
details.dossier-source summary { cursor: pointer; }
details.dossier-source .dossier-meta { opacity: 0.7; font-size: 0.9em; }
details.dossier-source.dossier-flash { background: var(--color-accent-soft); }
.dossier-passage { margin-top: 0.4em; font-size: 0.95em; white-space: normal; }
.dossier-passage mark { background: #fde68a; color: #111; padding: 0 1px; }
.dossier-span { font-weight: 700; text-decoration: underline; }
/* The chat's toolbar (share, clear, copy all) floats over the top of the messages;
   in the flow, above them, it covers no text. */
#chat > .wrapper { display: flex; flex-direction: column; }
#chat > .wrapper > .top-panel { position: static; align-self: flex-end; flex: none;
  margin: 0 0 var(--spacing-sm) 0; }
#chat > .wrapper > :not(.top-panel) { flex: 1 1 auto; min-height: 0; }
"""

# A click on an [n] marker opens source n of the same answer and scrolls to it.
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.dossier-cite");
  if (!link) return;
  const source = document.getElementById(link.getAttribute("href").slice(1));
  if (!source) return;
  event.preventDefault();
  event.stopPropagation();
  source.open = true;
  source.scrollIntoView({block: "nearest", behavior: "smooth"});
  source.classList.add("dossier-flash");
  setTimeout(() => source.classList.remove("dossier-flash"), 1500);
}, true);
</script>
"""


Chat = list[dict[str, Any]]  # what the Chatbot shows: rendered HTML turns
Turns = list[dict[str, str]]  # the same chat as plain text, for follow-ups
ChatUpdate = tuple[str, Chat, Turns]  # (question box, chat, plain turns)


# -- handlers -------------------------------------------------------------------------------


def respond(
    bot: Assistant, message: str, chat: Chat, plain: Turns, k: float, mode: str
) -> Iterator[ChatUpdate]:
    """Answer ``message`` in the chat: the question, the answer as it is written, then
    the finished answer with its sources. Errors become a message in the chat."""
    chat, plain = list(chat or []), list(plain or [])
    if not (message or "").strip():
        yield message, chat, plain
        return
    turn = len(chat) + 1  # the answer's position: unique within this chat
    chat.append({"role": "user", "content": render.question_html(message)})
    chat.append({"role": "assistant", "content": render.pending_html()})
    yield "", chat, plain
    try:
        # An LLM that cannot be reached gives the extractive answer, with a notice.
        stream = bot.stream(message, plain, k=int(k), mode=mode, fallback=True)
        written = ""
        for piece in stream:  # an answerer that writes as it goes
            written += piece
            chat[-1] = {"role": "assistant", "content": render.partial_html(written)}
            yield "", chat, plain
        answer = stream.answer()
        if not written:
            yield from _reveal(answer.text, chat, plain)
    except DossierError as exc:
        chat[-1] = {"role": "assistant", "content": render.error_html(str(exc))}
        yield "", chat, plain
        return
    except Exception as exc:  # the app must stay usable; the log has the details
        log.exception("answering %r failed", message[:200])
        chat[-1] = {
            "role": "assistant",
            "content": render.error_html(
                f"Something went wrong while answering ({type(exc).__name__}); "
                "the server log has the details. Try again or rephrase."
            ),
        }
        yield "", chat, plain
        return
    plain += [
        {"role": "user", "content": message},
        {"role": "assistant", "content": answer.text},
    ]
    chat[-1] = {"role": "assistant", "content": render.answer_html(answer, turn)}
    yield "", chat, plain


def _reveal(text: str, chat: Chat, plain: Turns) -> Iterator[ChatUpdate]:
    # The extractive answer is ready at once; showing it a few words at a
    # time reads like the LLM modes and lets the eye follow it in.
    steps = list(render.reveal(text))
    pause = REVEAL_SECONDS / max(len(steps), 1)
    for shown in steps[:-1]:
        chat[-1] = {"role": "assistant", "content": render.partial_html(shown)}
        yield "", chat, plain
        time.sleep(pause)


def library_view(bot: Assistant) -> tuple[Any, ...]:
    """The status line, the library table, the delete choices and the example questions."""
    sources = bot.sources()
    chunks = sum(s.chunks for s in sources)
    samples = [[question] for question in bot.example_questions(EXAMPLE_COUNT)] if sources else []
    return (
        f"{len(sources)} article{'s' * (len(sources) != 1)} · {chunks} passages · "
        f"answer mode: {bot.modes[0]}",
        render.library_rows(sources),
        gr.Dropdown(
            choices=[(f"{s.title} ({s.source})", s.source_id) for s in sources],
            value=[],
            multiselect=True,
        ),
        gr.Dataset(samples=samples, visible=bool(samples)),
    )


def add_articles(
    bot: Assistant, files: list[str] | None, progress: gr.Progress | None = None
) -> tuple[Any, ...]:
    """Keep and ingest uploaded files; the per-file results, a cleared upload box, the view."""
    if not files:
        raise gr.Error(f"Choose one or more files to add ({', '.join(UPLOAD_TYPES)}).")

    def step(result: FileResult, done: int, total: int) -> None:
        if progress is not None:
            progress((done, total), desc=f"{result.status}: {Path(result.path).name}")

    try:
        report = bot.add_uploads([(Path(f).name, f) for f in files], step)
    except DossierError as exc:
        raise gr.Error(str(exc)) from None
    finally:
        # Kept in DATA_DIR/uploads or refused: either way the upload cache must not
        # go on serving it (gradio_api/file=...), nor keep it after a delete.
        forget_cached(files)
    return (render.report_rows(report), None, *library_view(bot))


def forget_cached(files: list[str]) -> None:
    """Delete Gradio's cached copies of uploaded ``files`` (paths elsewhere are left alone)."""
    cache = Path(get_upload_folder()).resolve()
    for name in files:
        path = Path(name).resolve()
        if path == cache or not path.is_relative_to(cache):
            continue  # not an upload (a test or a script passing its own files)
        try:
            path.unlink(missing_ok=True)
            if path.parent != cache:  # Gradio keeps each upload in a folder of its own
                path.parent.rmdir()
        except OSError:  # a folder shared with another upload: it goes with that one
            pass


def delete_articles(bot: Assistant, sources: list[str] | None) -> int:
    """Remove articles (file names or ids) from the library; returns chunks removed."""
    if not sources:
        raise gr.Error("Choose the articles to delete first.")
    try:
        return bot.delete(list(sources))
    except DossierError as exc:
        raise gr.Error(str(exc)) from None


def ask(
    bot: Assistant,
    question: str,
    history: list[dict[str, Any]] | None = None,
    k: int | None = None,
    mode: str | None = None,
) -> dict[str, Any]:
    """The Answer as a dict; an unreachable LLM gives the extractive answer with a notice.

    Each field is checked on its own: ``k`` is a whole number from 1 to 100 (an int or
    a string of digits), ``mode`` a string, ``history`` within ``core.chat``'s limits.
    """
    k = _passages_wanted(k)
    if mode is not None and not isinstance(mode, str):
        raise gr.Error(
            f"mode must be text, one of {', '.join(bot.modes)} (or ollama:<model>, "
            f"openai:<model>), got {type(mode).__name__}"
        )
    try:
        return bot.answer(question, history, k=k, mode=mode, fallback=True).to_dict()
    except DossierError as exc:
        raise gr.Error(str(exc)) from None


def _passages_wanted(k: object) -> int | None:
    """``k`` as an int from 1 to 100 (None: the setting), or a ``gr.Error`` that says so."""
    if k is None:
        return None
    if isinstance(k, str) and k.strip().isascii() and k.strip().isdigit():
        k = int(k.strip())
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise gr.Error(
            f"k must be a whole number from 1 to {MAX_K} (passages retrieved), got {k!r:.40}"
        )
    return k


# -- the app --------------------------------------------------------------------------------


def build_app(bot: Assistant) -> gr.Blocks:
    """The web app for ``bot``: Chat and Library tabs, and the API endpoints."""
    # Uploads are deleted from Gradio's cache once handled (``forget_cached``); this
    # sweeps up the ones never handled (refused by Gradio itself, or never added).
    with gr.Blocks(title="Dossier", analytics_enabled=False, delete_cache=CACHE_SWEEP) as app:
        turns = gr.State([])  # the plain-text chat, for follow-up questions
        gr.Markdown("# Dossier\nAsk about the articles; every answer cites its sources.")
        status = gr.Markdown(elem_id="status")

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chatbot = gr.Chatbot(
                    elem_id="chat",
                    show_label=False,
                    height=560,
                    layout="panel",
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    feedback_options=None,
                    placeholder="Ask a question about the articles in the library.",
                )
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="question",
                        show_label=False,
                        placeholder="Ask a question about the articles…",
                        max_length=MAX_QUESTION_CHARS,
                        autofocus=True,
                        scale=8,
                    )
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                examples = gr.Dataset(
                    components=[question],
                    samples=[],
                    label="Examples",
                    elem_id="examples",
                )
                with gr.Row():
                    clear = gr.Button("Clear conversation", elem_id="clear", size="sm")
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    k = gr.Slider(
                        1, 20, value=bot.settings.k, step=1, label="Passages retrieved per question"
                    )
                    mode = gr.Dropdown(
                        choices=bot.modes,
                        value=bot.modes[0],
                        label="Answer mode",
                        info="extractive quotes the articles; the LLM modes write an answer "
                        "whose sentences are checked against the passages. You can also type "
                        "ollama:<model> or openai:<model>.",
                        allow_custom_value=True,
                        elem_id="mode",
                    )

            with gr.Tab("Library", id="library"):
                articles = _table(render.LIBRARY_HEADERS, "Articles", "articles")
                uploads = gr.File(
                    file_count="multiple",
                    file_types=UPLOAD_TYPES,
                    label=f"Add articles ({', '.join(UPLOAD_TYPES)}; "
                    f"up to {bot.settings.max_file_mb:g} MB each)",
                    elem_id="upload",
                )
                add_button = gr.Button("Add to library", variant="primary", elem_id="add")
                results = _table(render.REPORT_HEADERS, "Last upload", "results")
                with gr.Row():
                    doomed = gr.Dropdown(
                        multiselect=True, choices=[], label="Articles to delete", scale=4
                    )
                    delete_button = gr.Button("Delete", variant="stop", scale=1)

        # Gradio reads each handler's parameters and docstring (the API page shows them),
        # so these are thin, typed functions over the module-level handlers above.

        def on_question(
            message: str, chat: Chat, plain: Turns, k: float, mode: str
        ) -> Iterator[ChatUpdate]:
            yield from respond(bot, message, chat, plain, k, mode)

        def on_add(
            files: list[str] | None,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
        ) -> tuple[Any, ...]:
            return add_articles(bot, files, progress)

        def on_delete(sources: list[str] | None) -> tuple[Any, ...]:
            removed = delete_articles(bot, sources)
            gr.Info(f"Deleted {len(sources or [])} article(s), {removed} passages.")
            return library_view(bot)

        def on_load() -> tuple[Any, ...]:
            return library_view(bot)

        chat_inputs = [question, chatbot, turns, k, mode]
        chat_outputs = [question, chatbot, turns]
        for trigger in (question.submit, ask_button.click):
            trigger(on_question, chat_inputs, chat_outputs, api_visibility="private")
        clear.click(
            lambda: ([], [], ""), None, [chatbot, turns, question], api_visibility="private"
        )
        chatbot.clear(lambda: [], None, turns, api_visibility="private")  # its own trash button
        examples.click(lambda sample: sample[0], examples, question, api_visibility="private").then(
            on_question, chat_inputs, chat_outputs, api_visibility="private"
        )
        view_outputs = [status, articles, doomed, examples]
        add_button.click(
            on_add,
            uploads,
            [results, uploads, *view_outputs],
            api_name="add_articles",
            concurrency_id="library",
            concurrency_limit=1,
        )
        delete_button.click(
            on_delete,
            doomed,
            view_outputs,
            api_visibility="private",
            concurrency_id="library",
            concurrency_limit=1,
        )
        app.load(on_load, None, view_outputs, api_visibility="private")

        # -- API ----------------------------------------------------------------------

        def ask_api(
            question: str,
            history: list[dict[str, Any]] | None = None,
            k: int | None = None,
            mode: str | None = None,
        ) -> dict[str, Any]:
            """Answer a question from the articles: text, citations and passages.

            The result has the fields of ``assistant.Answer``. ``history`` is the
            chat so far as ``{"role", "content"}`` messages, for follow-ups. An
            LLM mode whose server cannot be reached gives the extractive answer
            with a ``notice``.
            """
            return ask(bot, question, history, k, mode)

        def articles_api() -> list[dict[str, Any]]:
            """The ingested articles: source, title, outlet, date, chunks, ingested_at."""
            return [s.to_dict() for s in bot.sources()]

        def delete_api(sources: list[str] | None) -> int:
            """Remove articles (file names or ids) from the library; returns chunks removed."""
            return delete_articles(bot, sources)

        gr.api(ask_api, api_name="ask")
        gr.api(articles_api, api_name="articles")
        gr.api(delete_api, api_name="delete_articles", concurrency_id="library")

    return app


def _table(headers: list[str], label: str, elem_id: str) -> gr.Dataframe:
    """A read-only table; cells are shown as text, never as Markdown or HTML."""
    return gr.Dataframe(
        headers=headers, type="array", interactive=False, wrap=True, label=label, elem_id=elem_id
    )


# Failed logins allowed per client address within the window before it is refused (429).
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_S = 300.0
# What may be fetched without a session: the login page, its static assets, and the
# routes it calls (Gradio itself answers /config with 401 and the login prompt).
_OPEN_PATHS = frozenset(
    {"/", "/login", "/login/", "/config", "/config/", "/favicon.ico", "/robots.txt"}
    | {"/manifest.json", "/theme.css", "/gradio_api/theme.css"}
    | {"/gradio_api/login_check", "/gradio_api/login_check/"}
    | {"/gradio_api/startup-events"}  # launch() calls it before anyone signs in
)
_OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")


class LoginGuard:
    """ASGI middleware for an app with a login (Gradio's own ``App`` is ``scope["app"]``).

    Every route but the login page and its assets needs a session (401 otherwise;
    FastAPI's own /openapi.json included), and failed logins are throttled per client
    address: after ``LOGIN_MAX_FAILURES`` within ``LOGIN_WINDOW_S`` seconds, POST /login
    answers 429 "too many failed logins; try again in N s"; a success clears the count.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.failures: dict[str, deque[float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if scope["type"] == "http" and path in ("/login", "/login/"):
            if scope["method"] == "POST":
                await self._login(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if path in _OPEN_PATHS or path.startswith(_OPEN_PREFIXES) or _signed_in(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await _json(send, 401, "Not authenticated")

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = (scope.get("client") or ("unknown", 0))[0]
        now = time.monotonic()
        failures = self.failures.get(client)
        while failures and now - failures[0] >= LOGIN_WINDOW_S:
            failures.popleft()
        if failures and len(failures) >= LOGIN_MAX_FAILURES:
            wait = max(1, math.ceil(failures[0] + LOGIN_WINDOW_S - now))
            log.warning("login refused for %s: too many failed logins", client)
            message = f"too many failed logins; try again in {wait} s"
            await _json(send, 429, message, [(b"retry-after", str(wait).encode())])
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if 200 <= status < 300:
            self.failures.pop(client, None)
        elif 400 <= status < 500:
            # Forget clients whose failures have all expired, so the table stays small.
            for key in [
                k for k, v in self.failures.items() if not v or now - v[-1] >= LOGIN_WINDOW_S
            ]:
                del self.failures[key]
            self.failures.setdefault(client, deque()).append(now)


def _signed_in(scope: Scope) -> bool:
    """Whether the request carries a session cookie that Gradio issued."""
    app = scope.get("app")
    tokens = getattr(app, "tokens", None) or {}
    cookie_id = getattr(app, "cookie_id", "")
    cookies: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                cookies.setdefault(key, val)
    return any(
        cookies.get(f"{kind}-{cookie_id}") in tokens
        for kind in ("access-token", "access-token-unsecure")
    )


async def _json(send: Send, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail, "error": detail}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})


def serve(
    bot: Assistant,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    share: bool = False,
    concurrency: int = 4,
    queue_size: int = 64,
    seeds: Path | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Launch the app for ``bot``; ingest ``seeds`` first if the collection is empty.

    Its address is the last line printed (to stderr): "Dossier is running at ...".
    """
    if seeds is not None and seeds.is_dir() and bot.store.count() == 0:
        report = bot.ingest([seeds])
        log.info("first start: ingested the seed articles: %s", report.summary())
    bot.warm_up()
    app = build_app(bot)
    app.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    data_dir = bot.settings.data_dir.resolve()
    app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=share,
        inbrowser=False,
        prevent_thread_lock=True,  # the address is printed last, below Gradio's start-up
        quiet=True,
        max_file_size=bot.settings.max_file_bytes,
        # Only Gradio's own upload cache is served; these are refused explicitly too.
        allowed_paths=[],
        blocked_paths=[str(data_dir), str(PROJECT_ROOT)],
        ssr_mode=False,
        enable_monitoring=False,
        footer_links=["api"],
        css=CSS,
        head=HEAD,
        theme=gr.themes.Soft(),
        # With a login: every route but the login page needs it; failed logins are throttled.
        app_kwargs={"middleware": [Middleware(LoginGuard)]} if auth else None,
    )
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    where = f"http://{shown}:{app.server_port or port}"
    if app.share_url:
        where += f" and {app.share_url}"
    print(f"Dossier is running at {where} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    if block:
        app.block_thread()
    return app


def default_seeds() -> Path | None:
    seeds = PROJECT_ROOT / "seeds"
    return seeds if seeds.is_dir() else None
