"""Hybrid retrieval: dense similarity from Chroma plus BM25, fused by score.

Dense search finds paraphrases; BM25 finds rare names and numbers that an
embedding blurs. The two are fused as an equal-weight sum of each score divided
by the best score of its list: unlike reciprocal rank fusion this keeps how far
ahead the leader is, which is what decides the top passage (on SQuAD it lifts
the gold paragraph at rank 1 from 0.75 with RRF to 0.82; see benchmarks/).
Follow-up questions are made retrievable without an LLM by folding the
previous question into the query when the new one leans on it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence

from core.text import tokenize
from core.timescope import date_range
from core.types import Message, Passage
from vectorstore.chroma import ChunkStore
from vectorstore.embeddings import Embedder
from vectorstore.metadata import day_where, to_passage
from vectorstore.pg_keywords import AnyKeywordStore

# Words that make a question lean on the conversation before it.
_ANAPHORA = re.compile(
    r"\b(it|its|it's|he|him|his|she|her|hers|they|them|their|theirs|this|that|these|those|"
    r"there|then|the group|the faction|the organisation|the organization|the same|"
    r"the man|the woman|the leader|the town|the country|the company|the city)\b",
    re.IGNORECASE,
)
MAX_PREVIOUS_CHARS = 300  # the most of the previous question folded into a follow-up's query
MAX_QUERY_CHARS = 2000  # a query may be as long as a question (assistant.service's limit)


def contextual_query(question: str, history: Sequence[Message] | None) -> str:
    """The retrieval query for ``question`` given the chat so far.

    A question that refers back ("Who leads it?") or is too short to stand alone
    is prefixed with the previous user question, which names what "it" is: its first
    ``MAX_PREVIOUS_CHARS`` characters, and only while the query stays within
    ``MAX_QUERY_CHARS`` (a long history never makes an overlong query).

    Example:
        >>> contextual_query("Who leads it?", [{"role": "user", "content": "What is the MIA?"}])
        'What is the MIA? Who leads it?'
    """
    if not history:
        return question
    previous = [m["content"] for m in history if m.get("role") == "user"]
    previous = [p for p in previous if p.strip() and p.strip() != question.strip()]
    if not previous:
        return question
    if _ANAPHORA.search(question) or len(tokenize(question)) < 2:
        prefix = " ".join(previous[-1].split())
        if len(prefix) > MAX_PREVIOUS_CHARS:
            prefix = prefix[: MAX_PREVIOUS_CHARS + 1].rsplit(" ", 1)[0][:MAX_PREVIOUS_CHARS]
        if len(prefix) + 1 + len(question) <= MAX_QUERY_CHARS:
            return f"{prefix} {question}"
    return question


def fuse(
    dense: Mapping[str, float], lexical: Mapping[str, float], dense_weight: float = 0.5
) -> dict[str, float]:
    """Weighted sum of cosine and BM25 scores, each divided by the best of its list.

    ``dense`` holds the dense candidates' cosine similarities, ``lexical`` the BM25
    scores of the keyword candidates and of the dense candidates. A keyword-only
    candidate is given the weakest dense candidate's cosine (it was not among them).

    Example:
        >>> fuse({"a": 0.8, "b": 0.4}, {"b": 6.0, "c": 3.0})
        {'a': 0.5, 'b': 0.75, 'c': 0.5}
    """
    cosine = {chunk_id: max(score, 0.0) for chunk_id, score in dense.items()}
    floor = min(cosine.values(), default=0.0)
    for chunk_id in lexical:
        cosine.setdefault(chunk_id, floor)
    bm25 = {chunk_id: lexical.get(chunk_id, 0.0) for chunk_id in cosine}
    top_cosine = max(cosine.values(), default=0.0) or 1.0
    top_bm25 = max(bm25.values(), default=0.0) or 1.0
    w = dense_weight
    return {i: w * cosine[i] / top_cosine + (1 - w) * bm25[i] / top_bm25 for i in cosine}


def one_per_story(passages: Sequence[Passage]) -> list[Passage]:
    """``passages`` (best first) with each story group's best-scoring article only.

    Copies of one story carried by several outlets hold the same sentences; an
    answer should read (and cite) them once. Every passage of the kept article
    stays (it may answer from two of its chunks).

    Example:
        >>> [(p.source, p.story_id) for p in one_per_story(passages)]  # ap.txt and cnn.txt: copies
        [('ap.txt', 'ap.txt'), ('other.txt', 'other.txt'), ('ap.txt', 'ap.txt')]
    """
    kept: dict[str, str] = {}  # story -> the article kept for it
    chosen = []
    for passage in passages:
        article = passage.source_id or passage.source
        if kept.setdefault(passage.story, article) == article:
            chosen.append(passage)
    return chosen


class HybridRetriever:
    """Dense + keyword retrieval over one ``ChunkStore``, fused by score (``fuse``).

    The keyword index is re-synced from the store whenever the store's
    generation changes (an ingest, a delete, another process's write).

    Example:
        >>> retriever = HybridRetriever(store, Embedder())
        >>> [p.source for p in retriever.retrieve("Who leads the MIA?", k=3)]
        ['000_6db25d13bdcc533d.txt', ...]
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        *,
        candidates: int = 40,
        dense_weight: float = 0.5,
    ) -> None:
        if candidates < 1:
            raise ValueError(f"candidates must be positive, got {candidates}")
        if not 0 <= dense_weight <= 1:
            raise ValueError(f"dense_weight must be between 0 and 1, got {dense_weight}")
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.dense_weight = dense_weight
        self._version: int | None = None  # the store generation last brought in step
        self._lock = threading.Lock()

    @property
    def keyword(self) -> AnyKeywordStore:
        """The store's keyword index (opened on first use, not when the retriever is made)."""
        return self.store.keywords

    def refresh(self) -> None:
        """Bring the keyword index in step with the store if the store changed.

        Cheap when this process (or another sharing the data directory) wrote both:
        the index records the generation it is in step with. Chunks another machine
        wrote to a shared Chroma server are compared id by id and caught up.

        Only the generation is read each time: every finished ingest bumps it. The
        collection is counted once per process and per generation (42 ms at 1M chunks),
        so the few chunks an ingest killed half-way wrote to one store and not yet the
        other wait for its re-run (``ChunkStore.add`` writes both together; the dense
        search still finds such a chunk, and one only the keyword index holds is never
        answered from).
        """
        generation = self.store.generation()
        if generation == self._version:
            return
        with self._lock:
            if generation != self._version:
                self.store.catch_up_keywords(generation)
                self._version = generation

    def retrieve(
        self, query: str, k: int, since: str | None = None, until: str | None = None
    ) -> list[Passage]:
        """The ``k`` best passages for ``query``; ``since``/``until`` (ISO days, inclusive)
        keep only articles dated in that range, in Chroma's ``where`` and in the keyword
        index alike (so the ``k`` are all in range; undated articles are left out).
        """
        days = date_range(since, until).days if since or until else None
        self.refresh()
        if not len(self.keyword) or not query.strip():
            return []
        n = max(self.candidates, k)
        dense = self.store.query(self.embedder.embed_query(query), n, where=day_where(days))
        lexical = self.keyword.search(query, n, also=[c.id for c in dense], days=days)
        fused = fuse({c.id: 1.0 - c.distance for c in dense}, lexical, self.dense_weight)
        ranked = sorted(fused, key=lambda i: -fused[i])  # all: copies give way to other stories
        return one_per_story(self.passages(ranked, fused, known=dense))[:k]

    def passages(
        self, ids: Sequence[str], scores: Mapping[str, float], known: Sequence = ()
    ) -> list[Passage]:
        """``ids`` as passages with their ``scores``; chunks not in ``known`` are read from the store."""
        chunks = {c.id: c for c in known}
        missing = [i for i in ids if i not in chunks]
        if missing:
            chunks.update({c.id: c for c in self.store.get(ids=missing)})
        return [to_passage(chunks[i], scores[i]) for i in ids if i in chunks]
