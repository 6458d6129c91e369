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


# -- a dated corpus in which facts change over time -----------------------------------


@dataclass(frozen=True)
class DatedFact:
    """A fact one dated article states; ``date`` is the article's (None: undated)."""

    file: str
    date: str | None
    outlet: str | None
    question: str
    answer: str


@dataclass(frozen=True)
class RecencyQuestion:
    """A question whose answer changed over time, asked with and without time words.

    ``answer`` is the newest fact (from ``file``, dated ``date``), ``earlier`` the
    one it replaced; ``plain`` is ``question`` without its time words.
    """

    question: str
    plain: str
    answer: str
    earlier: str
    file: str
    date: str


# The Nolvar Front, a made-up movement in the made-up Kessmark hills: its leader is
# replaced (2021 -> 2023), the Kessmark flood toll and the Kessmark dam's cost are
# revised, events are told with relative dates ("on Thursday", "last week"), one
# story is carried by three outlets and one article has no date.
_DATED_ARTICLES: list[tuple[str, str | None, str | None, str, list[str]]] = [
    (
        "2021-05-10_harbour_post_front_leader.txt",
        "2021-05-10",
        "Harbour Post",
        "Ovid Tarr leads the Nolvar Front",
        [
            "Ovid Tarr leads the Nolvar Front, the armed movement that holds the hills of "
            "Kessmark. Tarr took command of the movement in 2019 after its founder died.",
            "Under Tarr the Front has kept a fragile truce with the government in Brevik. "
            "Diplomats describe him as cautious and slow to negotiate.",
        ],
    ),
    (
        "2021-09-14_river_times_dam_cost.txt",
        "2021-09-14",
        "River Times",
        "Kessmark dam approved",
        [
            "The regional assembly approved the Kessmark dam on Monday. The Kessmark dam will "
            "cost 80 million crowns, according to the assembly's budget office.",
            "Work on the dam is due to start next spring, and engineers expect the reservoir "
            "to supply the lowland farms of the valley.",
        ],
    ),
    (
        "2022-08-15_valley_courier_floods.txt",
        "2022-08-15",
        "Valley Courier",
        "Floods hit Kessmark",
        [
            "Heavy rain flooded the Kessmark valley over the weekend. Officials said 40 people "
            "died in the Kessmark floods.",
            "Rescue teams from Brevik reached the upper villages by boat, and the army opened "
            "two shelters in school buildings.",
        ],
    ),
    (
        "2022-08-22_harbour_post_flood_toll.txt",
        "2022-08-22",
        "Harbour Post",
        "Kessmark flood toll rises",
        [
            "The death toll from the Kessmark floods rose to 112, officials said on Saturday, "
            "as rescuers reached villages cut off for a week.",
            "The government declared three days of mourning and promised new flood barriers "
            "along the river.",
        ],
    ),
    (
        "2022-11-18_river_times_brevik_road.txt",
        "2022-11-18",
        "River Times",
        "Front fighters seize Brevik road",
        [
            "Last week, fighters of the Nolvar Front seized the mountain road to Brevik. "
            "Traders said on Tuesday that lorries had stopped using the road.",
            "The seizure ended the truce that had held since the spring, and talks between "
            "the Front and the government were suspended.",
        ],
    ),
    (
        "2023-03-03_river_times_new_leader.txt",
        "2023-03-03",
        "River Times",
        "Nolvar Front names a new leader",
        [
            "Dara Quint was named the new leader of the Nolvar Front on Thursday, replacing "
            "Ovid Tarr. Quint, a former commander in the hills of Kessmark, is expected to "
            "reopen talks with the government.",
            "Tarr stepped down after the loss of the Brevik road, members of the movement said.",
        ],
    ),
    (
        "2023-04-11_valley_courier_dam_cost.txt",
        "2023-04-11",
        "Valley Courier",
        "Kessmark dam cost revised",
        [
            "The cost of the Kessmark dam has been revised to 135 million crowns, the "
            "assembly's budget office said, citing the price of steel.",
            "Opposition members said the assembly had been misled about the first estimate "
            "and asked for an inquiry.",
        ],
    ),
    (
        "undated_lowland_gazette_front_history.txt",
        None,
        "Lowland Gazette",
        "A short history of the Nolvar Front",
        [
            "The Nolvar Front was founded by shepherds from the Kessmark hills who opposed "
            "the new mining law. Its fighters are known for their grey scarves.",
            "The movement finances itself through tolls on the mountain roads, according to "
            "local traders.",
        ],
    ),
]

