"""Keyword index, history-aware queries and hybrid retrieval."""

from __future__ import annotations

from assistant import Assistant
from assistant.retrieval import contextual_query
from tests.conftest import GSIM, MIA
from vectorstore.keyword import KeywordIndex, stem, tokenize


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


def test_keyword_index_syncs_to_exactly_what_it_is_given():
    index = KeywordIndex()
    index.sync([("a", "rebels hold Kidal"), ("b", "talks in Algeria")])
    assert index.search("Kidal", 5) == [("a", index.search("Kidal", 5)[0][1])]
    index.sync([("b", "talks in Algeria"), ("c", "Kidal again")])
    assert set(index.ids) == {"b", "c"}
    assert [i for i, _ in index.search("Kidal", 5)] == ["c"]
    assert index.search("nothing matches", 5) == []
    index.sync([])
    assert index.search("Kidal", 5) == []


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
    assert sorted(seeded.retriever.keyword.ids) == sorted(c.id for c in seeded.store.iter_all())
