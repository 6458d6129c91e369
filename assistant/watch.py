"""Watched folders: articles added, changed, moved or removed there are ingested by themselves.

``FolderWatcher`` listens with watchdog (inotify on Linux, FSEvents on macOS,
polling elsewhere), waits for a quiet moment (the ``watch_debounce`` setting)
so a burst of files is one ingest, and then runs ``Assistant.ingest`` on the
watched paths with pruning limited to them. The ingest is incremental and
takes the data directory's lock, so an unchanged file costs a hash and a
running ingest elsewhere (an upload, ``dossier ingest``) is waited out.

Only what the ingest would read counts: article files (``ingest.loaders``'
suffixes) outside hidden folders, not editor swap files or hidden files, and
nothing inside the data directory (Chroma writing there must not wake the
watcher). An event that changes none of those files (a file read, its access
time touched) runs no ingest.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from core.errors import DossierError, IngestInProgress, NotWatchable
from core.types import SyncReport
from ingest.loaders import SUPPORTED, TEXT_SUFFIXES, find_files

if TYPE_CHECKING:
    from assistant.service import Assistant

log = logging.getLogger(__name__)

# What can change an article file. Opened/closed-without-writing events are left out:
# the ingest itself reads every file, and must not wake the watcher again.
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
# The files as the ingest would see them: path -> (inode, size, mtime), plus unusable paths.
Fingerprint = tuple[frozenset[tuple[Path, int, int, int]], frozenset[tuple[str, str]]]
OnSync = Callable[[SyncReport], None]
OnError = Callable[[Exception], None]


def check_watchable(paths: Iterable[str | Path]) -> list[Path]:
    """The paths, resolved, or ``NotWatchable`` naming the first that cannot be watched.

    A path must be a readable folder, or a readable file of a type Dossier reads.

    Example:
        >>> check_watchable(["articles/"])
        [PosixPath('/home/me/articles')]
    """
    checked: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise NotWatchable(f"cannot watch {raw}: no such file or folder; check the path")
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise NotWatchable(
                    f"cannot watch {raw}: the folder is not readable; "
                    f"allow reading it (chmod u+rx {raw})"
                )
        elif not path.is_file():
            raise NotWatchable(f"cannot watch {raw}: not a file or a folder")
        elif path.suffix.lower() not in TEXT_SUFFIXES:
            raise NotWatchable(
                f"cannot watch {raw}: unsupported file type {path.suffix or '(none)'!r}; "
                f"Dossier reads {SUPPORTED}"
            )
        elif not os.access(path, os.R_OK):
            raise NotWatchable(
                f"cannot watch {raw}: the file is not readable; allow reading it (chmod u+r {raw})"
            )
        checked.append(path.resolve())
    if not checked:
        raise NotWatchable("nothing to watch: name one or more files or folders of articles")
    return list(dict.fromkeys(checked))


class FolderWatcher:
    """Keeps the library in step with files and folders: ingests them on every change.

    ``start()`` runs a first sync at once, then one per burst of changes, once
    ``debounce`` seconds have passed without another; a change during an ingest
    brings one more after it. Each sync's report goes to ``on_sync``; an ingest
    that fails goes to ``on_error`` (default: logged) and the watcher goes on.
    ``stop()`` (or leaving the ``with`` block) waits for a running ingest to end.

    Example:
        >>> with FolderWatcher(bot, ["articles/"], on_sync=lambda r: print(r.summary())):
        ...     time.sleep(60)  # drop files into articles/ meanwhile
        2 added, 0 updated, 0 unchanged, 0 deleted, 0 failed (14 chunks embedded, 1.2 s)
    """

    def __init__(
        self,
        bot: Assistant,
        paths: Sequence[str | Path],
        *,
        debounce: float | None = None,
        on_sync: OnSync | None = None,
        on_error: OnError | None = None,
    ) -> None:
        self.bot = bot
        self.paths = check_watchable(paths)
        self.debounce = bot.settings.watch_debounce if debounce is None else debounce
        self.on_sync = on_sync or (lambda report: log.info("watch: %s", report.summary()))
        self.on_error = on_error or (lambda exc: log.error("watch: the ingest failed: %s", exc))
        self.syncs = 0  # ingests run so far
        self._data_dir = bot.layout.root.resolve()
        self._fingerprint: Fingerprint | None = None  # at the last sync that went through
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._last_change = 0.0
        self._observer = Observer()
        self._worker = threading.Thread(target=self._run, name="dossier-watch", daemon=True)

    def __enter__(self) -> FolderWatcher:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> FolderWatcher:
        """Start listening, and sync once now."""
        handler = _Handler(self)
        for path in self.paths:
            # A file is watched through its folder (not every platform watches a file itself).
            folder = path if path.is_dir() else path.parent
            self._observer.schedule(
                handler, str(folder), recursive=path.is_dir(), event_filter=_EVENTS
            )
        self._observer.start()
        self._changed.set()  # the first sync: files may have changed while nobody watched
        self._worker.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop listening; wait (up to ``timeout`` seconds) for a running ingest to finish."""
        self._stopping.set()
        self._changed.set()
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(timeout)
        if self._worker.is_alive():
            self._worker.join(timeout)

    @property
    def running(self) -> bool:
        return self._worker.is_alive()

    def wait(self) -> None:
        """Block until ``stop()`` (from another thread or a signal handler)."""
        while not self._stopping.wait(0.5):
            pass

    # -- events -----------------------------------------------------------------------

    def counts(self, path: str | Path, is_directory: bool = False) -> bool:
        """Whether a change at ``path`` can change what the ingest of the watched paths reads."""
        path = Path(path)
        if path.is_relative_to(self._data_dir):
            return False
        for watched in self.paths:
            if path == watched:
                return True
            if not path.is_relative_to(watched):
                continue
            inside = path.relative_to(watched).parts
            if any(part.startswith(".") for part in inside):
                return False  # hidden, as the ingest skips them (and editors' swap files)
            return is_directory or path.suffix.lower() in TEXT_SUFFIXES
        return False

    def changed(self) -> None:
        """Note a change: a sync follows after ``debounce`` seconds without another."""
        self._last_change = time.monotonic()
        self._changed.set()

    # -- syncing ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._changed.wait()
            self._quiet()
            if self._stopping.is_set():
                return
            self._changed.clear()  # a change from here on brings one more sync
            self._sync()

    def _quiet(self) -> None:
        """Wait until ``debounce`` seconds have passed since the last change (or a stop)."""
        while not self._stopping.is_set():
            left = self._last_change + self.debounce - time.monotonic()
            if left <= 0:
                return
            self._stopping.wait(left)

    def _sync(self) -> None:
        fingerprint = self._fingerprint_now()
        if fingerprint == self._fingerprint:
            return  # events, but no article file changed (one was read, or rewritten as it was)
        try:
            report = self.bot.ingest(self.paths, prune=True, prune_within=self.paths)
        except IngestInProgress as exc:  # another ingest holds the lock: try again later
            log.info("watch: waiting for another ingest to finish (%s)", exc)
            self.changed()
            return
        except DossierError as exc:
            self.on_error(exc)
            return
        except Exception as exc:  # the watcher must go on; the log has the details
            log.exception("watch: the ingest of %s failed", ", ".join(map(str, self.paths)))
            self.on_error(exc)
            return
        self._fingerprint = fingerprint
        self.syncs += 1
        try:
            self.on_sync(report)
        except Exception:
            log.exception("watch: reporting a sync failed")

    def _fingerprint_now(self) -> Fingerprint:
        """The article files under the watched paths as the ingest finds them, with their stat."""
        files, problems = find_files(self.paths)
        stats = set()
        for path in files:
            try:
                st = path.stat()
            except OSError:  # gone since the walk: the ingest will find that out too
                continue
            stats.add((path, st.st_ino, st.st_size, st.st_mtime_ns))
        return frozenset(stats), frozenset(problems)


class _Handler(FileSystemEventHandler):
    """Tells the watcher about events that concern article files."""

    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = [event.src_path, event.dest_path] if event.dest_path else [event.src_path]
        if any(self.watcher.counts(os.fsdecode(p), event.is_directory) for p in paths):
            self.watcher.changed()
