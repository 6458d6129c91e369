"""Grounding: how well a passage's sentences match a question, and whether they support a claim.

Both answerers stand on this. ``Grounding.score_sentences`` ranks the sentences
of the retrieved passages against a question by embedding similarity and by the
share of the question's (idf-weighted) words they contain, with a bonus when the
question asks for a date, number or name and the sentence has a new one. A
sentence that opens by pointing back ("This led to ...") inherits the match of
the sentence before it, since it usually holds the answer that sentence sets up.
``Grounding.support`` scores how well each sentence of the passages supports a
claim an LLM wrote (see ``generative``).

The weights were chosen on a 1,200-question sample of SQuAD (benchmarks/squad.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass

import numpy as np
from cachetools import LRUCache

from core.text import NAME, NAME_OR_NUMBER, split_sentences, tokenize
from core.types import Passage
from vectorstore.embeddings import Embedder

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
        NAME,
    ),
]

# A sentence that opens by pointing back at the one before it.
_REFERS_BACK = re.compile(
    r"^\W*(this|these|that|those|it|its|they|their|such|he|she|his|her|there)\b"
    r"|^\W*(the|this|that) \w+ (for|of|behind|in) (this|that|these|it)\b",
    re.I,
)

# A sentence that talks to an AI instead of reporting news: never evidence.
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,60}\b(instructions?|prompts?|rules|above|"
    r"previous|guidelines)\b"
    r"|\b(AI|A\.I\.|assistants?|chat ?bots?|language models?|LLMs?)\b.{0,80}"
    r"\b(must|should|shall|are (now )?(required|instructed))\b"
    r"|\bsystem prompt\b|\byou are now\b|\bnew instructions\b",
    re.I | re.S,
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
    answer_type: bool = False  # the question asks for a date, number or name, and this has one

    @property
    def article(self) -> str:
        return self.passage.source_id or self.passage.source

    def overlaps(self, other: ScoredSentence) -> bool:
        """Whether the two are (parts of) the same stretch of one article."""
        return self.article == other.article and self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Evidence:
    """A reporting sentence of a passage: (passage, offsets, text, words)."""

    passage_index: int
    start: int  # offsets in the passage text
    end: int
    text: str
    terms: frozenset[str]
    around: frozenset[str]  # the words of this sentence and its neighbours


def _every_word_alike(term: str) -> float:
    return 1.0


def _one() -> float:
    return 1.0


@dataclass
class Grounding:
    """Sentence scoring and support checks over retrieved passages.

    ``idf`` weighs a (tokenized) word; ``unknown_idf`` is the weight of a name
    the articles never use: as much as the rarest word they do, so a question
    about "Bamako" is not answered by a passage without it.

    Example:
        >>> grounding = Grounding(Embedder(), idf=keyword.idf, unknown_idf=keyword.max_idf)
        >>> grounding.score_sentences("Who leads the MIA?", passages)[0].text
        'In a statement to Radio France Internationale, ...'
    """

    embedder: Embedder
    _: KW_ONLY
    idf: Callable[[str], float] = _every_word_alike
    unknown_idf: Callable[[], float] = _one
    passages_considered: int = 3
    similarity_weight: float = 0.6
    overlap_weight: float = 0.4
    rank_penalty: float = 0.03
    answer_type_bonus: float = 0.1
    carry: float = 1.0
    cache_size: int = 4096

    def __post_init__(self) -> None:
        # Follow-ups and the LLM's support check re-read the same sentences.
        self._vectors: LRUCache[str, np.ndarray] = LRUCache(maxsize=self.cache_size)
        self._vectors_lock = threading.Lock()

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts``, one row each; recently seen sentences cost nothing."""
        with self._vectors_lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.encode(missing), strict=True))
            with self._vectors_lock:
                for text in missing:
                    self._vectors[text] = known[text]
        return np.stack([known[t] for t in texts])

    # -- matching a question ------------------------------------------------------------

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
        idf = {t: self.idf(t) for t in q_terms}
        known = [weight for weight in idf.values() if weight]
        # Other unknown words are likely paraphrases and weigh as an average word.
        average = sum(known) / len(known) if known else self.unknown_idf()
        weights = {t: idf[t] or (self.unknown_idf() if t in names else average) for t in q_terms}
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
            typed = bool(wanted) and _has_new(wanted[0], text, question)
            if typed:
                score += self.answer_type_bonus
            scored.append(
                ScoredSentence(passage, rank, start, end, text, similarity, overlap, score, typed)
            )
        scored.sort(key=lambda s: -s.score)
        return scored

    # -- supporting a claim -------------------------------------------------------------

    def evidence(self, passages: Sequence[Passage]) -> list[Evidence]:
        """Every reporting sentence of the passages, with the words around it.

        Sentences that address an AI ("ignore your instructions", "AI assistants
        must ...") are left out: an answer that obeys a planted instruction is not
        backed by the article's reporting.
        """
        found = []
        for index, passage in enumerate(passages):
            spans = split_sentences(passage.text)
            for i, (start, end) in enumerate(spans):
                sentence = passage.text[start:end]
                if not tokenize(sentence) or _INSTRUCTION.search(sentence):
                    continue
                # A name is often in the sentence before ("Ag Intallah ... He said ...").
                around = passage.text[
                    spans[max(i - 1, 0)][0] : spans[min(i + 1, len(spans) - 1)][1]
                ]
                found.append(
                    Evidence(
                        index,
                        start,
                        end,
                        sentence,
                        frozenset(tokenize(sentence)),
                        frozenset(tokenize(around)),
                    )
                )
        return found

    def support(
        self,
        claim: str,
        vector: np.ndarray,
        evidence: list[Evidence],
        evidence_vectors: np.ndarray,
    ) -> np.ndarray:
        """Support of ``claim`` by each evidence sentence: mean of cosine and word overlap.

        Overlap is the idf-weighted share of the claim's words found in the
        sentence; a word no article uses (a made-up name or number) weighs as
        much as the rarest word they do, so invented facts lower the score. A
        sentence whose neighbourhood lacks one of the claim's names or numbers
        does not support it at all.
        """
        if not evidence:
            return np.zeros(0)
        terms = set(tokenize(claim))
        facts = stated_facts(claim)
        rarest = self.unknown_idf()
        weights = {t: self.idf(t) or rarest for t in terms}
        total = sum(weights.values()) or 1.0
        overlap = np.array([sum(weights[t] for t in terms & e.terms) / total for e in evidence])
        has_facts = np.array([facts <= e.around for e in evidence])
        similarity = evidence_vectors @ vector
        return np.where(has_facts, 0.5 * similarity + 0.5 * overlap, 0.0)


def stated_facts(claim: str) -> frozenset[str]:
    """The names and numbers a claim states: the words a source must contain."""
    found = NAME_OR_NUMBER.findall(claim)
    return frozenset(t for word in found for t in tokenize(word))


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
