"""Questions written by rule from news articles: more reading practice for the reader.

The SQuAD articles at hand give the reader about 3,000 real questions to learn
from. Rule-written ("cloze") questions are a known way to give a small reader
more to read before it meets the real ones (Lewis et al., 2019, "Unsupervised
Question Answering by Cloze Translation"): take a sentence of a news article,
choose an answer in it (a number, an amount, a date, a name), put the question
word in its place ("how many", "how much", "when", "who", "what"), and drop and
reorder a few of the other words so that the question is not a copy of the
sentence. The reader then learns where answers of each kind stand, in the news
text it will be asked about.

Off by default (``python -m training.train_reader --cloze N`` turns it on): the
shipped reader was trained without them; ``train_reader.py`` says what they did.

The articles are the BBC news corpus in ``../shared/data/bbc`` (2,225 articles;
none of the SQuAD articles, so nothing here touches the measuring split).

    >>> from pathlib import Path
    >>> articles, questions = cloze_questions(Path("../shared/data/bbc"), per_article=5)
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from core.text import split_sentences
from training.squad_split import QA, Article

CONTEXT_WORDS = 110  # a paragraph and its neighbours, up to this many words: one reader window
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_UNIT = r"(?:%|bn|m|per cent|percent|million|billion|trillion)"
# What an answer may be, most specific first; the question word each asks with.
_ANSWERS: list[tuple[str, re.Pattern[str]]] = [
    (
        "when",
        re.compile(
            rf"\b(?:in |on |since |by |until )?(?:{_MONTH}(?: \d{{1,2}})?(?:,? \d{{4}})?|{_DAY}|(?:19|20)\d\d)\b"
        ),
    ),
    (
        "how much",
        re.compile(rf"(?:[£$€]\d+(?:[,.]\d+)*(?: ?{_UNIT})?|\b\d+(?:[,.]\d+)*(?: ?{_UNIT}))(?!\w)"),
    ),
    ("how many", re.compile(r"\b\d+(?:,\d{3})*(?= [a-z]+s\b)")),
    (
        "name",
        re.compile(
            r"(?<!^)(?<![.!?] )\b(?:(?:Mr|Mrs|Ms|Dr|Sir) )?[A-Z][a-z]+(?: (?:of |de |van |von )?[A-Z][a-z]+)+"
        ),
    ),
]
_WHO_NEXT = re.compile(r"^,? (?:said|says|told|added|who|has|was|is|had|will|, the|, a)\b")
_WHO_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Sir|minister|chief|leader|president|boss)\.? ?$", re.I)


def cloze_questions(
    bbc: Path, *, per_article: int = 5, seed: int = 29
) -> tuple[dict[str, Article], list[QA]]:
    """Up to ``per_article`` rule-written questions per article, in the SQuAD shapes."""
    if not any(bbc.glob("*/*.txt")):
        raise FileNotFoundError(f"no BBC articles (CATEGORY/NNN.txt) under {bbc}; pass --bbc")
    rng = random.Random(seed)
    articles: dict[str, Article] = {}
    questions: list[QA] = []
    for path in sorted(bbc.glob("*/*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()][1:]
        contexts = _contexts(paragraphs)
        if len(contexts) < 2:
            continue
        title = f"bbc/{path.parent.name}/{path.stem}"
        articles[title] = Article(title, tuple(contexts))
        made = 0
        for index in rng.sample(range(len(contexts)), len(contexts)):
            qa = _question(title, index, contexts[index], rng)
            if qa is not None:
                questions.append(qa)
                made += 1
            if made >= per_article:
                break
    return articles, questions


def _contexts(paragraphs: list[str]) -> list[str]:
    """Consecutive paragraphs joined up to CONTEXT_WORDS words (a long one stands alone)."""
    contexts: list[str] = []
    current: list[str] = []
    words = 0
    for paragraph in paragraphs:
        n = len(paragraph.split())
        if current and words + n > CONTEXT_WORDS:
            contexts.append(" ".join(current))
            current, words = [], 0
        current.append(paragraph)
        words += n
    if current:
        contexts.append(" ".join(current))
    return contexts


def _question(title: str, index: int, context: str, rng: random.Random) -> QA | None:
    """A question about one answer in one sentence of ``context``, or None if none fits."""
    spans = [(s, e) for s, e in split_sentences(context) if 8 <= len(context[s:e].split()) <= 35]
    rng.shuffle(spans)
    for first, last in spans:
        sentence = context[first:last]
        found = [(kind, m) for kind, pattern in _ANSWERS for m in pattern.finditer(sentence)]
        if not found:
            continue
        kind, match = rng.choice(found)
        answer = match.group(0)
        lead = re.match(r"(?:in|on|since|by|until) ", answer)
        start = match.start() + (lead.end() if lead else 0)
        answer = sentence[start : match.end()]
        if kind == "name":
            before, after = sentence[: match.start()], sentence[match.end() :]
            kind = "who" if _WHO_NEXT.match(after) or _WHO_BEFORE.search(before) else "what"
        question = _cloze(sentence[: match.start()], kind, sentence[match.end() :], rng)
        return QA(f"{title}#{index}", title, index, question, ((answer, first + start),))
    return None


def _cloze(before: str, wh: str, after: str, rng: random.Random) -> str:
    """The sentence with ``wh`` for the answer, a few words dropped, often ``wh`` first."""

    def noisy(part: str) -> list[str]:
        words = part.strip(" .,;:\"'").split()
        return [w for w in words if rng.random() > 0.15]

    left, right = noisy(before), noisy(after)
    # "how many otters volunteers counted ..." or "volunteers counted how many otters ..."
    words = [wh, *right, *left] if rng.random() < 0.5 else [*left, wh, *right]
    question = " ".join(words).strip(" ,")
    return question[0].upper() + question[1:] + "?"
