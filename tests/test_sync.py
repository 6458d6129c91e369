"""Incremental, idempotent ingest against real Chroma, the real model and SQLite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Assistant
from core.errors import IngestInProgress
from tests.conftest import GSIM, MIA


def stored_ids(bot: Assistant, source: str) -> set[str]:
    return {c.id for c in bot.store.get(where={"source": source}, include_text=False)}


def test_second_run_embeds_nothing(make_assistant, seed_copy: Path, embed_calls: list[int]):
    bot = make_assistant()
    first = bot.ingest([seed_copy])
    assert (first.count("added"), first.count("failed")) == (2, 0)
    assert first.chunks_embedded == bot.store.count() > 0
    embed_calls.clear()

    second = make_assistant().ingest([seed_copy])  # a new process-like Assistant, same data
    assert second.count("unchanged") == 2
    assert second.chunks_embedded == 0
    assert embed_calls == []
    assert bot.store.count() == first.chunks_embedded


def test_edited_article_replaces_its_chunks(make_assistant, seed_copy: Path):
    bot = make_assistant()
    bot.ingest([seed_copy])
    old_mia, old_gsim = stored_ids(bot, MIA), stored_ids(bot, GSIM)
    path = seed_copy / MIA
    path.write_text(path.read_text().replace("Kidal", "Timbuktu"), encoding="utf-8")

    report = bot.ingest([seed_copy])
    assert report.count("updated") == 1 and report.count("unchanged") == 1
    new_mia = stored_ids(bot, MIA)
    assert new_mia and not (new_mia & old_mia)  # every old chunk replaced
    assert stored_ids(bot, GSIM) == old_gsim  # the other article untouched
    texts = " ".join(c.text for c in bot.store.get(where={"source": MIA}))
    assert "Timbuktu" in texts and "Kidal" not in texts
    # The keyword index follows: the new word is found, the old chunks are gone.
    hits = bot.retrieve("Timbuktu rebel-held town", k=1)
    assert hits[0].source == MIA and "Timbuktu" in hits[0].text
    keyword_ids = set(bot.retriever.keyword.ids)
    assert not (keyword_ids & old_mia) and new_mia <= keyword_ids


def test_records_read_the_record_managers_table(make_assistant, seed_copy: Path):
    """Indexer.records reads langchain-classic's table directly: this fails if it changes."""
    bot = make_assistant()
    bot.ingest([seed_copy])
    records = bot.indexer.records()
    assert set(records) == set(bot.indexer.record_manager.list_keys())
    assert set(records.values()) == {s.source_id for s in bot.sources()}


def test_prune_removes_articles_whose_files_are_gone(make_assistant, seed_copy: Path):
    bot = make_assistant()
    bot.ingest([seed_copy])
    (seed_copy / GSIM).unlink()

    kept = bot.ingest([seed_copy])  # without --prune nothing is deleted
    assert kept.count("deleted") == 0 and stored_ids(bot, GSIM)

    pruned = bot.ingest([seed_copy], prune=True)
    assert pruned.count("deleted") == 1 and pruned.chunks_deleted > 0
    assert stored_ids(bot, GSIM) == set()
    assert [s.source for s in bot.sources()] == [MIA]
    assert bot.indexer.record_manager.list_keys(group_ids=[str(seed_copy / GSIM)]) == []
    assert all(p.source == MIA for p in bot.retrieve("Iyad Ag Ghaly GSIM Wagner", k=5))


def test_bad_files_are_reported_and_the_batch_goes_on(make_assistant, seed_copy: Path):
    (seed_copy / "empty.txt").write_bytes(b"")
    (seed_copy / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    bot = make_assistant(max_file_mb=0.5)
    (seed_copy / "big.txt").write_text("word " * 200_000)
    report = bot.ingest([seed_copy, seed_copy / "nope.txt"])
    assert report.count("added") == 2
    reasons = {Path(f.path).name: f.reason for f in report.failures}
    assert set(reasons) == {"empty.txt", "photo.txt", "big.txt", "nope.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "PNG" in reasons["photo.txt"]
    assert "limit" in reasons["big.txt"]


def test_a_file_that_turns_bad_keeps_its_stored_article(make_assistant, seed_copy: Path):
    bot = make_assistant()
    bot.ingest([seed_copy])
    before = stored_ids(bot, MIA)
    (seed_copy / MIA).write_bytes(b"\x00\x01binary garbage")
    report = bot.ingest([seed_copy], prune=True)
    assert report.count("failed") == 1
    assert stored_ids(bot, MIA) == before


def test_restart_rebuilds_the_keyword_index_from_the_store(make_assistant, seed_copy: Path):
    make_assistant().ingest([seed_copy])
    fresh = make_assistant()
    assert fresh.retrieve("Alghabass Ag Intallah", k=1)[0].source == MIA
    assert set(fresh.retriever.keyword.ids) == {c.id for c in fresh.store.iter_all()}


def test_sources_lists_metadata(make_assistant, seed_copy: Path):
    bot = make_assistant()
    bot.ingest([seed_copy])
    mia, gsim = bot.sources()
    assert (mia.source, mia.outlet, mia.date) == (MIA, "GlobalPost", None)
    assert mia.title == "Mali’s Ansar Dine rebels split, call for ceasefire"
    assert gsim.title == "Mali Jihadist Leader in Secret Talks With Northern Groups"
    assert mia.chunks == len(stored_ids(bot, MIA))
    assert mia.ingested_at.endswith("+00:00")


def test_delete_by_file_name(make_assistant, seed_copy: Path):
    bot = make_assistant()
    bot.ingest([seed_copy])
    assert bot.delete([GSIM]) > 0
    assert [s.source for s in bot.sources()] == [MIA]
    assert GSIM not in {p.source for p in bot.retrieve("Iyad Ag Ghaly", k=5)}


def test_a_second_ingest_is_refused_while_one_runs(make_assistant, seed_copy: Path):
    bot = make_assistant()
    held = bot.indexer._lock()
    try:
        with pytest.raises(IngestInProgress, match="another ingest"):
            make_assistant().ingest([seed_copy])
    finally:
        held.release()
    assert make_assistant().ingest([seed_copy]).count("added") == 2


def test_changing_chunk_size_re_chunks_everything(make_assistant, seed_copy: Path):
    make_assistant().ingest([seed_copy])
    report = make_assistant(chunk_size=100, chunk_overlap=10).ingest([seed_copy])
    assert report.count("updated") == 2
    bot = make_assistant(chunk_size=100, chunk_overlap=10)
    assert all(bot.embedder.count_tokens(c.text) <= 100 for c in bot.store.iter_all())


def test_copied_folder_keeps_articles_apart(make_assistant, seed_copy: Path, tmp_path: Path):
    bot = make_assistant()
    shutil.copytree(seed_copy, tmp_path / "copy")
    report = bot.ingest([seed_copy, tmp_path / "copy"])
    assert report.count("added") == 4
    assert len(bot.sources()) == 4
