"""Dossier against the pipeline of the LangChain + Chroma tutorials, in one run, on one pool.

What a user would build instead of Dossier, as the tutorials teach it: the files
read as they are, ``RecursiveCharacterTextSplitter(chunk_size=1000,
chunk_overlap=200)``, the same MiniLM embeddings (Dossier's ``Embedder``, which
is a LangChain ``Embeddings``, so both sides encode with the same backend),
``langchain_chroma.Chroma`` and ``similarity_search(k=4)``; with no LLM, its
answer is the sentence of the top chunk most similar to the question.

The pool is every SQuAD paragraph (one file each, as in ``benchmarks/reader.py``);
the questions are answerable ones about the MEASURE articles (nothing was fitted
on them). Figures per pipeline: ingest seconds, the gold paragraph at rank 1
and within the first 5 sources, whether the answer's sentences hold a gold
answer, how often it refused, and answer latency (retrieval included).

Run alone:
    .venv/bin/python -m benchmarks.tutorial [--questions 300]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from benchmarks.common import SHARED_DATA, latency_ms, log, timed
from core.text import split_sentences
from training.pool import pool_assistant
from training.squad_split import QA, holds, load, part
from vectorstore.embeddings import Embedder

SEED = 11
DOSSIER = "Dossier (default answer)"
TUTORIAL = "LangChain + Chroma tutorial (k=4, best sentence of top chunk)"


class TutorialPipeline:
    """The tutorials' retrieval chain over ``files``, without an LLM."""

    def __init__(self, files: list[Path], embedder: Embedder, persist: Path) -> None:
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        documents = [
            Document(page_content=f.read_text(encoding="utf-8"), metadata={"source": f.name})
            for f in files
        ]
        self.embedder = embedder
        self.store = Chroma.from_documents(
            splitter.split_documents(documents),
            embedding=embedder,
            persist_directory=str(persist),
            collection_name="tutorial",
        )

    def sources(self, question: str, k: int) -> list[str]:
        return [d.metadata["source"] for d in self.store.similarity_search(question, k=k)]

    def answer(self, question: str) -> str:
        """The sentence of the top chunk (of k=4) most similar to the question."""
        top = self.store.similarity_search(question, k=4)
        if not top:
            return ""
        text = top[0].page_content
        sentences = [text[s:e] for s, e in split_sentences(text)] or [text]
        vectors = np.asarray(self.embedder.embed_documents(sentences))
        query = np.asarray(self.embedder.embed_query(question))
        return sentences[int(np.argmax(vectors @ query))]


def _tally(ranks: list[int | None], contains: list[bool], refused: int, times: list[float]):
    n = max(len(ranks), 1)
    return {
        "top1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "top5": round(sum(1 for r in ranks if r and r <= 5) / n, 4),
        "answer_contains_gold": round(sum(contains) / n, 4),
        "refused": round(refused / n, 4),
        "answer_latency": latency_ms(times),
    }


def _rank(order: list[str], gold: str) -> int | None:
    order = list(dict.fromkeys(order))
    return order.index(gold) + 1 if gold in order else None


def run(squad_dir: Path, workdir: Path, questions: int = 300) -> dict[str, Any]:
    articles, qas = load(squad_dir)
    rng = random.Random(SEED)
    measure = [q for q in qas if q.answers and part(q.article) == "measure"]
    asked: list[QA] = rng.sample(measure, min(questions, len(measure)))

    with timed() as dossier_ingest:
        bot, paragraph_of = pool_assistant(articles, workdir / "tutorial-dossier")
    file_of = {where: name for name, where in paragraph_of.items()}
    files = sorted((workdir / "tutorial-dossier" / "articles").glob("*.txt"))
    log(f"tutorial comparison: {len(files)} files, {len(asked)} questions")
    with timed() as tutorial_ingest:
        tutorial = TutorialPipeline(files, bot.embedder, workdir / "tutorial-chroma")

    bot.warm_up()
    tutorial.answer("warm up")
    results: dict[str, Any] = {}
    for name in (DOSSIER, TUTORIAL):
        ranks: list[int | None] = []
        contains: list[bool] = []
        times: list[float] = []
        refused = 0
        for qa in asked:
            gold_file = file_of[(qa.article, qa.paragraph)]
            golds = [a for a, _ in qa.answers]
            if name == DOSSIER:
                ranks.append(_rank([p.source for p in bot.retrieve(qa.question, k=5)], gold_file))
                with timed() as t:
                    answer = bot.answer(qa.question)
                refused += not answer.answered
                said = " ".join(c.quote for c in answer.citations)
            else:
                ranks.append(_rank(tutorial.sources(qa.question, 5), gold_file))
                with timed() as t:
                    said = tutorial.answer(qa.question)
            times.append(t())
            contains.append(holds(said, golds))
        results[name] = _tally(ranks, contains, refused, times)
    results[DOSSIER]["ingest_seconds"] = round(dossier_ingest(), 1)
    results[TUTORIAL]["ingest_seconds"] = round(tutorial_ingest(), 1)
    results["questions"] = len(asked)
    results["files"] = len(files)
    log(f"tutorial comparison: {json.dumps(results)}")
    return results


def behind(results: dict[str, Any]) -> list[str]:
    """The lines on which Dossier is not ahead of the tutorial pipeline."""
    ours, theirs = results[DOSSIER], results[TUTORIAL]
    lines = []
    for key in ("top1", "top5", "answer_contains_gold"):
        if ours[key] <= theirs[key]:
            lines.append(f"{key}: {ours[key]} against {theirs[key]}")
    if ours["ingest_seconds"] >= theirs["ingest_seconds"]:
        lines.append(f"ingest: {ours['ingest_seconds']} s against {theirs['ingest_seconds']} s")
    ours_p50, theirs_p50 = ours["answer_latency"]["p50_ms"], theirs["answer_latency"]["p50_ms"]
    if ours_p50 >= theirs_p50:
        lines.append(f"answer p50: {ours_p50} ms against {theirs_p50} ms")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "squad")
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dossier-tutorial-") as work:
        results = run(args.data, Path(work), args.questions)
    print(json.dumps(results, indent=2))
    print("Dossier behind on:", behind(results) or "nothing")


if __name__ == "__main__":
    main()
