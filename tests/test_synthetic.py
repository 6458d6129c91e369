"""Rule-written (cloze) questions for the reader's training: answers where they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.synthetic import cloze_questions

ARTICLE = """Otters return to the Tweed

Volunteers counted 412 otters on the river Tweed this year, the trust said on Tuesday.

The survey cost £3.5m and was led by Mary Jones, who said the numbers were the best since 1990.

Otters were nearly extinct in England in the 1970s, when pesticides poisoned the rivers.

The Wildlife Trust plans a second survey in March, with 200 volunteers on the Tay and the Dee.

Anglers on the Tweed said the otters took 30 salmon last season, a loss the trust disputes.
"""


def test_every_question_points_at_its_answer_and_asks_with_a_question_word(tmp_path: Path):
    (tmp_path / "nature").mkdir()
    for n in range(3):
        # Long enough for two reading windows (contexts of up to 110 words).
        (tmp_path / "nature" / f"00{n}.txt").write_text(ARTICLE + ARTICLE.split("\n", 1)[1])
    articles, questions = cloze_questions(tmp_path, per_article=3, seed=1)
    assert questions
    for qa in questions:
        text, start = qa.answers[0]
        assert articles[qa.article].paragraphs[qa.paragraph][start : start + len(text)] == text
        assert qa.question.endswith("?")
        assert any(w in qa.question.lower() for w in ("who", "what", "when", "how"))
        assert text not in qa.question  # the answer is what the question leaves out


def test_a_folder_without_articles_is_refused_with_the_fix(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="--bbc"):
        cloze_questions(tmp_path)
