"""HTML for the chat: answers whose [n] markers link to sources with the quote highlighted.

Everything that comes from an article or a user is escaped here, and every
message is one HTML block without a blank line (newlines become ``<br>``), so
the chat's Markdown renderer passes it through as it is: article text can never
turn into a link, an image, a script or formatting. Gradio's HTML sanitiser
runs on top as a second line of defence (it drops ``data-*`` attributes, so
an answer's state is a class: dossier-pending, -streaming, -final, -refused,
-error).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterator, Sequence

from assistant.timeline import Timeline, TimelineEvent
from core.types import Answer, AnswerSpan, Citation, FileResult, SourceInfo, SyncReport

_MARKER = re.compile(r"\[(\d{1,3})\]")
_NEWLINES = re.compile(r"\r\n?|\n|\u2028|\u2029")


def escape(text: str) -> str:
    """``text`` as inert HTML on one line."""
    return _NEWLINES.sub("<br>", html.escape(text, quote=True))


def source_anchor(turn: int, number: int) -> str:
    """The element id of source ``number`` of the answer at chat position ``turn``."""
    return f"dossier-source-{turn}-{number}"


def question_html(question: str) -> str:
    return f'<div class="dossier-question">{escape(question)}</div>'


def pending_html() -> str:
    return (
        '<div class="dossier-answer dossier-pending">'
        '<div class="dossier-text dossier-muted">Searching the articles…</div></div>'
    )


def partial_html(text: str) -> str:
    """An answer still being written."""
    return (
        '<div class="dossier-answer dossier-streaming"><div class="dossier-text">'
        f'{escape(text)}<span class="dossier-caret">▍</span></div></div>'
    )


def error_html(message: str) -> str:
    return (
        '<div class="dossier-answer dossier-error">'
        f'<div class="dossier-text">⚠ {escape(message)}</div></div>'
    )


def answer_html(answer: Answer, turn: int, deleted: Collection[int] = ()) -> str:
    """The finished answer: text with linked [n] markers, then its numbered sources.

    ``deleted``: the numbers of the citations whose article has since been deleted
    from the library; their sources say so.
    """
    numbers = {c.number for c in answer.citations}

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in numbers:
            return match.group(0)
        return (
            f'<a class="dossier-cite" href="#{source_anchor(turn, number)}" '
            f'title="Show source {number}">[{number}]</a>'
        )

    state = "dossier-final" if answer.answered else "dossier-refused"
    text = escape(answer.text)
    if answer.span is not None and text.startswith(escape(answer.span.text)):
        lead = escape(answer.span.text)  # the short answer the text opens with
        text = f'<strong class="dossier-span">{lead}</strong>{text[len(lead) :]}'
    for sentence in answer.unsupported:  # LLM sentences that no passage supports
        flagged = escape(sentence)
        text = text.replace(
            flagged,
            f'<span class="dossier-unsupported" title="No retrieved passage supports this '
            f'sentence">{flagged}</span> <span class="dossier-flag">unsupported</span>',
            1,
        )
    parts = [f'<div class="dossier-answer {state}">']
    if answer.notice:
        parts.append(f'<div class="dossier-notice">ℹ {escape(answer.notice)}</div>')
    parts.append(f'<div class="dossier-text">{_MARKER.sub(link, text)}</div>')
    if answer.answered and answer.citations:
        parts.append('<div class="dossier-sources"><div class="dossier-label">Sources</div>')
        spans = {s.citation: s for s in answer.spans}
        parts.extend(
            citation_html(c, turn, spans.get(c.number), deleted=c.number in deleted, more=more)
            for c, *more in answer.sources
        )
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def citation_html(
    citation: Citation,
    turn: int,
    span: AnswerSpan | None = None,
    deleted: bool = False,
    more: Sequence[Citation] = (),
) -> str:
    """One source: title, outlet, date and file, the outlets that carry the same story, and
    the passage with the quote marked (and, inside it, the short answer in bold); ``more``
    are further quotes of the same source, each in its passage; ``deleted`` adds ``DELETED_NOTE``."""
    meta = " · ".join(x for x in (citation.outlet, citation.date or UNDATED, citation.source) if x)
    carried = (
        f' <span class="dossier-carried">{escape(citation.carried_text)}</span>'
        if citation.carried_text
        else ""
    )
    return (
        f'<details class="dossier-source" id="{source_anchor(turn, citation.number)}">'
        f'<summary><span class="dossier-n">[{citation.number}]</span> '
        f'<span class="dossier-title">{escape(citation.title or citation.source)}</span> '
        f'<span class="dossier-meta">{escape(meta)}</span>{carried}'
        + (f' <span class="dossier-deleted">{DELETED_NOTE}</span>' if deleted else "")
        + "</summary>"
        + "".join(passage_html(c, span) for c in (citation, *more))
        + "</details>"
    )


def passage_html(citation: Citation, span: AnswerSpan | None = None) -> str:
    """The passage of ``citation`` with its quote marked (and the short answer, if in it, bold)."""
    before, quote, after = split_passage(citation)
    marked = escape(quote)
    if span is not None:
        start = span.start - citation.start
        if start >= 0 and quote[start : start + len(span.text)] == span.text:
            marked = (
                f'{escape(quote[:start])}<strong class="dossier-span">{escape(span.text)}'
                f"</strong>{escape(quote[start + len(span.text) :])}"
            )
    return (
        f'<div class="dossier-passage">{escape(before)}<mark>{marked}</mark>{escape(after)}</div>'
    )


def cited_source_ids(answer: Answer) -> dict[int, str]:
    """Citation number -> the ``source_id`` of the article it quotes (from the answer's
    passages: the one the quote came from, or failing that one of the same file)."""
    found: dict[int, str] = {}
    for c in answer.citations:
        same_file = [p for p in answer.passages if p.source == c.source and p.source_id]
        exact = [p for p in same_file if p.start == c.passage_start]
        if exact or same_file:
            found[c.number] = (exact or same_file)[0].source_id
    return found


def split_passage(citation: Citation) -> tuple[str, str, str]:
    """The passage as (text before the quote, the quote, text after it)."""
    passage, quote = citation.passage, citation.quote
    start = citation.start - citation.passage_start
    end = citation.end - citation.passage_start
    if not (0 <= start <= end <= len(passage) and passage[start:end] == quote):
        start = passage.find(quote)  # offsets from another cleaning version: find it
        if start < 0:
            return "", quote, ""
        end = start + len(quote)
    return passage[:start], passage[start:end], passage[end:]


def reveal(text: str, words_per_step: int = 3) -> Iterator[str]:
    """Growing prefixes of ``text``, a few words at a time (cut at whitespace)."""
    cuts = [m.end() for m in re.finditer(r"\S+\s*", text)]
    for i in range(words_per_step, len(cuts), words_per_step):
        yield text[: cuts[i - 1]]
    yield text


# -- the library ------------------------------------------------------------------------

LIBRARY_HEADERS = ["Title", "Outlet", "Date", "Chunks", "Ingested (UTC)", "File"]
REPORT_HEADERS = ["File", "Result", "Chunks", "Reason"]


UNDATED = "undated"
DELETED_NOTE = "(this source has since been deleted from the library)"


def newest_first(sources: list[SourceInfo]) -> list[SourceInfo]:
    """``sources`` by date, newest first, then by when they were ingested; undated ones last."""
    by_ingest = sorted(sources, key=lambda s: s.ingested_at, reverse=True)
    return sorted(by_ingest, key=lambda s: s.date or "", reverse=True)


def library_rows(sources: list[SourceInfo]) -> list[list[str | int]]:
    """The library table's rows, newest article first (undated ones last)."""
    return [
        [
            s.title,
            s.outlet or "",
            s.date or UNDATED,
            s.chunks,
            s.ingested_at.replace("T", " ").removesuffix("+00:00"),
            s.source,
        ]
        for s in newest_first(sources)
    ]


