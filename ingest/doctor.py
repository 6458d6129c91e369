"""``dossier doctor``: check that the data directory is consistent, repair it, or rebuild it.

Three things must agree: the record manager (which chunk ids each article
has), Chroma (the chunks and their vectors) and the keyword index (derived from
Chroma at run time). An ingest killed at the wrong moment can leave chunks no
record tracks, or records whose chunks are missing, or two versions of one
article; the next ingest heals most of that itself, and ``repair`` heals the
rest without re-embedding what is intact. A delete that was interrupted (its
tombstone is still there) is reported and finished by ``repair``, never undone:
its article is not synced back. A stored article whose file no longer exists is
reported (``missing-file``) but left alone: ``dossier ingest --prune`` removes
it, and ingesting the file at its new path moves it. A store Chroma cannot open at all, or
a damaged record database, is rebuilt from the article files by the service
(``Assistant.rebuild``), which knows the data directory's layout; the files are those
the records name or, when they cannot be read, those Chroma's chunks name.

Once the story table is marked complete (``copies.StoryBook``), the library and
every ingest read it instead of Chroma, so it is checked too (``story-table``): a
row for every stored article's stored version, listed as its first chunk is, and
no row without an article. ``repair`` drops the mark and the wrong rows; the next
ingest reads the stored chunks again and completes the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import RejectedFile
from core.types import SyncReport
from ingest.loaders import load_article
from ingest.sync import Indexer
from vectorstore.chroma import ChunkStore
from vectorstore.metadata import CHUNK_INDEX, CONTENT_HASH, SOURCE_ID, listing

VECTOR_SAMPLE = 50  # chunks looked up by their own vector to check Chroma's vector index
VECTOR_SEARCH_WIDTH = 50  # neighbours looked at before a sampled chunk counts as lost


@dataclass(frozen=True)
class Problem:
    """One inconsistency, for one article (``source_id``) or for the whole store."""

    # untracked-chunks, missing-chunks, mixed-versions, pending-delete, missing-file,
    # keyword-index, vector-index, story-table
    kind: str
    source_id: str
    detail: str
    ids: tuple[str, ...] = ()  # chunk ids; for story-table, the articles (source ids)


@dataclass(frozen=True)
class Checkup:
    """What ``check`` found."""

    articles: int
    chunks: int
    records: int
    keyword_chunks: int
    vectors_checked: int
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        state = "consistent" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"{self.articles} articles, {self.chunks} chunks in Chroma, {self.records} records, "
            f"{self.keyword_chunks} chunks in the keyword index, {self.vectors_checked} vectors "
            f"checked: {state}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class Repair:
    """What ``repair`` did."""

    adopted: int = 0  # stored chunks that were intact but untracked: now tracked, not re-embedded
    deleted: int = 0  # chunks of no current article version
    forgotten: int = 0  # records whose chunk was missing
    finished_deletes: int = 0  # articles whose interrupted delete was finished
    report: SyncReport = field(default_factory=SyncReport)  # the re-sync of the affected files

    def summary(self) -> str:
        return (
            f"{self.finished_deletes} interrupted deletes finished, "
            f"{self.adopted} chunks adopted, {self.deleted} stale chunks deleted, "
            f"{self.forgotten} records of missing chunks dropped, "
            f"{self.report.chunks_embedded} chunks re-embedded"
        )


def check(indexer: Indexer, keyword_ids: Collection[str]) -> Checkup:
    """Compare the record manager, Chroma and the keyword index, article by article.

    ``keyword_ids`` are the chunk ids the keyword index holds.
    """
    records = indexer.records()
    chunks = {c.id: c.metadata for c in indexer.store.iter_all(include_text=False)}
    problems: list[Problem] = []

    untracked: dict[str, list[str]] = defaultdict(list)
    for chunk_id in sorted(set(chunks) - set(records)):
        untracked[str(chunks[chunk_id].get(SOURCE_ID, ""))].append(chunk_id)
    for source_id, ids in untracked.items():
        problems.append(
            Problem(
                "untracked-chunks", source_id, f"{len(ids)} chunk(s) no record tracks", tuple(ids)
            )
        )
    missing: dict[str, list[str]] = defaultdict(list)
    for key in sorted(set(records) - set(chunks)):
        missing[records[key]].append(key)
    for source_id, ids in missing.items():
        problems.append(
            Problem(
                "missing-chunks",
                source_id,
                f"{len(ids)} recorded chunk(s) are not in Chroma",
                tuple(ids),
            )
        )

    versions: dict[str, set[str]] = defaultdict(set)
    for metadata in chunks.values():
        versions[str(metadata.get(SOURCE_ID, ""))].add(str(metadata.get(CONTENT_HASH, "")))
    for source_id, hashes in sorted(versions.items()):
        if len(hashes) > 1:
            mixed = tuple(i for i, m in chunks.items() if m.get(SOURCE_ID) == source_id)
            problems.append(
                Problem(
                    "mixed-versions",
                    source_id,
                    f"{len(hashes)} versions of the article are stored",
                    mixed,
                )
            )

    for source_id in indexer.pending_deletes():
        problems.append(
            Problem(
                "pending-delete",
                source_id,
                "its delete was interrupted; `dossier doctor --repair` (or the same "
                "`dossier delete` again) finishes it",
            )
        )
    for source_id in sorted(versions):
        if source_id and not Path(source_id).exists():
            problems.append(
                Problem(
                    "missing-file",
                    source_id,
                    "the file no longer exists; ingest it at its new path to move it, or "
                    "`dossier ingest --prune PATH` to remove it (repair leaves it alone)",
                )
            )

    if (stories := _check_story_rows(indexer, chunks)) is not None:
        problems.append(stories)

    keyword_ids = set(keyword_ids)
    if keyword_ids != set(chunks):
        problems.append(
            Problem(
                "keyword-index",
                "",
                f"the keyword index has {len(keyword_ids)} chunks, Chroma {len(chunks)}",
            )
        )
    checked, unfound = _check_vectors(indexer.store, sorted(chunks))
    if unfound:
        problems.append(
            Problem(
                "vector-index",
                "",
                f"{len(unfound)} of {checked} sampled chunks are not found by their own vector; "
                "Chroma's vector index is damaged: run `dossier doctor --rebuild PATH...`",
                tuple(unfound),
            )
        )
    return Checkup(
        articles=len(versions),
        chunks=len(chunks),
        records=len(records),
        keyword_chunks=len(keyword_ids),
        vectors_checked=checked,
        problems=tuple(problems),
    )


def _check_story_rows(indexer: Indexer, chunks: dict[str, dict[str, Any]]) -> Problem | None:
    """Once the story table is marked complete, the library and every ingest trust it
    alone: each stored article must have its row, for the version stored, listed as its
    first chunk is, and no row may outlive its article (a restored backup of Chroma
    under a kept record database could break all of that)."""
    complete, rows = indexer.story_rows()
    if not complete:
        return None  # the next ingest reads the chunks and completes it
    first = {str(m.get(SOURCE_ID, "")): m for m in chunks.values() if m.get(CHUNK_INDEX) == 0}
    wrong = sorted(
        source_id
        for source_id, metadata in first.items()
        if source_id not in rows
        or rows[source_id][0] != metadata.get(CONTENT_HASH)
        or rows[source_id][1] != listing(metadata)
    )
    stale = sorted(set(rows) - set(first))
    if not wrong and not stale:
        return None
    return Problem(
        "story-table",
        "",
        f"{len(wrong)} stored article(s) lack their story row or it is out of date, "
        f"{len(stale)} row(s) have no article; `dossier doctor --repair` drops them and has "
        "the next ingest read the stored chunks again",
        tuple(wrong + stale),
    )


def _check_vectors(store: ChunkStore, ids: list[str]) -> tuple[int, list[str]]:
    """Look up an even sample of chunks by their stored vectors; returns (checked, not found)."""
    if not ids:
        return 0, []
    step = max(1, len(ids) // VECTOR_SAMPLE)
    sample = ids[::step][:VECTOR_SAMPLE]
    unfound = []
    for chunk_id, vector in store.vectors(sample).items():
        # HNSW search is approximate: after many writes and deletes it can rank a point
        # just outside a small top-k. Look wider before calling it lost; a damaged index
        # misses it however wide the search.
        for width in (5, VECTOR_SEARCH_WIDTH):
            if chunk_id in {h.id for h in store.query(vector, width)}:
                break
        else:
            unfound.append(chunk_id)
    return len(sample), unfound


def repair(indexer: Indexer, checkup: Checkup) -> Repair:
    """Make the records and Chroma agree, re-embedding only chunks that are really missing.

    Interrupted deletes are finished first. Untracked chunks that belong to the
    article's current file are adopted (a
    record is written for them); any other chunk of an old version is deleted;
    records whose chunk is missing are dropped, and the affected files are
    synced again, which embeds exactly the chunks they lack.
    """
    store = indexer.store
    adopted = deleted = forgotten = 0
    with indexer.locked():
        # First finish interrupted deletes (all of them, whatever the checkup saw): what
        # the user deleted is never re-synced below.
        finished, removed = indexer.finish_deletes()
        affected = {
            p.source_id for p in checkup.problems if p.source_id and p.kind in _REPAIRABLE
        } - set(finished)
        manager = indexer.record_manager
        for source_id in sorted(affected):
            current = _current_ids(indexer, source_id)
            records = set(manager.list_keys(group_ids=[source_id]))
            stored = {c.id for c in store.get(where={SOURCE_ID: source_id}, include_text=False)}
            keep = current if current is not None else records  # no file: keep what is tracked
            adopt = sorted((stored - records) & keep)
            if adopt:
                manager.update(adopt, group_ids=[source_id] * len(adopt))
                adopted += len(adopt)
            stale = sorted(stored - keep)
            if stale:
                store.delete(ids=stale)
                deleted += len(stale)
            # Records of old versions, and of current chunks Chroma lost (the re-sync
            # below embeds exactly those again).
            dropped = sorted((records - keep) | ((records & keep) - stored))
            if dropped:
                manager.delete_keys(dropped)
                forgotten += len(dropped)
        stories = [p for p in checkup.problems if p.kind == "story-table"]
        if stories:
            indexer.distrust_stories([s for p in stories for s in p.ids])
        if adopted or deleted or forgotten or removed:
            store.bump_generation()
    files = [s for s in sorted(affected) if Path(s).is_file()]
    report = indexer.sync(files) if files else SyncReport()
    return Repair(adopted, deleted, forgotten, len(finished), report)


_REPAIRABLE = frozenset({"untracked-chunks", "missing-chunks", "mixed-versions"})


def _current_ids(indexer: Indexer, source_id: str) -> set[str] | None:
    """The chunk ids the article's file gives today, or None if it is gone or unreadable."""
    path = Path(source_id)
    if not path.is_file():
        return None
    try:
        date, outlet = indexer.overrides_of(source_id)
        article = load_article(path, indexer.max_file_bytes, date=date, outlet=outlet)
    except RejectedFile:
        return None
    return {d.id for d in indexer.documents_of(article, "") if d.id}


def known_sources(indexer: Indexer) -> list[str]:
    """Article files the record manager knows (it does not need Chroma), or none."""
    try:
        return sorted(set(indexer.records().values()))
    except Exception:  # a damaged record database: Chroma's metadata, or the user, names them
        return []


def stored_sources(indexer: Indexer) -> list[str]:
    """Article files Chroma's chunks name (their ``source_id``), or none if it cannot be read.

    For a rebuild when the record manager's database is damaged or empty.
    """
    try:
        return sorted(
            {
                str(chunk.metadata.get(SOURCE_ID, ""))
                for chunk in indexer.store.iter_all(include_text=False)
            }
            - {""}
        )
    except Exception:  # a damaged Chroma as well: the user names the files
        return []
