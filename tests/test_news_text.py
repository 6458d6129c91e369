"""Real news text: wire datelines, video players, repeated captions and abbreviations.

The fixtures in tests/data/news are made-up stories laid out the way CNN, AP and
Reuters pages read when saved as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.text import split_sentences
from ingest.clean import CleanedText, clean_article
from ingest.loaders import load_article, read_text
from tests.conftest import TEST_DATA

NEWS = TEST_DATA / "news"


@dataclass(frozen=True)
class Story:
    """What a fixture's page shows, and what the cleaned story must look like."""

    name: str
    headline: str
    dateline: str
    lead: str  # how the story's first sentence begins
    caption: str
    furniture: tuple[str, ...]  # video-player and photo-credit lines
    outlet: str | None
    sentences: tuple[str, ...]  # whole sentences holding abbreviations


STORIES = [
    Story(
        name="cnn_storm.txt",
        headline="Winter storm forces evacuation of South Carolina coastal towns",
        dateline="(CNN) —",
        lead="Gov. Henry McMaster ordered the evacuation",
        caption="Residents load sandbags onto a truck in Georgetown, South Carolina, on Monday, "
        "January 29, 2024.",
        furniture=(
            "Video Ad Feedback",
            "See the storm surge flood a Charleston street",
            "01:12 - Source: CNN",
            "Now playing",
            "- Source: CNN",
            "Mario Tama/Getty Images",
        ),
        outlet="CNN",
        sentences=(
            "Gov. Henry McMaster ordered the evacuation of six coastal towns on Tuesday as a "
            "winter storm pushed a surge of seawater toward the South Carolina coast.",
            "Dr. Alicia Moreno, a coastal flooding researcher at the University of South "
            "Carolina, said the surge was the highest recorded in January since 1940.",
            "The U.S. Coast Guard closed the port of Charleston on Jan. 29 and said it would not "
            "reopen before Thursday.",
            "FEMA said a team from its Atlanta office, led by Lt. Gen. Marcus Hill, would arrive "
            "on Wednesday.",
        ),
    ),
    Story(
        name="cnn_markets.txt",
        headline="Stocks slide as oil prices jump after pipeline attack",
        dateline="New York CNN —",  # set over three lines: "New York", "CNN", "—"
        lead="Stocks fell sharply on Wednesday",
        caption="Traders work on the floor of the New York Stock Exchange on Wednesday, "
        "October 9, 2024.",
        furniture=(
            "Video Ad Feedback",
            "Why oil prices move markets",
            "02:45 - Source: CNN Business",
        ),
        outlet="CNN",
        sentences=(
            "Shares of Exxon Mobil Corp. rose 4%.",
            "Analysts at Goldman Sachs said prices could climb further if the pipeline stays "
            "shut past Oct. 15.",
        ),
    ),
    Story(
        name="ap_mali.txt",
        headline="Mali junta frees 12 detained aid workers after talks",
        dateline="KIDAL, Mali (AP) —",
        lead="Mali's military junta on Sunday freed 12 aid workers",
        caption="Aid workers wait outside a United Nations compound in Kidal, Mali, on Sept. 3, "
        "2023.",
        furniture=(),
        outlet="AP",
        sentences=(
            "Mali's military junta on Sunday freed 12 aid workers who had been held for three "
            "weeks in the northern town of Kidal, the U.N. mission in the country said.",
            "Col. Abdoulaye Maiga, the junta's spokesman, said in a statement read on state "
            'television that the workers had been released "in a spirit of dialogue."',
            "Dr. Fatoumata Traore, who runs the No. 2 district hospital in Bamako, said the freed "
            "workers were tired but in good health.",
            "The British author J.K. Rowling, whose foundation funds one of the charities, "
            "thanked Malian officials in a post on social media.",
            # Abbreviations can end a sentence too.
            "They are expected to fly home to the U.S.",
            "The State Department said it was arranging their flights.",
            "Asked whether any had been hurt, she said no.",
            "Nobody needed treatment.",
        ),
    ),
    Story(
        name="reuters_talks.txt",
        headline="Trade talks resume in Geneva after three-month pause",
        dateline="GENEVA, Jan 5 (Reuters) -",
        lead="Trade negotiators from the European Union",
        caption="",  # no photo on this page
        furniture=(),
        outlet="Reuters",
        sentences=(
            "The talks are the first since Gov. Maria Lopez of New Mexico urged Washington to "
            "lift tariffs on steel.",
            "A spokesman for the U.S. Trade Representative said the two sides would meet again "
            "on Feb. 12.",
        ),
    ),
]


