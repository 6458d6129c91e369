"""SQuAD retrieval: BM25, dense, RRF and Dossier's hybrid, over one pool of every paragraph.

Each paragraph is written as one article file and goes through the real ingest
path; every method is the project's own code (the product's ``HybridRetriever``
and the other methods over its parts, ``benchmarks/retrievers.py``), so the
figures are the product's. Answer quality is measured in ``benchmarks/reader.py``,
on the articles nothing was trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant import Assistant
from benchmarks.common import log, timed
from benchmarks.retrievers import methods

DEPTHS = (1, 5, 20)


@dataclass(frozen=True)
class Question:
    text: str
    gold: str  # the article file holding the paragraph
    answers: list[str]


def prepare(squad_json: Path, articles: Path) -> list[Question]:
    """Write each paragraph as ``articles/pNNNN.txt``; returns the questions."""
    data = json.loads(squad_json.read_text(encoding="utf-8"))
    articles.mkdir(parents=True, exist_ok=True)
    questions: list[Question] = []
    number = 0
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            name = f"p{number:04d}.txt"
            (articles / name).write_text(paragraph["context"], encoding="utf-8")
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                questions.append(Question(qa["question"], name, answers))
            number += 1
    return questions


def retrieval(bot: Assistant, questions: list[Question]) -> dict[str, Any]:
    """Gold article at rank 1 / 5 / 20 and MRR, per method, ranking articles not chunks."""
    results: dict[str, Any] = {}
    retrievers = methods(bot.retriever)
    ranks: dict[str, list[int | None]] = {m: [] for m in retrievers}
    with timed() as elapsed:
        for q in questions:
            for method, retriever in retrievers.items():
                passages = retriever.retrieve(q.text, 40)
                order = list(dict.fromkeys(p.source for p in passages))
                ranks[method].append(order.index(q.gold) + 1 if q.gold in order else None)
    for method, found in ranks.items():
        n = len(found)
        metrics: dict[str, Any] = {
            f"top{d}": round(sum(1 for r in found if r and r <= d) / n, 4) for d in DEPTHS
        }
        metrics["mrr"] = round(sum(1 / r for r in found if r) / n, 4)
        results[method] = metrics
    results["questions"] = len(questions)
    results["seconds"] = round(elapsed(), 1)
    return results


def spread(questions: list[Question], limit: int | None) -> list[Question]:
    """At most ``limit`` questions, evenly spread over the file (same task, fewer questions)."""
    if limit is None or limit >= len(questions):
        return questions
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def run(articles: Path, questions: list[Question], workdir: Path) -> dict[str, Any]:
    bot = Assistant(data_dir=workdir / "squad-data")
    log(f"SQuAD: ingesting {len(list(articles.iterdir()))} paragraphs")
    with timed() as ingest_time:
        report = bot.ingest([articles])
    log(f"SQuAD: {report.summary()}; {len(questions)} questions")
    result: dict[str, Any] = {
        "paragraphs": report.count("added") + report.count("unchanged"),
        "chunks": bot.store.count(),
        "ingest_seconds": round(ingest_time(), 1),
    }
    result["retrieval"] = retrieval(bot, questions)
    log(f"SQuAD retrieval: {result['retrieval']}")
    return result
