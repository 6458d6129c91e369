"""SQuAD: retrieval (BM25, dense, RRF, Dossier's hybrid) and answer quality, one pool.

Each paragraph is written as one article file and goes through the real ingest
path; every variant is the project's own code (the product's ``HybridRetriever``
and the other methods over its parts, ``benchmarks/retrievers.py``;
``ExtractiveAnswerer``), so the figures are the product's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from answerers.extractive import ExtractiveAnswerer
from answerers.grounding import Grounding
from assistant import Assistant
from benchmarks.common import contains_gold, log, timed
from benchmarks.retrievers import methods
from core.text import split_sentences

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


def answers(bot: Assistant, questions: list[Question]) -> dict[str, Any]:
    """How often the answer holds a gold span; its length; how often it refuses."""
    keyword = bot.retriever.keyword
    # The product's grounding, with a cache big enough for every sentence the benchmark re-reads.
    grounding = Grounding(
        bot.embedder, idf=keyword.idf, unknown_idf=keyword.max_idf, cache_size=1_000_000
    )
    variants = {
        "dossier (default, up to 2 sentences)": ExtractiveAnswerer(grounding),
        "dossier, 1 sentence": ExtractiveAnswerer(grounding, max_sentences=1),
    }
    baseline = "baseline: the top passage's sentence most similar to the question"
    tallies = {name: _Tally() for name in [*variants, baseline]}
    with timed() as elapsed:
        for q in questions:
            passages = bot.retrieve(q.text)
            for name, answerer in variants.items():
                answer = answerer.answer(q.text, passages, query=q.text)
                quotes = [c.quote for c in answer.citations]
                tallies[name].add(quotes if answer.answered else None, q.answers)
            best = _baseline(bot, q.text, passages[0].text) if passages else None
            tallies[baseline].add([best] if best else None, q.answers)
    out: dict[str, Any] = {name: t.summary() for name, t in tallies.items()}
    out["questions"] = len(questions)
    out["seconds"] = round(elapsed(), 1)
    return out


class _Tally:
    def __init__(self) -> None:
        self.n = self.contains = self.refused = self.sentences = self.words = 0

    def add(self, quotes: list[str] | None, gold: list[str]) -> None:
        self.n += 1
        if quotes is None:
            self.refused += 1
            return
        self.contains += contains_gold(" ".join(quotes), gold)
        self.sentences += len(quotes)
        self.words += sum(len(q.split()) for q in quotes)

    def summary(self) -> dict[str, float]:
        answered = max(self.n - self.refused, 1)
        return {
            "contains_gold": round(self.contains / max(self.n, 1), 4),
            "refused": round(self.refused / max(self.n, 1), 4),
            "sentences": round(self.sentences / answered, 2),
            "words": round(self.words / answered, 1),
        }


def _baseline(bot: Assistant, question: str, passage: str) -> str:
    sentences = [passage[s:e] for s, e in split_sentences(passage)]
    vectors = bot.embedder.encode([question, *sentences])
    return sentences[int(np.argmax(vectors[1:] @ vectors[0]))]


def spread(questions: list[Question], limit: int | None) -> list[Question]:
    """At most ``limit`` questions, evenly spread over the file (same task, fewer questions)."""
    if limit is None or limit >= len(questions):
        return questions
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def run(
    articles: Path, questions: list[Question], workdir: Path, answer_limit: int | None = None
) -> dict[str, Any]:
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
    result["answers"] = answers(bot, spread(questions, answer_limit))
    log(f"SQuAD answers: {result['answers']}")
    return result
