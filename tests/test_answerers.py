"""The extractive answerer's sentence choice."""

from __future__ import annotations

from pathlib import Path

from answerers.grounding import Grounding
from benchmarks.scorer import SentenceScorer


def test_a_sentence_that_refers_back_inherits_the_match(make_assistant, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "fraud.txt").write_text(
        "Commission reforms after fraud inquiry\n\n"
        "An inquiry by a committee of independent experts found widespread fraud and "
        "mismanagement in the commission's budget. This led to the creation of the "
        "European Anti-fraud Office. The office opened in Brussels two years later."
    )
    bot = make_assistant()
    bot.ingest([folder])
    question = "The fraud found by the committee of experts led to the creation of what office?"
    passages = bot.retrieve(question)
    kw = bot.retriever.keyword
    carried = SentenceScorer(
        Grounding(bot.embedder, idf=kw.idf, unknown_idf=kw.max_idf), max_sentences=1
    ).answer(question, passages)
    assert "European Anti-fraud Office" in carried.text
    plain = Grounding(bot.embedder, idf=kw.idf, unknown_idf=kw.max_idf, carry=0.0)

    setup = "What did the committee of independent experts find in the commission's budget?"

    def score_of_this_led(grounding: Grounding) -> float:
        scored = grounding.score_sentences(setup, bot.retrieve(setup))
        return next(s.score for s in scored if s.text.startswith("This led"))

    # Without the carry-over it scores only on its own words, which the question lacks.
    assert score_of_this_led(plain) < score_of_this_led(
        Grounding(bot.embedder, idf=kw.idf, unknown_idf=kw.max_idf)
    )


def test_default_answers_have_at_most_two_sentences(seeded):
    answer = seeded.answer("What did Ansar Dine's splinter group say about the conflict?")
    assert 1 <= len(answer.citations) <= 2
