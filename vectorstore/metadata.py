"""The one converter between Dossier's types and the metadata stored with each chunk.

Chroma keeps a flat dict of str/int values beside every chunk. Ingest writes it
(``chunk_metadata``), retrieval and the library read it back (``to_passage``,
``to_source_info``), and the store filters on its keys: all of them go through
here, so a key is spelled once.
"""

from __future__ import annotations

import json
from typing import Any

from core.dates import day_number
from core.types import Article, Chunk, Passage, SourceInfo

# The keys the store filters on.
SOURCE_ID = "source_id"  # the article's absolute path: its identity
CHUNK_INDEX = "chunk_index"
CONTENT_HASH = "content_hash"
DAY = "day"  # the article's date as an int YYYYMMDD (0: undated), for range filters
STORY_ID = "story_id"  # the story group (see Article.story_id)


def chunk_metadata(
    article: Article, chunk: Chunk, *, chunk_count: int, ingested_at: str
) -> dict[str, Any]:
    """What is stored beside ``chunk`` of ``article`` (Chroma takes no None values)."""
    return {
        SOURCE_ID: article.source_id,
        "source": article.source,
        "title": article.title,
        "outlet": article.outlet or "",
        "date": article.date or "",
        "date_text": article.date_text or "",
        DAY: day_number(article.date),
        STORY_ID: article.story_id or article.source_id,
        CONTENT_HASH: article.content_hash,
        "ingested_at": ingested_at,
        "chunk_count": chunk_count,
        CHUNK_INDEX: chunk.index,
        "start": chunk.start,
        "end": chunk.end,
    }


def day_where(days: tuple[int, int] | None) -> dict[str, Any] | None:
    """The Chroma ``where`` that keeps chunks whose article day is within ``days`` (inclusive).

    ``days`` are YYYYMMDD ints (``core.timescope.DateRange.days``); None: no filter.
    Undated articles (day 0) fall outside every range.

    Example:
        >>> day_where((20220101, 20221231))
        {'$and': [{'day': {'$gte': 20220101}}, {'day': {'$lte': 20221231}}]}
    """
    if days is None:
        return None
    first, last = days
    return {"$and": [{DAY: {"$gte": max(first, 1)}}, {DAY: {"$lte": last}}]}


def to_passage(chunk: Any, score: float) -> Passage:
    """A stored chunk (anything with ``id``, ``text`` and ``metadata``) as a ``Passage``."""
    m = chunk.metadata
    return Passage(
        id=chunk.id,
        source=str(m.get("source", "")),
        title=str(m.get("title", "")),
        text=chunk.text,
        start=int(m.get("start", 0)),
        end=int(m.get("end", len(chunk.text))),
        score=round(score, 6),
        outlet=m.get("outlet") or None,
        date=m.get("date") or None,
        source_id=str(m.get(SOURCE_ID, "")),
        date_text=m.get("date_text") or None,
        story_id=str(m.get(STORY_ID) or m.get(SOURCE_ID, "")),
    )


# What ``to_source_info`` reads: an article's listing, kept in its story row (``listing``).
LISTING_KEYS = (
    "source",
    "title",
    "outlet",
    "date",
    "chunk_count",
    "ingested_at",
    SOURCE_ID,
    "date_text",
    STORY_ID,
)


def listing(metadata: dict[str, Any]) -> str:
    """The part of a chunk's metadata that lists its article, as JSON (``to_source_info``)."""
    return json.dumps({k: metadata[k] for k in LISTING_KEYS if k in metadata}, sort_keys=True)


def to_source_info(metadata: dict[str, Any]) -> SourceInfo:
    """The article a chunk belongs to, from any one of its chunks' metadata."""
    return SourceInfo(
        source=str(metadata.get("source", "")),
        title=str(metadata.get("title", "")),
        outlet=metadata.get("outlet") or None,
        date=metadata.get("date") or None,
        chunks=int(metadata.get("chunk_count", 0)),
        ingested_at=str(metadata.get("ingested_at", "")),
        source_id=str(metadata.get(SOURCE_ID, "")),
        date_text=metadata.get("date_text") or None,
        story_id=str(metadata.get(STORY_ID) or metadata.get(SOURCE_ID, "")),
    )
