"""Yes/no questions: "Did the MNLA sign the accord?" gets "Yes", "No" or no verdict.

The reader finds spans, and a yes/no question has none to find: its answer is
whether an evidence sentence says what the question asks. No yes/no training
data is at hand (SQuAD has none), so this is a rule, kept strict on purpose
because a wrong "Yes" is worse than an honest "the articles do not say":

- The sentence must hold every word of the question (by Snowball stem, and by
  dictionary lemma for irregular forms, so "killed" meets "kill" and "took" meets
  "take"; stop words and time words such as "currently" aside),
  and the question must have at least two such words ("Did he resign?" names
  nobody, so no sentence settles it).
- "Yes" when both are affirmative or both negative; "No" when one is negative.
  A negation counts only within three words before a word of the question
  ("did not seize Kidal"), not elsewhere in the sentence ("seized Kidal without
  a fight"). A denial ("the army denied ...") settles nothing.
- "No" also when the question names a number the sentence gives otherwise
  ("Did 30 people die?" of "12 people died"), its other words all held.
- Otherwise no verdict.

Example:
    >>> verdict("Did the rebels seize Kidal?", "The rebels seized Kidal in May.")
    'yes'
    >>> verdict("Did the rebels seize Kidal?", "The rebels did not seize Kidal.")
    'no'
    >>> verdict("Did the rebels seize Gao?", "The rebels seized Kidal in May.") is None
    True
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Literal

import snowballstemmer

Verdict = Literal["yes", "no"]

# Asked with an auxiliary first ("Is ...", "Did ...", "Has ..."), and neither a choice
# ("Is it X or Y?") nor a question about something else ("Can you say who leads ...?").
_POLAR = re.compile(
    r"^\W*(?:and |but |so )?(?:is|are|was|were|am|do|does|did|has|have|had|can|could|will|"
    r"would|should|shall|may|might|must)(?:n[’']t)?\b",
    re.I,
)
_NOT_POLAR = re.compile(r"\b(?:or|who|whom|whose|what|when|where|why|how|which)\b", re.I)
_NEGATION = re.compile(r"^(?:not|never|no|none|nor|neither|cannot|\w+n[’']t)$", re.I)
_DENIAL = re.compile(r"\b(?:denied|denies|deny|denying|rejected|disputed)\b", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z’'-]*|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
_STOP = frozenset(
    """a an the of in on at to for from by with about as into over after before than then
    and or but if so that this these those there here it its they them their he him his she
    her we us our you your i me my is are was were am be been being do does did done has
    have had can could will would should shall may might must any some all each every what
    which who whom whose when where why how also yet still ever just really actually true
    currently now today latest recently recent lately anymore""".split()
)
NEGATION_REACH = 3  # words before a word of the question that a negation applies to
MIN_WORDS = 2


def is_polar(question: str) -> bool:
    """Whether ``question`` asks for yes or no."""
    return bool(_POLAR.match(question)) and not _NOT_POLAR.search(question)


def held(question: str, sentence: str) -> float:
    """The share of the question's words (stop words and negations aside) in ``sentence``."""
    words = _content(question)
    if not words:
        return 0.0
    present = frozenset().union(*map(_forms, _WORD.findall(sentence)))
    return sum(bool(w & present) for w in words) / len(words)


def verdict(question: str, sentence: str) -> Verdict | None:
    """ "yes" or "no" if ``sentence`` settles ``question``, else None (see the module doc)."""
    asked = _asked(question)
    if len(asked) < MIN_WORDS or _DENIAL.search(sentence):
        return None
    tokens = _WORD.findall(sentence)
    forms = [_forms(t) for t in tokens]
    present = frozenset().union(*forms)
    wanted = [_forms(w) for w in asked]
    if not all(w & present for w, a in zip(wanted, asked, strict=True) if not _NUMBER.match(a)):
        return None
    numbers = {_number(w) for w in asked if _NUMBER.match(w)}
    given = {_number(t) for t in tokens if _NUMBER.match(t)}
    if numbers - given:
        return "no" if given else None  # another number in its place, or none at all
    negated = any(
        _NEGATION.match(token)
        and any(w & f for w in wanted for f in forms[i + 1 : i + 1 + NEGATION_REACH])
        for i, token in enumerate(tokens)
    )
    negative_question = any(_NEGATION.match(w) for w in _WORD.findall(question))
    return "yes" if negative_question == negated else "no"


def _asked(question: str) -> list[str]:
    """The question's words that a sentence must hold: no stop words, no negations."""
    return [w for w in _WORD.findall(question) if w.lower() not in _STOP and not _NEGATION.match(w)]


def _content(question: str) -> list[frozenset[str]]:
    return [_forms(w) for w in _asked(question)]


def _number(text: str) -> str:
    return text.replace(",", "")


_local = threading.local()  # a Snowball stemmer keeps state while it stems: one per thread


@lru_cache(maxsize=65536)
def _forms(word: str) -> frozenset[str]:
    """The word's stem and its lemmas' stems: two words match when they share one.

    Snowball alone leaves irregular forms apart ("took", "take"); lemminflect's
    dictionary joins them. A number is its own only form.
    """
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    if _NUMBER.match(word):
        return frozenset({_number(word)})
    from lemminflect import getAllLemmas  # here: its import costs every start 50 ms

    plain = word.lower().replace("’", "'").removesuffix("'s")
    lemmas = {lemma.lower() for group in getAllLemmas(plain).values() for lemma in group}
    return frozenset(stemmer.stemWord(w) for w in {plain} | lemmas)