# One story carried by three outlets, word for word apart from the outlet's own line.
_SYNDICATED_DATE = "2022-06-07"
_SYNDICATED_OUTLETS = ["Harbour Post", "River Times", "Valley Courier"]
_SYNDICATED_BODY = [
    "Talks between the Nolvar Front and the government opened in the lakeside town of "
    "Orvana on Monday, the first meeting of the two sides in three years.",
    "Mediators from the Lowland Council said the talks would cover prisoner exchanges, "
    "the mountain road tolls and the return of families displaced by the fighting.",
    "Neither side gave a date for the end of the talks, which are expected to last several weeks.",
]

RECENCY_QUESTIONS = [
    RecencyQuestion(
        question="Who currently leads the Nolvar Front?",
        plain="Who leads the Nolvar Front?",
        answer="Dara Quint",
        earlier="Ovid Tarr",
        file="2023-03-03_river_times_new_leader.txt",
        date="2023-03-03",
    ),
    RecencyQuestion(
        question="What is the latest death toll from the Kessmark floods?",
        plain="What is the death toll from the Kessmark floods?",
        answer="112",
        earlier="40",
        file="2022-08-22_harbour_post_flood_toll.txt",
        date="2022-08-22",
    ),
    RecencyQuestion(
        question="How much will the Kessmark dam cost now?",
        plain="How much will the Kessmark dam cost?",
        answer="135 million",
        earlier="80 million",
        file="2023-04-11_valley_courier_dam_cost.txt",
        date="2023-04-11",
    ),
]


# What each dated article answers (the syndicated story's question is its own).
_QUESTIONS = {
    "2021-05-10_harbour_post_front_leader.txt": ("Who leads the Nolvar Front?", "Ovid Tarr"),
    "2021-09-14_river_times_dam_cost.txt": ("How much will the Kessmark dam cost?", "80 million"),
    "2022-08-15_valley_courier_floods.txt": ("How many people died in the Kessmark floods?", "40"),
    "2022-08-22_harbour_post_flood_toll.txt": (
        "What did the death toll from the Kessmark floods rise to?",
        "112",
    ),
    "2022-11-18_river_times_brevik_road.txt": (
        "What did the Nolvar Front seize?",
        "the mountain road to Brevik",
    ),
    "2023-03-03_river_times_new_leader.txt": (
        "Who replaced Ovid Tarr as leader of the Nolvar Front?",
        "Dara Quint",
    ),
    "2023-04-11_valley_courier_dam_cost.txt": (
        "What has the cost of the Kessmark dam been revised to?",
        "135 million",
    ),
    "undated_lowland_gazette_front_history.txt": (
        "Who founded the Nolvar Front?",
        "shepherds from the Kessmark hills",
    ),
}


def _front_matter(date: str | None, outlet: str | None) -> str:
    lines = [f"date: {date}"] if date else []
    lines += [f"outlet: {outlet}"] if outlet else []
    return "---\n" + "\n".join(lines) + "\n---\n\n" if lines else ""


def write_dated_corpus(folder: Path) -> list[DatedFact]:
    """Write the dated Nolvar Front articles to ``folder``; one fact per article.

    Each file opens with a front-matter header (``date:``, ``outlet:``); the
    undated one has only an outlet. ``RECENCY_QUESTIONS`` are the questions whose
    answer changed over time; the three syndicated copies (``syndicated_*.txt``)
    share one date and text.
    """
    folder.mkdir(parents=True, exist_ok=True)
    facts = []
    for name, date, outlet, title, paragraphs in _DATED_ARTICLES:
        body = "\n\n".join([title, *paragraphs])
        (folder / name).write_text(_front_matter(date, outlet) + body + "\n", encoding="utf-8")
        question, answer = _QUESTIONS[name]
        facts.append(DatedFact(name, date, outlet, question, answer))
    for outlet in _SYNDICATED_OUTLETS:
        name = f"syndicated_{outlet.lower().replace(' ', '_')}_orvana_talks.txt"
        body = "\n\n".join(["Nolvar Front and government open talks in Orvana", *_SYNDICATED_BODY])
        (folder / name).write_text(
            _front_matter(_SYNDICATED_DATE, outlet) + body + "\n", encoding="utf-8"
        )
        facts.append(
            DatedFact(
                name,
                _SYNDICATED_DATE,
                outlet,
                "Where did the talks between the Nolvar Front and the government open?",
                "Orvana",
            )
        )
    return facts
