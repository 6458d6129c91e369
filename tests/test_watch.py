"""Watched folders (assistant/watch.py, `dossier watch`): real files, real store, real watchdog."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.watch import FolderWatcher, check_watchable
from core.errors import NotWatchable
from core.types import SyncReport
from tests.conftest import ROOT, SEEDS
from tests.corpus import write_corpus

DEBOUNCE = 0.3
DEADLINE = 30.0  # an ingest embeds on 2 shared cores; generous, but polled, not slept


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def article(title: str, body: str) -> str:
    return f"{title}\n\n{body} The report was published by the regional council on Monday.\n"


class Recorder:
    """Collects the watcher's reports and errors."""

    def __init__(self) -> None:
        self.reports: list[SyncReport] = []
        self.errors: list[Exception] = []

    def statuses(self) -> list[tuple[str, str]]:
        return [(Path(f.path).name, f.status) for r in self.reports for f in r.files]

    def saw(self, name: str, status: str) -> bool:
        return (name, status) in self.statuses()


@pytest.fixture
def watched(tmp_path: Path, make_assistant) -> Iterator[tuple[FolderWatcher, Recorder, Path]]:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "first.txt").write_text(article("Otters return", "Volunteers counted 412 otters."))
    bot = make_assistant()
    recorder = Recorder()
    watcher = FolderWatcher(
        bot,
        [folder],
        debounce=DEBOUNCE,
        on_sync=recorder.reports.append,
        on_error=recorder.errors.append,
    )
    with watcher:
        wait_for(lambda: watcher.syncs >= 1, "the first sync")
        yield watcher, recorder, folder
    assert not watcher.running  # stop() joined the thread


def titles(watcher: FolderWatcher) -> set[str]:
    return {s.title for s in watcher.bot.sources()}


def test_a_first_sync_then_added_changed_and_removed_files_follow(watched):
    watcher, recorder, folder = watched
    assert recorder.saw("first.txt", "added")

    (folder / "second.md").write_text(article("Bridge opens", "The bridge cost 9 million euros."))
    wait_for(lambda: "Bridge opens" in titles(watcher), "the added file")

    (folder / "second.md").write_text(article("Bridge delayed", "The bridge will open in May."))
    wait_for(lambda: recorder.saw("second.md", "updated"), "the changed file")
    assert "Bridge delayed" in titles(watcher) and "Bridge opens" not in titles(watcher)

    (folder / "second.md").unlink()
    wait_for(lambda: recorder.saw("second.md", "deleted"), "the removed file")
    assert titles(watcher) == {"Otters return"}
    assert not recorder.errors


def test_a_moved_file_keeps_its_article_under_the_new_path(watched):
    watcher, recorder, folder = watched
    (folder / "sub").mkdir()
    (folder / "first.txt").rename(folder / "sub" / "renamed.txt")
    wait_for(lambda: recorder.saw("renamed.txt", "moved"), "the move")
    assert [s.source for s in watcher.bot.sources()] == ["renamed.txt"]


def test_a_burst_of_files_is_one_or_two_ingests(watched):
    watcher, recorder, folder = watched
    before = watcher.syncs
    write_corpus(folder / "burst", 10)
    wait_for(lambda: len(watcher.bot.sources()) == 11, "the ten files")
    time.sleep(DEBOUNCE * 4)  # any sync still to come would have started by now
    wait_for(lambda: not watcher._changed.is_set(), "the watcher to settle")
    assert 1 <= watcher.syncs - before <= 2, recorder.reports[before:]
    added = [s for r in recorder.reports[before:] for s in r.files if s.status == "added"]
    assert len(added) == 10


def test_a_bad_file_is_reported_and_the_watcher_goes_on(watched):
    watcher, recorder, folder = watched
    (folder / "empty.txt").write_bytes(b"")
    wait_for(lambda: recorder.saw("empty.txt", "failed"), "the failure")
    failure = next(f for r in recorder.reports for f in r.failures)
    assert "empty" in failure.reason
    (folder / "good.txt").write_text(article("Harbour wall", "The wall is 300 metres long."))
    wait_for(lambda: "Harbour wall" in titles(watcher), "the next good file")


def test_hidden_swap_and_other_files_wake_nothing(watched):
    watcher, _, folder = watched
    before = watcher.syncs
    (folder / ".first.txt.swp").write_text("swap")
    (folder / ".hidden.txt").write_text(article("Hidden", "Never to be read by anyone."))
    (folder / "first.txt~").write_text("backup")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD.txt").write_text(article("Git", "A file in a hidden folder."))
    time.sleep(DEBOUNCE * 5)
    assert watcher.syncs == before
    assert not watcher._changed.is_set()
    assert titles(watcher) == {"Otters return"}


def test_events_that_change_no_article_run_no_ingest(watched):
    watcher, _, folder = watched
    before = watcher.syncs
    file = folder / "first.txt"
    file.read_text()
    stat = file.stat()
    # An attribute event (as an access-time update gives) with the file as it was.
    os.utime(file, ns=(stat.st_atime_ns + 10**9, stat.st_mtime_ns))
    time.sleep(DEBOUNCE * 5)
    assert not watcher._changed.is_set()
    assert watcher.syncs == before


