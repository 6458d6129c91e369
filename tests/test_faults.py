"""Faults: an ingest killed with SIGKILL, a damaged store, and doctor's checks and repairs."""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO

import pytest
from chromadb.api.client import SharedSystemClient

from assistant import Assistant
from core.errors import DiskFull, StoreUnavailable
from ingest.loaders import load_article
from ingest.sync import MIN_FREE_BYTES, Indexer
from tests.conftest import ROOT, SEEDS
from tests.corpus import Fact, write_corpus
from ui.cli import main
from vectorstore.chroma import ChunkStore, is_disk_full


def fresh(data_dir: Path) -> Assistant:
    """An Assistant that reads the store from disk, not from this process's Chroma cache."""
    SharedSystemClient.clear_system_cache()
    return Assistant(data_dir=data_dir)


def ingest_process(data_dir: Path, folder: Path, batch: int = 512) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ingest", "--data-dir", str(data_dir), str(folder)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "DOSSIER_INGEST_BATCH": str(batch)},
    )


class ProgressReader:
    """Follows an ingest's progress bar (``done/total files`` on stderr) in a thread."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.text = ""
        assert process.stderr is not None
        stream = process.stderr
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        while chunk := stream.read1(4096):  # type: ignore[attr-defined]
            self.text += chunk.decode(errors="replace")

    @property
    def done(self) -> int:
        counts = re.findall(r"(\d+)/(\d+) files", self.text)  # files written, not chunks
        return int(counts[-1][0]) if counts else -1


def kill_at(process: subprocess.Popen[bytes], rng: random.Random, total: int) -> bool:
    """SIGKILL the ingest at a random point of its work; False if it finished first.

    The point is a number of files reported done (or, one time in eight, while it
    is still starting), plus up to half a second, so the kill lands while a step
    is being embedded, written to Chroma or recorded.
    """
    progress = ProgressReader(process)
    target = rng.randrange(-total // 7, total)
    deadline = time.monotonic() + 300
    if target < 0:
        time.sleep(rng.uniform(0.5, 3.0))
    else:
        while progress.done < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return running


def expected_ids(bot: Assistant, folder: Path) -> dict[str, set[str]]:
    """source_id -> the chunk ids its file gives today."""
    found = {}
    for path in sorted(folder.glob("*.txt")):
        article = load_article(path, bot.indexer.max_file_bytes)
        found[article.source_id] = {d.id for d in bot.indexer.documents_of(article, "") if d.id}
    return found


def assert_intact(bot: Assistant, folder: Path, facts: list[Fact], rng: random.Random) -> None:
    """Every article exactly once, records and Chroma agree, and questions are answered."""
    want = expected_ids(bot, folder)
    stored: dict[str, set[str]] = {}
    all_ids = []
    for chunk in bot.store.iter_all(include_text=False):
        stored.setdefault(chunk.metadata["source_id"], set()).add(chunk.id)
        all_ids.append(chunk.id)
    assert not [i for i, n in Counter(all_ids).items() if n > 1]
    assert stored == want  # no missing, no extra (old versions), no duplicated article
    records: dict[str, set[str]] = {}
    for key, group in bot.indexer.records().items():
        records.setdefault(group, set()).add(key)
    assert records == want
    checkup = bot.check()
    assert checkup.ok, checkup.problems
    for fact in rng.sample(facts, 3):
        answer = bot.answer(fact.question)
        assert fact.answer in answer.text and answer.citations[0].source == fact.file, (
            fact,
            answer.text,
        )


@pytest.mark.slow
def test_ingest_killed_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    facts = write_corpus(folder, 200)
    data_dir = tmp_path / "data"
    rng = random.Random(2026)
    killed_mid_ingest = 0
    for trial in range(10):
        if trial:  # change a fifth of the articles, so the killed run replaces chunks too
            for path in rng.sample(sorted(folder.glob("*.txt")), 40):
                with path.open("a", encoding="utf-8") as f:
                    f.write(f"\nThe council will meet again in week {trial}.\n")
        # Small steps: many Chroma writes and record updates for the kill to land between.
        killed_mid_ingest += kill_at(ingest_process(data_dir, folder, batch=8), rng, 200)
        rerun = ingest_process(data_dir, folder)
        _, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, err.decode()[-2000:]
        assert_intact(fresh(data_dir), folder, facts, rng)
    assert killed_mid_ingest >= 8


@pytest.fixture
def healthy(tmp_path: Path) -> tuple[Assistant, Path, list[Fact]]:
    folder = tmp_path / "articles"
    facts = write_corpus(folder, 12, seed=3)
    bot = Assistant(data_dir=tmp_path / "data")
    bot.ingest([folder])
    return bot, folder, facts


def test_doctor_finds_a_consistent_store_consistent(
    healthy: tuple[Assistant, Path, list[Fact]], capsys: pytest.CaptureFixture[str]
) -> None:
    bot = healthy[0]
    checkup = bot.check()
    assert checkup.ok and checkup.articles == 12 and checkup.chunks == checkup.records
    assert checkup.keyword_chunks == checkup.chunks and checkup.vectors_checked == checkup.chunks
    assert main(["doctor", "--data-dir", str(bot.settings.data_dir)]) == 0
    assert "consistent" in capsys.readouterr().out


def test_doctor_repairs_each_kind_of_damage_without_re_embedding_intact_chunks(
    healthy: tuple[Assistant, Path, list[Fact]], embed_calls: list[int]
) -> None:
    bot, folder, facts = healthy
    manager, store = bot.indexer.record_manager, bot.store
    sources = sorted(expected_ids(bot, folder))
    ids = {
        s: sorted(c.id for c in store.get(where={"source_id": s}, include_text=False))
        for s in sources
    }
    # 1. chunks no record tracks (a kill between the Chroma write and the record write)
    manager.delete_keys(ids[sources[0]])
    # 2. records whose chunks Chroma lost
    store.delete(ids=ids[sources[1]][:1])
    # 3. an old version of an article left beside the new one
    edited = folder / Path(sources[2]).name
    edited.write_text(edited.read_text(encoding="utf-8") + "\nA late amendment was added.\n")
    old_ids = ids[sources[2]]
    bot.ingest([edited])  # writes the new version, deletes the old one...
    assert not store.get(ids=old_ids, include_text=False)
    manager.update(old_ids, group_ids=[sources[2]] * len(old_ids))  # ...now pretend it did not
    checkup = bot.check()
    kinds = {(p.kind, p.source_id) for p in checkup.problems}
    assert ("untracked-chunks", sources[0]) in kinds
    assert ("missing-chunks", sources[1]) in kinds
    assert ("missing-chunks", sources[2]) in kinds

    embed_calls.clear()
    result = bot.repair(checkup)
    assert result.adopted == len(ids[sources[0]])  # intact: tracked again, not re-embedded
    assert result.report.chunks_embedded == 1 and sum(embed_calls) == 1  # only the lost chunk
    assert bot.check().ok
    assert_intact(bot, folder, facts, random.Random(1))


def test_re_ingest_heals_chunks_chroma_lost(
    healthy: tuple[Assistant, Path, list[Fact]], embed_calls: list[int]
) -> None:
    bot, folder, facts = healthy
    victim = bot.store.get(where={"chunk_index": 0}, include_text=False)[0]
    bot.store.delete(ids=[victim.id])
    embed_calls.clear()
    report = bot.ingest([folder])
    assert report.chunks_embedded == 1 and sum(embed_calls) == 1
    assert report.count("updated") == 1 and report.count("unchanged") == 11
    assert_intact(bot, folder, facts, random.Random(2))


def test_a_damaged_store_is_detected_and_rebuilt_from_the_files(
    healthy: tuple[Assistant, Path, list[Fact]], capsys: pytest.CaptureFixture[str]
) -> None:
    bot, folder, facts = healthy
    data_dir = bot.settings.data_dir
    SharedSystemClient.clear_system_cache()
    database = data_dir / "chroma" / "chroma.sqlite3"
    database.write_bytes(b"this is not a database" * 1000)
    with pytest.raises(StoreUnavailable, match=r"dossier doctor --rebuild PATH"):
        fresh(data_dir).answer(facts[0].question)
    assert main(["ask", "--data-dir", str(data_dir), facts[0].question]) == 1
    assert "dossier doctor --rebuild" in capsys.readouterr().err

    SharedSystemClient.clear_system_cache()
    assert main(["doctor", "--data-dir", str(data_dir), "--rebuild"]) == 0
    out = capsys.readouterr().out
    assert "12 added" in out and "consistent" in out
    kept = list(data_dir.glob("damaged-*/chroma/chroma.sqlite3"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not")  # nothing deleted
    assert_intact(fresh(data_dir), folder, facts, random.Random(3))


def test_a_damaged_record_database_is_named_and_rebuilt_from_chroma(
    healthy: tuple[Assistant, Path, list[Fact]], capsys: pytest.CaptureFixture[str]
) -> None:
    bot, folder, facts = healthy
    data_dir = bot.settings.data_dir
    records = data_dir / "records.sqlite"
    damage = random.Random(8).randbytes(64 * 1024)
    records.write_bytes(damage)
    with pytest.raises(StoreUnavailable, match=r"record database file .* is damaged"):
        fresh(data_dir).check()
    assert main(["doctor", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "dossier: error:" in err and "damaged" in err and "dossier doctor --rebuild" in err
    assert "DOSSIER_RECORD_MANAGER_URL" not in err

    # No paths: the records cannot name them, so Chroma's chunks do.
    assert main(["doctor", "--data-dir", str(data_dir), "--rebuild"]) == 0
    out = capsys.readouterr().out
    assert "12 added" in out and "consistent" in out, out
    kept = list(data_dir.glob("damaged-*/records.sqlite"))
    assert len(kept) == 1 and kept[0].read_bytes() == damage  # nothing deleted
    rebuilt = fresh(data_dir)
    assert {Path(s.source_id).name for s in rebuilt.sources()} == {f.file for f in facts}
    assert_intact(rebuilt, folder, facts, random.Random(4))


def test_rebuild_with_no_known_files_says_what_to_do(tmp_path: Path) -> None:
    bot = Assistant(data_dir=tmp_path / "data")
    with pytest.raises(StoreUnavailable, match=r"name them: `dossier doctor --rebuild PATH"):
        bot.rebuild([])


def delete_process(data_dir: Path, paths: list[Path]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "delete", "--data-dir", str(data_dir)]
        + [str(p) for p in paths],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def pending_deletes(data_dir: Path) -> int:
    """Tombstones in the record manager's database (-1 before the table exists)."""
    import sqlite3

    with sqlite3.connect(data_dir / "records.sqlite", timeout=5) as db:
        try:
            return int(db.execute("SELECT count(*) FROM dossier_pending_delete").fetchone()[0])
        except sqlite3.OperationalError:
            return -1


