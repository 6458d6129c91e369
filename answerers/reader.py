"""The trained reader: which span of the passages answers the question, or that none does.

A small extractive question-answering model (all-MiniLM-L6-v2's encoder with a
start/end head, fine-tuned on SQuAD articles by ``training/train_reader.py``)
reads the question with each passage, a window of tokens at a time, and scores
every span as the answer's start and end, and the window's first token as "no
answer here". A question is answered when the best span beats the best window's
"no answer" score by the margin chosen on the training articles (shipped in
``reader.json`` beside the weights); otherwise the articles do not answer it.

The weights ship in the project, int8 ONNX, with their SHA-256: nothing is
downloaded, and missing or altered weights are refused with the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelUnavailable

MODEL_DIR = Path(__file__).resolve().parent / "models" / "reader"
MAX_ANSWER_TOKENS = 30  # a short answer: a name, a date, a phrase
TOP_STARTS = 20  # span candidates: the best starts x the best ends of each window
RETRAIN = "rebuild it with `make train-reader` or restore answerers/models/reader from git"


@dataclass(frozen=True)
class Window:
    """One model input: the question and a stretch of one passage's tokens."""

    passage: int  # index of the passage
    ids: list[int]
    type_ids: list[int]
    # Per token: (start, end) of the token in the passage text, or None outside the passage.
    offsets: list[tuple[int, int] | None]


@dataclass(frozen=True)
class SpanScore:
    """A candidate answer: a span of one passage and how the model rates it."""

    passage: int
    start: int  # character offsets in the passage text
    end: int
    score: float  # start logit + end logit
    no_answer: float  # the "no answer" score of the best window of the passages read


def encode_windows(
    tokenizer: Any,
    question: str,
    passages: Sequence[str],
    *,
    max_length: int,
    stride: int,
    max_question_tokens: int = 48,
) -> list[Window]:
    """``[CLS] question [SEP] passage-window [SEP]`` inputs covering every passage.

    A passage longer than a window is read in windows that overlap by ``stride``
    tokens, so an answer cut by one window is whole in the next. Training and
    reading use this same function, so the model sees at run time what it was
    trained on.
    """
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    q_ids = tokenizer.encode(question, add_special_tokens=False).ids[:max_question_tokens]
    room = max_length - len(q_ids) - 3
    if room < 8:
        raise ValueError(f"max_length {max_length} leaves no room for the passage")
    windows = []
    for index, text in enumerate(passages):
        encoding = tokenizer.encode(text, add_special_tokens=False)
        ids, offsets = encoding.ids, encoding.offsets
        start = 0
        while True:
            piece = slice(start, start + room)
            windows.append(
                Window(
                    index,
                    [cls, *q_ids, sep, *ids[piece], sep],
                    [0] * (len(q_ids) + 2) + [1] * (len(ids[piece]) + 1),
                    [None] * (len(q_ids) + 2) + list(offsets[piece]) + [None],
                )
            )
            if start + room >= len(ids):
                break
            start += room - stride
    return windows