def report_rows(report: SyncReport) -> list[list[str | int]]:
    return [[_file_name(f), f.status, f.chunks, f.reason] for f in report.files]


def _file_name(result: FileResult) -> str:
    return re.split(r"[\\/]", result.path)[-1]


# -- timelines --------------------------------------------------------------------------


def timeline_html(timeline: Timeline) -> str:
    """The events in date order, each with its day, how it was dated, the cited sentence
    and its article; the undated events after them, apart."""
    parts = ['<div class="dossier-timeline">']
    if timeline.message:
        parts.append(f'<p class="dossier-timeline-message">{escape(timeline.message)}</p>')
    if timeline.events:
        parts.append('<ol class="dossier-events">')
        parts += [_event_html(e) for e in timeline.events]
        parts.append("</ol>")
    if timeline.undated:
        parts.append('<div class="dossier-label">Undated</div><ul class="dossier-undated">')
        parts += [_event_html(e) for e in timeline.undated]
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def _event_html(event: TimelineEvent) -> str:
    meta = (event.title, event.outlet, event.article_date or UNDATED, event.source)
    parts = ['<li class="dossier-event">']
    if event.date:
        parts.append(f'<span class="dossier-event-date">{escape(event.date)}</span> ')
        parts.append(f'<span class="dossier-event-how">({escape(_dated_by(event))})</span>')
    parts.append(f'<blockquote class="dossier-quote">{escape(event.sentence)}</blockquote>')
    parts.append(f'<span class="dossier-meta">{escape(" · ".join(x for x in meta if x))}</span>')
    return "".join(parts) + "</li>"


def _dated_by(event: TimelineEvent) -> str:
    """How the event got its date: "“on Thursday” in an article of 2023-03-03", "article date"."""
    if event.date_source != "sentence":
        return "the article's date"
    if event.resolved and event.article_date:
        return f"“{event.date_text}” in an article of {event.article_date}"
    return f"“{event.date_text}”"
