"""The default answerer: no LLM, no network, every sentence quoted from a passage.

It scores each sentence of the retrieved passages against the question by
embedding similarity and by the share of the question's (idf-weighted) words it
contains, takes the best one (and a second when it scores at least 70% as
well), and cites each with an inline marker. A sentence that opens by pointing
back ("This led to ...") inherits the match of the sentence before it, since it
usually holds the answer that sentence sets up. When even the best sentence is
a weak match it says the articles do not answer the question and cites nothing.

The weights were chosen on a 1,200-question sample of SQuAD (benchmarks/squad.py).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.types import Answer, Citation, Passage
from ingest.chunking import split_sentences
from vectorstore.embeddings import Embedder
from vectorstore.keyword import tokenize

NOT_ANSWERED = "The articles do not answer this question."

# What a question asks for, and what a sentence must then contain that the question does not.
_YEAR_OR_DATE = (
    r"\b(1[89]\d\d|20\d\d)\b|\b(January|February|March|April|May|June|July|August|"
    r"September|October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|"
    r"Saturday|Sunday|yesterday|today|tomorrow|last (week|month|year)|next (week|month|year))\b"
)
_ANSWER_TYPES = [
    (
        re.compile(
            r"^\s*(when|what (year|date|day|month|time)|since when|by when|how long ago)\b", re.I
        ),
        re.compile(_YEAR_OR_DATE),
    ),
    (
        re.compile(r"^\s*how (many|much)\b|\bwhat (number|percentage|amount)\b", re.I),
        re.compile(
            r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|"
            r"thousands?|millions?|billions?)\b",
            re.I,
        ),
    ),
    (
        re.compile(r"\b(name|called|named|stand for|acronym)\b", re.I),
        re.compile(
            r"\b(called|named|known as|dubbed|stands? for)\b|(?<!^)\b[A-Z][\w-]+(\s+(of|for|de|the|al|[A-Z][\w-]+))+",
            re.M,
        ),
    ),
    (
        re.compile(
            r"^\s*(who|whom|whose|which (person|man|woman|leader|group|country|countries|"
            r"organi[sz]ation|town|city|region|broadcaster|company))\b|^\s*where\b",
            re.I,
        ),
        re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]+"),
    ),
]


# A sentence that opens by pointing back at the one before it.
_REFERS_BACK = re.compile(
    r"^\W*(this|these|that|those|it|its|they|their|such|he|she|his|her|there)\b"
    r"|^\W*(the|this|that) \w+ (for|of|behind|in) (this|that|these|it)\b",
    re.I,
)


@dataclass(frozen=True)
class ScoredSentence:
    passage: Passage
    rank: int  # of the passage in the retrieval results
    start: int  # offsets in the cleaned article
    end: int
    text: str
    similarity: float
    overlap: float
    score: float


class ExtractiveAnswerer:
    """Answers with the retrieved sentences that best match the question.

    Example:
        >>> answerer = ExtractiveAnswerer(Embedder(), idf=retriever.keyword.idf)
        >>> answerer.answer("Who leads the MIA?", passages).citations[0].quote
        'In a statement to Radio France Internationale, ...'
    """

    mode = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        *,
        idf: Callable[[str], float] | None = None,
        passages_considered: int = 3,
        max_sentences: int = 2,
        min_score: float = 0.33,
        keep_ratio: float = 0.7,
        similarity_weight: float = 0.6,
        overlap_weight: float = 0.4,
        rank_penalty: float = 0.03,
        answer_type_bonus: float = 0.1,
        unknown_idf: Callable[[], float] | None = None,
        carry: float = 1.0,
        cache_size: int = 4096,
    ) -> None:
        if not 1 <= max_sentences <= 3:
            raise ValueError(f"max_sentences must be 1, 2 or 3, got {max_sentences}")
        self.embedder = embedder
        self.idf = idf or (lambda term: 1.0)
        self.passages_considered = passages_considered
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.keep_ratio = keep_ratio
        self.similarity_weight = similarity_weight
        self.overlap_weight = overlap_weight
        self.rank_penalty = rank_penalty
        self.answer_type_bonus = answer_type_bonus
        self.carry = carry
        self.cache_size = cache_size
        # A name in the question that the articles never use weighs as much as the rarest
        # word they do: a question about "Bamako" is not answered by a passage without it.
        # Other unknown words are likely paraphrases and weigh as an average word.
        self.unknown_idf = unknown_idf or (lambda: 1.0)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def answer(
        self, question: str, passages: Sequence[Passage], *, query: str | None = None
    ) -> Answer:
        """Answer ``question`` from ``passages``; ``query`` adds chat context to the scoring."""
        scored = self.score_sentences(query or question, passages)
        if not scored or scored[0].score < self.min_score:
            return Answer(
                question=question,
                text=NOT_ANSWERED,
                passages=tuple(passages),
                answered=False,
                mode=self.mode,
            )
        chosen = [scored[0]]
        for candidate in scored[1:]:
            if (
                len(chosen) >= self.max_sentences
                or candidate.score < scored[0].score * self.keep_ratio
            ):
                break
            if not any(_overlaps(candidate, c) for c in chosen):
                chosen.append(candidate)
        # Read in article order, sources in retrieval order.
        chosen.sort(key=lambda s: (s.rank, s.start))
        citations = []
        parts = []
        for number, sentence in enumerate(chosen, start=1):
            citations.append(
                Citation.of(number, sentence.passage, sentence.start, sentence.end, sentence.score)
            )
            parts.append(f"{sentence.text} [{number}]")
        return Answer(
            question=question,
            text=" ".join(parts),
            citations=tuple(citations),
            passages=tuple(passages),
            answered=True,
            mode=self.mode,
        )

    def score_sentences(
        self, question: str, passages: Sequence[Passage], *, considered: int | None = None
    ) -> list[ScoredSentence]:
        """Every distinct sentence of the top ``considered`` passages, best first."""
        candidates: list[tuple[Passage, int, int, int, str]] = []
        seen: set[tuple[str, int]] = set()
        considered = self.passages_considered if considered is None else considered
        for rank, passage in enumerate(passages[:considered]):
            for s, e in split_sentences(passage.text):
                key = (passage.source_id or passage.source, passage.start + s)
                text = passage.text[s:e]
                if key in seen or len(tokenize(text)) < 2 or _is_headline(passage, s, e):
                    continue
                seen.add(key)
                candidates.append((passage, rank, passage.start + s, passage.start + e, text))
        if not candidates:
            return []
        vectors = self.embed_sentences([question] + [c[4] for c in candidates])
        similarities = vectors[1:] @ vectors[0]

        q_terms = set(tokenize(question))
        names = {tokenize(w)[0] for w in question.split()[1:] if w[:1].isupper() and tokenize(w)}
        known = [self.idf(t) for t in q_terms if self.idf(t)]
        average = sum(known) / len(known) if known else self.unknown_idf()
        weights = {
            t: self.idf(t) or (self.unknown_idf() if t in names else average) for t in q_terms
        }
        q_weight = sum(weights.values()) or 1.0
        wanted = [found for asks, found in _ANSWER_TYPES if asks.search(question)]
        scored = []
        # The sentence just before, in the same article: (article, end, similarity, overlap).
        previous: tuple[str, int, float, float] | None = None
        for (passage, rank, start, end, text), sim in zip(candidates, similarities, strict=True):
            terms = set(tokenize(text))
            overlap = own = sum(weights[t] for t in q_terms & terms) / q_weight
            similarity = float(sim)
            article = passage.source_id or passage.source
            if (
                self.carry
                and previous is not None
                and previous[0] == article
                and 0 <= start - previous[1] <= 3
                and _REFERS_BACK.match(text)
            ):
                # "This led to ..." answers what the sentence before it set up.
                similarity = max(similarity, previous[2] * self.carry)
                overlap = max(overlap, previous[3] * self.carry)
            previous = (article, end, float(sim), own)
            score = (
                self.similarity_weight * similarity
                + self.overlap_weight * overlap
                - self.rank_penalty * rank
            )
            if wanted and _has_new(wanted[0], text, question):
                score += self.answer_type_bonus
            scored.append(
                ScoredSentence(passage, rank, start, end, text, similarity, overlap, score)
            )
        scored.sort(key=lambda s: -s.score)
        return scored

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        """Embeddings with a small LRU cache: follow-ups re-read the same sentences."""
        with self._cache_lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.encode(missing), strict=True))
        with self._cache_lock:
            for text in dict.fromkeys(texts):
                self._cache[text] = known[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts])


def _is_headline(passage: Passage, start: int, end: int) -> bool:
    """Whether the span is the article's headline line: it names the topic, not the answer.

    A headline opens the article, is a line of its own and has no full stop;
    a first sentence that runs on into the text is a sentence like any other.
    """
    if passage.start + start != 0:
        return False
    line = passage.text[start:end].rstrip()
    rest = passage.text[end:]
    return not line.endswith((".", "!", "?", "”", '"')) and (not rest or rest[0] == "\n")


def _has_new(pattern: re.Pattern[str], sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds a match of ``pattern`` that the question does not."""
    asked = question.lower()
    return any(m.group().lower() not in asked for m in pattern.finditer(sentence))


def _overlaps(a: ScoredSentence, b: ScoredSentence) -> bool:
    same_article = (a.passage.source_id or a.passage.source) == (
        b.passage.source_id or b.passage.source
    )
    return same_article and a.start < b.end and b.start < a.end
