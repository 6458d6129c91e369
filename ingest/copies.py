"""Copies of one story carried by several outlets: found at ingest, grouped under one story id.

Wire copy reaches many outlets with a new headline, a dateline of its own or a
trimmed last paragraph; the body is otherwise the same text. Each article's
body (its words, lowercased, without the title) is cut into overlapping
``SHINGLE_WORDS``-word shingles, and a MinHash of that set (datasketch)
estimates the Jaccard similarity of two articles' shingles; a MinHash LSH
index (``SignatureIndex``: datasketch's banding, built with numpy) finds the
stored articles that may be that similar without comparing against each one.

Two texts are copies when most of the shorter one's shingles are in the longer
one (*containment*, estimated from the MinHash Jaccard similarity and the two
shingle counts): a trimmed copy is contained in the full one however much was
cut, which Jaccard similarity alone would punish (a BBC article is five long
paragraphs; without its last one it keeps a Jaccard similarity of 0.34 to 0.99,
median 0.69). ``THRESHOLD`` was measured with benchmarks/copies.py on the 2,225 BBC articles
plus copies of 300 of them with a new headline, a dateline and credit line, and
the end trimmed (pairwise, against the truth that copies belong to their
original's story and the corpus's own repeated articles to one story): at 0.8,
precision 0.990 and recall 1.000; at 0.5, 0.958 and 1.000; at 0.9, 1.000 and
0.977. The few pairs grouped beyond the truth are BBC's own rewrites of one
story (e.g. "Roddick into San Jose final" and "Roddick to face Saulnier in
final"), which share most of their text.

A story's id is a label: the ``source_id`` of the first copy ingested. It stays
when that copy is deleted, so no other member has to be rewritten.

"Stored once per story" is kept at retrieval, not in storage: every copy keeps
its own chunks (the library lists each file with its outlet), and retrieval
returns only the best-matching copy of a story (``assistant.retrieval.one_per_story``);
the answer names the others ("carried by 3 outlets"). Storing only the first
copy's chunks would save embedding a near-duplicate, but deleting or changing
that copy would then mean re-embedding another one, a second crash-prone step;
as it is, a copy's ingest, update and delete touch that copy alone.

The signatures persist in the record manager's database (``STORY_TABLE``:
source_id, story_id, content hash, signature bytes), beside the records, so a
new process groups new copies with those stored before.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from datasketch import MinHash, MinHashLSH

if TYPE_CHECKING:
    import sqlalchemy

STORY_TABLE = "dossier_story_signature"  # Dossier's own table in the record manager's database
# Namespaces whose story table has a row for every stored article (``StoryBook``).
COMPLETE_TABLE = "dossier_story_complete"
SHINGLE_WORDS = 5
NUM_PERM = 128  # MinHash permutations: the estimate's standard error is about 0.04
SEED = 1  # fixed: signatures are compared across processes
SCHEME = "affine32"  # datasketch's permutation scheme, named: stored values depend on it
THRESHOLD = 0.8  # estimated containment of the shorter text's shingles at which two are copies
# The LSH index finds candidates by Jaccard similarity: a copy trimmed to half its length still
# has 0.5 (and a containment of 1.0), so candidates are sought well below that.
CANDIDATE_JACCARD = 0.3
MIN_SHINGLES = 20  # a shorter body is too little text to call anything a copy of it

_WORD = re.compile(r"\w+")


def body_words(text: str, title: str = "") -> list[str]:
    """The lowercased words of ``text`` without its title (a copy's headline often differs).

    Example:
        >>> body_words("Otters return\\n\\nVolunteers counted 412 otters.", "Otters return")
        ['volunteers', 'counted', '412', 'otters']
    """
    body = text.lstrip()
    if title and body.startswith(title.strip()):
        body = body[len(title.strip()) :]
    return _WORD.findall(body.lower())


def shingles(text: str, title: str = "") -> set[bytes]:
    """The overlapping ``SHINGLE_WORDS``-word runs of the body (the whole body if shorter)."""
    words = body_words(text, title)
    n = min(SHINGLE_WORDS, len(words))
    return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)} if n else set()


def signature(text: str, title: str = "") -> tuple[np.ndarray, int]:
    """The MinHash values of the body's shingles (comparable across processes: fixed seed)
    and the number of shingles."""
    found = shingles(text, title)
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch(sorted(found))
    return np.asarray(minhash.hashvalues, dtype=np.uint64), len(found)


def containment(a: np.ndarray, a_size: int, b: np.ndarray, b_size: int) -> float:
    """The estimated share of the smaller shingle set that is in the other.

    From the estimated Jaccard similarity J (the share of equal MinHash values) and the
    sizes: |A & B| = J (|A| + |B|) / (1 + J).
    """
    if min(a_size, b_size) == 0:
        return 0.0
    jaccard = float(np.count_nonzero(a == b)) / len(a)
    return min(1.0, jaccard * (a_size + b_size) / (1 + jaccard) / min(a_size, b_size))


def to_bytes(values: np.ndarray) -> bytes:
    return np.asarray(values, dtype=np.uint64).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    values = np.frombuffer(data, dtype=np.uint64)
    if len(values) != NUM_PERM:
        raise ValueError(f"a story signature has {len(values)} values, expected {NUM_PERM}")
    return values


# LSH banding as datasketch's MinHashLSH chooses it for CANDIDATE_JACCARD: BANDS bands
# of ROWS values each; two signatures are candidates when any band is equal in both.
_BANDING = MinHashLSH(threshold=CANDIDATE_JACCARD, num_perm=NUM_PERM)
BANDS, ROWS = _BANDING.b, _BANDING.r
del _BANDING


def band_keys(values: np.ndarray) -> np.ndarray:
    """(n, NUM_PERM) MinHash values -> (BANDS, n) keys, one 64-bit number per band.

    Equal bands give equal keys; unequal ones collide with odds of about 2**-64 (and a
    collision only adds a candidate, which ``containment`` then judges).
    """
    bands = values[:, : BANDS * ROWS].reshape(len(values), BANDS, ROWS).astype(np.uint64)
    keys = np.zeros((len(values), BANDS), dtype=np.uint64)
    with np.errstate(over="ignore"):  # the mixing wraps around 2**64 on purpose
        for row in range(ROWS):
            keys = keys * np.uint64(0x9E3779B97F4A7C15) + bands[:, :, row]
    return np.ascontiguousarray(keys.T)


class SignatureIndex:
    """The signatures that share a band with a query's: MinHash LSH, built with numpy.

    The stored signatures are indexed at once (each band's keys sorted, searched by
    bisection); the ones added later go into a dictionary. Loading and indexing 250,000
    stored signatures this way took 5.3 s, against 42.4 s for inserting them one by one
    into datasketch's ``MinHashLSH``; the candidates are the same.
    """

    def __init__(self, ids: Sequence[str] = (), values: np.ndarray | None = None) -> None:
        self._ids = np.asarray(list(ids), dtype=object)
        keys = band_keys(values) if values is not None and len(ids) else np.zeros((BANDS, 0))
        order = np.argsort(keys, axis=1, kind="stable")
        self._sorted = np.take_along_axis(keys, order, axis=1)
        self._order = order.astype(np.uint32 if len(self._ids) < 2**32 else np.int64)
        self._stale: set[str] = set()  # stored ones removed or replaced since
        self._stored = set(self._ids.tolist())
        self._added: dict[tuple[int, int], set[str]] = {}
        self._added_keys: dict[str, list[tuple[int, int]]] = {}

    def insert(self, key: str, values: np.ndarray) -> None:
        self.remove(key)
        bands = [(b, int(k)) for b, k in enumerate(band_keys(values[None])[:, 0])]
        for band in bands:
            self._added.setdefault(band, set()).add(key)
        self._added_keys[key] = bands

    def remove(self, key: str) -> None:
        if key in self._stored:
            self._stale.add(key)
        for band in self._added_keys.pop(key, []):
            self._added[band].discard(key)

    def query(self, values: np.ndarray) -> set[str]:
        keys = band_keys(values[None])[:, 0]
        stored: set[str] = set()
        added: set[str] = set()
        for b, key in enumerate(keys):
            row = self._sorted[b]
            lo, hi = np.searchsorted(row, key, "left"), np.searchsorted(row, key, "right")
            if hi > lo:
                stored.update(self._ids[self._order[b, lo:hi]].tolist())
            added.update(self._added.get((b, int(key)), ()))
        return (stored - self._stale) | added


@dataclass(frozen=True)
class Member:
    """One stored article's place in its story group."""

    source_id: str
    story_id: str
    content_hash: str
    signature: np.ndarray = field(compare=False, repr=False)  # MinHash values
    size: int = 0  # the number of shingles
    # How the library lists it (``vectorstore.metadata.listing``); None until known.
    listing: str | None = field(default=None, compare=False, repr=False)


@dataclass
class StoryGroups:
    """The stored articles' signatures, searchable for copies (an LSH index over them).

    Example:
        >>> groups = StoryGroups()
        >>> groups.assign("/news/ap.txt", "h1", *signature(ap_text))
        '/news/ap.txt'
        >>> groups.assign("/news/cnn.txt", "h2", *signature(cnn_copy_of_ap_text))
        '/news/ap.txt'
    """

    threshold: float = THRESHOLD
    members: dict[str, Member] = field(default_factory=dict)
    _lsh: SignatureIndex = field(init=False, repr=False)
    _labels: Counter[str] = field(init=False, repr=False)  # story id -> members carrying it

    def __post_init__(self) -> None:
        given = list(self.members.values())
        self._lsh = SignatureIndex(
            [m.source_id for m in given],
            np.stack([m.signature for m in given]) if given else None,
        )
        self._labels = Counter(m.story_id for m in given)

    def add(self, member: Member) -> None:
        self.remove(member.source_id)
        self.members[member.source_id] = member
        self._labels[member.story_id] += 1
        self._lsh.insert(member.source_id, member.signature)

    def remove(self, source_id: str) -> None:
        if (member := self.members.pop(source_id, None)) is not None:
            self._labels[member.story_id] -= 1
            self._lsh.remove(source_id)

    def copy_of(self, source_id: str, minhash: np.ndarray, size: int) -> Member | None:
        """The stored article (other than ``source_id``) that this text is most a copy of, if any."""
        if size < MIN_SHINGLES:
            return None
        best: tuple[float, str] | None = None
        for key in self._lsh.query(minhash):
            other = self.members[key]
            if key == source_id or other.size < MIN_SHINGLES:
                continue
            similarity = containment(minhash, size, other.signature, other.size)
            # Ties go to the smallest path, so the choice does not depend on LSH order.
            if similarity >= self.threshold and (best is None or (-similarity, key) < best):
                best = (-similarity, key)
        return self.members[best[1]] if best else None

    def assign(self, source_id: str, content_hash: str, minhash: np.ndarray, size: int) -> str:
        """The story of an article (new or changed): a stored copy's, else a new one.

        A new story is labelled with the article's own ``source_id``, unless another
        article still carries that label (this one was the first of a story and has
        since changed into a different text): then with its content hash as well.
        """
        copy = self.copy_of(source_id, minhash, size)
        if copy is not None:
            story = copy.story_id
        elif self._labels[source_id] > (1 if self._carries_own_label(source_id) else 0):
            story = f"{source_id}#{content_hash[:12]}"
        else:
            story = source_id
        self.add(Member(source_id, story, content_hash, minhash, size))
        return story

    def _carries_own_label(self, source_id: str) -> bool:
        member = self.members.get(source_id)
        return member is not None and member.story_id == source_id


# -- persistence: a table in the record manager's database ------------------------------


@functools.cache  # one Table object per process: SQLAlchemy keys its metadata on it
def story_table() -> sqlalchemy.Table:
    """One row per stored article: its story and the MinHash signature of its body."""
    import sqlalchemy

    return sqlalchemy.Table(
        STORY_TABLE,
        sqlalchemy.MetaData(),
        sqlalchemy.Column("namespace", sqlalchemy.String(255), primary_key=True),
        sqlalchemy.Column("source_id", sqlalchemy.String(4096), primary_key=True),
        sqlalchemy.Column("story_id", sqlalchemy.String(4200), nullable=False),
        sqlalchemy.Column("content_hash", sqlalchemy.String(128), nullable=False),
        sqlalchemy.Column("signature", sqlalchemy.LargeBinary, nullable=False),
        sqlalchemy.Column("shingles", sqlalchemy.Integer, nullable=False),
        # The article as the library lists it (its first chunk's ``listing``), so that
        # listing a complete table needs no read of Chroma. NULL in rows from before it.
        sqlalchemy.Column("listing", sqlalchemy.Text, nullable=True),
        # An answer asks how many copies its cited stories have (``story_sizes``).
        sqlalchemy.Index("dossier_story_by_story", "namespace", "story_id"),
    )


@functools.cache
def complete_table() -> sqlalchemy.Table:
    """One row per namespace whose story table is known to cover every stored article.

    Written by the ingest that finds it so (``StoryBook.complete``), with the id of the
    Chroma collection it found so: a collection made afresh (dropped, its folder
    deleted) does not inherit it. It lives in the same database as the rows, so a
    record database made afresh starts without it.
    """
    import sqlalchemy

    return sqlalchemy.Table(
        COMPLETE_TABLE,
        sqlalchemy.MetaData(),
        sqlalchemy.Column("namespace", sqlalchemy.String(255), primary_key=True),
        sqlalchemy.Column("collection_id", sqlalchemy.String(64), nullable=False),
    )


def add_listing_column(engine: sqlalchemy.Engine) -> None:
    """Give a story table from before the ``listing`` column that column.

    Its rows have no listing yet, so every completeness mark goes: the next ingest
    reads the stored first chunks once, fills the listings from them and marks the
    table complete again.
    """
    import sqlalchemy

    if "listing" in {c["name"] for c in sqlalchemy.inspect(engine).get_columns(STORY_TABLE)}:
        return
    try:
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text(f"ALTER TABLE {STORY_TABLE} ADD COLUMN listing TEXT")
            )
            connection.execute(sqlalchemy.delete(complete_table()))
    except sqlalchemy.exc.DBAPIError:
        # Another process added it first (both saw it missing): nothing is left to do.
        columns = sqlalchemy.inspect(engine).get_columns(STORY_TABLE)
        if "listing" not in {c["name"] for c in columns}:
            raise


