"""BM25 keyword search stored in SQLite FTS5, beside the Chroma collection.

The keyword side of hybrid retrieval used to be rebuilt in memory from the whole
collection by every process that answered: tens of seconds at 100k chunks. FTS5
(in Python's standard library) keeps the inverted index on disk: a process opens
it and searches at once, and ingest writes it in the same step as Chroma
(``ChunkStore.add`` / ``delete``).

Chunks are stored as Dossier's own search words (``core.text.tokenize``:
lowercased, stemmed, no stopwords), so FTS5's tokenizer only splits them on
spaces and the terms it counts are the terms ``idf`` is asked about.

Scoring is Okapi BM25 with Lucene's idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``.
FTS5's own ``bm25()`` (in C, fast) picks the candidates; they are then scored
again with Lucene's idf from their stored words, because ``bm25()`` floors the
idf of a word found in half the chunks or more at zero, which on a small
collection (a first user's few articles, most chunks naming the story's
subject) throws the subject away. The candidates are ``CANDIDATES`` times the
number asked for, and every match when a collection has fewer.

The candidates are picked by the query's rarest words only, as many as together
occur in at most ``MATCH_BUDGET`` chunks (the rarest always): FTS5 ranks every
chunk that holds any word it is given, and a common word ("said", "year") is in a
third of a big collection, so matching every word cost time linear in the
collection (75 ms at 136k chunks, most of a retrieval). All the query's words
still score the candidates; a chunk holding only common words scores too low to
be among the best. Where all the words together occur in fewer chunks (any
collection under ``MATCH_BUDGET`` chunks) every word is matched, as before.

How many chunks hold a word is remembered (``TermCounts``): FTS5 counts a word by
walking every chunk that holds it, 37 ms for a word in 1M chunks, and a question
asks about each of its words several times (to pick the match, to score, to
weigh its sentences).

Example:
    >>> index = KeywordStore(":memory:")
    >>> index.add([("a", "Kidal is held by rebels", 20220714), ("b", "Gao and Menaka", 0)])
    >>> index.search("who holds Kidal?", 1)
    {'a': 0.6...}
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from cachetools import LRUCache

from core.text import tokenize

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    day INTEGER NOT NULL DEFAULT 0,
    length INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunk_by_day ON chunk (day);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_words
    USING fts5(words, tokenize = 'unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5vocab(chunk_words, row);
-- Kept in step by every write, so that N and the average length cost no scan.
CREATE TABLE IF NOT EXISTS totals (one INTEGER PRIMARY KEY CHECK (one = 1), chunks, words);
INSERT OR IGNORE INTO totals VALUES (1, 0, 0);
-- The store generation (``ChunkStore.generation``) this index was last known in step with.
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
K1, B = 1.2, 0.75
CANDIDATES = 3  # FTS5 candidates per result asked for, scored again (see above)
MATCH_BUDGET = 20_000  # chunks the matched words may occur in together (see above)
# SQLite caps the number of bound parameters in one statement.
_BATCH = 500


def search_words(text: str) -> list[str]:
    """``text``'s search words as FTS5 stores them (apostrophes dropped: "o'brien" -> "obrien")."""
    return [word.replace("'", "") for word in tokenize(text)]


class TermCounts:
    """How many chunks hold each word, remembered until the index changes.

    ``count`` asks the index for the counts of some words (absent words left out);
    ``stamp`` is read before each use and changes with every write to the index
    (its totals) and every finished ingest (the generation it is in step with), so
    the counts another process's ingest changed are asked for again.
    """

    def __init__(
        self,
        count: Callable[[list[str]], dict[str, int]],
        stamp: Callable[[], Hashable],
        maxsize: int = 200_000,
    ) -> None:
        self._count = count
        self._stamp = stamp
        self._known: LRUCache[str, int] = LRUCache(maxsize=maxsize)
        self._known_at: Hashable = None
        self._lock = threading.Lock()

    def of(self, terms: Iterable[str]) -> dict[str, int]:
        """The count of each of ``terms`` that some chunk holds."""
        stamp = self._stamp()
        wanted = list(dict.fromkeys(terms))
        with self._lock:
            if stamp != self._known_at:
                self._known.clear()
                self._known_at = stamp
            known = {t: self._known[t] for t in wanted if t in self._known}
        missing = [t for t in wanted if t not in known]
        if missing:
            counted = self._count(missing)
            found = {t: counted.get(t, 0) for t in missing}
            with self._lock:
                if stamp == self._known_at:
                    self._known.update(found)
            known |= found
        return {t: known[t] for t in wanted if known[t]}


