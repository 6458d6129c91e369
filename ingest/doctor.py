"""``dossier doctor``: check that the data directory is consistent, repair it, or rebuild it.

Three things must agree: the record manager (which chunk ids each article
has), Chroma (the chunks and their vectors) and the keyword index (derived from
Chroma at run time). An ingest killed at the wrong moment can leave chunks no
record tracks, or records whose chunks are missing, or two versions of one
article; the next ingest heals most of that itself, and ``repair`` heals the
rest without re-embedding what is intact. A store Chroma cannot open at all is
``rebuild``-t from the article files, with the damaged copy kept aside.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import RejectedFile, StoreUnavailable
from assistant.types import SyncReport
from ingest.loaders import load_article

if TYPE_CHECKING:
    from assistant.service import Assistant

VECTOR_SAMPLE = 50  # chunks looked up by their own vector to check Chroma's vector index


@dataclass(frozen=True)
class Problem:
    """One inconsistency, for one article (``source_id``) or for the whole store."""

    kind: str  # untracked-chunks, missing-chunks, mixed-versions, keyword-index, vector-index
    source_id: str
    detail: str
    ids: tuple[str, ...] = ()


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
    report: SyncReport = field(default_factory=SyncReport)  # the re-sync of the affected files

    def summary(self) -> str:
        return (
            f"{self.adopted} chunks adopted, {self.deleted} stale chunks deleted, "
            f"{self.forgotten} records of missing chunks dropped, "
            f"{self.report.chunks_embedded} chunks re-embedded"
        )


def check(bot: Assistant) -> Checkup:
    """Compare the record manager, Chroma and the keyword index, article by article."""
    records = bot.indexer.records()
    chunks = {c.id: c.metadata for c in bot.store.iter_all(include_text=False)}
    problems: list[Problem] = []

    untracked: dict[str, list[str]] = defaultdict(list)
    for chunk_id in sorted(set(chunks) - set(records)):
        untracked[str(chunks[chunk_id].get("source_id", ""))].append(chunk_id)
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
        versions[str(metadata.get("source_id", ""))].add(str(metadata.get("content_hash", "")))
    for source_id, hashes in sorted(versions.items()):
        if len(hashes) > 1:
            mixed = tuple(i for i, m in chunks.items() if m.get("source_id") == source_id)
            problems.append(
                Problem(
                    "mixed-versions",
                    source_id,
                    f"{len(hashes)} versions of the article are stored",
                    mixed,
                )
            )

    bot.retriever.refresh()
    keyword_ids = set(bot.retriever.keyword.ids)
    if keyword_ids != set(chunks):
        problems.append(
            Problem(
                "keyword-index",
                "",
                f"the keyword index has {len(keyword_ids)} chunks, Chroma {len(chunks)}",
            )
        )
    checked, unfound = _check_vectors(bot, sorted(chunks))
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


def _check_vectors(bot: Assistant, ids: list[str]) -> tuple[int, list[str]]:
    """Look up an even sample of chunks by their stored vectors; returns (checked, not found)."""
    if not ids:
        return 0, []
    step = max(1, len(ids) // VECTOR_SAMPLE)
    sample = ids[::step][:VECTOR_SAMPLE]
    try:
        stored = bot.store.collection.get(ids=sample, include=["embeddings"])
    except Exception as exc:
        raise StoreUnavailable(f"cannot read vectors from the {bot.store.where}: {exc}") from exc
    unfound = []
    vectors = stored["embeddings"]
    assert vectors is not None  # asked for with include=["embeddings"]
    for chunk_id, vector in zip(stored["ids"], vectors, strict=True):
        hits = bot.store.query(list(vector), 5)
        if chunk_id not in {h.id for h in hits}:
            unfound.append(chunk_id)
    return len(sample), unfound


def repair(bot: Assistant, checkup: Checkup | None = None) -> Repair:
    """Make the records and Chroma agree, re-embedding only chunks that are really missing.

    Untracked chunks that belong to the article's current file are adopted (a
    record is written for them); any other chunk of an old version is deleted;
    records whose chunk is missing are dropped, and the affected files are
    synced again, which embeds exactly the chunks they lack.
    """
    checkup = checkup or check(bot)
    indexer, store = bot.indexer, bot.store
    affected = {p.source_id for p in checkup.problems if p.source_id}
    adopted = deleted = forgotten = 0
    with indexer.locked():
        manager = indexer.record_manager
        for source_id in sorted(affected):
            current = _current_ids(bot, source_id)
            records = set(manager.list_keys(group_ids=[source_id]))
            stored = {c.id for c in store.get(where={"source_id": source_id}, include_text=False)}
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
        if adopted or deleted or forgotten:
            store.bump_generation()
    files = [s for s in sorted(affected) if Path(s).is_file()]
    report = bot.ingest(files) if files else SyncReport()
    return Repair(adopted, deleted, forgotten, report)


def _current_ids(bot: Assistant, source_id: str) -> set[str] | None:
    """The chunk ids the article's file gives today, or None if it is gone or unreadable."""
    path = Path(source_id)
    if not path.is_file():
        return None
    try:
        article = load_article(path, bot.indexer.max_file_bytes)
    except RejectedFile:
        return None
    return {d.id for d in bot.indexer.documents_of(article, "") if d.id}


def _known_sources(bot: Assistant) -> list[str]:
    """Article files the record manager knows (it does not need Chroma), or none."""
    try:
        return sorted(set(bot.indexer.records().values()))
    except Exception:  # a damaged record database: the user names the files instead
        return []


def rebuild(bot: Assistant, paths: list[str]) -> tuple[Path | None, SyncReport]:
    """Move the store aside (never deleted) and ingest ``paths`` (default: the known files).

    Returns the folder the old store was moved to (None for a Chroma server,
    whose collection is dropped instead) and the ingest report.
    """
    settings = bot.settings
    sources = paths or [s for s in _known_sources(bot) if Path(s).exists()]
    if not sources:
        raise StoreUnavailable(
            "no article files to rebuild from: the record manager lists none that still exist; "
            "name them: `dossier doctor --rebuild PATH...`"
        )
    aside: Path | None = None
    with bot.indexer.locked():
        if settings.chroma_url:
            bot.store.drop_collection()
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            aside = settings.data_dir / f"damaged-{stamp}"
            aside.mkdir(parents=True)
            chroma_dir = settings.data_dir / "chroma"
            if chroma_dir.exists():
                shutil.move(str(chroma_dir), str(aside / "chroma"))
        records = settings.data_dir / "records.sqlite"
        if not settings.record_manager_url and records.exists():
            target = aside or settings.data_dir / "damaged-records"
            target.mkdir(parents=True, exist_ok=True)
            shutil.move(str(records), str(target / records.name))
        else:
            manager = bot.indexer.record_manager
            manager.delete_keys(manager.list_keys())
        bot.indexer.forget_record_manager()
    return aside, bot.ingest(sources)
