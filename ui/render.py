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
from collections.abc import Iterator

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


def answer_html(answer: Answer, turn: int) -> str:
    """The finished answer: text with linked [n] markers, then its numbered sources."""
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
        parts.extend(citation_html(c, turn, spans.get(c.number)) for c in answer.citations)
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def citation_html(citation: Citation, turn: int, span: AnswerSpan | None = None) -> str:
    """One source: title, outlet, date and file, and the passage with the quote marked
    (and, inside it, the short answer in bold)."""
    meta = " · ".join(x for x in (citation.outlet, citation.date, citation.source) if x)
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
        f'<details class="dossier-source" id="{source_anchor(turn, citation.number)}">'
        f'<summary><span class="dossier-n">[{citation.number}]</span> '
        f'<span class="dossier-title">{escape(citation.title or citation.source)}</span> '
        f'<span class="dossier-meta">{escape(meta)}</span></summary>'
        f'<div class="dossier-passage">{escape(before)}<mark>{marked}</mark>'
        f"{escape(after)}</div></details>"
    )


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


def library_rows(sources: list[SourceInfo]) -> list[list[str | int]]:
    return [
        [
            s.title,
            s.outlet or "",
            s.date or "",
            s.chunks,
            s.ingested_at.replace("T", " ").removesuffix("+00:00"),
            s.source,
        ]
        for s in sources
    ]


def report_rows(report: SyncReport) -> list[list[str | int]]:
    return [[_file_name(f), f.status, f.chunks, f.reason] for f in report.files]


def _file_name(result: FileResult) -> str:
    return re.split(r"[\\/]", result.path)[-1]
