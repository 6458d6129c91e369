"""Yes/no questions: "Yes" or "No" with the sentence that settles it, or no verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from answerers.yesno import held, is_polar, verdict
from assistant import Assistant


@pytest.mark.parametrize(
    ("question", "polar"),
    [
        ("Did the rebels seize Kidal?", True),
        ("Isn't Kidal in Mali?", True),
        ("And was the accord signed?", True),
        ("Is it Kidal or Gao?", False),  # a choice, not yes/no
        ("Can you tell me how many otters were counted?", False),  # asks how many
        ("Do you know who leads the MIA?", False),
        ("Who leads the MIA?", False),
        ("Describe the attack.", False),
    ],
)
def test_yes_no_questions_are_told_apart(question: str, polar: bool):
    assert is_polar(question) is polar


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("Did the rebels seize Kidal?", "The rebels seized Kidal in May.", "yes"),
        ("Did the rebels seize Kidal?", "The rebels did not seize Kidal.", "no"),
        ("Didn't the rebels seize Kidal?", "The rebels never seized Kidal.", "yes"),
        ("Were 30 soldiers killed?", "Twelve, not 30, soldiers were killed.", "no"),
        ("Were 30 soldiers killed?", "In all 12 soldiers were killed.", "no"),
        # A word the sentence lacks leaves the question open, whatever else matches.
        ("Did the rebels seize Gao?", "The rebels seized Kidal in May.", None),
        ("Is Ansar Dine fighting the Islamic State?", "Ansar Dine issued a statement.", None),
        # A negation elsewhere in the sentence is not about what was asked.
        ("Did the rebels seize Kidal?", "The rebels seized Kidal without a fight.", "yes"),
        ("Did the rebels seize Kidal?", "No one was hurt when the rebels seized Kidal.", "yes"),
        ("Did the rebels seize Kidal?", "The rebels didn’t seize Kidal.", "no"),  # curly
        ("Did the rebels seize Kidal?", "The army denied that the rebels seized Kidal.", None),
        # Numbers: only against a sentence about the same thing; 1,000 is 1000.
        ("Did 30 people die?", "The president met 4 ministers.", None),
        ("Did 1000 people reach Kidal?", "Some 1,000 people reached Kidal.", "yes"),
        ("Did 30 people die in Kidal?", "People died in Kidal.", None),
        # Too little to go on: "he" could be anyone.
        ("Did he resign?", "Ahmed resigned on Monday.", None),
        # Time words are not words the sentence must hold.
        ("Is Ahmed currently the minister?", "Ahmed is the minister.", "yes"),
        # Irregular forms are the same word: a stem alone would leave them apart.
        ("Did the rebels take Kidal?", "The rebels took Kidal in May.", "yes"),
        ("Did the rebels take Kidal?", "The rebels never took Kidal.", "no"),
        ("Did the families flee Gao?", "Hundreds of families fled Gao.", "yes"),
        ("Did the MNLA win the vote?", "The MNLA won the vote.", "yes"),
        # ...but a different word is still different.
        ("Did the rebels take Kidal?", "The rebels left Kidal in May.", None),
    ],
)
def test_a_verdict_needs_every_word_of_the_question(question: str, sentence: str, expected):
    assert verdict(question, sentence) == expected


def test_verdicts_from_many_threads_at_once_agree():
    from concurrent.futures import ThreadPoolExecutor

    pairs = [
        ("Did the rebels seize Kidal?", "The rebels seized Kidal in May."),
        ("Were the soldiers killed?", "The soldiers were not killed."),
    ] * 400
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda qs: verdict(*qs), pairs))
    assert results == ["yes", "no"] * 400


def test_held_counts_stems_not_spellings():
    assert held("Were soldiers killed?", "A soldier was killing") == 1.0
    assert held("Did the soldiers flee?", "The soldier fled") == 1.0
    assert held("Were soldiers killed in Gao?", "A soldier was killed") == pytest.approx(2 / 3)


ARTICLE = (
    "Otter numbers rise on the Tweed\n\n"
    "Volunteers counted 412 otters on the river Tweed this year, the trust said on Tuesday. "
    "The trust said the otters did not return to the river Tay. "
    "Otters were nearly extinct in England in the 1970s."
)


@pytest.fixture(scope="module")
def otters(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    folder: Path = tmp_path_factory.mktemp("otters")
    (folder / "otters.txt").write_text(ARTICLE)
    bot = Assistant(data_dir=tmp_path_factory.mktemp("otters-data"))
    bot.ingest([folder])
    return bot


def test_yes_leads_the_sentence_that_settles_it(otters: Assistant):
    answer = otters.answer("Did volunteers count otters on the river Tweed?")
    assert answer.answered and answer.verdict == "yes"
    assert answer.text.startswith("Yes — Volunteers counted 412 otters")
    assert answer.citations[0].quote.startswith("Volunteers counted 412 otters")
    assert answer.spans == ()  # a yes/no answer has no span to lead with


def test_no_when_the_sentence_says_otherwise(otters: Assistant):
    no = otters.answer("Did the otters return to the river Tay?")
    assert (no.verdict, no.text[:4]) == ("no", "No —")
    assert "did not return" in no.citations[0].quote
    fewer = otters.answer("Did volunteers count 500 otters on the Tweed?")
    assert fewer.verdict == "no" and "412" in fewer.citations[0].quote


def test_an_open_question_quotes_the_closest_sentence_without_a_verdict(otters: Assistant):
    answer = otters.answer("Did volunteers count otters on the river Tweed by boat?")
    assert answer.answered and answer.verdict is None
    assert answer.text.startswith("The articles do not say yes or no")
    assert answer.citations


def test_an_unrelated_yes_no_question_is_refused(otters: Assistant):
    answer = otters.answer("Is Paris the capital of France?")
    assert not answer.answered and answer.verdict is None and not answer.citations