def kill_mid_delete(process: subprocess.Popen[bytes], data_dir: Path, at: int) -> bool:
    """SIGKILL the delete once ``at`` or fewer of its articles are left; True if it was mid-way."""
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if 0 < pending_deletes(data_dir) <= at:
            break
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return pending_deletes(data_dir) > 0


def assert_deleted(bot: Assistant, folder: Path, gone: dict[str, Fact], facts: list[Fact]) -> None:
    """The deleted articles are gone for good, every other one is intact."""
    want = {s: ids for s, ids in expected_ids(bot, folder).items() if Path(s).name not in gone}
    stored: dict[str, set[str]] = {}
    for chunk in bot.store.iter_all(include_text=False):
        stored.setdefault(chunk.metadata["source_id"], set()).add(chunk.id)
    assert stored == want
    records: dict[str, set[str]] = {}
    for key, group in bot.indexer.records().items():
        records.setdefault(group, set()).add(key)
    assert records == want
    assert bot.indexer.pending_deletes() == []
    checkup = bot.check()
    assert checkup.ok, checkup.problems
    for fact in list(gone.values())[:3]:
        answer = bot.answer(fact.question)
        assert fact.answer not in answer.text, (fact, answer.text)
        assert all(c.source != fact.file for c in answer.citations)
    kept = [f for f in facts if f.file not in gone]
    answer = bot.answer(kept[0].question)
    assert kept[0].answer in answer.text and answer.citations[0].source == kept[0].file


