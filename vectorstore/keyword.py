"""BM25 keyword search over the same chunks as the Chroma collection.

The index is derived from the collection, never stored on its own: ``sync``
takes the collection's current chunks and only tokenizes those it has not seen,
so it is in step after every ingest, prune and restart by construction.
Scoring is one sparse-matrix column sum per query (the approach of ``bm25s``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
from scipy import sparse

from core.text import tokenize


class KeywordIndex:
    """Okapi BM25 over chunk texts, kept in step with a collection by ``sync``.

    Example:
        >>> index = KeywordIndex()
        >>> index.sync([("a", "Kidal is held by rebels"), ("b", "Gao and Menaka")])
        >>> index.search("who holds Kidal?", 1)
        {'a': 0.28...}
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._counts: dict[str, Counter[str]] = {}
        self._ids: list[str] = []
        self._position: dict[str, int] = {}
        self._vocab: dict[str, int] = {}
        self._idf: np.ndarray = np.zeros(0)
        self._matrix: sparse.csc_matrix = sparse.csc_matrix((0, 0))

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def sync(self, chunks: Iterable[tuple[str, str]]) -> None:
        """Make the index hold exactly ``chunks`` (id, text); reuses known ids' tokens."""
        counts: dict[str, Counter[str]] = {}
        for chunk_id, text in chunks:
            known = self._counts.get(chunk_id)
            counts[chunk_id] = known if known is not None else Counter(tokenize(text))
        self._counts = counts
        self._rebuild()

    def _rebuild(self) -> None:
        self._ids = list(self._counts)
        self._position = {chunk_id: row for row, chunk_id in enumerate(self._ids)}
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[int] = []
        lengths = np.zeros(len(self._ids), dtype=np.float32)
        for row, chunk_id in enumerate(self._ids):
            counter = self._counts[chunk_id]
            lengths[row] = sum(counter.values())
            for term, tf in counter.items():
                rows.append(row)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        self._vocab = vocab
        n_docs = len(self._ids)
        if n_docs == 0 or not vocab:
            self._matrix = sparse.csc_matrix((n_docs, 0), dtype=np.float32)
            self._idf = np.zeros(0)
            return
        row_arr = np.asarray(rows, dtype=np.int64)
        col_arr = np.asarray(cols, dtype=np.int64)
        tf_arr = np.asarray(tfs, dtype=np.float32)
        df = np.bincount(col_arr, minlength=len(vocab)).astype(np.float32)
        self._idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avg = max(float(lengths.mean()), 1.0)
        norm = self.k1 * (1 - self.b + self.b * lengths[row_arr] / avg)
        weights = self._idf[col_arr] * tf_arr * (self.k1 + 1) / (tf_arr + norm)
        self._matrix = sparse.csc_matrix(
            (weights, (row_arr, col_arr)), shape=(n_docs, len(vocab)), dtype=np.float32
        )

    def idf(self, term: str) -> float:
        """The BM25 idf of an already tokenized term (0 for unknown terms)."""
        col = self._vocab.get(term)
        return float(self._idf[col]) if col is not None else 0.0

    def max_idf(self) -> float:
        n = len(self._ids)
        return math.log1p((n + 0.5) / 1.5) if n else 0.0

    def search(self, query: str, n: int, *, also: Iterable[str] = ()) -> dict[str, float]:
        """BM25 scores of the ``n`` best chunks for ``query`` (no zero scores), best first,
        and of the chunks ``also`` asked for (0 when the query misses them or they are unknown).
        """
        scores = self._scores(query)
        found = dict(self._top(scores, n))
        for chunk_id in also:
            if chunk_id not in found:
                row = self._position.get(chunk_id)
                found[chunk_id] = float(scores[row]) if row is not None else 0.0
        return found

    def _scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (in ``ids`` order) for ``query``."""
        terms = Counter(tokenize(query))
        cols = [self._vocab[t] for t in terms if t in self._vocab]
        if not cols:
            return np.zeros(len(self._ids), dtype=np.float32)
        weights = np.asarray([terms[t] for t in terms if t in self._vocab], dtype=np.float32)
        return np.asarray(self._matrix[:, cols] @ weights).ravel()

    def _top(self, scores: np.ndarray, n: int) -> list[tuple[str, float]]:
        if n <= 0 or not self._ids:
            return []
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]
