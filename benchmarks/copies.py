"""Copy grouping (ingest/copies.py) on the BBC corpus plus injected copies of its articles.

Run: .venv/bin/python benchmarks/copies.py [../shared/data/bbc]

Each injected copy is one BBC article as another outlet would carry it: a new
headline, a dateline and credit line of its own, and its end trimmed.
The truth: a copy belongs to its original's story; the BBC articles are each
their own story, except those the corpus itself carries twice (the same body
under one or two headlines), found by exact shingle containment, not by MinHash.
Precision and recall are pairwise (``ingest.copies.grouping_quality``).

Split by category: the threshold (``ingest.copies.THRESHOLD``) is chosen on FIT
(business, politics: ``sweep``); the figures ``make bench`` reports are on MEASURE
(entertainment, sport, tech), which nothing was chosen on.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from core.text import split_sentences
from ingest.copies import MIN_SHINGLES, THRESHOLD, grouping_quality, shingles
from ingest.loaders import load_article

FIT = ("business", "politics")
MEASURE = ("entertainment", "sport", "tech")
DATELINES = ("LONDON (Reuters) - ", "NEW YORK (AP) — ", "PARIS, Feb 3 (AFP) - ")
CREDITS = ("Reporting by Jane Doe; editing by John Roe.", "Copyright 2005 The Associated Press.")


def injected_copy(title: str, text: str, rng: random.Random) -> tuple[str, str]:
    """(headline, text) of a copy of an article: retitled, re-datelined, its end trimmed.

    Copy editors cut from the bottom: the last paragraph goes when it is at most a
    third of the body; a body of a few long paragraphs loses its last two sentences.
    """
    body = text[len(title) :].strip() if text.startswith(title) else text
    paragraphs = [p for p in body.splitlines() if p.strip()]
    if len(paragraphs) > 2 and 3 * len(paragraphs[-1]) <= len(body):
        kept = paragraphs[:-1]
    else:
        last = paragraphs[-1]
        sentences = split_sentences(last)
        cut = sentences[-2][0] if len(sentences) > 2 else len(last)
        kept = [*paragraphs[:-1], last[:cut].strip()] if cut else paragraphs[:-1]
    headline = (
        f"{rng.choice(('UPDATE 1-', 'WRAPUP-', ''))}{title} - {rng.choice(('sources', 'report'))}"
    )
    kept = [rng.choice(DATELINES) + kept[0], *kept[1:], rng.choice(CREDITS)]
    return headline, headline + "\n\n" + "\n\n".join(kept)


def corpus_repeats(bodies: list[set[bytes]], at: float = 0.9) -> list[int]:
    """A label per article: articles whose bodies the corpus repeats (exact containment) share one."""
    labels = list(range(len(bodies)))
    owner: dict[bytes, list[int]] = {}
    for i, body in enumerate(bodies):
        for shingle in body:
            owner.setdefault(shingle, []).append(i)
    for i, body in enumerate(bodies):
        if len(body) < MIN_SHINGLES:
            continue
        counts: dict[int, int] = {}
        for shingle in body:
            for j in owner[shingle]:
                if j < i:
                    counts[j] = counts.get(j, 0) + 1
        for j, shared in counts.items():
            if shared / min(len(body), len(bodies[j])) >= at:
                labels[i] = labels[j]
                break
    return labels


def copy_grouping(
    bbc_dir: Path,
    copies: int = 300,
    seed: int = 0,
    threshold: float = THRESHOLD,
    categories: tuple[str, ...] = MEASURE,
) -> dict[str, Any]:
    """Pairwise precision and recall of copy grouping on the articles of ``categories`` plus
    ``copies`` injected copies of them."""
    files = sorted(f for c in categories for f in (bbc_dir / c).glob("*.txt"))
    articles = [load_article(f.resolve(), 10**8) for f in files]
    labels: list[object] = list(corpus_repeats([shingles(a.text, a.title) for a in articles]))
    titles = [a.title for a in articles]
    texts = [a.text for a in articles]
    rng = random.Random(seed)
    for i in rng.sample(range(len(articles)), min(copies, len(articles))):
        headline, text = injected_copy(titles[i], texts[i], rng)
        titles.append(headline)
        texts.append(text)
        labels.append(labels[i])
    precision, recall = grouping_quality(texts, labels, titles, threshold)
    return {
        "categories": list(categories),
        "articles": len(files),
        "injected_copies": min(copies, len(articles)),
        "corpus_repeats": len(files) - len(set(labels[: len(files)])),
        "threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
    }


def sweep(bbc_dir: Path, thresholds: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)) -> None:
    """Precision and recall on FIT at each threshold: how THRESHOLD was chosen."""
    for threshold in thresholds:
        print(copy_grouping(bbc_dir, copies=150, threshold=threshold, categories=FIT))


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc"
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    sweep(corpus)
