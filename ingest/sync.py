"""Incremental, idempotent ingest: LangChain's indexing API with a SQL record manager.

Each chunk's id is a hash of its article's identity and content plus the
chunking parameters, so:

- an unchanged article produces the ids the record manager already holds and is
  skipped before anything is embedded;
- a changed article produces new ids; ``index(cleanup="incremental")`` writes
  them and then deletes the article's old ones;
- re-running after a crash re-writes the same ids (Chroma upserts), so nothing
  is duplicated.

Only one ingest may write to a data directory at a time (a file lock); a second
one is refused at once.

Deletes are as crash-safe as ingests: ``delete`` first records the intent (a
*tombstone* per article, a row of the ``dossier_pending_delete`` table in the
record manager's own database, so it is committed durably, survives SIGKILL and
lives beside the records in SQLite or a shared PostgreSQL alike), then deletes
the chunks and records, then clears the tombstone. An interrupted delete is
finished, never undone, by running it again, by ``dossier doctor --repair``, or
by the next ingest (which runs as it would after the delete: a file it names is
then added again, exactly as after a delete that was not interrupted).

A file whose exact content is stored under another path whose file no longer
exists has been moved: its chunks are re-keyed to the new path with their
vectors (nothing is embedded), new chunks and records first, the old ones last,
so a re-run after a crash finishes the move.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import index

from core.errors import (
    DiskFull,
    IngestInProgress,
    NotWritable,
    RejectedFile,
    StoreUnavailable,
    size_text,
)
from core.types import Article, Chunk, FileResult, SourceInfo, SyncReport
from ingest import copies
from ingest.chunking import chunk_text
from ingest.loaders import find_files, load_article_with_note
from vectorstore.chroma import free_space, is_disk_full
from vectorstore.metadata import (
    CHUNK_INDEX,
    CONTENT_HASH,
    SOURCE_ID,
    STORY_ID,
    chunk_metadata,
    listing,
    to_source_info,
)
from vectorstore.pg_keywords import is_postgres_url, without_password

if TYPE_CHECKING:
    import sqlalchemy
    from langchain_classic.indexes import SQLRecordManager

    from vectorstore.chroma import ChunkStore
    from vectorstore.embeddings import Embedder

log = logging.getLogger(__name__)

Progress = Callable[[FileResult, int, int], None]  # (result, done, total)
# (chunks embedded, chunks found to embed so far): called while a step is embedded, from the
# ingest's encoding thread (with the caller's context variables), after each encoder batch.
# The second number grows as files are read; it is final once every file has been read.
ChunkProgress = Callable[[int, int], None]

TOMBSTONES = "dossier_pending_delete"  # Dossier's own table in the record manager's database
OVERRIDES = "dossier_ingest_override"  # and the dates/outlets given at ingest

# What SQLite says when a file is not (or no longer) a database it can read.
_DAMAGE_MARKERS = ("not a database", "disk image is malformed")

# An ingest step starts only with at least this much free space on the data directory's
# disk (or twice the step's estimated size, if more), so a full disk stops it cleanly
# between steps instead of in the middle of a Chroma or record write.
MIN_FREE_BYTES = 16 * 1024 * 1024
# A rough bound on what one chunk takes once stored, beyond its text: the vector (up to
# 1024 float32s), its metadata, and its entries in Chroma's indexes and the records.
CHUNK_OVERHEAD_BYTES = 8 * 1024


class DamagedRecords(StoreUnavailable):
    """The record manager's SQLite file is damaged (not a database SQLite can read)."""


def _damage(exc: BaseException) -> str | None:
    """SQLite's own words if ``exc`` says the database file is damaged, else None.

    Only SQLAlchemy's errors count (the record manager's; Chroma does not use
    SQLAlchemy, and its own SQLite errors are translated elsewhere): their
    DB-API error (``orig``) carries SQLite's words.
    """
    import sqlalchemy

    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return None
    error = exc.orig if exc.orig is not None else exc
    message = str(error.args[0]) if error.args else str(error)
    if any(marker in message.lower() for marker in _DAMAGE_MARKERS):
        return message.splitlines()[0] if message else message
    return None


@dataclass
class _Pending:
    path: Path
    status: str
    documents: list[Document]
    note: str = ""  # what reading the file repaired, for the report


_Vectors = dict[str, list[float]]  # chunk text -> its vector
_Submit = Callable[[list[str], Callable[[int], None]], "Future[_Vectors]"]


@dataclass
class _Step:
    """A step's files, and their chunks' vectors being computed in the background."""

    files: list[_Pending]
    vectors: Future[_Vectors]


@dataclass
class _Remaining:
    """What an ingest has not written yet: the steps being embedded, the step being
    gathered and the files after it."""

    files: list[Path]
    position: int = -1  # the index in ``files`` of the file being read
    pending: list[_Pending] = field(default_factory=list)
    embedding: list[_Step] = field(default_factory=list)

    def paths(self) -> list[Path]:
        embedding = [p.path for step in self.embedding for p in step.files]
        return embedding + [p.path for p in self.pending] + self.files[self.position + 1 :]