def described(engine: sqlalchemy.Engine, namespace: str) -> dict[str, tuple[str, str | None]]:
    """Every row of ``namespace``: source_id -> (content hash, listing)."""
    import sqlalchemy

    table = story_table()
    query = sqlalchemy.select(table.c.source_id, table.c.content_hash, table.c.listing).where(
        table.c.namespace == namespace
    )
    with engine.connect() as connection:
        return {s: (h, listed) for s, h, listed in connection.execute(query).all()}


def unmark(engine: sqlalchemy.Engine, namespace: str) -> None:
    """Drop ``namespace``'s completeness mark: the next ingest reads the stored chunks again."""
    import sqlalchemy

    table = complete_table()
    with engine.begin() as connection:
        connection.execute(sqlalchemy.delete(table).where(table.c.namespace == namespace))


def is_complete(engine: sqlalchemy.Engine, namespace: str, collection_id: str) -> bool:
    import sqlalchemy

    table = complete_table()
    query = sqlalchemy.select(table.c.namespace).where(
        table.c.namespace == namespace, table.c.collection_id == collection_id
    )
    with engine.connect() as connection:
        return connection.execute(query).first() is not None


def mark_complete(engine: sqlalchemy.Engine, namespace: str, collection_id: str) -> None:
    import sqlalchemy

    table = complete_table()
    with engine.begin() as connection:
        connection.execute(sqlalchemy.delete(table).where(table.c.namespace == namespace))
        connection.execute(
            sqlalchemy.insert(table), [{"namespace": namespace, "collection_id": collection_id}]
        )


