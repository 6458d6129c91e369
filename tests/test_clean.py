"""Cleaning removes site furniture by general rules and nothing from clean articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.clean import clean_article, normalize, split_units
from ingest.loaders import read_text
from tests.conftest import GSIM, MIA, SEEDS, TEST_DATA


def _clean_seed(name: str):
    return clean_article(read_text(SEEDS / name, 10**7))


def test_seed_with_tagline_ad_marker_and_promo_line():
    cleaned = _clean_seed(MIA)
    assert cleaned.title == "Mali’s Ansar Dine rebels split, call for ceasefire"
    assert cleaned.outlet == "GlobalPost"  # named by its own promo line
    for furniture in (
        "Supported by readers",
        "Article continues after advertisement",
        "More from GlobalPost",
        "Sound reasons to fight",
    ):
        assert furniture not in cleaned.text
    assert cleaned.text.startswith(cleaned.title)
    assert "Alghabass Ag Intallah" in cleaned.text
    assert cleaned.text.endswith("Agence France Presse said.")


def test_seed_with_navigation_and_repeated_caption():
    cleaned = _clean_seed(GSIM)
    assert cleaned.title == "Mali Jihadist Leader in Secret Talks With Northern Groups"
    assert "Accessibility links" not in cleaned.text
    assert "Breaking News" not in cleaned.text
    assert "An image grab" not in cleaned.text
    # Subheadings are part of the story and stay.
    assert "Separate forces against IS" in cleaned.text
    assert "Russian 'mercenaries'" in cleaned.text
    assert len(cleaned.removed) == 4


@pytest.mark.parametrize("path", sorted((TEST_DATA / "clean").glob("*.txt")), ids=lambda p: p.name)
def test_clean_articles_pass_through_unchanged(path: Path):
    raw = read_text(path, 10**7)
    cleaned = clean_article(raw)
    assert cleaned.removed == ()
    assert cleaned.text == "\n\n".join(split_units(normalize(raw)))
    assert cleaned.title == raw.splitlines()[0].strip()


def test_other_sites_furniture_is_recognised_by_shape():
    page = "\n\n".join(
        [
            "Skip to main content",
            "Independent news since 1912. Read by millions.",
            "Council votes to rebuild the harbour wall",
            "Published: 4 March 2024",
            "The town council voted on Tuesday to rebuild the harbour wall that collapsed in "
            "January storms, at a cost of two million pounds, after months of debate.",
            "Story continues below advertisement",
            "Read more: Storms batter the coast for a third week",
            "Engineers said work on the harbour wall would start in the spring and last a year.",
            "Local fishermen welcomed the decision.",
            "Photo: The damaged wall in February (Jane Doe/Harbour Times)",
            "© 2024 Harbour Times",
        ]
    )
    cleaned = clean_article(page)
    assert cleaned.title == "Council votes to rebuild the harbour wall"
    assert cleaned.date == "2024-03-04"
    assert cleaned.outlet == "Harbour Times"
    assert cleaned.text.split("\n\n") == [
        "Council votes to rebuild the harbour wall",
        page.split("\n\n")[4],
        "Engineers said work on the harbour wall would start in the spring and last a year.",
        "Local fishermen welcomed the decision.",
    ]


def test_wire_dateline_names_the_outlet():
    page = (
        "Talks stall in Geneva\n\nGENEVA (Reuters) - Talks between the two sides stalled "
        "on Monday after negotiators failed to agree on the agenda for the next round."
    )
    assert clean_article(page).outlet == "Reuters"


def test_hard_wrapped_paragraphs_are_joined_and_line_endings_unified():
    page = (
        "Wrapped story headline\r\n\r\nThis paragraph was wrapped at a fixed width by an old\r\n"
        "newsroom system, so its lines break mid-sentence and must be joined.\rNext line."
    )
    cleaned = clean_article(page)
    assert "old newsroom system" in cleaned.text
    assert "\r" not in cleaned.text


def test_a_story_sentence_that_mentions_advertising_is_kept():
    page = (
        "Ad spending rises\n\nAdvertisement revenue rose by a fifth last year, the industry "
        "body said, as firms moved budgets online.\n\nAdvertisement\n\nThe rise was led by video."
    )
    cleaned = clean_article(page)
    assert "Advertisement revenue rose" in cleaned.text
    assert cleaned.removed == ("Advertisement",)


def test_a_line_repeated_back_to_back_is_kept_once():
    page = (
        "Harbour wall to be rebuilt\nHarbour wall to be rebuilt\n\nThe town council voted on "
        "Tuesday to rebuild the harbour wall.\n\nWork starts in spring."
    )
    cleaned = clean_article(page)
    assert cleaned.title == "Harbour wall to be rebuilt"
    assert cleaned.text.split("\n\n") == [
        "Harbour wall to be rebuilt",
        "The town council voted on Tuesday to rebuild the harbour wall.",
        "Work starts in spring.",
    ]
    assert cleaned.removed == ("Harbour wall to be rebuilt",)
