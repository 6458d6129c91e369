"""News sections of ``make bench``: recency ("latest", "currently") and copy grouping.

Recency: the dated corpus of ``tests/corpus.py`` (facts that change over time: a
leader replaced, figures revised), ingested through the product; each question
whose answer changed is asked with its time words ("Who currently leads ...?")
and without them ("Who leads ...?"), side by side. An answer counts as the
newest fact when its first claim (the short answer, or else the first quote)
holds the newest answer; the table also counts answers that mention the
replaced fact anywhere. Nothing in the answerer was fitted on these questions:
"newest" is a rule (each article is ranked on its own, and among the
articles whose best sentence the ranker accepts, the newest one answers), not a
weight.

Copies: ``benchmarks/copies.py`` on the BBC categories the threshold was not
chosen on.

Run alone:
    .venv/bin/python -m benchmarks.news
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from assistant import Assistant
from benchmarks import copies
from benchmarks.common import SHARED_DATA, log
from tests.corpus import RECENCY_QUESTIONS, write_dated_corpus  # the corpus the tests use too


def _first_claim(answer: Any) -> str:
    if not answer.answered:
        return ""
    if answer.span is not None:
        return answer.span.text
    return answer.citations[0].quote if answer.citations else answer.text


def recency(workdir: Path) -> dict[str, Any]:
    folder = workdir / "dated-articles"
    write_dated_corpus(folder)
    bot = Assistant(data_dir=workdir / "dated-data")
    bot.ingest([folder])
    rows = []
    for q in RECENCY_QUESTIONS:
        row: dict[str, Any] = {"question": q.question, "newest": q.answer, "earlier": q.earlier}
        for kind, text in (("with_time_words", q.question), ("without", q.plain)):
            answer = bot.answer(text)
            row[kind] = {
                "first_claim": _first_claim(answer),
                "newest_first": q.answer in _first_claim(answer),
                "mentions_earlier": q.earlier in answer.text,
                "as_of": answer.as_of,
            }
        rows.append(row)
    n = len(rows)
    summary = {
        kind: {
            "newest_first": round(sum(r[kind]["newest_first"] for r in rows) / n, 3),
            "mentions_earlier": round(sum(r[kind]["mentions_earlier"] for r in rows) / n, 3),
        }
        for kind in ("with_time_words", "without")
    }
    return {"questions": rows, "summary": summary}


def run(bbc_dir: Path, workdir: Path, injected: int = 300) -> dict[str, Any]:
    log("news: recency")
    result = {"recency": recency(workdir)}
    log("news: copy grouping")
    result["copies"] = copies.copy_grouping(bbc_dir, copies=injected)
    log(f"news: {json.dumps(result['copies'])}; recency {result['recency']['summary']}")
    return result


def section(news: dict[str, Any]) -> list[str]:
    """The report's lines for these results."""
    lines = [
        "",
        "## News: recency and copies",
        "",
        f"Recency, on the dated test corpus ({len(news['recency']['questions'])} questions whose "
        "answer changed over time), asked with and without their time words:",
        "",
        "| question | newest fact | with time words: first claim | without: first claim |",
        "|---|---|---|---|",
    ]
    for r in news["recency"]["questions"]:
        lines.append(
            f"| {r['question']} | {r['newest']} | {r['with_time_words']['first_claim']} "
            f"(as of {r['with_time_words']['as_of']}) | {r['without']['first_claim']} |"
        )
    s = news["recency"]["summary"]
    lines += [
        "",
        f"Newest fact first: {s['with_time_words']['newest_first']:.2f} with time words, "
        f"{s['without']['newest_first']:.2f} without; the replaced fact mentioned: "
        f"{s['with_time_words']['mentions_earlier']:.2f} with, "
        f"{s['without']['mentions_earlier']:.2f} without.",
    ]
    c = news["copies"]
    lines += [
        "",
        f"Copy grouping (MinHash over 5-word shingles, threshold {c['threshold']}, chosen on "
        f"BBC {', '.join(copies.FIT)}): on BBC {', '.join(c['categories'])}, {c['articles']} "
        f"articles ({c['corpus_repeats']} the corpus itself repeats) plus "
        f"{c['injected_copies']} injected copies (new headline, dateline, credit line, end "
        f"trimmed): pairwise precision {c['precision']:.3f}, recall {c['recall']:.3f}.",
    ]
    return lines


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="dossier-news-") as work:
        result = run(SHARED_DATA / "bbc", Path(work))
    print("\n".join(section(result)))


if __name__ == "__main__":
    main()