@dataclass
class StoryBook:
    """One ingest's view of the stored stories, read from the story table only as needed.

    ``rows`` (source_id -> content hash, story id; no signatures) serve unchanged
    articles and moved files. The signatures of every stored article (``groups``, an
    LSH index over them) are loaded only when a new or changed article must be
    matched: at archive scale that load is the slow part (5.3 s for 250,000 articles
    on 2 cores), and a re-ingest that finds nothing new never needs it.

    ``chunk_rows`` are what the stored chunks say, read only while the table is not
    known to be complete (a record database made before it, or rebuilt): an article
    without a row keeps the story its chunks carry, and gains a row (``keep``).
    ``chunk_listings`` are their listings, read with them: a row without its listing
    (made before the ``listing`` column) gets it from them when the book opens.

    Complete means every stored article has its row, with its listing: the library
    is then listed from the table alone (``described``).
    """

    engine: Any
    namespace: str
    rows: dict[str, tuple[str, str]]
    chunk_rows: dict[str, tuple[str, str]] = field(default_factory=dict)
    marked_complete: bool = False  # the table was known complete when opened (no chunk rows)
    unsaved: dict[str, Member] = field(default_factory=dict)
    chunk_listings: dict[str, str] = field(default_factory=dict)
    unlisted: set[str] = field(default_factory=set)  # rows still without their listing
    _groups: StoryGroups | None = field(default=None, init=False, repr=False)
    _by_hash: dict[str, list[str]] | None = field(default=None, init=False, repr=False)

    @classmethod
    def open(
        cls,
        engine: sqlalchemy.Engine,
        namespace: str,
        chunk_rows: dict[str, tuple[str, str]] | None = None,
        chunk_listings: dict[str, str] | None = None,
    ) -> StoryBook:
        import sqlalchemy

        table = story_table()
        query = sqlalchemy.select(
            table.c.source_id,
            table.c.content_hash,
            table.c.story_id,
            table.c.listing.is_(None),
        ).where(table.c.namespace == namespace)
        with engine.connect() as connection:
            found = connection.execute(query).all()
        rows = {s: (h, story) for s, h, story, _ in found}
        book = cls(
            engine,
            namespace,
            rows,
            dict(chunk_rows or {}),
            chunk_rows is None,
            chunk_listings=dict(chunk_listings or {}),
            unlisted={s for s, _, _, unlisted in found if unlisted},
        )
        book._list_from_chunks()
        return book

    def _list_from_chunks(self) -> None:
        """Give the rows without a listing the one their stored chunks carry (same version)."""
        self.relist(
            {
                source_id: self.chunk_listings[source_id]
                for source_id in sorted(self.unlisted)
                if source_id in self.chunk_listings
                and self.chunk_rows.get(source_id, ("",))[0] == self.rows[source_id][0]
            }
        )

    def relist(self, listings: dict[str, str]) -> None:
        """Write these articles' listings (source_id -> ``listing``) into their rows.

        Called before their first chunks are written (a step, a move): a row's listing
        must be what its article's first chunk says, and that chunk is rewritten (with
        when this ingest ran) whenever its record is missing: a new version, a re-run
        after a kill, records rebuilt. Unsaved rows are saved first.
        """
        import sqlalchemy

        self.save()
        if not listings:
            return
        table = story_table()
        update = (
            sqlalchemy.update(table)
            .where(
                table.c.namespace == self.namespace,
                table.c.source_id == sqlalchemy.bindparam("s"),
            )
            .values(listing=sqlalchemy.bindparam("listing"))
        )
        with self.engine.begin() as connection:
            connection.execute(update, [{"s": s, "listing": text} for s, text in listings.items()])
        self.unlisted -= set(listings)

    @property
    def groups(self) -> StoryGroups:
        """Every stored signature in an LSH index, loaded on first use."""
        if self._groups is None:
            self._groups = load_groups(self.engine, self.namespace)
            for member in self.unsaved.values():
                self._groups.add(member)
        return self._groups

    def story_of(self, source_id: str, content_hash: str) -> tuple[str, bool] | None:
        """The stored story of this version of an article, and whether it has its row."""
        for rows, has_row in ((self.rows, True), (self.chunk_rows, False)):
            stored_hash, story = rows.get(source_id, ("", ""))
            if stored_hash == content_hash:
                return story, has_row
        return None

    def keep(self, member: Member) -> None:
        """Remember ``member`` (its row is written by ``save``)."""
        if self._groups is not None:
            self._groups.add(member)
        self._unsaved(member)

    def assign(self, source_id: str, content_hash: str, minhash: np.ndarray, size: int) -> str:
        """The story of a new or changed article (``StoryGroups.assign``); kept."""
        story = self.groups.assign(source_id, content_hash, minhash, size)
        self._unsaved(self.groups.members[source_id])
        return story

    def _unsaved(self, member: Member) -> None:
        self.unsaved[member.source_id] = member
        self.rows[member.source_id] = (member.content_hash, member.story_id)

    def moved_from(self, source_id: str, content_hash: str) -> str | None:
        """A stored article with this content whose file no longer exists, if any."""
        if self._by_hash is None:
            self._by_hash = {}
            for rows in (self.rows, self.chunk_rows):
                for stored_id, (stored_hash, _) in rows.items():
                    self._by_hash.setdefault(stored_hash, []).append(stored_id)
        candidates = self._by_hash.get(content_hash, [])
        gone = [s for s in dict.fromkeys(candidates) if s != source_id and not Path(s).exists()]
        return gone[0] if gone else None

    def forget(self, source_id: str) -> None:
        """``source_id`` was moved away: it is no longer stored."""
        self.unsaved.pop(source_id, None)
        self.unlisted.discard(source_id)
        for rows in (self.rows, self.chunk_rows):
            content_hash, _ = rows.pop(source_id, ("", ""))
            if self._by_hash is not None and source_id in self._by_hash.get(content_hash, []):
                self._by_hash[content_hash].remove(source_id)
        if self._groups is not None:
            self._groups.remove(source_id)

    def save(self) -> None:
        """Write the rows of the articles kept since the last save."""
        save_members(self.engine, self.namespace, self.unsaved.values())
        self.unlisted -= {s for s, m in self.unsaved.items() if m.listing is not None}
        self.unsaved.clear()

    def complete(self) -> bool:
        """Whether every stored article now has its row, with its listing."""
        return all(
            source_id in self.rows and source_id not in self.unlisted
            for source_id in self.chunk_rows
        )


