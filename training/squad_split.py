"""The fixed split of the SQuAD articles in ../shared/data/squad, by article.

Nothing is fitted on the MEASURE articles: the reader is trained on TRAIN, its
"no answer" margin is chosen on CALIBRATE, and every figure the benchmarks
report for the reader comes from MEASURE alone. Four of each group's articles
(where they have them) carry SQuAD 2.0's unanswerable questions.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

MEASURE = (
    "Warsaw",  # SQuAD 2.0 questions too
    "Packet_switching",  # 2.0
    "Islamism",  # 2.0
    "Force",  # 2.0
    "Teacher",
    "Black_Death",
    "Prime_number",
    "Newcastle_upon_Tyne",
)
CALIBRATE = ("Harvard_University", "Geology", "Jacksonville,_Florida")  # Harvard: 2.0 too
# TRAIN: every other article of the files (13), five of them with 2.0 questions.


@dataclass(frozen=True)
class QA:
    """One question about one paragraph; ``answers`` empty when it is unanswerable there."""

    id: str
    article: str
    paragraph: int  # index into the article's paragraphs
    question: str
    answers: tuple[tuple[str, int], ...]  # (text, character offset in the paragraph)


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]


def load(squad_dir: Path) -> tuple[dict[str, Article], list[QA]]:
    """The articles and every question: SQuAD 1.1's and SQuAD 2.0's unanswerable ones."""
    articles: dict[str, Article] = {}
    questions: list[QA] = []
    for name in ("dev-v1.1-half.json", "dev-v2.0-part.json"):
        for entry in json.loads((squad_dir / name).read_text())["data"]:
            title = entry["title"]
            contexts = [p["context"] for p in entry["paragraphs"]]
            known = articles.setdefault(title, Article(title, tuple(contexts)))
            for p in entry["paragraphs"]:
                index = known.paragraphs.index(p["context"])
                for qa in p["qas"]:
                    impossible = qa.get("is_impossible", False)
                    if name.startswith("dev-v2") and not impossible:
                        continue  # its answerable questions are SQuAD 1.1's, already read
                    answers = tuple(
                        dict.fromkeys((a["text"], a["answer_start"]) for a in qa["answers"])
                    )
                    questions.append(
                        QA(qa["id"], title, index, qa["question"], () if impossible else answers)
                    )
    return articles, questions


def part(title: str) -> str:
    """ "measure", "calibrate" or "train"."""
    if title in MEASURE:
        return "measure"
    return "calibrate" if title in CALIBRATE else "train"


_PUNCTUATION = frozenset(string.punctuation)


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation or articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def exact_f1(prediction: str, golds: list[str]) -> tuple[float, float]:
    """SQuAD exact match and token F1 of ``prediction``, best over the gold answers."""
    best_em = best_f1 = 0.0
    predicted = normalize(prediction).split()
    for gold in golds:
        wanted = normalize(gold).split()
        best_em = max(best_em, float(predicted == wanted))
        common = sum((Counter(predicted) & Counter(wanted)).values())
        if common:
            precision, recall = common / len(predicted), common / len(wanted)
            best_f1 = max(best_f1, 2 * precision * recall / (precision + recall))
    return best_em, best_f1


def holds(sentence: str, golds: list[str]) -> bool:
    """Whether the sentence holds one of the gold answers, as whole normalised words."""
    text = f" {normalize(sentence)} "
    return any(normalize(g) and f" {normalize(g)} " in text for g in golds)
