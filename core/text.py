"""Text utilities every floor shares: sentence spans, search words, names and numbers.

One sentence splitter (chunking, answer scoring and claim checking must agree on
where a sentence ends, or a citation's offsets drift), one tokenizer with one
stopword list (BM25, answer scoring and support checks weigh the same words),
and one pattern for the names and numbers a sentence states.
"""

from __future__ import annotations

import re

# Titles stand before a name ("Dr. Moreno", "Gov. Newsom"), so they never end a sentence.
_TITLES = frozenset(
    """mr mrs ms dr prof st mt ft gen col lt maj sgt cpl capt cmdr adm gov govs sen sens rep
    reps pres rev hon det supt insp atty""".split()
)
# Other abbreviations usually run on, but can end a sentence ("... Apple Inc. The ...").
_ABBREVIATIONS = frozenset(
    """sr jr inc ltd co corp dept univ vs etc al fig vol approx est jan feb mar apr jun jul aug
    sep sept oct nov dec mon tue tues thu thurs fri u.s u.k u.n e.g i.e a.m p.m""".split()
)
# Everyday words that are abbreviations only before a number: "No. 2", but "voted no. The".
_BEFORE_NUMBER = frozenset("no nos wed sat sun".split())
# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and a capital,
# digit or opening quote.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``.

    Paragraph breaks always end a sentence. Abbreviations ("Mr.", "U.S.") and
    initials ("J. K. Rowling") do not.

    Example:
        >>> t = "Mr. Smith went to Washington. He arrived on Monday."
        >>> [t[s:e] for s, e in split_sentences(t)]
        ['Mr. Smith went to Washington.', 'He arrived on Monday.']
    """
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        start = para.start()
        line = para.group()
        cursor = 0
        for match in _BOUNDARY.finditer(line):
            end = match.end()
            if _is_abbreviation(line, match.start()):
                continue
            _add_span(spans, text, start + cursor, start + end)
            cursor = end
        _add_span(spans, text, start + cursor, para.end())
    return spans


def _is_abbreviation(line: str, dot: int) -> bool:
    if line[dot] != ".":
        return False
    word = re.search(r"([\w.]+)$", line[:dot])
    if not word:
        return False
    token = word.group(1).lower()
    following = re.match(r"[.!?…]*[\"'”’)\]]*\s+[\"'“‘(\[]?(\w+)", line[dot:])
    next_word = following.group(1) if following else ""
    if token in _BEFORE_NUMBER:
        return next_word[:1].isdigit()
    if token in _TITLES:
        return True
    # Single letters are initials ("J. K. Rowling"); dotted words are acronyms ("U.S.").
    if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()) or "." in token:
        # A capitalised function word after it opens a new sentence: "... to the U.S. The ...".
        return not (len(next_word) > 1 and next_word.lower() in STOPWORDS)
    return False


def _add_span(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves s t also""".split()
)


def stem(word: str) -> str:
    """A light suffix stemmer: groups/group, announced/announce, fighting/fight -> one form."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("ches", "shes", "xes", "sses")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed content words of ``text``, in order."""
    out = []
    for match in _WORD.finditer(text.lower()):
        word = match.group().replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        if word and word not in STOPWORDS:
            out.append(stem(word))
    return out


# A capitalised word that does not open its sentence: a name.
NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]+")
# Names and numbers: what a claim states that its source must state too.
NAME_OR_NUMBER = re.compile(NAME.pattern + r"|\b\d[\d,.]*\d\b|\b\d\b")


_PLAIN_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def content_words(text: str, extra_stopwords: frozenset[str] = frozenset()) -> set[str]:
    """The lowercased, unstemmed words of ``text`` that carry content (for overlap tests)."""
    stop = STOPWORDS | extra_stopwords
    return {
        w for w in (m.lower() for m in _PLAIN_WORD.findall(text)) if w not in stop and len(w) > 1
    }