def load_groups(engine: sqlalchemy.Engine, namespace: str) -> StoryGroups:
    """The stored signatures of ``namespace`` as ``StoryGroups``."""
    import sqlalchemy

    table = story_table()
    query = sqlalchemy.select(
        table.c.source_id,
        table.c.story_id,
        table.c.content_hash,
        table.c.signature,
        table.c.shingles,
    ).where(table.c.namespace == namespace)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    members = {
        source_id: Member(source_id, story_id, content_hash, from_bytes(bytes(data)), size)
        for source_id, story_id, content_hash, data, size in rows
    }
    return StoryGroups(members=members)


def save_members(engine: sqlalchemy.Engine, namespace: str, members: Iterable[Member]) -> None:
    """Write (replace) the rows of ``members``, in one transaction."""
    import sqlalchemy

    table = story_table()
    rows = [
        {
            "namespace": namespace,
            "source_id": m.source_id,
            "story_id": m.story_id,
            "content_hash": m.content_hash,
            "signature": to_bytes(m.signature),
            "shingles": m.size,
            "listing": m.listing,
        }
        for m in members
    ]
    if not rows:
        return
    with engine.begin() as connection:
        # In slices: SQLite and PostgreSQL cap the parameters of one statement.
        for start in range(0, len(rows), _SLICE):
            part = rows[start : start + _SLICE]
            connection.execute(
                sqlalchemy.delete(table).where(
                    table.c.namespace == namespace,
                    table.c.source_id.in_([r["source_id"] for r in part]),
                )
            )
            connection.execute(sqlalchemy.insert(table), part)


