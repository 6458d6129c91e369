"""BM25 keyword search stored in PostgreSQL, for when the records live there too.

A multi-machine deployment keeps its records in PostgreSQL
(``DOSSIER_RECORD_MANAGER_URL=postgresql+psycopg://...``) and its vectors in a
Chroma server; the keyword index then lives in the same database, so every
Dossier process on every machine searches one index that ingest writes in the
same step as Chroma (``ChunkStore.add`` / ``delete``), as the SQLite FTS5 index
(``vectorstore/fts.py``) does on one machine.

The index is an inverted table: one row per (search word, chunk) with the word's
count in the chunk, under a B-tree index on the word. The search words are the
ones ``KeywordStore`` stores (``fts.search_words``), and BM25 is computed in SQL
with the same Okapi formula, ``K1``, ``B`` and Lucene's idf, so the two stores
give the same scores for the same chunks. Every chunk that holds a query word is
scored (FTS5's store rescores only its ``bm25()`` candidates), so on a large
collection this one can only find more. PostgreSQL's own ``ts_rank`` is not BM25
(no idf, no length saturation), which is why its full-text types are not used.

Several collections can share one database: each row carries its collection's
name (``space``).

Example:
    >>> index = PgKeywordStore("postgresql+psycopg://dossier@db/dossier", space="news")
    >>> index.add([("a", "Kidal is held by rebels", 20220714), ("b", "Gao and Menaka", 0)])
    >>> index.search("who holds Kidal?", 1)
    {'a': 0.6...}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from core.errors import StoreUnavailable
from vectorstore.fts import K1, B, KeywordStore, TermCounts, _idf, _max_idf, search_words

if TYPE_CHECKING:
    import sqlalchemy

# Created under an advisory lock: two processes starting at once would otherwise race
# on CREATE TABLE IF NOT EXISTS (PostgreSQL checks the catalogue before it locks it).
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS keyword_chunk (
        space TEXT NOT NULL,
        id TEXT NOT NULL,
        day INTEGER NOT NULL DEFAULT 0,
        length INTEGER NOT NULL,
        PRIMARY KEY (space, id))""",
    "CREATE INDEX IF NOT EXISTS keyword_chunk_by_day ON keyword_chunk (space, day)",
    """CREATE TABLE IF NOT EXISTS keyword_term (
        space TEXT NOT NULL,
        term TEXT NOT NULL,
        chunk_id TEXT NOT NULL,
        tf INTEGER NOT NULL,
        PRIMARY KEY (space, term, chunk_id))""",
    # Deletes find a chunk's words by its id.
    "CREATE INDEX IF NOT EXISTS keyword_term_by_chunk ON keyword_term (space, chunk_id)",
    # Kept in step by every write, so that N and the average length cost no scan.
    """CREATE TABLE IF NOT EXISTS keyword_totals (
        space TEXT PRIMARY KEY,
        chunks BIGINT NOT NULL DEFAULT 0,
        words BIGINT NOT NULL DEFAULT 0)""",
    # The store generation (``ChunkStore.generation``) this index was last known in step with.
    """CREATE TABLE IF NOT EXISTS keyword_state (
        space TEXT NOT NULL,
        key TEXT NOT NULL,
        value BIGINT NOT NULL,
        PRIMARY KEY (space, key))""",
)
_SCHEMA_LOCK = 0x0D055_1E4  # the advisory lock's key: any number no other tool uses
_BATCH = 5000  # ids per statement