def batch(windows: Sequence[Window]) -> dict[str, np.ndarray]:
    """Windows as padded int64 arrays: input_ids, attention_mask, token_type_ids."""
    width = max(len(w.ids) for w in windows)
    arrays = {
        name: np.zeros((len(windows), width), dtype=np.int64)
        for name in ("input_ids", "attention_mask", "token_type_ids")
    }
    for row, w in enumerate(windows):
        arrays["input_ids"][row, : len(w.ids)] = w.ids
        arrays["attention_mask"][row, : len(w.ids)] = 1
        arrays["token_type_ids"][row, : len(w.ids)] = w.type_ids
    return arrays


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` widened to whole words.

    The model scores word pieces, so its best start or end can fall inside a word
    ("Tuare" of "Tuareg"); an answer is words, never pieces of them.
    """
    while 0 < start < len(text) and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def best_spans(
    windows: Sequence[Window],
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    passages: Sequence[str],
) -> list[SpanScore]:
    """Every passage's best spans in whole words, best first; each carries the lowest
    "no answer" score.

    The "no answer" score of a window is its first token's start + end logits;
    as in SQuAD 2.0 decoding, the one to beat is the lowest of all windows read
    (the window most confident that it holds an answer).
    """
    no_answer = min(float(s[0] + e[0]) for s, e in zip(start_logits, end_logits, strict=True))
    found: dict[tuple[int, int, int], SpanScore] = {}
    for w, starts, ends in zip(windows, start_logits, end_logits, strict=True):
        inside = [i for i, o in enumerate(w.offsets) if o is not None]
        if not inside:
            continue
        first, last = inside[0], inside[-1]
        s_order = first + np.argsort(-starts[first : last + 1])[:TOP_STARTS]
        e_order = first + np.argsort(-ends[first : last + 1])[:TOP_STARTS]
        for s in s_order:
            for e in e_order:
                if e < s or e - s + 1 > MAX_ANSWER_TOKENS:
                    continue
                start, end = whole_words(passages[w.passage], w.offsets[s][0], w.offsets[e][1])
                score = float(starts[s] + ends[e])
                key = (w.passage, start, end)
                if key not in found or found[key].score < score:
                    found[key] = SpanScore(w.passage, start, end, score, no_answer)
    return sorted(found.values(), key=lambda span: -span.score)


def load_tokenizer(path: Path) -> Any:
    """A fast tokenizer from ``tokenizer.json``, without its truncation and padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class Reader:
    """The shipped reader model; loads on first use, once per process.

    Example:
        >>> reader = Reader()
        >>> best = reader.read("Who leads the MIA?", ["The MIA is led by Alghabass Ag Intallah."])
        >>> best[0].score - best[0].no_answer > reader.margin
        True
    """

    _loaded: dict[Path, tuple[Any, Any, dict[str, Any]]] = {}  # noqa: RUF012 (process-wide)
    _lock = threading.Lock()

    def __init__(self, model_dir: Path = MODEL_DIR, tokenizer_path: Path | None = None) -> None:
        self.model_dir = model_dir
        self.tokenizer_path = tokenizer_path

    @property
    def config(self) -> dict[str, Any]:
        return self._load()[2]

    @property
    def margin(self) -> float:
        """How far the best span must beat "no answer" (chosen on the training articles)."""
        return float(self.config["margin"])

    def read(self, question: str, passages: Sequence[str]) -> list[SpanScore]:
        """The candidate answers in ``passages``, best first."""
        if not passages:
            return []
        session, tokenizer, config = self._load()
        windows = encode_windows(
            tokenizer, question, passages, max_length=config["max_length"], stride=config["stride"]
        )
        start_logits, end_logits = session.run(None, batch(windows))
        return best_spans(windows, start_logits, end_logits, passages)

    def _load(self) -> tuple[Any, Any, dict[str, Any]]:
        with self._lock:
            if self.model_dir not in self._loaded:
                self._loaded[self.model_dir] = self._open()
            return self._loaded[self.model_dir]

    def _open(self) -> tuple[Any, Any, dict[str, Any]]:
        config_file = self.model_dir / "reader.json"
        if not config_file.is_file():
            raise ModelUnavailable(f"the reader model is missing ({config_file}); {RETRAIN}")
        config = json.loads(config_file.read_text())
        weights = self.model_dir / config["weights"]
        if not weights.is_file():
            raise ModelUnavailable(f"the reader model's weights are missing ({weights}); {RETRAIN}")
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        if digest != config["sha256"]:
            raise ModelUnavailable(
                f"the reader model's weights ({weights}) do not match their checksum "
                f"(sha256 {digest[:12]}..., expected {config['sha256'][:12]}...); {RETRAIN}"
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)))
        options.log_severity_level = 3
        session = ort.InferenceSession(str(weights), options, providers=["CPUExecutionProvider"])
        tokenizer = load_tokenizer(self.tokenizer_path or self._tokenizer_file())
        return session, tokenizer, config

    def _tokenizer_file(self) -> Path:
        # The reader was fine-tuned from the packaged MiniLM and shares its vocabulary.
        from vectorstore.embeddings import resolve_model_path

        return Path(resolve_model_path("all-MiniLM-L6-v2")) / "tokenizer.json"
