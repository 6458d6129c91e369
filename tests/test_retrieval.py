"""Keyword index, history-aware queries and hybrid retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.retrieval import contextual_query, fuse
from benchmarks.retrievers import methods
from core.text import stem, tokenize
from tests.conftest import GSIM, MIA


def test_tokenize_and_stem():
    assert tokenize("The groups' leaders announced talks in Kidal’s region.") == [
        "group",
        "leader",
        "announc",
        "talk",
        "kidal",
        "region",
    ]
    assert stem("countries") == stem("country") and stem("fighting") == stem("fight")


def test_contextual_query_only_when_the_question_leans_on_history():
    history = [
        {"role": "user", "content": "What is the Islamic Movement for Azawad?"},
        {"role": "assistant", "content": "A faction that split from Ansar Dine. [1]"},
    ]
    assert (
        contextual_query("Who leads it?", history)
        == "What is the Islamic Movement for Azawad? Who leads it?"
    )
    assert contextual_query("What does AQMI stand for?", history) == "What does AQMI stand for?"
    assert contextual_query("Who leads it?", None) == "Who leads it?"


def test_keyword_finds_a_rare_name_and_dense_finds_a_paraphrase(seeded: Assistant):
    assert seeded.retrieve("lkala", k=1)[0].source == GSIM  # a word only BM25 can match
    top = seeded.retrieve("splinter faction wants a ceasefire and negotiations", k=1)[0]
    assert top.source == MIA


def test_keyword_index_matches_the_collection(seeded: Assistant):
    assert sorted(seeded.retriever.keyword.ids()) == sorted(c.id for c in seeded.store.iter_all())


def test_every_method_ranks_and_fused_scores_are_bounded(seeded: Assistant):
    question = "Who leads the Islamic Movement for Azawad?"
    for name, retriever in methods(seeded.retriever).items():
        passages = retriever.retrieve(question, 3)
        assert passages and passages[0].source == MIA, name
    hybrid = seeded.retriever.retrieve(question, 8)
    scores = [p.score for p in hybrid]
    assert scores == sorted(scores, reverse=True)
    assert 0 < scores[0] <= 1.0  # equal-weight sum of two scores divided by their best


def test_fuse_is_a_weighted_sum_of_scores_over_the_best_of_each_list():
    fused = fuse({"a": 0.8, "b": 0.4}, {"b": 6.0, "c": 3.0})
    # a: 0.5 * 0.8/0.8 + 0; b: 0.5 * 0.4/0.8 + 0.5 * 6/6; c: keyword-only, given the weakest cosine.
    assert fused == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.25 + 0.25})
    assert fuse({"a": 0.5}, {}, dense_weight=1.0) == {"a": 1.0}
    assert fuse({}, {}) == {}


def test_score_fusion_keeps_a_clear_keyword_winner(make_assistant, tmp_path: Path):
    """A passage far ahead on a rare name stays first; rank fusion would only count ranks."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "Zanzibar ferry service resumes\n\nThe Zanzibar ferry service resumed on Monday after "
        "repairs to the harbour, the port authority said."
    )
    (folder / "b.txt").write_text(
        "Ferry operators report delays\n\nFerry operators across the region reported delays "
        "and cancellations because of the storm."
    )
    bot = make_assistant()
    bot.ingest([folder])
    best = bot.retriever.retrieve("When did the Zanzibar ferry resume?", 2)
    assert best[0].source == "a.txt"
    # Scores keep the margin (reciprocal rank fusion would give 1/61 against 1/62).
    assert best[0].score - best[1].score > 0.2


def test_a_question_counts_the_collection_only_when_it_changed(
    make_assistant, seed_copy: Path, monkeypatch: pytest.MonkeyPatch
):
    # Counting the collection takes 42 ms at 1M chunks: an answering process counts it
    # once, and again only after an ingest (anywhere) has changed the collection.
    bot = make_assistant()
    bot.ingest([seed_copy])
    reader = make_assistant()  # another process
    counted = []
    count = reader.store.count
    monkeypatch.setattr(reader.store, "count", lambda: counted.append(1) or count())
    for _ in range(3):
        assert reader.answer("Who leads the Islamic Movement for Azawad?").answered
        reader.retrieve("Who leads the MIA?")
    assert len(counted) == 1
    (seed_copy / "new.txt").write_text("Timbuktu market\n\nThe Timbuktu market reopened.\n")
    bot.ingest([seed_copy])
    assert reader.retrieve("Timbuktu market reopened", k=1)[0].source.endswith("new.txt")
    assert len(counted) == 2