def test_a_data_directory_inside_the_watched_folder_is_ignored(tmp_path, make_assistant):
    folder = tmp_path / "library"
    shutil.copytree(SEEDS, folder)
    bot = make_assistant(data_dir=folder / "data")
    recorder = Recorder()
    with FolderWatcher(bot, [folder], debounce=DEBOUNCE, on_sync=recorder.reports.append) as w:
        wait_for(lambda: w.syncs >= 1, "the first sync")
        time.sleep(DEBOUNCE * 5)  # Chroma's own writes must not bring another ingest
        assert w.syncs == 1
        assert recorder.reports[0].count("added") == 2


def test_vanished_articles_outside_the_watched_folder_are_kept(tmp_path, make_assistant):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "kept.txt").write_text(article("Kept story", "It was ingested by hand."))
    bot = make_assistant()
    bot.ingest([elsewhere])
    (elsewhere / "kept.txt").unlink()  # gone, but not from a watched folder
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text(article("Watched story", "It sits in the inbox."))
    with FolderWatcher(bot, [inbox], debounce=DEBOUNCE) as watcher:
        wait_for(lambda: watcher.syncs >= 1, "the first sync")
    assert {s.title for s in bot.sources()} == {"Kept story", "Watched story"}


def test_a_single_watched_file(tmp_path, make_assistant):
    file = tmp_path / "one.txt"
    file.write_text(article("Tram line", "The tram line has 12 stops."))
    (tmp_path / "other.txt").write_text(article("Other", "Not watched, never ingested."))
    bot = make_assistant()
    with FolderWatcher(bot, [file], debounce=DEBOUNCE) as watcher:
        wait_for(lambda: watcher.syncs >= 1, "the first sync")
        file.write_text(article("Tram line extended", "The tram line has 15 stops."))
        wait_for(lambda: {s.title for s in bot.sources()} == {"Tram line extended"}, "the change")
        file.unlink()
        wait_for(lambda: not bot.sources(), "the removal")


def test_a_change_during_an_ingest_brings_one_more(tmp_path, make_assistant):
    folder = tmp_path / "inbox"
    write_corpus(folder, 6)
    bot = make_assistant()
    started: list[float] = []
    real_ingest = bot.ingest

    def slow_start(*args, **kwargs):  # the real ingest, reported as it starts
        started.append(time.monotonic())
        return real_ingest(*args, **kwargs)

    bot.ingest = slow_start
    with FolderWatcher(bot, [folder], debounce=DEBOUNCE) as watcher:
        wait_for(lambda: bool(started), "the first ingest to start")
        (folder / "late.txt").write_text(article("Late news", "It came during the ingest."))
        wait_for(lambda: watcher.syncs == 2, "the second sync")
        time.sleep(DEBOUNCE * 3)
        assert watcher.syncs == 2  # one more, not one per event
    assert "Late news" in {s.title for s in bot.sources()}


def test_paths_that_cannot_be_watched_are_named(tmp_path):
    with pytest.raises(NotWatchable, match="no such file or folder"):
        check_watchable([tmp_path / "missing"])
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    with pytest.raises(NotWatchable, match=r"unsupported file type '\.png'"):
        check_watchable([tmp_path / "photo.png"])
    with pytest.raises(NotWatchable, match="nothing to watch"):
        check_watchable([])
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o000)
        try:
            with pytest.raises(NotWatchable, match="not readable; allow reading it"):
                check_watchable([locked])
        finally:
            locked.chmod(0o700)
    assert check_watchable([tmp_path, tmp_path]) == [tmp_path.resolve()]


def test_dossier_watch_prints_each_sync_and_stops_on_sigterm(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "first.txt").write_text(article("Otters return", "Volunteers counted 412 otters."))
    command = ["watch", "--data-dir", str(tmp_path / "data"), "--watch-debounce", str(DEBOUNCE)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", *command, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        end = time.monotonic() + 120  # the first start loads the model
        while not any("synced:" in line for line in lines) and time.monotonic() < end:
            lines.append(proc.stdout.readline())
        assert "  added: " in "".join(lines)
        assert any("synced: 1 added, 0 updated, 0 unchanged" in line for line in lines), lines
        (folder / "second.txt").write_text(article("Bridge opens", "It cost 9 million euros."))
        lines = []
        while not any("synced:" in line for line in lines) and time.monotonic() < end:
            lines.append(proc.stdout.readline())
        assert any("synced: 1 added, 0 updated, 1 unchanged" in line for line in lines), lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "stopped watching" in proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("command", [["watch"], ["ui", "--port", "1", "--watch"]])
def test_watching_a_missing_path_is_refused_before_anything_starts(tmp_path, command):
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", *command, "nope", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "cannot watch nope: no such file or folder; check the path" in done.stderr
    assert "Dossier is running" not in done.stderr
