"""The retrieval methods Dossier's hybrid retriever is measured against (not on the product path).

Each is a ``core.protocols.Retriever`` over the same parts as the product's
``HybridRetriever`` (its store, embedder and keyword index), so the comparison
differs only in how the two candidate lists are combined.
"""

from __future__ import annotations

from assistant.retrieval import HybridRetriever
from core.protocols import Retriever
from core.types import Passage

RRF_K = 60  # the usual constant of reciprocal rank fusion


class DenseRetriever:
    """Chroma's cosine similarity alone."""

    def __init__(self, hybrid: HybridRetriever) -> None:
        self.hybrid = hybrid

    def retrieve(self, query: str, k: int) -> list[Passage]:
        self.hybrid.refresh()
        dense = self.hybrid.store.query(self.hybrid.embedder.embed_query(query), k)
        return self.hybrid.passages(
            [c.id for c in dense], {c.id: 1.0 - c.distance for c in dense}, known=dense
        )


class KeywordRetriever:
    """BM25 alone."""

    def __init__(self, hybrid: HybridRetriever) -> None:
        self.hybrid = hybrid

    def retrieve(self, query: str, k: int) -> list[Passage]:
        self.hybrid.refresh()
        scores = self.hybrid.keyword.search(query, k)
        return self.hybrid.passages(list(scores), scores)


class RRFRetriever:
    """Dense and BM25 candidates fused by reciprocal rank (ranks only, not scores)."""

    def __init__(self, hybrid: HybridRetriever, candidates: int = 40) -> None:
        self.hybrid = hybrid
        self.candidates = candidates

    def retrieve(self, query: str, k: int) -> list[Passage]:
        self.hybrid.refresh()
        n = max(self.candidates, k)
        dense = self.hybrid.store.query(self.hybrid.embedder.embed_query(query), n)
        keyword = self.hybrid.keyword.search(query, n)
        fused: dict[str, float] = {}
        for ranked in ([c.id for c in dense], list(keyword)):
            for rank, chunk_id in enumerate(ranked):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        return self.hybrid.passages(best, fused, known=dense)


def methods(hybrid: HybridRetriever) -> dict[str, Retriever]:
    """Every method by its name in the report, Dossier's own ("hybrid") last."""
    return {
        "keyword": KeywordRetriever(hybrid),
        "dense": DenseRetriever(hybrid),
        "rrf": RRFRetriever(hybrid),
        "hybrid": hybrid,
    }
