"""Which sentence answers the question, and whether any does: a model fitted on data.

Each candidate sentence of the top passages is described by a few signals:
how it matches the question (``Grounding``: embedding similarity, idf-weighted
word overlap, whether it holds the kind of thing asked for), where it stands
(the passage's rank), and what the trained reader finds in it (its best span's
margin over "no answer"). A logistic regression, fitted on the TRAIN articles of
``training/squad_split.py`` by ``training/train_ranker.py``, turns them into the
probability that the sentence holds the answer. The question is answered when
the best sentence's probability reaches the threshold chosen on the CALIBRATE
articles; otherwise the articles do not answer it.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from answerers.grounding import ScoredSentence
from answerers.reader import RETRAIN, SpanScore
from core.errors import ModelUnavailable
from core.text import tokenize

RANKER_FILE = Path(__file__).resolve().parent / "models" / "ranker.json"
NO_SPAN = -12.0  # the reader's margin for a sentence it finds no span in
# The embedder of the sentence similarities the ranker is fitted on: the answerers compute
# them with this one, whatever model embeds the chunks, so they mean what they meant in
# training. The ranker's file records it, and a ranker fitted on another is refused.
# Its int8 copy was tried (2026-11-25, ranker refitted): answers after retrieval took 12%
# less time (p50 105.8 against 120.5 ms, 120 BBC questions side by side), but on the
# CALIBRATE articles it refused fewer unanswerable (0.18 against 0.20) and absent-article
# (0.66 against 0.68) questions, so fp32 stays.
SIMILARITY_EMBEDDER = {"model": "all-MiniLM-L6-v2", "backend": "onnx"}

FEATURES = (
    "similarity",
    "overlap",
    "answer_type",
    "passage_rank",
    "reader_margin",
    "reader_best",
    "similarity_gap",
    "overlap_gap",
    "reader_gap",
    "best_reader_margin",
    "best_similarity",
    "best_overlap",
    "words",
)


@dataclass(frozen=True)
class Candidate:
    """A sentence, its features, and the reader's best span inside it (None if none).

    ``span_passage`` is the passage the span's offsets are in: ``span.passage`` indexes
    the passages of one reading, which an answer that ranks articles apart does not keep.
    """

    sentence: ScoredSentence
    features: np.ndarray
    span: SpanScore | None
    span_passage: Any = None


def candidates(
    scored: Sequence[ScoredSentence], spans: Sequence[SpanScore], read: Sequence[Any]
) -> list[Candidate]:
    """The features of every scored sentence; ``spans`` are the reader's over ``read``.

    ``read`` are the passages the reader read, in the order its spans index them.
    """
    if not scored:
        return []
    inside: dict[int, SpanScore] = {}
    for i, sentence in enumerate(scored):
        for span in spans:  # best first: the first one inside the sentence is its best
            passage = read[span.passage]
            if (
                sentence.article == (passage.source_id or passage.source)
                and sentence.start <= passage.start + span.start
                and passage.start + span.end <= sentence.end
            ):
                inside[i] = span
                break
    margins = [
        inside[i].score - inside[i].no_answer if i in inside else NO_SPAN
        for i in range(len(scored))
    ]
    top_margin = max(margins)
    top_similarity = max(s.similarity for s in scored)
    top_overlap = max(s.overlap for s in scored)
    found = []
    for i, s in enumerate(scored):
        values = [
            s.similarity,
            s.overlap,
            float(s.answer_type),
            float(s.rank),
            margins[i],
            float(margins[i] == top_margin and i in inside),
            s.similarity - top_similarity,
            s.overlap - top_overlap,
            margins[i] - top_margin,
            top_margin,
            top_similarity,
            top_overlap,
            math.log1p(len(tokenize(s.text))),
        ]
        best = inside.get(i)
        found.append(
            Candidate(
                s,
                np.asarray(values, dtype=np.float64),
                best,
                read[best.passage] if best is not None else None,
            )
        )
    return found


class Ranker:
    """The fitted model: probabilities of sentences holding the answer, and the threshold.

    Example:
        >>> ranker = Ranker()
        >>> ranker.probabilities(candidates(scored, spans, passages))
        array([0.91, 0.12, ...])
    """

    _loaded: dict[Path, dict[str, Any]] = {}  # noqa: RUF012 (process-wide)
    _lock = threading.Lock()

    def __init__(self, path: Path = RANKER_FILE) -> None:
        self.path = path

    @property
    def config(self) -> dict[str, Any]:
        with self._lock:
            if self.path not in self._loaded:
                self._loaded[self.path] = self._open()
            return self._loaded[self.path]

    @property
    def threshold(self) -> float:
        """The probability the best sentence needs for an answer (chosen on training articles)."""
        return float(self.config["threshold"])

    @property
    def span_margin(self) -> float:
        """The reader's margin a span needs to lead the answer (chosen on training articles)."""
        return float(self.config["span_margin"])

    @property
    def second(self) -> float:
        """A second sentence is quoted when its probability is at least this share of the best's."""
        return float(self.config["second_ratio"])

    def check_reader(self, reader_sha256: str) -> None:
        """Refuse a reader other than the one the ranker was fitted on: its margins would
        mean something else to the ranker."""
        fitted = str(self.config.get("made", {}).get("reader_sha256", ""))
        if fitted != reader_sha256:
            raise ModelUnavailable(
                f"the sentence ranker ({self.path}) was fitted on another reader "
                f"(sha256 {fitted[:12]}..., the reader's is {reader_sha256[:12]}...); {RETRAIN}"
            )

    def probabilities(self, found: Sequence[Candidate]) -> np.ndarray:
        if not found:
            return np.zeros(0)
        config = self.config
        x = np.stack([c.features for c in found])
        z = (x - np.asarray(config["mean"])) / np.asarray(config["scale"])
        logits = z @ np.asarray(config["weights"]) + float(config["bias"])
        return 1.0 / (1.0 + np.exp(-logits))

    def _open(self) -> dict[str, Any]:
        if not self.path.is_file():
            raise ModelUnavailable(f"the sentence ranker is missing ({self.path}); {RETRAIN}")
        config = json.loads(self.path.read_text())
        body = {k: v for k, v in config.items() if k != "sha256"}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if (
            digest != config.get("sha256")
            or tuple(config.get("features", ())) != FEATURES
            or config.get("similarity_embedder") != SIMILARITY_EMBEDDER
        ):
            raise ModelUnavailable(
                f"the sentence ranker ({self.path}) does not match its checksum or this "
                f"version's features and sentence embedder; {RETRAIN}"
            )
        return config


def seal(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the checksum ``Ranker`` verifies."""
    body = {k: v for k, v in config.items() if k != "sha256"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return {**body, "sha256": digest}