@pytest.mark.slow
def test_a_killed_delete_is_finished_never_undone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "articles"
    facts = write_corpus(folder, 100, seed=5)
    data_dir = tmp_path / "data"
    Assistant(data_dir=data_dir).ingest([folder])
    by_file = {f.file: f for f in facts}
    rng = random.Random(2027)
    gone: dict[str, Fact] = {}
    landed = 0
    for trial in range(4):
        victims = rng.sample(sorted(set(by_file) - set(gone)), 20)
        paths = [(folder / name).resolve() for name in victims]
        landed += kill_mid_delete(delete_process(data_dir, paths), data_dir, rng.randint(1, 19))
        gone.update({name: by_file[name] for name in victims})
        SharedSystemClient.clear_system_cache()
        pending = fresh(data_dir).indexer.pending_deletes()
        if trial % 2 == 0:
            # doctor reports the interrupted delete and --repair finishes it, re-embedding none
            code = main(["doctor", "--data-dir", str(data_dir)])
            out = capsys.readouterr().out
            assert all(f"pending-delete: {p}" in out for p in pending) and code == (
                1 if pending else 0
            )
            assert main(["doctor", "--data-dir", str(data_dir), "--repair"]) == 0
            out = capsys.readouterr().out
            assert "0 chunks re-embedded" in out and "consistent" in out
        else:
            # the same delete again finishes it: the pending articles are found, not "not found"
            main(["delete", "--data-dir", str(data_dir), *map(str, paths)])
            out, err = capsys.readouterr()
            assert all(f"deleted: {p}" in out and f"not found: {p}" not in err for p in pending)
        assert_deleted(fresh(data_dir), folder, gone, facts)
    assert landed >= 2  # the kill landed with articles still to delete


