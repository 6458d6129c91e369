"""Chunks: whole sentences, within the model's token limit, with exact offsets."""

from __future__ import annotations

import itertools

import pytest

from core.text import split_sentences
from ingest.chunking import chunk_text
from ingest.loaders import load_article
from tests.conftest import GSIM, MIA, SEEDS
from vectorstore.embeddings import Embedder


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
        (
            "The U.S. and the U.K. agreed. Talks end.",
            ["The U.S. and the U.K. agreed.", "Talks end."],
        ),
        ("J. K. Rowling wrote it. Fans cheered!", ["J. K. Rowling wrote it.", "Fans cheered!"]),
        ('"It is over," he said. "We won."', ['"It is over," he said.', '"We won."']),
        (
            "Headline without stop\nFirst sentence. Second one?",
            ["Headline without stop", "First sentence.", "Second one?"],
        ),
        ("It rose 2.5 percent. Shares fell.", ["It rose 2.5 percent.", "Shares fell."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]):
    assert [text[s:e] for s, e in split_sentences(text)] == expected


@pytest.mark.parametrize("name", [MIA, GSIM])
def test_seed_chunks_fit_the_model_and_keep_offsets(embedder: Embedder, name: str):
    article = load_article((SEEDS / name).resolve(), 10**7)
    chunks = chunk_text(
        article.text, embedder.token_spans, max_tokens=embedder.max_tokens, overlap_tokens=40
    )
    limit = embedder.model.max_seq_length
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        # Counted by the model's own tokenizer, special tokens included.
        assert len(embedder.model.tokenizer(chunk.text)["input_ids"]) <= limit
    # Every sentence of the article is inside some chunk, whole.
    for s, e in split_sentences(article.text):
        assert any(c.start <= s and e <= c.end for c in chunks), article.text[s:e]


def test_chunks_overlap_by_whole_sentences(embedder: Embedder):
    text = " ".join(f"Sentence number {i} says something about topic {i}." for i in range(60))
    chunks = chunk_text(text, embedder.token_spans, max_tokens=64, overlap_tokens=20)
    assert len(chunks) > 3
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end  # overlap
        assert after.start > before.start  # progress
        assert text[after.start - 1] == " " and text[after.start] == "S"  # starts a sentence
        assert embedder.count_tokens(after.text) <= 64


def test_an_over_long_sentence_is_cut_at_token_boundaries(embedder: Embedder):
    text = "Short one. " + "and then " * 400 + "the end. Last sentence."
    chunks = chunk_text(text, embedder.token_spans, max_tokens=100, overlap_tokens=10)
    assert all(embedder.count_tokens(c.text) <= 100 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_ten_thousand_short_lines(embedder: Embedder):
    text = "\n".join(f"Line {i}." for i in range(10_000))
    chunks = chunk_text(
        text, embedder.token_spans, max_tokens=embedder.max_tokens, overlap_tokens=40
    )
    assert all(embedder.count_tokens(c.text) <= embedder.max_tokens for c in chunks)
    assert chunks[-1].text.endswith("Line 9999.")


def test_empty_text_has_no_chunks(embedder: Embedder):
    assert chunk_text("", embedder.token_spans, max_tokens=50, overlap_tokens=5) == []
