"""Dossier's answers (ranker + trained reader) against the reader alone and the hand-set
sentence scorer, side by side, on articles nothing was fitted on.

Only the MEASURE articles of ``training/squad_split.py`` are asked about; the
retrieval pool holds every SQuAD paragraph. Both answerers get the same
retrieved passages for each question. Three kinds of question:

- answerable (SQuAD 1.1): does an answer sentence hold a gold answer; the short
  answer's exact match and F1 (the scorer has no short answer: its first
  sentence stands in); at most 2 sentences; how often it wrongly refuses;
- unanswerable (SQuAD 2.0, written to look answerable): how often it refuses;
- absent article: an answerable question asked with its own article's passages
  removed (as if that article was never ingested): how often it refuses.

The refusal curve sweeps the threshold on the best sentence's probability (the
ranker's): answerable questions refused against unanswerable ones refused, with
the shipped threshold marked.

Run alone:
    .venv/bin/python -m benchmarks.reader [--answerable 600 --unanswerable 300 --absent 300]
    .venv/bin/python -m benchmarks.reader --split calibrate   # to choose, not to report
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from answerers.extractive import ExtractiveAnswerer
from answerers.grounding import Grounding
from answerers.reader import Reader
from benchmarks.common import SHARED_DATA, contains_gold, latency_ms, log, timed
from benchmarks.scorer import SentenceScorer
from core.text import split_sentences
from core.types import Answer, AnswerSpan, Citation, Passage
from training.pool import pool_assistant
from training.squad_split import QA, exact_f1, load, part

SEED = 7


class ReaderAlone:
    """The reader without the ranker: its best span, if it beats "no answer" by the margin,
    quoted in its sentence (what the ranker adds is measured against this)."""

    mode = "reader-alone"

    def __init__(self, reader: Reader, passages_read: int = 3) -> None:
        self.reader = reader
        self.passages_read = passages_read

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        read = passages[: self.passages_read]
        spans = self.reader.read(question, [p.text for p in read])
        if not spans or spans[0].score - spans[0].no_answer <= self.reader.margin:
            return Answer.refusal(question, passages, mode=self.mode)
        best = spans[0]
        p = read[best.passage]
        around = [(s, e) for s, e in split_sentences(p.text) if s < best.end and best.start < e]
        start, end = (around[0][0], around[-1][1]) if around else (best.start, best.end)
        citation = Citation.of(1, p, p.start + start, p.start + end, best.score)
        text = p.text[best.start : best.end]
        span = AnswerSpan(text, 1, p.source, p.start + best.start, p.start + best.end)
        return Answer.cited(
            question,
            [f"{text} — {citation.quote} [1]"],
            [citation],
            passages,
            mode=self.mode,
            spans=[span],
        )


class _Tally:
    def __init__(self) -> None:
        self.answerable = self.contains = self.refused = self.em = self.f1 = 0.0
        self.sentences = self.two_or_fewer = 0.0
        self.unanswerable = self.unanswerable_refused = 0.0
        self.absent = self.absent_refused = 0.0
        self.times: list[float] = []

    def add_answerable(self, answer: Answer, golds: list[str]) -> None:
        self.answerable += 1
        if not answer.answered:
            self.refused += 1
            return
        quotes = " ".join(c.quote for c in answer.citations)
        self.contains += contains_gold(quotes, golds)
        short = answer.span.text if answer.span else (answer.citations[0].quote)
        em, f1 = exact_f1(short, golds)
        self.em += em
        self.f1 += f1
        self.sentences += len(answer.citations)
        self.two_or_fewer += len(answer.citations) <= 2

    def summary(self) -> dict[str, Any]:
        n = max(self.answerable, 1)
        return {
            "answer_contains_gold": round(self.contains / n, 4),
            "short_exact_match": round(self.em / n, 4),
            "short_f1": round(self.f1 / n, 4),
            "answerable_refused": round(self.refused / n, 4),
            "at_most_2_sentences": round(self.two_or_fewer / max(n - self.refused, 1), 4),
            "sentences": round(self.sentences / max(n - self.refused, 1), 2),
            "unanswerable_refused": round(self.unanswerable_refused / max(self.unanswerable, 1), 4),
            "absent_article_refused": round(self.absent_refused / max(self.absent, 1), 4),
            "latency": latency_ms(self.times),
            "questions": {
                "answerable": int(self.answerable),
                "unanswerable": int(self.unanswerable),
                "absent_article": int(self.absent),
            },
        }


def run(
    squad_dir: Path,
    workdir: Path,
    answerable: int,
    unanswerable: int,
    absent: int,
    split: str = "measure",
) -> dict[str, Any]:
    articles, questions = load(squad_dir)
    pool_questions = [q for q in questions if part(q.article) == split]
    rng = random.Random(SEED)
    asked = _sample([q for q in pool_questions if q.answers], answerable, rng)
    impossible = _sample([q for q in pool_questions if not q.answers], unanswerable, rng)
    away = _sample([q for q in pool_questions if q.answers], absent, rng)
    log(f"reader: pool of every SQuAD paragraph; {len(asked)}/{len(impossible)}/{len(away)} q")
    bot, paragraph_of = pool_assistant(articles, workdir / "reader-pool")
    keyword = bot.retriever.keyword
    reader = bot.extractive
    assert isinstance(reader, ExtractiveAnswerer)
    grounding = Grounding(
        bot.embedder, idf=keyword.idf, unknown_idf=keyword.max_idf, cache_size=1_000_000
    )
    variants: dict[str, Any] = {
        "Dossier: ranker + reader (default)": reader,
        "reader alone": ReaderAlone(reader.reader),
        "sentence scorer (before), up to 2 sentences": SentenceScorer(grounding),
        "sentence scorer (before), 1 sentence": SentenceScorer(grounding, max_sentences=1),
    }
    bot.warm_up()
    tallies = {name: _Tally() for name in variants}
    best: dict[str, list[float]] = {"answerable": [], "unanswerable": [], "absent": []}

    def ask(qa: QA, passages: list[Passage], kind: str) -> None:
        for name, answerer in variants.items():
            with timed() as t:
                answer = answerer.answer(qa.question, passages)
            tally = tallies[name]
            tally.times.append(t())
            if kind == "answerable":
                tally.add_answerable(answer, [a for a, _ in qa.answers])
            elif kind == "unanswerable":
                tally.unanswerable += 1
                tally.unanswerable_refused += not answer.answered
            else:
                tally.absent += 1
                tally.absent_refused += not answer.answered
        ranked = reader.rank(qa.question, passages)
        best[kind].append(ranked[0][0] if ranked else 0.0)

    with timed() as elapsed:
        for qa in asked:
            ask(qa, bot.retrieve(qa.question), "answerable")
        for qa in impossible:
            ask(qa, bot.retrieve(qa.question), "unanswerable")
        for qa in away:
            others = [
                p
                for p in bot.retrieve(qa.question, k=15)
                if paragraph_of[p.source][0] != qa.article
            ]
            ask(qa, others[:5], "absent")
    result: dict[str, Any] = {name: t.summary() for name, t in tallies.items()}
    result["gold_paragraph"] = gold_paragraph(reader.reader, articles, asked)
    result["split"] = split
    result["threshold"] = reader.ranker.threshold
    result["curve"] = _curve(best)
    result["trained"] = reader.ranker.config.get("made", {})
    result["calibration"] = reader.ranker.config.get("calibration", {})
    result["seconds"] = round(elapsed(), 1)
    log(f"reader: {json.dumps({k: v for k, v in result.items() if k != 'curve'})}")
    return result


def gold_paragraph(reader: Reader, articles: dict[str, Any], asked: list[QA]) -> dict[str, Any]:
    """The reader's best span when handed the question's own paragraph (no retrieval, no
    ranker): how well it reads, apart from what is read."""
    em = f1 = 0.0
    for qa in asked:
        paragraph = articles[qa.article].paragraphs[qa.paragraph]
        spans = reader.read(qa.question, [paragraph])
        guess = paragraph[spans[0].start : spans[0].end] if spans else ""
        e, f = exact_f1(guess, [a for a, _ in qa.answers])
        em, f1 = em + e, f1 + f
    n = max(len(asked), 1)
    return {"questions": len(asked), "exact_match": round(em / n, 4), "f1": round(f1 / n, 4)}


def _sample(questions: list[QA], n: int, rng: random.Random) -> list[QA]:
    return questions if n >= len(questions) else rng.sample(questions, n)


def _curve(best: dict[str, list[float]]) -> list[dict[str, float]]:
    """Refusal rates of each kind of question at a sweep of thresholds on the best
    sentence's probability."""
    points = []
    for step in range(0, 101):
        threshold = step / 100
        points.append(
            {
                "threshold": threshold,
                **{
                    f"{kind}_refused": round(
                        sum(m < threshold for m in values) / max(len(values), 1), 4
                    )
                    for kind, values in best.items()
                },
            }
        )
    return points


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SHARED_DATA / "squad")
    parser.add_argument("--answerable", type=int, default=600)
    parser.add_argument("--unanswerable", type=int, default=300)
    parser.add_argument("--absent", type=int, default=300)
    parser.add_argument(
        "--split",
        choices=["measure", "calibrate"],
        default="measure",
        help="whose articles to ask about: MEASURE (reported) or CALIBRATE (for choosing "
        "between models without looking at MEASURE)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        result = run(
            args.squad, Path(work), args.answerable, args.unanswerable, args.absent, args.split
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
