"""The keyword index in PostgreSQL against the SQLite FTS5 one, on the BBC articles.

Both stores get the same chunks (three sentences each); the benchmark prints the
write rate, the search latency (each article's title as the query, top 10), the
disk per chunk and whether the two top-10s agree (they must: same BM25).

    python -m benchmarks.pg_keywords                       # a throwaway PostgreSQL (tests/pg.py)
    python -m benchmarks.pg_keywords --url postgresql+psycopg://user@host/db
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from core.text import split_sentences
from vectorstore.fts import KeywordStore
from vectorstore.pg_keywords import PgKeywordStore

BBC = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "bbc"


def bbc_chunks(limit: int) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Chunks of three sentences of the first ``limit`` BBC articles, and their titles."""
    chunks, titles = [], []
    for path in sorted(BBC.glob("*/*.txt"))[:limit]:
        text = path.read_text(encoding="utf-8", errors="replace")
        titles.append(text.split("\n", 1)[0])
        spans = split_sentences(text)
        for i in range(0, len(spans), 3):
            start, end = spans[i][0], spans[min(i + 2, len(spans) - 1)][1]
            chunks.append((f"{path.parent.name}/{path.stem}/{i}", text[start:end], 20050101))
    return chunks, titles


def measure(store: KeywordStore | PgKeywordStore, chunks, titles) -> dict[str, float]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for i in range(0, len(chunks), 500):  # ingest-sized steps
        store.add(chunks[i : i + 500])
    rate = len(chunks) / (time.perf_counter() - started)
    latencies = []
    for title in titles:
        started = time.perf_counter()
        store.search(title, 10)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "chunks/s": rate,
        "p50 ms": statistics.median(latencies),
        "p95 ms": latencies[int(0.95 * (len(latencies) - 1))],
    }


@contextmanager
def _throwaway_postgres() -> Iterator[str]:
    from tests.pg import running_postgres

    with running_postgres() as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a PostgreSQL SQLAlchemy URL (default: start one)")
    parser.add_argument("--articles", type=int, default=2225)
    args = parser.parse_args()
    chunks, titles = bbc_chunks(args.articles)
    print(f"{len(titles)} BBC articles, {len(chunks)} chunks")
    with (
        nullcontext(args.url) if args.url else _throwaway_postgres() as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        sqlite_path = Path(tmp) / "keywords.sqlite"
        sqlite, pg = KeywordStore(sqlite_path), PgKeywordStore(url, space="bench")
        pg.clear()
        for name, store in (("sqlite fts5", sqlite), ("postgresql", pg)):
            figures = measure(store, chunks, titles)
            print(f"{name:12} " + ", ".join(f"{k} {v:,.1f}" for k, v in figures.items()))
        sqlite.close()
        print(f"sqlite fts5  disk {sqlite_path.stat().st_size / len(chunks) / 1024:.2f} KB/chunk")
        (size,) = pg._run(
            "SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['keyword_chunk', "
            "'keyword_term', 'keyword_totals', 'keyword_state']::regclass[]) AS t"
        )[0]
        print(
            f"postgresql   disk {int(size) / len(chunks) / 1024:.2f} KB/chunk (tables and indexes)"
        )
        same_order = same_scores = 0
        for title in titles:
            ours, theirs = pg.search(title, 10), sqlite.search(title, 10)
            same_order += list(ours) == list(theirs)
            # Chunks of equal score (duplicate articles) may come in either order.
            same_scores += [round(v, 9) for v in ours.values()] == [
                round(v, 9) for v in theirs.values()
            ]
        print(
            f"top-10 scores equal: {same_scores} of {len(titles)} queries; "
            f"same ids in the same order: {same_order}"
        )
        pg.clear()
        pg.close()


if __name__ == "__main__":
    main()