def story_sizes(
    engine: sqlalchemy.Engine, namespace: str, story_ids: Sequence[str]
) -> dict[str, int]:
    """How many stored articles each of ``story_ids`` has (stories with none are left out)."""
    import sqlalchemy

    table = story_table()
    query = (
        sqlalchemy.select(table.c.story_id, sqlalchemy.func.count())
        .where(table.c.namespace == namespace, table.c.story_id.in_(list(story_ids)))
        .group_by(table.c.story_id)
    )
    with engine.connect() as connection:
        return {story: int(count) for story, count in connection.execute(query).all()}


def forget_members(engine: sqlalchemy.Engine, namespace: str, source_ids: Sequence[str]) -> None:
    """Delete the rows of ``source_ids`` (deleted or moved articles)."""
    import sqlalchemy

    table = story_table()
    ids = list(source_ids)
    with engine.begin() as connection:
        for start in range(0, len(ids), _SLICE):
            connection.execute(
                sqlalchemy.delete(table).where(
                    table.c.namespace == namespace,
                    table.c.source_id.in_(ids[start : start + _SLICE]),
                )
            )


def forget_namespace(engine: sqlalchemy.Engine, namespace: str) -> None:
    """Delete every row of ``namespace`` and its completeness mark."""
    import sqlalchemy

    with engine.begin() as connection:
        for table in (story_table(), complete_table()):
            connection.execute(sqlalchemy.delete(table).where(table.c.namespace == namespace))


