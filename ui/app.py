"""The Dossier web app: a chat whose answers cite their sources, and a library of articles.

The handlers are module-level functions of the ``Assistant`` and their inputs
(``respond``, ``library_view``, ``search_library``, ``refresh_library``,
``add_articles``, ``delete_prompt``, ``delete_articles``, ``mark_deleted``, ``ask``),
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
from assistant.service import (
    MAX_OUTLET_CHARS,
    MAX_QUESTION_CHARS,
    MAX_SEARCH_CHARS,
    ingest_overrides,
)
from assistant.uploads import UPLOAD_TYPES
from core.errors import DossierError, InvalidOverride
from core.types import Answer, FileResult, SourceInfo
from ui import render

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REVEAL_SECONDS = 0.6  # the longest a finished answer takes to appear word by word
EXAMPLE_COUNT = 3
# The most articles the library table (and, in a bigger library, the delete list) shows:
# an archive's 250,000 rows would be megabytes on every refresh. A search narrows it.
LIBRARY_ROWS = 1000
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
.dossier-event { margin: 0.5em 0; }
.dossier-event-date { font-weight: 600; }
.dossier-event .dossier-meta, .dossier-event-how { opacity: 0.7; font-size: 0.9em; }
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
Answers = dict[int, Answer]  # the finished answers of a chat, by their position in it
LibraryVersion = tuple[int, int]  # the store's (generation, chunk count): changes on any write
REFRESH_SECONDS = 3.0  # how often an open app checks for articles another process changed


# -- handlers -------------------------------------------------------------------------------


def respond(
    bot: Assistant,
    message: str,
    chat: Chat,
    plain: Turns,
    k: float,
    mode: str,
    answers: Answers | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Iterator[ChatUpdate]:
    """Answer ``message`` in the chat: the question, the answer as it is written, then
    the finished answer with its sources. Errors become a message in the chat.
    ``since``/``until`` keep the articles dated in that range (Settings' date boxes).

    ``answers`` (if given) gets the finished Answer under its chat position, so that
    ``mark_deleted`` can show it again when an article it cites is deleted.
    """
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
        stream = bot.stream(
            message, plain, k=int(k), mode=mode, fallback=True, since=since, until=until
        )
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
    if answers is not None:
        answers[turn] = answer
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


def library_view(
    bot: Assistant, query: str = "", selected: list[str] | None = None
) -> tuple[Any, ...]:
    """The status line, the library table, the delete choices and the example questions.

    The table shows the articles ``query`` finds (``search_library``), at most
    ``LIBRARY_ROWS`` of them, newest first. The delete choices are every article while
    the library fits the table, else those the table shows; of them, those in
    ``selected`` that are still in the library stay chosen.
    """
    sources = bot.sources()
    chunks = sum(s.chunks for s in sources)
    questions = bot.example_questions(EXAMPLE_COUNT, sources) if sources else []
    samples = [[question] for question in questions]
    found = _found(bot, query) if (query or "").strip() else sources
    shown = render.newest_first(found)[:LIBRARY_ROWS]
    status = (
        f"{len(sources)} article{'s' * (len(sources) != 1)} · {chunks} passages · "
        f"answer mode: {bot.modes[0]}"
    )
    if len(found) > LIBRARY_ROWS:
        status += f" · the table shows the newest {LIBRARY_ROWS:,}: search to find the others"
    choosable = sources if len(sources) <= LIBRARY_ROWS else shown
    by_id = {s.source_id: s for s in sources}
    chosen = [source_id for source_id in selected or [] if source_id in by_id]
    offered = {s.source_id for s in choosable}
    choices = choosable + [by_id[i] for i in chosen if i not in offered]
    return (
        status,
        render.library_rows(shown),
        gr.Dropdown(
            choices=[(f"{s.title} ({s.source})", s.source_id) for s in choices],
            value=chosen,
            multiselect=True,
        ),
        gr.Dataset(samples=samples, visible=bool(samples)),
    )


def search_library(bot: Assistant, query: str) -> list[list[str | int]]:
    """The library table's rows for the articles with every word of ``query`` in their
    title, outlet, date, file name or text, newest first (at most ``LIBRARY_ROWS``)."""
    return render.library_rows(render.newest_first(_found(bot, query))[:LIBRARY_ROWS])


def _found(bot: Assistant, query: str) -> list[SourceInfo]:
    try:
        return bot.find_sources(query or "")
    except DossierError as exc:
        raise gr.Error(str(exc)) from None


def library_version(bot: Assistant) -> LibraryVersion:
    """What changes whenever any process writes to the store (an ingest, a delete, a watcher)."""
    return bot.store.generation(), bot.store.count()


def refresh_library(
    bot: Assistant, seen: LibraryVersion | None, query: str, selected: list[str] | None
) -> tuple[Any, ...]:
    """For the app's timer: the library view again if the store changed since ``seen``.

    Returns the version now and the view, or the same version and ``gr.skip()`` for
    every part (nothing is sent, so a table being read or sorted stays as it is).
    """
    unchanged = (seen, *(gr.skip() for _ in range(4)))
    try:
        version = library_version(bot)
        if version == (tuple(seen) if seen else None):
            return unchanged
        return (version, *library_view(bot, query, selected))
    except (DossierError, gr.Error) as exc:  # the store is away, or the search is refused:
        # the log says so; a pop-up every few seconds would not help
        log.warning("the library could not be refreshed: %s", exc)
        return unchanged


def delete_prompt(sources: list[str] | None) -> str:
    """The confirmation question shown before a delete (``gr.Error`` if nothing is chosen)."""
    if not sources:
        raise gr.Error("Choose the articles to delete first.")
    n = len(sources)
    return f"**Delete {n} article{'s' * (n != 1)}?** This cannot be undone."


def mark_deleted(bot: Assistant, chat: Chat, answers: Answers | None) -> Chat:
    """The chat with every answer that cites an article no longer in the library shown
    again, its sources that are gone saying so (``render.DELETED_NOTE``)."""
    chat = list(chat or [])
    stored = {s.source_id for s in bot.sources()}
    for turn, answer in (answers or {}).items():
        cited = render.cited_source_ids(answer)
        gone = [number for number, source_id in cited.items() if source_id not in stored]
        if gone and 0 < turn < len(chat):  # ``turn`` is the answer's index in the chat
            html = render.answer_html(answer, turn, deleted=gone)
            chat[turn] = {"role": "assistant", "content": html}
    return chat


def add_articles(
    bot: Assistant,
    files: list[str] | None,
    progress: gr.Progress | None = None,
    *,
    date: str | None = None,
    outlet: str | None = None,
) -> tuple[Any, ...]:
    """Keep and ingest uploaded files; the per-file results, a cleared upload box, the view.

    ``date`` and ``outlet`` (the form's optional boxes) override what the files say.
    """
    if not files:
        raise gr.Error(f"Choose one or more files to add ({', '.join(UPLOAD_TYPES)}).")
    try:
        # Checked before the uploads are touched, so a typo costs no new upload.
        date, outlet = ingest_overrides(date, outlet)
    except InvalidOverride as exc:
        raise gr.Error(str(exc)[0].upper() + str(exc)[1:] + ".") from None

    def step(result: FileResult, done: int, total: int) -> None:
        if progress is not None:
            progress((done, total), desc=f"{result.status}: {Path(result.path).name}")

    def embedded(done: int, total: int) -> None:  # moves while a step is embedded
        if progress is not None:
            progress((done, total), desc="chunks embedded", unit="chunks")

    try:
        report = bot.add_uploads(
            [(Path(f).name, f) for f in files],
            step,
            date=date,
            outlet=outlet,
            chunk_progress=embedded,
        )
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
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """The Answer as a dict; an unreachable LLM gives the extractive answer with a notice.
    ``since``/``until`` (YYYY-MM-DD, YYYY-MM or YYYY) keep articles dated in that range.

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
        for bound in (since, until):
            if bound is not None and not isinstance(bound, str):
                raise gr.Error(f"since and until must be text (YYYY-MM-DD), got {bound!r:.40}")
        answer = bot.answer(
            question, history, k=k, mode=mode, fallback=True, since=since, until=until
        )
        return answer.to_dict()
    except DossierError as exc:
        raise gr.Error(str(exc)) from None


def timeline_view(bot: Assistant, topic: str, since: str = "", until: str = "") -> str:
    """The Timeline tab's content for ``topic``: its events as HTML, or the error's message."""
    try:
        return render.timeline_html(bot.timeline(topic, since=since or None, until=until or None))
    except DossierError as exc:
        return render.error_html(str(exc))


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
    """The web app for ``bot``: Chat, Timeline and Library tabs, and the API endpoints."""
    # Uploads are deleted from Gradio's cache once handled (``forget_cached``); this
    # sweeps up the ones never handled (refused by Gradio itself, or never added).
    with gr.Blocks(title="Dossier", analytics_enabled=False, delete_cache=CACHE_SWEEP) as app:
        turns = gr.State([])  # the plain-text chat, for follow-up questions
        answers = gr.State({})  # the finished answers, to mark the ones citing deleted articles
        seen = gr.State(None)  # the library version this page shows
        timer = gr.Timer(REFRESH_SECONDS)  # shows what another process (a watcher) changed
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
                    with gr.Row():
                        since = gr.Textbox(
                            label="Articles dated since",
                            placeholder="YYYY-MM-DD, YYYY-MM or YYYY (empty: any)",
                            elem_id="since",
                            max_length=20,
                        )
                        until = gr.Textbox(
                            label="Articles dated until",
                            placeholder="YYYY-MM-DD, YYYY-MM or YYYY (empty: any)",
                            elem_id="until",
                            max_length=20,
                        )

            with gr.Tab("Timeline", id="timeline"):
                with gr.Row():
                    topic = gr.Textbox(
                        elem_id="timeline-topic",
                        show_label=False,
                        placeholder="A name or a topic, e.g. Iyad Ag Ghaly…",
                        max_length=MAX_QUESTION_CHARS,
                        scale=6,
                    )
                    topic_since = gr.Textbox(
                        show_label=False, placeholder="since (YYYY-MM-DD)", max_length=20, scale=2
                    )
                    topic_until = gr.Textbox(
                        show_label=False, placeholder="until (YYYY-MM-DD)", max_length=20, scale=2
                    )
                    timeline_button = gr.Button(
                        "Show timeline", variant="primary", elem_id="timeline-show", scale=1
                    )
                events = gr.HTML(elem_id="timeline-events")

            with gr.Tab("Library", id="library"):
                search = gr.Textbox(
                    elem_id="library-search",
                    show_label=False,
                    placeholder="Search the library: words of the title, outlet, date, "
                    "file name or text…",
                    max_length=MAX_SEARCH_CHARS,
                )
                articles = _table(
                    render.LIBRARY_HEADERS,
                    "Articles (newest first; a column's ⋮ menu sorts by it)",
                    "articles",
                    widths=LIBRARY_WIDTHS,
                )
                uploads = gr.File(
                    file_count="multiple",
                    file_types=UPLOAD_TYPES,
                    label=f"Add articles ({', '.join(UPLOAD_TYPES)}; "
                    f"up to {bot.settings.max_file_mb:g} MB each)",
                    elem_id="upload",
                )
                # Optional: for files that do not show their date or outlet (or show it wrong).
                with gr.Row():
                    upload_date = gr.Textbox(
                        label="Date (optional)",
                        placeholder="YYYY-MM-DD; blank: read from each file",
                        max_lines=1,
                        max_length=100,
                        elem_id="upload-date",
                    )
                    upload_outlet = gr.Textbox(
                        label="Outlet (optional)",
                        placeholder="e.g. CNN; blank: read from each file",
                        max_lines=1,
                        max_length=MAX_OUTLET_CHARS,
                        elem_id="upload-outlet",
                    )
                add_button = gr.Button("Add to library", variant="primary", elem_id="add")
                results = _table(render.REPORT_HEADERS, "Last upload", "results")
                with gr.Row():
                    doomed = gr.Dropdown(
                        multiselect=True,
                        choices=[],
                        label="Articles to delete",
                        scale=4,
                        elem_id="doomed",
                    )
                    delete_button = gr.Button("Delete", variant="stop", scale=1, elem_id="delete")
                # A delete cannot be undone, so it asks first.
                with gr.Column(visible=False, elem_id="confirm-delete") as confirm_box:
                    confirm_text = gr.Markdown()
                    with gr.Row():
                        confirm_button = gr.Button(
                            "Yes, delete", variant="stop", elem_id="confirm-delete-yes"
                        )
                        cancel_button = gr.Button("Cancel", elem_id="confirm-delete-no")

        # Gradio reads each handler's parameters and docstring (the API page shows them),
        # so these are thin, typed functions over the module-level handlers above.

        def on_question(
            message: str,
            chat: Chat,
            plain: Turns,
            k: float,
            mode: str,
            kept: Answers,
            since: str,
            until: str,
        ) -> Iterator[tuple[Any, ...]]:
            kept = dict(kept or {})
            for update in respond(bot, message, chat, plain, k, mode, kept, since, until):
                yield (*update, kept)

        def on_timeline(topic: str, since: str, until: str) -> str:
            return timeline_view(bot, topic, since, until)

        def on_add(
            files: list[str] | None,
            # None defaults make the boxes optional for API clients too (Gradio reads them).
            date: str | None = None,
            outlet: str | None = None,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
        ) -> tuple[Any, ...]:
            # The date and outlet boxes are emptied once used: the next upload is another batch.
            return (*add_articles(bot, files, progress, date=date, outlet=outlet), "", "")

        def on_delete(sources: list[str] | None) -> tuple[Any, ...]:
            return gr.Column(visible=True), delete_prompt(sources)

        def on_confirm(
            sources: list[str] | None, chat: Chat, kept: Answers, query: str
        ) -> tuple[Any, ...]:
            removed = delete_articles(bot, sources)
            gr.Info(f"Deleted {len(sources or [])} article(s), {removed} passages.")
            return (
                gr.Column(visible=False),
                mark_deleted(bot, chat, kept),
                library_version(bot),
                *library_view(bot, query),
            )

        def on_load() -> tuple[Any, ...]:
            return library_version(bot), *library_view(bot)

        def on_tick(
            shown: LibraryVersion | None, query: str, selected: list[str] | None
        ) -> tuple[Any, ...]:
            return refresh_library(bot, shown, query, selected)

        def on_search(query: str) -> list[list[str | int]]:
            return search_library(bot, query)

        chat_inputs = [question, chatbot, turns, k, mode, answers, since, until]
        for trigger in (topic.submit, timeline_button.click):
            trigger(
                on_timeline, [topic, topic_since, topic_until], events, api_visibility="private"
            )
        chat_outputs = [question, chatbot, turns, answers]
        for trigger in (question.submit, ask_button.click):
            trigger(on_question, chat_inputs, chat_outputs, api_visibility="private")
        clear.click(
            lambda: ([], [], "", {}),
            None,
            [chatbot, turns, question, answers],
            api_visibility="private",
        )
        chatbot.clear(  # its own trash button
            lambda: ([], {}), None, [turns, answers], api_visibility="private"
        )
        examples.click(lambda sample: sample[0], examples, question, api_visibility="private").then(
            on_question, chat_inputs, chat_outputs, api_visibility="private"
        )
        view_outputs = [status, articles, doomed, examples]
        add_button.click(
            on_add,
            [uploads, upload_date, upload_outlet],
            [results, uploads, *view_outputs, upload_date, upload_outlet],
            api_name="add_articles",
            concurrency_id="library",
            concurrency_limit=1,
        )
        delete_button.click(
            on_delete, doomed, [confirm_box, confirm_text], api_visibility="private"
        )
        cancel_button.click(
            lambda: gr.Column(visible=False), None, confirm_box, api_visibility="private"
        )
        confirm_button.click(
            on_confirm,
            [doomed, chatbot, answers, search],
            [confirm_box, chatbot, seen, *view_outputs],
            api_visibility="private",
            concurrency_id="library",
            concurrency_limit=1,
        )
        search.change(
            on_search,
            search,
            articles,
            api_visibility="private",
            show_progress="hidden",
            trigger_mode="always_last",
        )
        timer.tick(
            on_tick,
            [seen, search, doomed],
            [seen, *view_outputs],
            api_visibility="private",
            show_progress="hidden",
            concurrency_limit=None,  # two cheap reads; never waits behind a question
        )
        app.load(on_load, None, [seen, *view_outputs], api_visibility="private")

        # -- API ----------------------------------------------------------------------

        def ask_api(
            question: str,
            history: list[dict[str, Any]] | None = None,
            k: int | None = None,
            mode: str | None = None,
            since: str | None = None,
            until: str | None = None,
        ) -> dict[str, Any]:
            """Answer a question from the articles: text, citations and passages.

            The result has the fields of ``assistant.Answer``. ``history`` is the
            chat so far as ``{"role", "content"}`` messages, for follow-ups. An
            LLM mode whose server cannot be reached gives the extractive answer
            with a ``notice``. ``since``/``until`` (YYYY-MM-DD) keep the articles
            dated in that range.
            """
            return ask(bot, question, history, k, mode, since, until)

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


# The library's columns (Title, Outlet, Date, Chunks, Ingested, File): room for every
# header at 1280 px, the rest to the title, and long cells wrap.
LIBRARY_WIDTHS: list[str | int] = ["34%", "14%", "11%", "9%", "15%", "17%"]


def _table(
    headers: list[str], label: str, elem_id: str, widths: list[str | int] | None = None
) -> gr.Dataframe:
    """A read-only table; cells are shown as text, never as Markdown or HTML."""
    return gr.Dataframe(
        headers=headers,
        type="array",
        interactive=False,
        wrap=True,
        label=label,
        elem_id=elem_id,
        column_widths=widths,
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