class PgKeywordStore:
    """The chunks' search words in PostgreSQL tables, with each chunk's day for date ranges.

    ``url`` is a SQLAlchemy URL (``postgresql+psycopg://user@host/db``); ``space``
    names the collection whose chunks these are.
    """

    def __init__(self, url: str, *, space: str = "dossier") -> None:
        import sqlalchemy

        self.url = url
        self.space = space
        try:
            # A host that does not answer fails in seconds, not at the OS's TCP timeout.
            self._engine = sqlalchemy.create_engine(
                url, pool_pre_ping=True, connect_args={"connect_timeout": 10}
            )
            with self._engine.begin() as db:
                db.execute(
                    sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK}
                )
                for statement in _SCHEMA:
                    db.execute(sqlalchemy.text(statement))
                db.execute(
                    sqlalchemy.text(
                        "INSERT INTO keyword_totals (space) VALUES (:space) ON CONFLICT DO NOTHING"
                    ),
                    {"space": space},
                )
        except Exception as exc:
            raise self._unavailable(exc) from exc
        self._counts = TermCounts(self._count, self._stamp)

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(
            f"the keyword index in PostgreSQL ({without_password(self.url)}) cannot be used ({type(exc).__name__}: "
            f"{exc}); check DOSSIER_RECORD_MANAGER_URL and that the database is reachable and "
            "writable"
        )

    def _run(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        """One read, its rows."""
        import sqlalchemy

        try:
            with self._engine.connect() as db:
                return list(db.execute(sqlalchemy.text(sql), params or {}).all())
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        self._engine.dispose()

    # -- writing --------------------------------------------------------------------------

    def add(self, chunks: Iterable[tuple[str, str, int]]) -> None:
        """Store ``chunks`` (id, text, day as YYYYMMDD or 0); a known id is replaced."""
        import sqlalchemy

        rows = list({chunk_id: (chunk_id, text, day) for chunk_id, text, day in chunks}.values())
        if not rows:
            return
        chunk_rows, term_rows, words = [], [], 0
        for chunk_id, text, day in rows:
            found = search_words(text)
            words += len(found)
            chunk_rows.append(
                {"space": self.space, "id": chunk_id, "day": day, "length": len(found)}
            )
            term_rows += [
                {"space": self.space, "term": term, "chunk_id": chunk_id, "tf": tf}
                for term, tf in Counter(found).items()
            ]
        try:
            with self._engine.begin() as db:  # one transaction: all of it or none
                self._delete(db, [chunk_id for chunk_id, _, _ in rows])
                db.execute(
                    sqlalchemy.text(
                        "INSERT INTO keyword_chunk (space, id, day, length) "
                        "VALUES (:space, :id, :day, :length)"
                    ),
                    chunk_rows,
                )
                if term_rows:
                    db.execute(
                        sqlalchemy.text(
                            "INSERT INTO keyword_term (space, term, chunk_id, tf) "
                            "VALUES (:space, :term, :chunk_id, :tf)"
                        ),
                        term_rows,
                    )
                db.execute(
                    sqlalchemy.text(
                        "UPDATE keyword_totals SET chunks = chunks + :n, words = words + :w "
                        "WHERE space = :space"
                    ),
                    {"n": len(rows), "w": words, "space": self.space},
                )
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc

    def delete(self, ids: Sequence[str]) -> None:
        """Forget the chunks ``ids`` (unknown ids are ignored)."""
        import sqlalchemy

        if not ids:
            return
        try:
            with self._engine.begin() as db:
                self._delete(db, ids)
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc

    def _delete(self, db: sqlalchemy.Connection, ids: Sequence[str]) -> None:
        import sqlalchemy

        for start in range(0, len(ids), _BATCH):
            params = {"space": self.space, "ids": list(ids[start : start + _BATCH])}
            gone = db.execute(
                sqlalchemy.text(
                    "DELETE FROM keyword_chunk WHERE space = :space AND id = ANY(:ids) "
                    "RETURNING length"
                ),
                params,
            ).all()
            if not gone:
                continue
            db.execute(
                sqlalchemy.text(
                    "DELETE FROM keyword_term WHERE space = :space AND chunk_id = ANY(:ids)"
                ),
                params,
            )
            db.execute(
                sqlalchemy.text(
                    "UPDATE keyword_totals SET chunks = chunks - :n, words = words - :w "
                    "WHERE space = :space"
                ),
                {"n": len(gone), "w": sum(length for (length,) in gone), "space": self.space},
            )

    def clear(self) -> None:
        import sqlalchemy

        try:
            with self._engine.begin() as db:
                for table in ("keyword_term", "keyword_chunk"):
                    db.execute(
                        sqlalchemy.text(f"DELETE FROM {table} WHERE space = :space"),
                        {"space": self.space},
                    )
                db.execute(
                    sqlalchemy.text(
                        "UPDATE keyword_totals SET chunks = 0, words = 0 WHERE space = :space"
                    ),
                    {"space": self.space},
                )
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc

    def mark_in_step(self, generation: int) -> None:
        """Record that the index holds exactly the store's chunks at ``generation``."""
        import sqlalchemy

        try:
            with self._engine.begin() as db:
                db.execute(
                    sqlalchemy.text(
                        "INSERT INTO keyword_state (space, key, value) "
                        "VALUES (:space, 'generation', :g) "
                        "ON CONFLICT (space, key) DO UPDATE SET value = excluded.value"
                    ),
                    {"space": self.space, "g": generation},
                )
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc

    # -- reading --------------------------------------------------------------------------

    def in_step_at(self) -> int | None:
        """The store generation the index was last in step with (None: never recorded)."""
        rows = self._run(
            "SELECT value FROM keyword_state WHERE space = :space AND key = 'generation'",
            {"space": self.space},
        )
        return int(rows[0][0]) if rows else None

    def __len__(self) -> int:
        return self._totals()[0]

    def _totals(self) -> tuple[int, int]:
        rows = self._run(
            "SELECT chunks, words FROM keyword_totals WHERE space = :space", {"space": self.space}
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)

    def ids(self) -> set[str]:
        rows = self._run("SELECT id FROM keyword_chunk WHERE space = :space", {"space": self.space})
        return {chunk_id for (chunk_id,) in rows}

    def newest_day(self) -> date | None:
        """The newest article date among the stored chunks (None: nothing dated)."""
        rows = self._run(
            "SELECT max(day) FROM keyword_chunk WHERE space = :space", {"space": self.space}
        )
        newest = rows[0][0]
        if not newest:
            return None
        return date(newest // 10000, newest // 100 % 100, newest % 100)

    def _containing(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks hold each of ``terms`` (absent: none)."""
        return self._counts.of(terms)

    def _count(self, terms: list[str]) -> dict[str, int]:
        rows = self._run(
            "SELECT term, count(*) FROM keyword_term WHERE space = :space AND term = ANY(:terms) "
            "GROUP BY term",
            {"space": self.space, "terms": list(terms)},
        )
        return {term: int(count) for term, count in rows}

    def _stamp(self) -> tuple[Any, ...]:
        rows = self._run(
            "SELECT t.chunks, t.words, s.value FROM keyword_totals t LEFT JOIN keyword_state s "
            "ON s.space = t.space AND s.key = 'generation' WHERE t.space = :space",
            {"space": self.space},
        )
        return tuple(rows[0]) if rows else ()

    def idf(self, term: str) -> float:
        """The BM25 idf of an already tokenized term (0 for unknown terms), as ``search`` uses it."""
        term = term.replace("'", "")
        containing = self._containing([term]).get(term)
        return 0.0 if containing is None else _idf(len(self), containing)

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
        chunks, words = self._totals()
        containing = self._containing(list(terms)) if terms else {}
        weights = {
            t: count * _idf(chunks, containing[t]) for t, count in terms.items() if t in containing
        }
        params: dict[str, Any] = {
            "space": self.space,
            "terms": list(weights),
            "weights": list(weights.values()),
            "average": max(words / chunks, 1.0) if chunks else 1.0,
            "k1": K1,
            "b": B,
        }
        found: dict[str, float] = {}
        if weights and n > 0:
            sql = _BM25
            if days is not None:
                sql += " AND c.day BETWEEN :first AND :last"
                params |= {"first": max(days[0], 1), "last": days[1]}
            sql += " GROUP BY c.id ORDER BY score DESC, c.id LIMIT :n"
            found = {
                chunk_id: float(score) for chunk_id, score in self._run(sql, {**params, "n": n})
            }
        wanted = [i for i in dict.fromkeys(also) if i not in found]
        if weights:
            for start in range(0, len(wanted), _BATCH):
                sql = _BM25 + " AND c.id = ANY(:ids) GROUP BY c.id"
                rows = self._run(sql, {**params, "ids": wanted[start : start + _BATCH]})
                found.update((chunk_id, float(score)) for chunk_id, score in rows)
        for chunk_id in wanted:  # unknown ids, and chunks without any query word
            found.setdefault(chunk_id, 0.0)
        return found


# Okapi BM25 of every chunk holding a query word: the query's words and their weights
# (count in the query times Lucene's idf) come in as two arrays.
_BM25 = """
SELECT c.id, sum(q.weight * t.tf * (:k1 + 1)
                 / (t.tf + :k1 * (1 - :b + :b * c.length / :average))) AS score
FROM unnest(CAST(:terms AS text[]), CAST(:weights AS float8[])) AS q (term, weight)
JOIN keyword_term t ON t.space = :space AND t.term = q.term
JOIN keyword_chunk c ON c.space = t.space AND c.id = t.chunk_id
WHERE TRUE"""

# Either keyword index, as ``ChunkStore.keywords`` hands it out.
AnyKeywordStore = KeywordStore | PgKeywordStore


def is_postgres_url(url: str | None) -> bool:
    """Whether ``url`` (a SQLAlchemy URL) names a PostgreSQL database."""
    return bool(url) and str(url).split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def without_password(url: str) -> str:
    """A database URL fit for an error message: the password, if any, masked."""
    import sqlalchemy

    try:
        return sqlalchemy.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(an unreadable URL)"