_SLICE = 500  # rows per statement (SQLite allows 32,766 parameters, PostgreSQL 65,535)


# -- plain texts, for benchmarks --------------------------------------------------------


def group_texts(
    texts: Sequence[str], titles: Sequence[str] = (), threshold: float = THRESHOLD
) -> list[int]:
    """The story group of each text (the index of its group's first text), as ingest groups them.

    ``titles`` (one per text, when given) are left out of the comparison, as at ingest.

    Example:
        >>> group_texts([wire_story, unrelated, wire_story_retitled])
        [0, 1, 0]
    """
    if titles and len(titles) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(titles)} titles")
    groups = StoryGroups(threshold=threshold)
    # Each text's own index is its id, so a new story is labelled with its first text's index.
    return [
        int(groups.assign(str(i), "", *signature(text, titles[i] if titles else "")))
        for i, text in enumerate(texts)
    ]


def grouping_quality(
    texts: Sequence[str],
    labels: Sequence[object],
    titles: Sequence[str] = (),
    threshold: float = THRESHOLD,
) -> tuple[float, float]:
    """Pairwise (precision, recall) of ``group_texts`` against the true story ``labels``.

    A pair of texts is positive when both are in one group. Precision: of the pairs
    grouped, the share truly copies; recall: of the true copy pairs, the share grouped
    (each 1.0 when there is no pair to count).

    Example:
        >>> grouping_quality([story, story_trimmed, other], ["a", "a", "b"])
        (1.0, 1.0)
    """
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    found = group_texts(texts, titles, threshold)
    grouped = _pairs(Counter(found))
    true = _pairs(Counter(labels))
    both = _pairs(Counter(zip(found, labels, strict=True)))
    precision = both / grouped if grouped else 1.0
    recall = both / true if true else 1.0
    return precision, recall


def _pairs(sizes: Counter[Any]) -> int:
    """The pairs inside groups of these sizes."""
    return sum(n * (n - 1) // 2 for n in sizes.values())
