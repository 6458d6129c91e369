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
    keyword_ids = bot.retriever.keyword.ids()
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


def test_the_keyword_index_is_stored_and_read_after_a_restart(make_assistant, seed_copy: Path):
    first = make_assistant()
    first.ingest([seed_copy])
    path = first.layout.keywords(first.settings.collection)
    assert path.is_file()
    fresh = make_assistant()
    assert fresh.retrieve("Alghabass Ag Intallah", k=1)[0].source == MIA
    assert fresh.retriever.keyword.ids() == {c.id for c in fresh.store.iter_all()}


def test_a_keyword_index_behind_chroma_is_caught_up(make_assistant, seed_copy: Path):
    """As after a crash between the two writes, or another machine's ingest into a shared
    Chroma server: the next retrieval catches the keyword index up from Chroma."""
    bot = make_assistant()
    bot.ingest([seed_copy])
    every = bot.retriever.keyword.ids()
    lost = sorted(every)[:3]
    bot.store.keywords.delete(lost)
    bot.store.keywords.add([("stale", "Alghabass Ag Intallah", 0)])
    assert {p.kind for p in bot.check().problems} == {"keyword-index"}
    fresh = make_assistant()  # another process: nothing cached
    fresh.store.keywords.mark_in_step(-1)  # written by someone else since
    assert fresh.retrieve("Alghabass Ag Intallah", k=1)[0].source == MIA
    assert fresh.retriever.keyword.ids() == every
    assert not bot.check().problems


def test_repair_brings_the_keyword_index_back(make_assistant, seed_copy: Path):
    bot = make_assistant()
    bot.ingest([seed_copy])
    every = bot.retriever.keyword.ids()
    bot.store.keywords.clear()
    assert [p.kind for p in bot.check().problems] == ["keyword-index"]
    bot.repair()
    assert bot.retriever.keyword.ids() == every and not bot.check().problems


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


def _stored_by_source(bot: Assistant) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for chunk in bot.store.iter_all(include_text=False):
        found.setdefault(chunk.metadata["source_id"], set()).add(chunk.id)
    return found


def test_a_moved_folder_is_re_keyed_not_duplicated_or_re_embedded(
    make_assistant, tmp_path: Path, embed_calls: list[int]
):
    from tests.corpus import write_corpus

    old = tmp_path / "dirA"
    facts = write_corpus(old, 20, seed=11)
    bot = make_assistant()
    assert bot.ingest([old]).count("added") == 20
    chunks_before = bot.store.count()
    vectors_before = {
        (c.metadata["source"], c.metadata["chunk_index"]): c.id
        for c in bot.store.get(include_text=False)
    }
    old_vectors = bot.store.vectors(list(vectors_before.values()))

    new = tmp_path / "dirB"
    old.rename(new)  # mv dirA dirB
    checkup = bot.check()  # doctor sees the stored paths whose files are gone
    missing = sorted(p.source_id for p in checkup.problems if p.kind == "missing-file")
    assert missing == sorted(str((old / f.file).resolve()) for f in facts)
    assert not checkup.ok

    embed_calls.clear()
    report = bot.ingest([new])  # no --prune
    assert report.count("moved") == 20 and report.chunks_embedded == 0 and embed_calls == []
    assert "20 moved" in report.summary()
    stored = _stored_by_source(bot)
    assert sorted(stored) == sorted(str((new / f.file).resolve()) for f in facts)
    assert bot.store.count() == chunks_before  # each article once
    records: dict[str, set[str]] = {}
    for key, group in bot.indexer.records().items():
        records.setdefault(group, set()).add(key)
    assert records == stored
    # The vectors were carried over, not recomputed.
    for chunk in bot.store.get(include_text=False):
        before = vectors_before[(chunk.metadata["source"], chunk.metadata["chunk_index"])]
        moved = bot.store.vectors([chunk.id])[chunk.id]
        assert moved == pytest.approx(old_vectors[before], abs=1e-6)
    assert bot.check().ok
    answer = bot.answer(facts[0].question)
    assert facts[0].answer in answer.text
    assert answer.citations[0].source == facts[0].file

    again = bot.ingest([new])
    assert again.count("unchanged") == 20 and again.chunks_embedded == 0


def test_a_move_interrupted_after_the_new_chunks_is_finished_by_a_re_run(
    make_assistant, tmp_path: Path, embed_calls: list[int], monkeypatch: pytest.MonkeyPatch
):
    from tests.corpus import write_corpus

    old = tmp_path / "dirA"
    write_corpus(old, 3, seed=12)
    bot = make_assistant()
    bot.ingest([old])
    new = tmp_path / "dirB"
    old.rename(new)

    real_delete_keys = bot.indexer.record_manager.delete_keys

    def crash(*args, **kwargs):  # new chunks and records written, the old ones not yet removed
        raise RuntimeError("killed")

    monkeypatch.setattr(bot.indexer.record_manager, "delete_keys", crash)
    with pytest.raises(RuntimeError):
        bot.ingest([new])
    monkeypatch.setattr(bot.indexer.record_manager, "delete_keys", real_delete_keys)
    assert len(_stored_by_source(bot)) == 4  # the first article under both paths, for now

    embed_calls.clear()
    report = bot.ingest([new])
    assert report.count("moved") == 3 and embed_calls == []
    assert sorted(_stored_by_source(bot)) == sorted(str(p.resolve()) for p in new.glob("*.txt"))
    assert bot.check().ok


def test_a_copy_or_an_edited_copy_is_not_a_move(make_assistant, tmp_path: Path):
    from tests.corpus import write_corpus

    folder = tmp_path / "a"
    write_corpus(folder, 2, seed=13)
    bot = make_assistant()
    bot.ingest([folder])
    other = tmp_path / "b"
    other.mkdir()
    source = folder / "article_000.txt"
    (other / "copy.txt").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    edited = source.read_text(encoding="utf-8") + "\nThe vote was later confirmed.\n"
    (other / "edited.txt").write_text(edited, encoding="utf-8")
    report = bot.ingest([other])
    assert report.count("added") == 2 and report.count("moved") == 0
    assert report.chunks_embedded > 0
    assert len(_stored_by_source(bot)) == 4  # the old paths still exist: all kept
    assert bot.check().ok


def test_a_record_database_that_cannot_be_opened_is_named_without_its_password(tmp_path: Path):
    from core.errors import StoreUnavailable

    url = "postgresql+psycopg://dossier:secret-word@127.0.0.1:9/records"
    bot = Assistant(data_dir=tmp_path / "data", record_manager_url=url)
    with pytest.raises(StoreUnavailable) as refused:
        bot.ingest([tmp_path])
    assert "secret-word" not in str(refused.value)
    assert "dossier:***@127.0.0.1:9/records" in str(refused.value)
