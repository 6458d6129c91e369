"""The only module that talks to Chroma: an embedded directory or a server.

Chroma's own errors are translated here into ``StoreUnavailable`` with a message
that names the fix. The collection records which embedding model filled it, so
a store is never queried with vectors from a different model, and a generation
counter that every write bumps, so other components (other processes' keyword
indexes, caches) can tell cheaply that the contents changed.

The keyword index (``vectorstore/fts.py``, SQLite FTS5, or ``vectorstore/pg_keywords.py``
in PostgreSQL when the records live there) is written here, in the
same step as Chroma, so every write path (ingest, delete, moves, repairs) keeps
the two in step: chunks enter the keyword index before Chroma and leave it after
Chroma, so after a crash it holds at most extra chunks, never fewer, and
``sync_keywords`` (run by retrieval when the store changed, and by repair)
brings it back to exactly Chroma's chunks.
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from core.errors import ConfigError, DiskFull, NoDataDirectory, NotWritable, StoreUnavailable
from vectorstore.fts import KeywordStore
from vectorstore.metadata import DAY
from vectorstore.pg_keywords import AnyKeywordStore, PgKeywordStore

if TYPE_CHECKING:
    import chromadb

logging.getLogger("chromadb.telemetry").setLevel(logging.CRITICAL)
log = logging.getLogger(__name__)

MODEL_KEY = "dossier_embedding_model"
REBUILD = (
    "`dossier doctor --rebuild PATH...` rebuilds it from the article files "
    "(the damaged copy is kept aside)"
)
GENERATION_KEY = "dossier_generation"
# Below this much free space, a Chroma failure that could come from a full disk (its
# compaction errors name no cause) is taken for one.
LOW_SPACE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as Chroma holds it."""

    id: str
    text: str
    metadata: dict[str, Any]
    distance: float = 0.0


GET_PAGE = 5000  # chunks per Chroma read (see ChunkStore.get)


