"""Yes/no questions: "Did the MNLA sign the accord?" gets "Yes", "No" or "not said".

The reader finds spans, and a yes/no question has none to find: its answer is
whether an evidence sentence says what the question asks. No yes/no training
data is at hand (SQuAD has none), so this is a rule, kept strict on purpose
because a wrong "Yes" is worse than an honest "the articles do not say":

- "Yes": the sentence holds every word of the question (by Snowball stem, so
  "killed" meets "kill"), and both are affirmative or both negative ("Didn't
  ...?" asked of "... did not ...").
- "No": the same words, with one side negative; or the question names a number
  that the sentence gives otherwise ("Did 30 people die?" of "12 people died").
- Otherwise no verdict: the sentence does not settle the question.

Example:
    >>> verdict("Did the rebels seize Kidal?", "The rebels seized Kidal in May.")
    'yes'
    >>> verdict("Did the rebels seize Kidal?", "The rebels did not seize Kidal.")
    'no'
    >>> verdict("Did the rebels seize Gao?", "The rebels seized Kidal in May.") is None
    True
"""

from __future__ import annotations

import functools
import re
from typing import Literal

import snowballstemmer

Verdict = Literal["yes", "no"]

# Asked with an auxiliary first ("Is ...", "Did ...", "Has ..."), not a choice ("Is it X or Y?").
_POLAR = re.compile(
    r"^\W*(?:and |but |so )?(?:is|are|was|were|am|do|does|did|has|have|had|can|could|will|"
    r"would|should|shall|may|might|must)(?:n't)?\b",
    re.I,
)
_NEGATION = re.compile(
    r"\b(?:not|never|no|none|nor|neither|without|denied|denies|deny)\b|n't\b", re.I
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+(?:[.,]\d+)*")
_STOP = frozenset(
    """a an the of in on at to for from by with about as into over after before than then
    and or but if so that this these those there here it its they them their he him his she
    her we us our you your i me my is are was were am be been being do does did done has
    have had can could will would should shall may might must any some all each every what
    which who whom whose when where why how also yet still ever just really actually""".split()
)


def is_polar(question: str) -> bool:
    """Whether ``question`` asks for yes or no (and not to choose: "Is it X or Y?")."""
    return bool(_POLAR.match(question)) and not re.search(r"\bor\b", question, re.I)


def held(question: str, sentence: str) -> float:
    """The share of the question's words (stop words and negations aside) in ``sentence``."""
    words = _content(question)
    if not words:
        return 0.0
    present = set(_stems(sentence))
    return sum(w in present for w in words) / len(words)


def verdict(question: str, sentence: str) -> Verdict | None:
    """ "yes" or "no" if ``sentence`` settles ``question``, else None (see the module doc)."""
    asked, given = set(_NUMBER.findall(question)), set(_NUMBER.findall(sentence))
    if asked and given and not asked & given:
        return "no"
    if held(question, sentence) < 1.0:
        return None
    negative_question = bool(_NEGATION.search(question))
    negative_sentence = bool(_NEGATION.search(sentence))
    return "yes" if negative_question == negative_sentence else "no"


def _content(question: str) -> list[str]:
    words = [
        w for w in _WORD.findall(question) if w.lower() not in _STOP and not _NEGATION.search(w)
    ]
    return _stems(" ".join(words))


def _stems(text: str) -> list[str]:
    stem = _stemmer().stemWord
    return [stem(w.lower().removesuffix("'s")) for w in _WORD.findall(text)]


@functools.cache
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")
