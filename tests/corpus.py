"""A made-up news corpus of any size, each article with facts found nowhere else.

Real articles repeat each other's facts; these do not, so a test can ask about
any one of them and know exactly which file must answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

_SYLLABLES = (
    "val mor ken dra lis tor bel quin sar vek nol ham rue dor fen gal tis pro mir zan".split()
)
_PROJECTS = [
    "bridge",
    "library",
    "tram line",
    "harbour wall",
    "school",
    "water plant",
    "market hall",
]
_FIRST = "Ana Bruno Carla Dmitri Elena Farid Greta Hugo Ines Jonas Kira Luca Mara Nils Olga".split()


@dataclass(frozen=True)
class Fact:
    file: str
    question: str
    answer: str


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def write_corpus(folder: Path, count: int, seed: int = 7) -> list[Fact]:
    """Write ``count`` short articles to ``folder``; returns one question per article."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    facts, towns, people = [], set(), set()
    for i in range(count):
        town = _word(rng, 3)
        while town in towns:
            town = _word(rng, 3)
        towns.add(town)
        person = f"{rng.choice(_FIRST)} {_word(rng, 2)}"
        while person in people:
            person = f"{rng.choice(_FIRST)} {_word(rng, 2)}"
        people.add(person)
        project = rng.choice(_PROJECTS)
        cost = rng.randint(2, 90)
        name = f"article_{i:03d}.txt"
        (folder / name).write_text(
            f"{town} council approves new {project}\n\n"
            f"The town council of {town} voted on Tuesday to approve a new {project}. "
            f"The plan for the {project} in {town} was put forward by councillor {person}, "
            f"who said the work would cost "
            f"{cost} million euros and take about {rng.randint(2, 6)} years.\n\n"
            f"Residents of {town} had asked for the {project} for more than a decade. "
            f"Opponents said the money should go to roads instead, but the vote passed "
            f"by {rng.randint(8, 15)} to {rng.randint(1, 7)}.\n\n"
            f"Construction is expected to begin next spring, the council said in a statement.\n",
            encoding="utf-8",
        )
        facts.append(
            Fact(name, f"Who put forward the plan for the new {project} in {town}?", person)
        )
    return facts