def test_an_ingest_after_a_killed_delete_runs_as_after_the_delete(
    healthy: tuple[Assistant, Path, list[Fact]],
) -> None:
    """A pending delete is finished first; a file the ingest names is then added again."""
    bot, folder, _ = healthy
    victims = sorted(expected_ids(bot, folder))[:2]
    bot.indexer._mark_deleted(victims)  # a delete killed right after recording its intent
    assert {(p.kind, p.source_id) for p in bot.check().problems} == {
        ("pending-delete", v) for v in victims
    }
    report = bot.ingest([victims[0]])
    assert [r.path for r in report.files if r.status == "deleted"] == victims
    assert report.count("added") == 1
    assert bot.indexer.pending_deletes() == []
    stored = {c.metadata["source_id"] for c in bot.store.iter_all(include_text=False)}
    assert victims[0] in stored and victims[1] not in stored


LEADER_Q = "Who leads the Islamic Movement for Azawad?"  # a seed article answers it


def fill(disk: Path, leave: int) -> Path:
    """Write a file on ``disk`` until it is full (ENOSPC), then give back ``leave`` bytes."""
    filler = disk / "filler.bin"
    block = b"\0" * (256 * 1024)
    with filler.open("wb") as f:
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))
    return filler


def test_a_full_disk_stops_the_ingest_cleanly_and_keeps_what_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        data_dir = disk / "data"
        assert Assistant(data_dir=data_dir).ingest([SEEDS]).count("added") == 2
        SharedSystemClient.clear_system_cache()
        folder = tmp_path / "articles"
        write_corpus(folder, 50)
        # A little room left (well under MIN_FREE_BYTES): enough for SQLite and Chroma to
        # open and read, not enough for an ingest step.
        filler = fill(disk, leave=2 * 1024 * 1024)
        assert shutil.disk_usage(disk).free < MIN_FREE_BYTES

        run = ingest_process(data_dir, folder)
        _, raw = run.communicate(timeout=300)
        err = raw.decode()
        assert run.returncode == 1, err
        assert "Traceback" not in err, err
        errors = [line for line in err.splitlines() if "dossier: error:" in line]
        assert len(errors) == 1, err
        assert "full" in errors[0] and str(data_dir) in errors[0], errors[0]
        assert "50 file(s) not yet ingested" in errors[0] and "free" in errors[0], errors[0]

        # Without the check before each step, the write itself fails (Chroma: "database or
        # disk is full") and is told the same way.
        filler.unlink()
        filler = fill(disk, leave=20 * 1024)
        monkeypatch.setattr(Indexer, "_check_space", lambda *args: None)
        with pytest.raises(DiskFull, match=r"the disk holding .* is full"):
            fresh(data_dir).ingest([folder])
        monkeypatch.undo()

        # What was stored before the disk filled is still answered, the disk still full.
        answer = fresh(data_dir).answer(LEADER_Q)
        assert "Alghabass Ag Intallah" in answer.text, answer.text
        assert answer.citations and answer.citations[0].source.endswith(".txt")

        filler.unlink()
        SharedSystemClient.clear_system_cache()
        assert main(["doctor", "--data-dir", str(data_dir)]) == 0
        bot = fresh(data_dir)
        checkup = bot.check()
        assert checkup.ok and checkup.articles == 2, checkup.problems
        rerun = ingest_process(data_dir, folder)
        _, raw = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, raw.decode()[-2000:]
        assert fresh(data_dir).check().articles == 52
    finally:
        SharedSystemClient.clear_system_cache()
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_out_of_space_errors_are_recognised(tmp_path: Path) -> None:
    enospc = OSError(errno.ENOSPC, "No space left on device")
    wrapped = RuntimeError("write failed")
    wrapped.__cause__ = enospc
    assert is_disk_full(wrapped, tmp_path)
    assert is_disk_full(Exception("database or disk is full"), tmp_path)
    # Chroma's compaction error names no cause: a full disk only when space is in fact low.
    compaction = Exception("Error in compaction: Failed to apply logs to the metadata segment")
    assert not is_disk_full(compaction, tmp_path) or shutil.disk_usage(tmp_path).free < (
        16 * 1024 * 1024
    )
    store = ChunkStore(persist_dir=tmp_path, embedding_model="m")
    translated = store._translate(wrapped)
    assert isinstance(translated, DiskFull) and isinstance(translated, StoreUnavailable)
    assert f"the disk holding {tmp_path} is full" in str(translated)
    assert "DOSSIER_DATA_DIR" in str(translated)


@pytest.mark.slow
def test_a_move_killed_at_random_moments_keeps_one_copy_and_embeds_nothing(
    tmp_path: Path,
) -> None:
    """A moved folder re-ingested by a process that is SIGKILLed: the re-run finishes the
    move, every article is stored once under its new path, and nothing is embedded."""
    folder = tmp_path / "articles-0"
    facts = write_corpus(folder, 60, seed=5)
    data_dir = tmp_path / "data"
    first = ingest_process(data_dir, folder)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()[-2000:]
    rng = random.Random(11)
    killed_mid_move = 0
    for trial in range(1, 5):
        moved = tmp_path / f"articles-{trial}"
        folder.rename(moved)
        folder = moved
        killed_mid_move += kill_at(ingest_process(data_dir, folder, batch=8), rng, 60)
        command = ["ingest", "--json", "--data-dir", str(data_dir), str(folder)]
        rerun = subprocess.run(
            [sys.executable, "-m", "ui.cli", *command],
            cwd=ROOT,
            capture_output=True,
            timeout=300,
        )
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
        assert json.loads(rerun.stdout)["chunks_embedded"] == 0
        assert_intact(fresh(data_dir), folder, facts, rng)
    assert killed_mid_move >= 2