class _Precomputed(Embeddings):
    """The vectors of a step computed ahead of its write, for ``index()``; any text not
    among them (none, as index() writes exactly the step's new chunks) is embedded here."""

    def __init__(self, vectors: _Vectors, embedder: Embeddings) -> None:
        self.vectors = vectors
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.embedder.embed_documents(missing), strict=True))
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


def _step_bytes(documents: Sequence[Document]) -> int:
    """A rough estimate of the disk space writing ``documents`` takes."""
    return sum(3 * len(d.page_content.encode()) + CHUNK_OVERHEAD_BYTES for d in documents)


@dataclass(kw_only=True)
class Indexer:
    """Adds, replaces and removes articles in a ``ChunkStore``.

    Example:
        >>> indexer = Indexer(store=store, embedder=embedder, lock_path=Path("data/.ingest.lock"),
        ...                   record_manager_url="sqlite:///data/records.sqlite")
        >>> indexer.sync(["seeds/"]).summary()
        '2 added, 0 updated, 0 unchanged, 0 deleted, 0 failed (...)'
    """

    store: ChunkStore
    embedder: Embedder
    record_manager_url: str
    lock_path: Path
    chunk_size: int = 200
    chunk_overlap: int = 40
    max_file_bytes: int = 20 * 1024 * 1024
    # Chunks embedded and written per step: each step's files are then reported done,
    # and an interrupted ingest loses at most two steps' embedding work (the step being
    # written and the next one, embedded meanwhile).
    batch_chunks: int = 512
    _record_manager: SQLRecordManager | None = field(default=None, init=False, repr=False)

    # -- parts --------------------------------------------------------------------------

    @property
    def record_manager(self) -> SQLRecordManager:
        if self._record_manager is None:
            import sqlalchemy
            from langchain_classic.indexes import SQLRecordManager

            try:
                manager = SQLRecordManager(
                    f"dossier/{self.store.collection_name}", db_url=self.record_manager_url
                )
                manager.create_schema()
                engine = manager.engine
                assert isinstance(engine, sqlalchemy.Engine)  # Dossier never makes an async one
                _tombstone_table().metadata.create_all(engine, checkfirst=True)
                _override_table().metadata.create_all(engine, checkfirst=True)
                copies.story_table().metadata.create_all(engine, checkfirst=True)
                copies.complete_table().metadata.create_all(engine, checkfirst=True)
                for story_index in copies.story_table().indexes:  # on tables made before it
                    story_index.create(engine, checkfirst=True)
                copies.add_listing_column(engine)
            except Exception as exc:
                if (damage := _damage(exc)) is not None:
                    raise self._damaged(damage) from exc
                raise StoreUnavailable(
                    "cannot open the record manager database "
                    f"{without_password(self.record_manager_url)} "
                    f"({type(exc).__name__}: {exc}); check DOSSIER_RECORD_MANAGER_URL and that "
                    "the database is reachable and writable"
                ) from exc
            self._record_manager = manager
        return self._record_manager

    @property
    def data_dir(self) -> Path:
        """The data directory (the ingest lock lives in it)."""
        return self.lock_path.parent

    def _check_space(self, documents: Sequence[Document], remaining: _Remaining) -> None:
        """Raise ``DiskFull`` before a step is written if the disk has too little room for it."""
        free = free_space(self.data_dir)
        if free is not None and free < max(MIN_FREE_BYTES, 2 * _step_bytes(documents)):
            raise self._disk_full(remaining, free)

    def _disk_full(self, remaining: _Remaining, free: int | None = None) -> DiskFull:
        paths = remaining.paths()
        text = 0
        for path in paths:
            try:
                text += path.stat().st_size
            except OSError:
                continue
        needed = (
            f"room for {len(paths)} file(s) not yet ingested ({size_text(text)} of text, "
            f"several times that once chunked, embedded and indexed) plus a "
            f"{size_text(MIN_FREE_BYTES)} safety margin"
        )
        if free is None:
            free = free_space(self.data_dir)
        return DiskFull.at(self.data_dir, free, needed)

    @contextmanager
    def _stopping_when_full(self, remaining: _Remaining) -> Iterator[None]:
        """Turn any out-of-space failure of an ingest into one ``DiskFull`` naming what is left."""
        try:
            yield
        except Exception as exc:
            if not isinstance(exc, DiskFull) and not is_disk_full(exc, self.data_dir):
                raise
            try:  # steps already written: let other readers notice them
                self.store.bump_generation()
            except StoreUnavailable:
                log.warning("could not mark the store as changed; the disk is full")
            raise self._disk_full(remaining) from exc

    @property
    def max_tokens(self) -> int:
        return min(self.chunk_size, self.embedder.max_tokens)

    def forget_record_manager(self) -> None:
        """Open the record manager afresh on next use (after its database was moved)."""
        if self._record_manager is not None:
            engine = self._record_manager.engine
            dispose = getattr(engine, "dispose", None)
            if dispose is not None:
                dispose()  # close pooled connections to the old file
        self._record_manager = None

    @property
    def records_file(self) -> Path | None:
        """The record manager's SQLite file, or None for a server or an in-memory database."""
        import sqlalchemy

        try:
            url = sqlalchemy.engine.make_url(self.record_manager_url)
        except Exception:
            return None
        if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)

    def _damaged(self, damage: str) -> DamagedRecords:
        where = self.records_file or self.record_manager_url
        return DamagedRecords(
            f"the record database file {where} is damaged ({damage}); run "
            "`dossier doctor --rebuild` to rebuild it from the article files "
            "(the damaged copy is kept aside, never deleted)"
        )

    @contextmanager
    def _reading_records(self) -> Iterator[None]:
        """Say so when a query fails because the record database file is damaged."""
        try:
            yield
        except DamagedRecords:
            raise
        except Exception as exc:
            if (damage := _damage(exc)) is not None:
                raise self._damaged(damage) from exc
            raise

    def records(self) -> dict[str, str]:
        """Every chunk id the record manager tracks, with its article's ``source_id``.

        SQLRecordManager can list keys but not which group (article) each is in,
        so this reads its table, ``upsertion_record``, through the manager's public
        engine: the one place that knows that table; tests/test_sync.py fails if
        a langchain-classic release renames it.
        """
        import sqlalchemy

        manager = self.record_manager
        engine = manager.engine
        assert isinstance(engine, sqlalchemy.Engine)  # Dossier never makes an async one
        with self._reading_records():
            table = sqlalchemy.Table(
                "upsertion_record", sqlalchemy.MetaData(), autoload_with=engine
            )
            query = sqlalchemy.select(table.c.key, table.c.group_id).where(
                table.c.namespace == manager.namespace
            )
            with engine.connect() as connection:
                rows = connection.execute(query).all()
        return {key: group or "" for key, group in rows}

    # -- tombstones: deletes asked for and not yet finished -----------------------------

    def pending_deletes(self) -> list[str]:
        """Articles (``source_id``) whose delete was started and not finished."""
        import sqlalchemy

        manager = self.record_manager
        table = _tombstone_table()
        query = sqlalchemy.select(table.c.source_id).where(table.c.namespace == manager.namespace)
        with self._reading_records(), self._engine().connect() as connection:
            return sorted(row[0] for row in connection.execute(query))

    def _has_records(self) -> bool:
        """Whether the record database may hold anything: not a SQLite file never made
        (a process that only reads a Chroma server need not have a data directory)."""
        import sqlalchemy

        url = sqlalchemy.engine.make_url(self.record_manager_url)
        if url.get_backend_name() != "sqlite" or self._record_manager is not None:
            return True
        database = url.database
        return database is not None and Path(database).is_file()

    def _engine(self) -> sqlalchemy.Engine:
        import sqlalchemy

        engine = self.record_manager.engine
        assert isinstance(engine, sqlalchemy.Engine)  # Dossier never makes an async one
        return engine

    def _mark_deleted(self, source_ids: Sequence[str]) -> None:
        """Write the tombstones, committed, before anything is deleted."""
        import sqlalchemy

        namespace = self.record_manager.namespace
        table = _tombstone_table()
        todo = sorted(set(source_ids) - set(self.pending_deletes()))
        if not todo:
            return
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._engine().begin() as connection:
            connection.execute(
                sqlalchemy.insert(table),
                [{"namespace": namespace, "source_id": s, "requested_at": now} for s in todo],
            )

    def _clear_tombstone(self, source_id: str) -> None:
        import sqlalchemy

        table = _tombstone_table()
        with self._engine().begin() as connection:
            connection.execute(
                sqlalchemy.delete(table).where(
                    table.c.namespace == self.record_manager.namespace,
                    table.c.source_id == source_id,
                )
            )

    def finish_deletes(self) -> tuple[list[str], int]:
        """Finish interrupted deletes (the caller holds the lock): (articles, chunks removed)."""
        done = self.pending_deletes()
        removed = 0
        for source_id in done:
            removed += self._delete(source_id)
            self._clear_tombstone(source_id)
        return done, removed

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the ingest lock (refused at once if another holds it).

        The data directory's lock file keeps two ingests on one machine apart. With
        the records in PostgreSQL, ingest workers on other machines share the
        collection, so a PostgreSQL advisory lock keyed by the collection is held too:
        the server frees it if the holder dies, so a killed ingest never blocks the next.
        """
        lock = self._lock()
        try:
            with self._database_lock():
                yield
        finally:
            lock.release()

    @contextmanager
    def _database_lock(self) -> Iterator[None]:
        if not is_postgres_url(self.record_manager_url):
            yield
            return
        import sqlalchemy

        key = advisory_key(self.store.collection_name)
        connection = self._engine().connect()
        taken = False
        try:
            taken = connection.execute(
                sqlalchemy.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
            ).scalar_one()
            connection.commit()
            if not taken:
                raise IngestInProgress(
                    f"another ingest into collection {self.store.collection_name!r} is running "
                    f"(it holds PostgreSQL advisory lock {key} in "
                    f"{without_password(self.record_manager_url)}, perhaps from another "
                    "machine); wait for it to finish and run this one again"
                )
            yield
        finally:
            try:
                if taken:
                    connection.execute(
                        sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key}
                    )
                    connection.commit()
            except Exception:
                # The session may still hold the lock: it must not go back to the pool.
                log.warning("could not release advisory lock %s; dropping its connection", key)
                connection.invalidate()
            finally:
                connection.close()

    def _lock(self) -> Any:
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.lock_path), timeout=0)
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:  # a TimeoutError, so an OSError too: it must come first
            raise IngestInProgress(
                f"another ingest into {self.lock_path.parent} is running (it holds "
                f"{self.lock_path}); wait for it to finish and run this one again"
            ) from None
        except OSError as exc:  # a read-only data directory (or one that cannot be made)
            raise NotWritable.at(self.lock_path.parent, exc) from None
        return lock

    # -- articles to documents ----------------------------------------------------------

    def chunks_of(self, article: Article) -> list[Chunk]:
        return chunk_text(
            article.text,
            self.embedder.token_spans,
            max_tokens=self.max_tokens,
            overlap_tokens=self.chunk_overlap,
        )

    def documents_of(self, article: Article, ingested_at: str) -> list[Document]:
        chunks = self.chunks_of(article)
        return [
            Document(
                id=self.chunk_id(article, c),
                page_content=c.text,
                metadata=chunk_metadata(
                    article, c, chunk_count=len(chunks), ingested_at=ingested_at
                ),
            )
            for c in chunks
        ]

    def chunk_id(self, article: Article, chunk: Chunk) -> str:
        """The id of a chunk: same article content + same chunking = same id."""
        identity = [
            article.source_id,
            article.content_hash,
            chunk.index,
            chunk.start,
            chunk.end,
            self.max_tokens,
            self.chunk_overlap,
            self.store.embedding_model,
        ]
        return hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()

    @staticmethod
    def _document_id(doc: Document) -> str:
        """index()'s key for a document: the id ``documents_of`` gave it."""
        assert doc.id is not None  # documents_of sets every id
        return doc.id

    # -- sync ---------------------------------------------------------------------------

    def sync(
        self,
        paths: Iterable[str | Path],
        *,
        prune: bool = False,
        prune_within: Sequence[str | Path] | None = None,
        progress: Progress | None = None,
        date: str | None = None,
        outlet: str | None = None,
        chunk_progress: ChunkProgress | None = None,
    ) -> SyncReport:
        """Ingest files and folders; with ``prune``, drop articles whose files are gone.

        ``prune_within`` limits the pruning to articles at or under those paths (a
        watched folder drops only its own vanished articles, never other ones).
        ``date`` (ISO) and ``outlet`` override what every file of this run says.
        ``progress`` hears of each file once its step is written; ``chunk_progress`` of
        the chunks embedded, as they are.

        A step is embedded in a background thread while this one reads and chunks the
        next step's files and writes the step before it, so the encoder is kept busy;
        steps are still written one at a time and in order, exactly as without it.
        """
        started = time.perf_counter()
        files, problems = find_files(paths)
        results = [FileResult(path, "failed", reason) for path, reason in problems]
        total = len(files)
        embedded = 0
        deleted_chunks = 0
        remaining = _Remaining(files)
        with (
            self.locked(),
            self._reading_records(),
            self._stopping_when_full(remaining),
            self._encoding_thread() as encode,
        ):
            manager = self.record_manager
            pending = remaining.pending
            chunks_found = 0
            chunks_encoded = 0

            def encoded(count: int) -> None:  # in the encoding thread
                nonlocal chunks_encoded
                chunks_encoded += count
                if chunk_progress is not None:
                    chunk_progress(chunks_encoded, chunks_found)

            ingested_at = datetime.now(UTC).isoformat(timespec="seconds")

            def report(result: FileResult) -> None:
                results.append(result)
                if progress is not None:
                    progress(result, len(results) - len(problems), total)

            # A delete that was interrupted is finished first: this ingest then runs as it
            # would have after it (a file it names comes back, as after any delete).
            finished, deleted_chunks = self.finish_deletes()
            for source_id in finished:
                log.warning("%s: finishing an interrupted delete", source_id)
                report(FileResult(source_id, "deleted"))
            stories = self._story_book()

            def write(step: _Step) -> None:
                nonlocal embedded
                docs = [d for p in step.files for d in p.documents]
                vectors = step.vectors.result()  # the encoder's error, if any, is raised here
                if docs:  # before anything of this step is written
                    self._check_space(docs, remaining)
                # Rows before the chunks that carry their story ids; the listing of each
                # article whose first chunk this step writes (its record is missing).
                firsts = [p.documents[0] for p in step.files if p.documents]
                recorded = manager.exists([str(d.id) for d in firsts])
                stories.relist(
                    {
                        str(d.metadata[SOURCE_ID]): listing(d.metadata)
                        for d, known in zip(firsts, recorded, strict=True)
                        if not known
                    }
                )
                for p in step.files:
                    self._drop_untracked(p.documents)
                if docs:
                    outcome = index(
                        docs,
                        manager,
                        self.store.langchain(_Precomputed(vectors, self.embedder)),
                        cleanup="incremental",
                        source_id_key=SOURCE_ID,
                        key_encoder=self._document_id,
                        batch_size=len(docs),
                    )
                    embedded += outcome["num_added"] + outcome["num_updated"]
                for p in step.files:
                    report(
                        FileResult(str(p.path), p.status, chunks=len(p.documents), note=p.note)  # type: ignore[arg-type]
                    )

            def flush(*, last: bool = False) -> None:
                """Start embedding the gathered step, then write the steps before it (all of
                them when ``last``) while it is embedded."""
                nonlocal chunks_found
                if pending:
                    texts = list(
                        dict.fromkeys(d.page_content for p in pending for d in p.documents)
                    )
                    chunks_found += len(texts)
                    vectors = encode(texts, encoded)
                    remaining.embedding.append(_Step(list(pending), vectors))
                    pending.clear()
                while len(remaining.embedding) > (0 if last else 1):
                    write(remaining.embedding[0])
                    del remaining.embedding[0]  # written: no longer remaining

            unchecked: list[_Pending] = []  # recorded as complete; are the chunks in Chroma?

            def check_unchanged() -> None:
                ids = [d.id for p in unchecked for d in p.documents if d.id]
                present = (
                    {c.id for c in self.store.get(ids=ids, include_text=False)} if ids else set()
                )
                for p in unchecked:
                    lost = [d.id for d in p.documents if d.id and d.id not in present]
                    if not lost:
                        report(
                            FileResult(
                                str(p.path), "unchanged", chunks=len(p.documents), note=p.note
                            )
                        )
                        continue
                    # Recorded but not stored (Chroma lost them): forget the records so
                    # that index() embeds exactly these chunks again.
                    log.warning("%s: %d chunk(s) missing from Chroma; re-adding", p.path, len(lost))
                    manager.delete_keys(lost)
                    pending.append(_Pending(p.path, "updated", p.documents, p.note))
                unchecked.clear()

            for position, path in enumerate(files):
                remaining.position = position
                try:
                    given_date, given_outlet = self._overrides(path, date, outlet)
                    article, note = load_article_with_note(
                        path, self.max_file_bytes, date=given_date, outlet=given_outlet
                    )
                    if date is not None or outlet is not None:  # given now: kept for re-reads
                        self._record_overrides(article.source_id, (given_date, given_outlet))
                    article = self._in_story(article, stories)
                    docs = self.documents_of(article, ingested_at)
                except RejectedFile as exc:
                    report(FileResult(str(path), "failed", str(exc)))
                    continue
                except Exception as exc:  # a parser bug must not stop the batch
                    log.exception("unexpected error reading %s", path)
                    report(
                        FileResult(
                            str(path), "failed", f"could not be read ({type(exc).__name__}: {exc})"
                        )
                    )
                    continue
                existing = set(manager.list_keys(group_ids=[article.source_id]))
                wanted = {d.id for d in docs}
                old = (
                    stories.moved_from(article.source_id, article.content_hash)
                    if existing in (set(), wanted)
                    else None
                )
                if old is not None:
                    self._check_space(docs, remaining)
                    # Its row before the chunks the move writes, listed as they will be
                    # (or as they are, if a stopped move already wrote them).
                    first = docs[0].metadata
                    if existing == wanted:
                        written = self.store.get(ids=[str(docs[0].id)], include_text=False)
                        first = written[0].metadata if written else first
                    stories.relist({article.source_id: listing(first)})
                if old is not None and self._move(old, docs, existing == wanted):
                    stories.forget(old)
                    moved_note = "; ".join(x for x in (note, f"moved from {old}") if x)
                    report(FileResult(str(path), "moved", chunks=len(docs), note=moved_note))
                    continue
                if existing == wanted:
                    unchecked.append(_Pending(path, "unchanged", docs, note))
                    if sum(len(p.documents) for p in unchecked) >= self.batch_chunks:
                        check_unchanged()
                    continue
                pending.append(_Pending(path, "updated" if existing else "added", docs, note))
                if sum(len(p.documents) for p in pending) >= self.batch_chunks:
                    flush()
            remaining.position = len(files)
            check_unchanged()
            flush(last=True)
            stories.save()  # signatures of unchanged articles that had none
            complete = stories.marked_complete or stories.complete()
            if complete and not stories.marked_complete:
                copies.mark_complete(
                    self._engine(), manager.namespace, str(self.store.collection.id)
                )

            if prune:
                # The story table names every stored article once it is complete: Chroma's
                # first chunks (a read linear in the collection) are not needed then.
                listed = list(stories.rows) if complete else None
                for source_id in self.missing_sources(prune_within, listed):
                    removed = self._delete(source_id)
                    deleted_chunks += removed
                    if removed:  # else only a story row outlived its article: not news
                        report(FileResult(source_id, "deleted"))
            if embedded or deleted_chunks or any(r.status in ("updated", "moved") for r in results):
                self.store.bump_generation()
        return SyncReport(
            files=tuple(results),
            chunks_embedded=embedded,
            chunks_deleted=deleted_chunks,
            seconds=time.perf_counter() - started,
        )

    @contextmanager
    def _encoding_thread(self) -> Iterator[_Submit]:
        """The thread that embeds steps: yields ``submit(texts, encoded)`` -> the future vectors.

        On leaving (an error, Ctrl-C), steps not started are dropped and the one being
        embedded stops after its current encoder batch, so nothing outlives the lock.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dossier-encode")
        stop = threading.Event()

        def submit(texts: list[str], encoded: Callable[[int], None]) -> Future[_Vectors]:
            # The caller's context goes along: a web app's progress bar lives in it.
            context = contextvars.copy_context()
            return executor.submit(context.run, self._encode, texts, encoded, stop)

        try:
            yield submit
        finally:
            stop.set()
            executor.shutdown(wait=True, cancel_futures=True)

    def _encode(
        self, texts: list[str], encoded: Callable[[int], None], stop: threading.Event
    ) -> _Vectors:
        """Vectors of ``texts`` (text -> vector), one encoder batch at a time so that
        ``encoded`` hears of each batch; texts of similar length go together (less padding)."""
        by_length = sorted(texts, key=len)
        vectors: _Vectors = {}
        size = self.embedder.batch_size
        for start in range(0, len(by_length), size):
            if stop.is_set():
                raise CancelledError("the ingest stopped")
            batch = by_length[start : start + size]
            vectors.update(zip(batch, self.embedder.encode(batch).tolist(), strict=True))
            encoded(len(batch))
        return vectors

    def _move(self, old: str, documents: list[Document], recorded: bool) -> bool:
        """Re-key the stored article ``old`` as ``documents`` (a new path), reusing its vectors.

        New chunks, then their records, then the old records and chunks: a crash
        at any point leaves a state a re-run finishes (``recorded``: the new
        chunks are already tracked, only the old article is left to remove).
        False, with nothing changed, when the stored chunks do not fit the new
        ones (other chunking settings): the file is then embedded as usual.
        """
        manager = self.record_manager
        old_keys = manager.list_keys(group_ids=[old])
        if recorded:
            ids = [self._document_id(d) for d in documents]
            if len(self.store.get(ids=ids, include_text=False)) != len(ids):
                return False  # Chroma lost some: the unchanged check re-adds them first
        else:
            stored = self.store.get(where={SOURCE_ID: old})
            by_span = {
                (c.metadata.get(CHUNK_INDEX), c.metadata.get("start"), c.metadata.get("end")): c
                for c in stored
            }
            vectors = self.store.vectors([c.id for c in stored])
            spans = [
                (d.metadata[CHUNK_INDEX], d.metadata["start"], d.metadata["end"]) for d in documents
            ]
            # The chunks must hold this very text: a story row can be newer than its
            # chunks (an ingest stopped between the two), and a same-length edit keeps
            # the chunk spans while changing their text and vectors.
            content_hash = documents[0].metadata[CONTENT_HASH]
            if (
                len(stored) != len(documents)
                or any(c.metadata.get(CONTENT_HASH) != content_hash for c in stored)
                or any(span not in by_span or by_span[span].id not in vectors for span in spans)
            ):
                return False
            new_ids = [self._document_id(d) for d in documents]
            self.store.add(
                ids=new_ids,
                texts=[d.page_content for d in documents],
                vectors=[vectors[by_span[span].id] for span in spans],
                metadatas=[d.metadata for d in documents],
            )
            source_id = documents[0].metadata[SOURCE_ID]
            manager.update(new_ids, group_ids=[source_id] * len(new_ids))
        stored_ids = [c.id for c in self.store.get(where={SOURCE_ID: old}, include_text=False)]
        # Records first: until the old chunks are gone, a re-run still sees the move to finish.
        manager.delete_keys(old_keys)
        self.store.delete(ids=sorted(set(old_keys) | set(stored_ids)))
        copies.forget_members(self._engine(), manager.namespace, [old])
        self._record_overrides(old)  # a new file saved at the old path must not inherit them
        return True

    def _drop_untracked(self, documents: list[Document]) -> None:
        """Delete chunks of the article that no record tracks and this version does not have.

        They are left by an ingest killed between writing to Chroma and writing
        the records; without this they would sit beside the new version.
        """
        if not documents:
            return
        source_id = documents[0].metadata[SOURCE_ID]
        tracked = set(self.record_manager.list_keys(group_ids=[source_id]))
        wanted = {d.id for d in documents}
        stored = {c.id for c in self.store.get(where={SOURCE_ID: source_id}, include_text=False)}
        stale = sorted(stored - tracked - wanted)
        if stale:
            log.warning("%s: deleting %d untracked chunk(s)", source_id, len(stale))
            self.store.delete(ids=stale)

    # -- story groups: copies of one story (ingest/copies.py) ---------------------------
    #
    # Every copy keeps its own chunks (stored and embedded like any article): deleting or
    # changing one member never touches another, and a crash leaves nothing to repair.
    # Retrieval returns one member per story (assistant/retrieval.py: one_per_story).

    def _story_book(self) -> copies.StoryBook:
        """The stored stories, for this ingest (``copies.StoryBook``).

        While the story table is not known to hold every stored article, each stored
        article's first chunk is read from Chroma as well: its story id stands for a
        missing row. Chroma's metadata filter is linear in the collection (56 s at 1M
        chunks), so once an ingest has given every article its row, the table is
        marked complete and read alone.
        """
        engine, namespace = self._engine(), self.record_manager.namespace
        if self._stories_trusted():
            return copies.StoryBook.open(engine, namespace)
        chunk_rows, chunk_listings = {}, {}
        for chunk in self.store.get(where={CHUNK_INDEX: 0}, include_text=False):
            m = chunk.metadata
            source_id = str(m.get(SOURCE_ID, ""))
            chunk_rows[source_id] = (
                str(m.get(CONTENT_HASH, "")),
                str(m.get(STORY_ID) or source_id),
            )
            chunk_listings[source_id] = listing(m)
        return copies.StoryBook.open(engine, namespace, chunk_rows, chunk_listings)

    def _stories_trusted(self) -> bool:
        """Whether the story table is marked complete for this very Chroma collection."""
        return copies.is_complete(
            self._engine(), self.record_manager.namespace, str(self.store.collection.id)
        )

    def story_rows(self) -> tuple[bool, dict[str, tuple[str, str | None]]]:
        """(whether the story table is trusted, its rows: source_id -> (content hash,
        ``listing``)), for ``doctor``."""
        rows = copies.described(self._engine(), self.record_manager.namespace)
        return self._stories_trusted(), rows

    def distrust_stories(self, source_ids: Sequence[str]) -> None:
        """Drop these story rows and the completeness mark (``doctor --repair``): the next
        ingest reads every stored first chunk again and gives each article its row."""
        engine, namespace = self._engine(), self.record_manager.namespace
        copies.unmark(engine, namespace)  # first: stopped after it, nothing is trusted
        copies.forget_members(engine, namespace, source_ids)

    def forget_stories(self) -> None:
        """Drop every story row and the completeness mark (a rebuild starts them afresh)."""
        copies.forget_namespace(self._engine(), self.record_manager.namespace)

    def _in_story(self, article: Article, stories: copies.StoryBook) -> Article:
        """``article`` with its story id: as stored if unchanged, else a stored copy's or its own."""
        stored = stories.story_of(article.source_id, article.content_hash)
        if stored is not None and stored[1]:
            return replace(article, story_id=stored[0])
        minhash, size = copies.signature(article.text, article.title)
        if stored is not None:  # stored, but no signature row (rebuilt records)
            story = stored[0]
            listed = stories.chunk_listings.get(article.source_id)  # as its first chunk says
            stories.keep(
                copies.Member(article.source_id, story, article.content_hash, minhash, size, listed)
            )
        else:
            story = stories.assign(article.source_id, article.content_hash, minhash, size)
        return replace(article, story_id=story)

    def story_members(self, story_ids: Iterable[str]) -> dict[str, list[SourceInfo]]:
        """The stored copies of each of ``story_ids`` that has several, by story id."""
        wanted = self._stories_with_copies(sorted(set(story_ids)))
        if not wanted:
            return {}
        # The first chunks are picked here, not in Chroma's filter: "chunk 0" holds in every
        # article, and Chroma's $and of it with the stories took 44 ms at 100k chunks
        # against 7 ms for the stories' chunks alone (growing with the collection).
        chunks = self.store.get(where={STORY_ID: {"$in": wanted}}, include_text=False)
        first_chunks = [c.metadata for c in chunks if c.metadata.get(CHUNK_INDEX) == 0]
        members: dict[str, list[SourceInfo]] = {}
        for info in sorted(map(to_source_info, first_chunks), key=_by_name):
            members.setdefault(info.story_id, []).append(info)
        return members

    def _stories_with_copies(self, story_ids: list[str]) -> list[str]:
        """Those of ``story_ids`` that the story table counts several articles in.

        Only these are looked up in Chroma, whose metadata filters take time linear in
        the collection (60 ms at 1M chunks); the story table is indexed, and its rows are
        written before the chunks that carry their story ids. When the records cannot be
        read (damaged, until ``dossier doctor`` rebuilds them), every story is looked up
        in Chroma: an answer never needs the records.
        """
        if not story_ids:
            return []
        import sqlalchemy

        try:
            sizes = copies.story_sizes(self._engine(), self.record_manager.namespace, story_ids)
        except (StoreUnavailable, sqlalchemy.exc.SQLAlchemyError) as exc:
            log.warning("looking up story copies in Chroma: %s", exc)
            return story_ids
        return [story for story in story_ids if sizes.get(story, 0) > 1]

    # -- removal ------------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        """Every stored article: from the story table once it is complete (``StoryBook``),
        else from each article's first chunk in Chroma (a metadata filter that is linear
        in the collection: 56 s at 1M chunks)."""
        if self._has_records() and self._stories_trusted():
            rows = copies.described(self._engine(), self.record_manager.namespace).values()
            listed = ",".join(text for _, text in rows if text is not None)
            # One parse of them all: json.loads per row took most of the time at 250,000.
            infos = [to_source_info(m) for m in json.loads(f"[{listed}]")]
        else:
            first_chunks = self.store.get(where={CHUNK_INDEX: 0}, include_text=False)
            infos = [to_source_info(chunk.metadata) for chunk in first_chunks]
        return sorted(infos, key=lambda i: (i.source.lower(), i.source_id))

    def missing_sources(
        self, within: Sequence[str | Path] | None = None, stored: Sequence[str] | None = None
    ) -> list[str]:
        """Stored articles whose files no longer exist (only those under ``within``, if given).

        ``stored``: the stored articles' source ids, when known; else Chroma lists them.
        """
        roots = None if within is None else [Path(p).resolve() for p in within]
        if stored is None:
            stored = [i.source_id for i in self.sources()]
        return sorted(
            source_id
            for source_id in stored
            if not Path(source_id).exists()
            and (roots is None or any(Path(source_id).is_relative_to(r) for r in roots))
        )

    def delete(self, source_ids: Sequence[str]) -> int:
        """Remove articles (by ``source_id``) from Chroma and the record manager.

        The intent is committed first (a tombstone per article), so a killed
        delete is finished by running it again or by ``doctor --repair``; each
        tombstone is cleared once its article is gone.
        """
        with self.locked(), self._reading_records():
            self._mark_deleted(source_ids)
            removed = 0
            for source_id in dict.fromkeys(source_ids):
                removed += self._delete(source_id)
                self._clear_tombstone(source_id)
            if removed:
                self.store.bump_generation()
            return removed

    def _delete(self, source_id: str) -> int:
        manager = self.record_manager
        keys = manager.list_keys(group_ids=[source_id])
        stored = [c.id for c in self.store.get(where={SOURCE_ID: source_id}, include_text=False)]
        # Delete from Chroma first: a crash in between leaves records without chunks,
        # which the next sync of the file re-embeds, never chunks nobody tracks.
        self.store.delete(ids=sorted(set(keys) | set(stored)))
        manager.delete_keys(keys)
        copies.forget_members(self._engine(), manager.namespace, [source_id])
        self._record_overrides(source_id)
        return len(set(keys) | set(stored))

    # -- dates and outlets given at ingest ------------------------------------------------

    def _overrides(
        self, path: Path, date: str | None, outlet: str | None
    ) -> tuple[str | None, str | None]:
        """The date and outlet that win over the file's own for ``path``: those given now,
        else those recorded when they were given (``_record_overrides``, once the file has
        been read), so that a later re-read of the file - a watched folder's re-sync,
        ``doctor --repair`` - keeps them."""
        recorded_date, recorded_outlet = self.overrides_of(str(path))
        date = date if date is not None else recorded_date
        outlet = outlet if outlet is not None else recorded_outlet
        return date, outlet

    def overrides_of(self, source_id: str) -> tuple[str | None, str | None]:
        """The date and outlet recorded for ``source_id`` at ingest (None where none was)."""
        import sqlalchemy

        table = _override_table()
        with self._engine().connect() as connection:
            row = connection.execute(
                sqlalchemy.select(table.c.date, table.c.outlet).where(
                    table.c.namespace == self.record_manager.namespace,
                    table.c.source_id == source_id,
                )
            ).first()
        return (row[0], row[1]) if row is not None else (None, None)

    def _record_overrides(
        self, source_id: str, record: tuple[str | None, str | None] | None = None
    ) -> None:
        """Drop the overrides recorded for ``source_id``, and ``record`` new ones in their
        place (one transaction: SQLite and PostgreSQL alike, no dialect's upsert)."""
        import sqlalchemy

        table = _override_table()
        namespace = self.record_manager.namespace
        with self._engine().begin() as connection:
            connection.execute(
                sqlalchemy.delete(table).where(
                    table.c.namespace == namespace, table.c.source_id == source_id
                )
            )
            if record is not None:
                connection.execute(
                    sqlalchemy.insert(table),
                    [
                        {
                            "namespace": namespace,
                            "source_id": source_id,
                            "date": record[0],
                            "outlet": record[1],
                        }
                    ],
                )


def _by_name(info: SourceInfo) -> tuple[str, str]:
    return ((info.outlet or info.source).lower(), info.source_id)


@functools.cache  # one Table object per process: SQLAlchemy keys its metadata on it
def _override_table() -> sqlalchemy.Table:
    """The date and outlet given at ingest (``--date``/``--outlet``, the upload form), per file."""
    import sqlalchemy

    return sqlalchemy.Table(
        OVERRIDES,
        sqlalchemy.MetaData(),
        sqlalchemy.Column("namespace", sqlalchemy.String(255), primary_key=True),
        sqlalchemy.Column("source_id", sqlalchemy.String(4096), primary_key=True),
        sqlalchemy.Column("date", sqlalchemy.String(10), nullable=True),
        sqlalchemy.Column("outlet", sqlalchemy.String(200), nullable=True),
    )


@functools.cache
def _tombstone_table() -> sqlalchemy.Table:
    """The tombstones: one row per article whose delete has started and not finished."""
    import sqlalchemy

    return sqlalchemy.Table(
        TOMBSTONES,
        sqlalchemy.MetaData(),
        sqlalchemy.Column("namespace", sqlalchemy.String(255), primary_key=True),
        sqlalchemy.Column("source_id", sqlalchemy.String(4096), primary_key=True),
        sqlalchemy.Column("requested_at", sqlalchemy.String(64), nullable=False),
    )


def advisory_key(collection: str) -> int:
    """The PostgreSQL advisory lock that one collection's ingests take (a signed 64-bit int)."""
    digest = hashlib.sha256(f"dossier-ingest/{collection}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