class KeywordStore:
    """The chunks' search words in an FTS5 table, with each chunk's day for date ranges.

    One connection per thread (sqlite3 connections are not shared across
    threads). SQLite's default rollback journal, not WAL: a write that fails on a full
    disk rolls back and gives its space back (a WAL file keeps what it grew to, and a
    disk left at 0 bytes cannot even open Chroma to answer). Writes are short
    transactions, and readers wait for them (``timeout``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._memory: sqlite3.Connection | None = None
        if self.path == ":memory:":  # one shared connection: each new one would be empty
            self._memory = sqlite3.connect(":memory:", check_same_thread=False)
        with self._writing() as db:
            db.executescript(_SCHEMA)
        self._counts = TermCounts(self._count, self._stamp)

    def _connection(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=DELETE")  # see the class docstring
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        with db:  # one transaction: committed on success, rolled back on error
            yield db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- writing --------------------------------------------------------------------------

    def add(self, chunks: Iterable[tuple[str, str, int]]) -> None:
        """Store ``chunks`` (id, text, day as YYYYMMDD or 0); a known id is replaced."""
        rows = list(chunks)
        with self._writing() as db:
            self._delete(db, [chunk_id for chunk_id, _, _ in rows])
            for chunk_id, text, day in rows:
                words = search_words(text)
                cursor = db.execute(
                    "INSERT INTO chunk (id, day, length) VALUES (?, ?, ?)",
                    (chunk_id, day, len(words)),
                )
                db.execute(
                    "INSERT INTO chunk_words (rowid, words) VALUES (?, ?)",
                    (cursor.lastrowid, " ".join(words)),
                )
                db.execute(
                    "UPDATE totals SET chunks = chunks + 1, words = words + ?", (len(words),)
                )

    def delete(self, ids: Sequence[str]) -> None:
        """Forget the chunks ``ids`` (unknown ids are ignored)."""
        with self._writing() as db:
            self._delete(db, ids)

    @staticmethod
    def _delete(db: sqlite3.Connection, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _BATCH):
            batch = list(ids[start : start + _BATCH])
            marks = ",".join("?" * len(batch))
            rowids = [
                r for (r,) in db.execute(f"SELECT rowid FROM chunk WHERE id IN ({marks})", batch)
            ]
            if not rowids:
                continue
            rmarks = ",".join("?" * len(rowids))
            (words,) = db.execute(
                f"SELECT coalesce(sum(length), 0) FROM chunk WHERE rowid IN ({rmarks})", rowids
            ).fetchone()
            db.execute(f"DELETE FROM chunk_words WHERE rowid IN ({rmarks})", rowids)
            db.execute(f"DELETE FROM chunk WHERE rowid IN ({rmarks})", rowids)
            db.execute(
                "UPDATE totals SET chunks = chunks - ?, words = words - ?", (len(rowids), words)
            )

    def clear(self) -> None:
        with self._writing() as db:
            db.execute("DELETE FROM chunk_words")
            db.execute("DELETE FROM chunk")
            db.execute("UPDATE totals SET chunks = 0, words = 0")

    def mark_in_step(self, generation: int) -> None:
        """Record that the index holds exactly the store's chunks at ``generation``."""
        with self._writing() as db:
            db.execute(
                "INSERT OR REPLACE INTO state (key, value) VALUES ('generation', ?)", (generation,)
            )

    # -- reading --------------------------------------------------------------------------

    def in_step_at(self) -> int | None:
        """The store generation the index was last in step with (None: never recorded)."""
        row = (
            self._connection()
            .execute("SELECT value FROM state WHERE key = 'generation'")
            .fetchone()
        )
        return None if row is None else int(row[0])

    def __len__(self) -> int:
        return int(self._totals()[0])

    def _totals(self) -> tuple[int, int]:
        chunks, words = self._connection().execute("SELECT chunks, words FROM totals").fetchone()
        return int(chunks), int(words)

    def ids(self) -> set[str]:
        return {chunk_id for (chunk_id,) in self._connection().execute("SELECT id FROM chunk")}

    def newest_day(self) -> date | None:
        """The newest article date among the stored chunks (None: nothing dated)."""
        (newest,) = self._connection().execute("SELECT max(day) FROM chunk").fetchone()
        if not newest:
            return None
        return date(newest // 10000, newest // 100 % 100, newest % 100)

    def idf(self, term: str) -> float:
        """The BM25 idf of an already tokenized term (0 for unknown terms), as ``search`` uses it."""
        term = term.replace("'", "")
        containing = self._counts.of([term]).get(term)
        return 0.0 if containing is None else _idf(len(self), containing)

    def _count(self, terms: list[str]) -> dict[str, int]:
        db = self._connection()
        counts = {}
        for term in terms:
            row = db.execute("SELECT doc FROM chunk_terms WHERE term = ?", (term,)).fetchone()
            if row is not None:
                counts[term] = int(row[0])
        return counts

    def _stamp(self) -> tuple[int, int, int | None]:
        chunks, words, generation = (
            self._connection()
            .execute(
                "SELECT chunks, words, (SELECT value FROM state WHERE key = 'generation') "
                "FROM totals"
            )
            .fetchone()
        )
        return int(chunks), int(words), generation

    def max_idf(self) -> float:
        return _max_idf(len(self))

    def search(
        self,
        query: str,
        n: int,
        *,
        also: Iterable[str] = (),
        days: tuple[int, int] | None = None,
    ) -> dict[str, float]:
        """BM25 scores of the ``n`` best chunks for ``query``, best first, and of the chunks
        ``also`` asked for (0 when the query misses them or they are unknown).

        ``days`` (first, last YYYYMMDD, inclusive) keeps only chunks of articles dated in
        that range, in the SQL query, before ranking: the ``n`` best are the best in range.
        Undated chunks (day 0) are outside every range.
        """
        terms = Counter(search_words(query))
        found: dict[str, float] = {}
        if terms and n > 0:
            sql = _CHUNK_WORDS + " WHERE chunk_words MATCH ?"
            params: list[object] = [" OR ".join(f'"{t}"' for t in self._rarest(terms))]
            if days is not None:
                sql += " AND chunk.day BETWEEN ? AND ?"
                params += [max(days[0], 1), days[1]]
            sql += " ORDER BY rank LIMIT ?"
            params.append(max(CANDIDATES * n, 100))
            scored = self._bm25(terms, self._connection().execute(sql, params))
            found = dict(sorted(scored.items(), key=lambda item: -item[1])[:n])
        wanted = [i for i in dict.fromkeys(also) if i not in found]
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            sql = _CHUNK_WORDS + f" WHERE chunk.id IN ({','.join('?' * len(batch))})"
            found.update(self._bm25(terms, self._connection().execute(sql, batch)))
        for chunk_id in wanted:  # unknown ids
            found.setdefault(chunk_id, 0.0)
        return found

    def _rarest(self, terms: Counter[str]) -> list[str]:
        """The rarest of ``terms`` that occur in at most ``MATCH_BUDGET`` chunks together
        (the rarest always; all of them when none is stored, and FTS5 then finds nothing)."""
        if len(self) <= MATCH_BUDGET:  # no word can be in more chunks: match them all
            return list(terms)
        counts = self._counts.of(terms)
        if not counts:
            return list(terms)
        chosen: list[str] = []
        total = 0
        for term in sorted(counts, key=counts.__getitem__):
            if chosen and total + counts[term] > MATCH_BUDGET:
                break
            chosen.append(term)
            total += counts[term]
        return chosen

    def _bm25(self, terms: Counter[str], rows: Iterable[tuple[str, int, str]]) -> dict[str, float]:
        """Okapi BM25 (Lucene's idf) of each (id, length, words) row for the query ``terms``."""
        n, words = self._totals()
        average = max(words / n, 1.0) if n else 1.0
        weights = {
            term: terms[term] * _idf(n, containing)
            for term, containing in self._counts.of(terms).items()
        }
        scores = {}
        for chunk_id, length, text in rows:
            tfs = Counter(w for w in text.split() if w in weights)
            norm = K1 * (1 - B + B * length / average)
            scores[chunk_id] = sum(
                weights[t] * tf * (K1 + 1) / (tf + norm) for t, tf in tfs.items()
            )
        return scores


_CHUNK_WORDS = (
    "SELECT chunk.id, chunk.length, chunk_words.words FROM chunk_words "
    "JOIN chunk ON chunk.rowid = chunk_words.rowid"
)


def _max_idf(chunks: int) -> float:
    """What a word no chunk holds is weighed as: a little above a word in one chunk."""
    return math.log1p((chunks + 0.5) / 1.5) if chunks else 0.0


def _idf(chunks: int, containing: int) -> float:
    return math.log1p((chunks - containing + 0.5) / (containing + 0.5))