def _clean(story: Story) -> CleanedText:
    return clean_article(read_text(NEWS / story.name, 10**7))


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def _each(stories: list[Story]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("story", stories, ids=[s.name for s in stories])


def test_every_fixture_is_covered():
    assert sorted(p.name for p in NEWS.glob("*.txt")) == sorted(s.name for s in STORIES)


@_each(STORIES)
def test_the_title_is_the_headline_not_the_dateline(story: Story):
    cleaned = _clean(story)
    assert cleaned.title == story.headline
    assert cleaned.text.split("\n\n")[0] == story.headline
    assert cleaned.outlet == story.outlet


@_each(STORIES)
def test_the_dateline_is_not_part_of_the_first_sentence(story: Story):
    cleaned = _clean(story)
    sentences = _sentences(cleaned.text)
    assert sentences[0] == story.headline
    # The story's first sentence (after a byline, if the page has one) is the news itself.
    first = next(i for i, sentence in enumerate(sentences) if story.lead in sentence)
    assert sentences[first].startswith(story.lead)
    assert all(s == story.headline or s.startswith("By ") for s in sentences[:first])
    assert story.dateline in cleaned.removed


@_each(STORIES)
def test_video_blocks_and_photo_credits_never_become_sentences(story: Story):
    cleaned = _clean(story)
    sentences = _sentences(cleaned.text)
    for line in story.furniture:
        assert line not in sentences
        assert line not in cleaned.text
    assert not any("Source:" in s or "Video Ad Feedback" in s for s in sentences)


@_each([s for s in STORIES if s.caption])
def test_a_repeated_caption_is_kept_once_and_not_first(story: Story):
    units = _clean(story).text.split("\n\n")
    assert units.count(story.caption) == 1
    # Not the headline and not the lead: it follows the paragraph the dateline opened.
    at = units.index(story.caption)
    assert at >= 2
    assert any(unit.startswith(story.lead) for unit in units[:at])


@_each(STORIES)
def test_abbreviations_do_not_end_sentences(story: Story):
    sentences = _sentences(_clean(story).text)
    for sentence in story.sentences:
        assert sentence in sentences


@_each(STORIES)
def test_loading_a_news_file_gives_the_cleaned_story(story: Story):
    article = load_article(NEWS / story.name, 10**7)
    assert article.title == story.headline
    assert article.outlet == story.outlet
    assert article.text == _clean(story).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Jill Biden met Gov. Gavin Newsom on Jan. 6. They spoke.",
            ["Dr. Jill Biden met Gov. Gavin Newsom on Jan. 6.", "They spoke."],
        ),
        (
            "The U.S. Senate met on Sept. 11. Rep. Al Green spoke.",
            ["The U.S. Senate met on Sept. 11.", "Rep. Al Green spoke."],
        ),
        ("She is ranked No. 2 in the world.", ["She is ranked No. 2 in the world."]),
        (
            "J.K. Rowling and George R.R. Martin signed books. Fans queued.",
            ["J.K. Rowling and George R.R. Martin signed books.", "Fans queued."],
        ),
        (
            "Martin Luther King Jr. Day is a holiday. Offices close.",
            ["Martin Luther King Jr. Day is a holiday.", "Offices close."],
        ),
        # An abbreviation ends the sentence when a function word opens the next one.
        (
            "Imports to the U.S. rose. They fell in the U.K. The rest was flat.",
            ["Imports to the U.S. rose.", "They fell in the U.K.", "The rest was flat."],
        ),
        (
            "Apple Inc. It said sales rose. Voters said no. Turnout was low.",
            ["Apple Inc.", "It said sales rose.", "Voters said no.", "Turnout was low."],
        ),
    ],
)
def test_split_sentences_on_news_abbreviations(text: str, expected: list[str]):
    assert _sentences(text) == expected


def test_a_caption_above_the_headline_is_not_the_title():
    caption = "Firefighters work through the night in Paradise, California, on Nov. 9, 2018."
    page = "\n".join(
        [
            caption,
            caption,
            "",
            "Wildfire destroys most of Paradise",
            "",
            "PARADISE, Calif. (AP) — A wildfire destroyed most of the town of Paradise on "
            "Thursday, officials said.",
            "",
            "About 27,000 people were told to leave.",
        ]
    )
    cleaned = clean_article(page)
    assert cleaned.title == "Wildfire destroys most of Paradise"
    assert cleaned.text.split("\n\n") == [
        "Wildfire destroys most of Paradise",
        "A wildfire destroyed most of the town of Paradise on Thursday, officials said.",
        caption,
        "About 27,000 people were told to leave.",
    ]
    assert cleaned.outlet == "AP"


def test_a_dateline_on_its_own_line_is_dropped():
    page = (
        "Flood waters recede in Dhaka\n\n(CNN) —\n\n"
        "Flood waters began to recede in Dhaka on Monday after a week of rain."
    )
    cleaned = clean_article(page)
    assert cleaned.title == "Flood waters recede in Dhaka"
    assert cleaned.text.split("\n\n")[1].startswith("Flood waters began")
    assert cleaned.removed == ("(CNN) —",)


def test_a_headline_is_not_taken_for_a_dateline():
    page = (
        "NATO — Allies meet in Brussels\n\nBRUSSELS (AP) — Defence ministers met in Brussels on "
        "Thursday to discuss spending.\n\nNo decision was taken."
    )
    cleaned = clean_article(page)
    assert cleaned.title == "NATO — Allies meet in Brussels"
    assert cleaned.text.split("\n\n")[1].startswith("Defence ministers met")
    assert cleaned.removed == ("BRUSSELS (AP) —",)


def test_a_lone_time_is_not_a_video_source_line():
    page = (
        "Marathon results\n\nThe race began at dawn and ended before noon, officials said.\n\n"
        "Winning time\n\n2:05:41\n\nThe course record still stands."
    )
    assert clean_article(page).removed == ()