class ChunkStore:
    """A Chroma collection of article chunks.

    An embedded store's ``persist_dir`` must exist: the store never makes it
    (``NoDataDirectory`` otherwise); a read-only one raises ``NotWritable``.

    Example:
        >>> Path("data/chroma").mkdir(parents=True, exist_ok=True)
        >>> store = ChunkStore(persist_dir=Path("data/chroma"), collection="dossier",
        ...                    embedding_model="all-MiniLM-L6-v2")
        >>> store.count()
        0
    """

    def __init__(
        self,
        *,
        persist_dir: Path | None = None,
        url: str | None = None,
        collection: str = "dossier",
        embedding_model: str = "",
        timeout: float = 5.0,
        keyword_path: Path | None = None,
        keyword_url: str | None = None,
    ) -> None:
        if (persist_dir is None) == (url is None):
            raise ConfigError(
                f"exactly one of persist_dir or url is needed, got persist_dir={persist_dir!r} "
                f"and url={url!r}"
            )
        self.persist_dir = persist_dir
        self.url = url
        self.collection_name = collection
        self.embedding_model = embedding_model
        self.timeout = timeout
        # None: an in-memory keyword index, filled from Chroma on first retrieval.
        self.keyword_path = keyword_path
        # A PostgreSQL URL: the index lives there, shared by every process (keyword_path unused).
        self.keyword_url = keyword_url
        self._client: chromadb.ClientAPI | None = None
        self._collection: chromadb.Collection | None = None
        self._keywords: AnyKeywordStore | None = None
        self._lock = threading.Lock()

    @property
    def keywords(self) -> AnyKeywordStore:
        """The keyword index of this collection's chunks (opened on first use)."""
        if self._keywords is None:
            with self._lock:
                if self._keywords is None:
                    self._keywords = self._open_keywords()
        return self._keywords

    def _open_keywords(self) -> AnyKeywordStore:
        import sqlite3

        if self.keyword_url is not None:
            return PgKeywordStore(self.keyword_url, space=self.collection_name)
        path = self.keyword_path
        if path is not None and not path.parent.is_dir():
            # Reading from a Chroma server with no data directory here (reading makes none):
            # an index in memory, filled from the server's chunks.
            path = None
        try:
            return KeywordStore(path if path is not None else ":memory:")
        except sqlite3.Error as exc:
            assert path is not None
            if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
                raise NotWritable.at(path.parent, exc) from None
            raise StoreUnavailable(
                f"the keyword index {path} cannot be opened ({exc}); `dossier doctor --repair` "
                "rebuilds it from Chroma after you move the file aside"
            ) from None

    # -- connection ---------------------------------------------------------------------

    @property
    def where(self) -> str:
        return (
            f"Chroma server at {self.url}" if self.url else f"Chroma directory {self.persist_dir}"
        )

    def _connect(self) -> chromadb.ClientAPI:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if self.persist_dir is not None:
            # Never made here (Chroma would make it): whoever owns the directory makes it
            # when writing, so reading a mistyped path fails instead of leaving a store behind.
            if not self.persist_dir.is_dir():
                raise NoDataDirectory(
                    f"there is no Chroma directory at {self.persist_dir}; ingest articles to "
                    "make one: `dossier ingest PATH`"
                )
            try:
                return chromadb.PersistentClient(path=str(self.persist_dir), settings=settings)
            except Exception as exc:
                if _is_read_only(exc):
                    raise NotWritable.at(self.persist_dir, exc) from exc
                if is_disk_full(exc, self.persist_dir):
                    raise DiskFull.at(self.persist_dir, free_space(self.persist_dir)) from exc
                raise StoreUnavailable(
                    f"cannot open the {self.where} ({type(exc).__name__}: {exc}); check that the "
                    f"directory is writable. If it is damaged, {REBUILD}"
                ) from exc
        assert self.url is not None
        self._check_server()
        parts = urlsplit(self.url)
        try:
            client = chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=settings,
            )
        except Exception as exc:
            raise self._unreachable(exc) from exc
        set_http_timeout(client, self.timeout)
        return client

    def _check_server(self) -> None:
        import httpx

        try:
            httpx.get(f"{self.url.rstrip('/')}/api/v2/heartbeat", timeout=self.timeout)  # type: ignore[union-attr]
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(
            f"Chroma server at {self.url} did not answer within {self.timeout:g} s "
            f"({type(exc).__name__}); start it with `chroma run --path DIR --port PORT` "
            "or unset DOSSIER_CHROMA_URL to use the embedded store"
        )

    @property
    def collection(self) -> chromadb.Collection:
        with self._lock:
            if self._collection is None:
                if self._client is None:
                    self._client = self._connect()
                self._collection = self._open_collection(self._client)
            return self._collection

    def _open_collection(self, client: chromadb.ClientAPI) -> chromadb.Collection:
        try:
            collection = client.get_or_create_collection(
                self.collection_name,
                metadata={
                    "hnsw:space": "cosine",
                    MODEL_KEY: self.embedding_model,
                    GENERATION_KEY: 0,
                },
                embedding_function=None,
            )
        except Exception as exc:
            raise self._translate(exc) from exc
        stored_model = (collection.metadata or {}).get(MODEL_KEY)
        if stored_model and self.embedding_model and stored_model != self.embedding_model:
            raise ConfigError(
                f"collection {self.collection_name!r} was built with embedding model "
                f"{stored_model!r}, but {self.embedding_model!r} is configured; set "
                f"DOSSIER_EMBEDDING_MODEL={stored_model} or use another DOSSIER_COLLECTION"
            )
        return collection

    def _translate(self, exc: BaseException) -> Exception:
        if isinstance(exc, StoreUnavailable | ConfigError):
            return exc
        if self.url is not None:
            # A server that went away mid-session: reconnect on the next call.
            self._client = None
            self._collection = None
            return self._unreachable(exc)
        if _is_read_only(exc):
            return NotWritable.at(self.persist_dir, exc)
        if is_disk_full(exc, self.persist_dir):
            return DiskFull.at(self.persist_dir, free_space(self.persist_dir))
        return StoreUnavailable(
            f"the {self.where} failed ({type(exc).__name__}: {exc}); `dossier doctor` checks "
            f"the data directory. If it is damaged, {REBUILD}"
        )

    def _call(self, fn: str, **kwargs: Any) -> Any:
        collection = self.collection
        try:
            return getattr(collection, fn)(**kwargs)
        except Exception as exc:
            with self._lock:
                raise self._translate(exc) from exc

    def langchain(self, embeddings: Embeddings) -> VectorStore:
        """This collection as a LangChain vector store (for the indexing API)."""
        return LangChainStore(self, embeddings)

    # -- reads --------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._call("count"))

    def generation(self) -> int:
        """A number that changes whenever the collection's contents change.

        Read afresh from Chroma each time, so a write by another process shows.
        """
        self.collection  # noqa: B018
        try:
            fresh = self._client.get_collection(self.collection_name, embedding_function=None)  # type: ignore[union-attr]
        except Exception as exc:
            with self._lock:
                raise self._translate(exc) from exc
        return int((fresh.metadata or {}).get(GENERATION_KEY, 0))

    def query(
        self, embedding: Sequence[float], n: int, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        """The ``n`` chunks nearest ``embedding`` among those ``where`` keeps (Chroma filters
        before the nearest-neighbour search, so a filter still gives up to ``n``)."""
        if n <= 0:
            return []
        result = self._call(
            "query",
            query_embeddings=[list(embedding)],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            StoredChunk(id=i, text=d or "", metadata=dict(m or {}), distance=float(dist))
            for i, d, m, dist in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
        ]

    def get(
        self,
        ids: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        include_text: bool = True,
        limit: int | None = None,
        offset: int | None = None,
        where_document: dict[str, Any] | None = None,
    ) -> list[StoredChunk]:
        """Chunks by ``ids`` and/or filters: ``where`` on metadata, ``where_document`` on the
        text (Chroma's ``$contains`` / ``$regex`` operators)."""
        # Chroma reads a result's metadata with one SQL variable per chunk, and past
        # SQLite's 32,766 it fails ("too many SQL variables"): asking for every article's
        # first chunk did at about 130k chunks. Without a limit, results come in pages.
        if limit is None and ids is not None and len(ids) > GET_PAGE:
            return [
                chunk
                for start in range(0, len(ids), GET_PAGE)
                for chunk in self.get(
                    ids[start : start + GET_PAGE], where, include_text, None, None, where_document
                )
            ]
        if limit is None and ids is None:
            found: list[StoredChunk] = []
            start = offset or 0
            while page := self.get(None, where, include_text, GET_PAGE, start, where_document):
                found += page
                start += len(page)
                if len(page) < GET_PAGE:
                    break
            return found
        include = ["metadatas", "documents"] if include_text else ["metadatas"]
        kwargs: dict[str, Any] = {
            "include": include,
            "where": where,
            "limit": limit,
            "offset": offset,
        }
        if ids is not None:
            kwargs["ids"] = list(ids)
        if where_document is not None:
            kwargs["where_document"] = where_document
        result = self._call("get", **kwargs)
        documents = result.get("documents") or [""] * len(result["ids"])
        return [
            StoredChunk(id=i, text=d or "", metadata=dict(m or {}))
            for i, d, m in zip(result["ids"], documents, result["metadatas"], strict=True)
        ]

    def iter_all(self, page: int = 5000, include_text: bool = True) -> Iterator[StoredChunk]:
        """Every chunk, a page at a time (bounded memory for big collections)."""
        offset = 0
        while chunks := self.get(include_text=include_text, limit=page, offset=offset):
            yield from chunks
            offset += len(chunks)

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vectors of ``ids`` (those that exist)."""
        result = self._call("get", ids=list(ids), include=["embeddings"])
        vectors = result["embeddings"]
        if vectors is None:
            return {}
        return {i: list(v) for i, v in zip(result["ids"], vectors, strict=True)}

    # -- writes -------------------------------------------------------------------------

    def add(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        vectors: Sequence[Sequence[float]],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        """Write chunks; an id that is already stored is overwritten (a re-run is harmless)."""
        self.collection  # noqa: B018  (connects)
        # The keyword index first: a crash in between leaves it with extra chunks only.
        days = [int(m.get(DAY) or 0) for m in metadatas]
        self.keywords.add(zip(ids, texts, days, strict=True))
        step = self._client.get_max_batch_size()  # type: ignore[union-attr]
        for start in range(0, len(ids), step):
            end = start + step
            self._call(
                "upsert",
                ids=list(ids[start:end]),
                documents=list(texts[start:end]),
                embeddings=[list(v) for v in vectors[start:end]],
                metadatas=list(metadatas[start:end]),
            )

    def delete(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> None:
        """Delete chunks by ``ids`` and/or metadata filter ``where``, from Chroma and then
        from the keyword index (a crash in between leaves it with extra chunks only)."""
        if ids is not None and not ids:
            return
        if ids is None:
            ids = [c.id for c in self.get(where=where, include_text=False)]
        elif where is not None:
            ids = [c.id for c in self.get(ids=ids, where=where, include_text=False)]
        if not ids:  # Chroma refuses an empty id list
            return
        self._call("delete", ids=list(ids))
        self.keywords.delete(list(ids))

    def catch_up_keywords(self, generation: int) -> None:
        """Bring the keyword index in step with Chroma at ``generation`` (see ``sync_keywords``),
        for a reader: a write it cannot make (a full disk, a read-only copy) is logged and
        the index used as it is (extra chunks are never answered from: they are not in
        Chroma; missing ones are still found by the dense search)."""
        keywords = self.keywords
        try:
            in_step = keywords.in_step_at()
            self.sync_keywords(full=in_step != generation)
            if in_step != generation:
                keywords.mark_in_step(generation)
        except StoreUnavailable:
            raise
        except Exception as exc:  # sqlite3 or psycopg: the write failed, the reading goes on
            log.warning("the keyword index could not be brought up to date: %s", exc)

    def sync_keywords(self, *, full: bool = False) -> int:
        """Make the keyword index hold exactly Chroma's chunks; returns how many it changed.

        Without ``full``, only when the counts differ (enough after this process's own
        writes: the index never holds fewer chunks than Chroma); with it, the ids are
        compared (after another process wrote to a shared Chroma server, or in repair).
        """
        keywords = self.keywords
        if not full and len(keywords) == self.count():
            return 0
        stored = {c.id for c in self.iter_all(include_text=False)}
        held = keywords.ids()
        extra, missing = sorted(held - stored), sorted(stored - held)
        keywords.delete(extra)
        for start in range(0, len(missing), 1000):
            chunks = self.get(ids=missing[start : start + 1000])
            keywords.add((c.id, c.text, int(c.metadata.get(DAY) or 0)) for c in chunks)
        return len(extra) + len(missing)

    def drop_collection(self) -> None:
        """Delete the whole collection (for a rebuild); it is created afresh on next use."""
        self.collection  # noqa: B018  (connects)
        try:
            self._client.delete_collection(self.collection_name)  # type: ignore[union-attr]
        except Exception as exc:
            with self._lock:
                raise self._translate(exc) from exc
        with self._lock:
            self._collection = None
        self.keywords.clear()

    def bump_generation(self) -> int:
        """Mark the contents as changed; returns the new generation."""
        collection = self.collection
        metadata = dict(collection.metadata or {})
        new = int(metadata.get(GENERATION_KEY, 0)) + 1
        metadata[GENERATION_KEY] = new
        metadata.pop("hnsw:space", None)  # fixed at creation; Chroma refuses to modify it
        try:
            collection.modify(metadata=metadata)
        except Exception as exc:
            with self._lock:
                raise self._translate(exc) from exc
        # This process wrote both; equal counts then mean equal contents (see sync_keywords).
        if len(self.keywords) == self.count():
            self.keywords.mark_in_step(new)
        return new


class LangChainStore(VectorStore):
    """A ``ChunkStore`` as a LangChain ``VectorStore``, for LangChain's indexing API.

    Writes go through the store's own methods, so Chroma's errors arrive already
    translated into ``StoreUnavailable``.
    """

    def __init__(self, store: ChunkStore, embeddings: Embeddings) -> None:
        self.store = store
        self._embeddings = embeddings

    @property
    def embeddings(self) -> Embeddings:
        return self._embeddings

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.get("ids") or [str(d.id) for d in documents]
        texts = [d.page_content for d in documents]
        vectors = self._embeddings.embed_documents(texts)
        self.store.add(ids, texts, vectors, [d.metadata for d in documents])
        return list(ids)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        self.store.delete(ids=ids or [])
        return True

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        hits = self.store.query(self._embeddings.embed_query(query), k)
        return [Document(id=c.id, page_content=c.text, metadata=c.metadata) for c in hits]

    @classmethod
    def from_texts(cls, *args: Any, **kwargs: Any) -> LangChainStore:
        raise NotImplementedError("make a ChunkStore and call its langchain() method")


def _is_read_only(exc: BaseException) -> bool:
    """Whether a Chroma failure comes from a directory or database it may not write to."""
    cause: BaseException | None = exc
    for _ in range(10):  # the error and what caused it (a chain can loop)
        if cause is None:
            break
        if isinstance(cause, PermissionError) or getattr(cause, "errno", None) == errno.EROFS:
            return True
        if "readonly database" in str(cause):  # SQLite's SQLITE_READONLY, as Chroma words it
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def free_space(directory: Path | None) -> int | None:
    """Free bytes on the filesystem holding ``directory`` (or its nearest existing parent)."""
    if directory is None:
        return None
    for place in (directory, *directory.parents):
        try:
            return shutil.disk_usage(place).free
        except OSError:
            continue
    return None


# What SQLite and Chroma say when a write found no room (Chroma's compaction errors do
# not say why, so they count only when the disk is in fact (nearly) full).
_FULL_MARKERS = ("database or disk is full", "no space left on device")
_MAYBE_FULL_MARKERS = ("error in compaction", "failed to apply logs")


def is_disk_full(exc: BaseException, directory: Path | None) -> bool:
    """Whether a failure to write under ``directory`` comes from a full disk.

    ENOSPC anywhere in the exception chain, SQLite's "database or disk is full",
    or one of Chroma's compaction errors while ``directory``'s disk has less than
    ``LOW_SPACE_BYTES`` free.
    """
    maybe = False
    cause: BaseException | None = exc
    for _ in range(10):  # the error and what caused it (a chain can loop)
        if cause is None:
            break
        if getattr(cause, "errno", None) == errno.ENOSPC:
            return True
        message = str(cause).lower()
        if any(marker in message for marker in _FULL_MARKERS):
            return True
        maybe = maybe or any(marker in message for marker in _MAYBE_FULL_MARKERS)
        cause = cause.__cause__ or cause.__context__
    if not maybe:
        return False
    free = free_space(directory)
    return free is not None and free < LOW_SPACE_BYTES


def set_http_timeout(client: chromadb.ClientAPI, timeout: float) -> bool:
    """Give a Chroma HTTP client's connection a timeout; True if it could be set.

    chromadb's HTTP session has no timeout at all and no public setting for one,
    so a hung server would hang every call. This is the one place that reaches
    into chromadb's private attributes (``_server._session``);
    tests/test_server.py fails if a chromadb release moves them.
    """
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        return False
    session.timeout = httpx.Timeout(timeout, read=max(timeout, 60.0))
    return True
