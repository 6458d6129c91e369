"""Records (and the keyword index) in a real PostgreSQL, started on loopback by tests/pg.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy

from core.errors import IngestInProgress, StoreUnavailable
from core.text import split_sentences
from ingest.sync import advisory_key
from tests.conftest import GSIM, MIA, SEEDS, free_port
from tests.pg import pg_url_fixture, postgres_fixture  # noqa: F401  (fixtures)
from vectorstore.fts import KeywordStore, search_words
from vectorstore.pg_keywords import PgKeywordStore

pytestmark = pytest.mark.postgres


def test_records_in_postgresql_ingest_answer_delete_reingest_and_doctor(
    make_assistant, seed_copy: Path, pg_url: str
):
    bot = make_assistant(record_manager_url=pg_url)
    first = bot.ingest([seed_copy])
    assert (first.count("added"), first.count("failed")) == (2, 0), first
    # The records and the keyword index are in PostgreSQL, not in SQLite files here.
    assert not bot.layout.records.exists()
    assert isinstance(bot.store.keywords, PgKeywordStore)
    assert not bot.layout.keywords(bot.settings.collection).exists()
    assert len(bot.store.keywords) == bot.store.count()
    engine = sqlalchemy.create_engine(pg_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                sqlalchemy.text("SELECT count(*) FROM upsertion_record")
            ).scalar_one()
    finally:
        engine.dispose()
    assert stored == bot.store.count() > 0

    answer = bot.answer("Who leads the Islamic Movement for Azawad?")
    assert "Alghabass Ag Intallah" in answer.text
    assert answer.citations[0].source == MIA

    assert bot.delete([GSIM]) > 0
    assert [s.source for s in bot.sources()] == [MIA]
    assert bot.indexer.pending_deletes() == []  # the tombstone table is written and cleared

    again = make_assistant(record_manager_url=pg_url).ingest([seed_copy])
    assert (again.count("added"), again.count("unchanged")) == (1, 1), again
    third = make_assistant(record_manager_url=pg_url).ingest([seed_copy])
    assert third.count("unchanged") == 2 and third.chunks_embedded == 0

    checkup = make_assistant(record_manager_url=pg_url).check()
    assert checkup.ok, checkup.problems
    assert checkup.records == checkup.chunks == bot.store.count()


def test_an_ingest_on_another_machine_holds_the_collection_until_it_ends(
    tmp_path: Path, seed_copy: Path, pg_url: str
):
    """Two data directories (two machines: separate lock files) on one PostgreSQL database."""
    from assistant import Assistant

    # No pool: closing the connection ends the session, as the death of its process would.
    elsewhere = sqlalchemy.create_engine(pg_url, poolclass=sqlalchemy.pool.NullPool)
    here = Assistant(data_dir=tmp_path / "here", record_manager_url=pg_url)
    key = advisory_key(here.settings.collection)
    try:
        with elsewhere.connect() as other:
            assert other.execute(sqlalchemy.text(f"SELECT pg_try_advisory_lock({key})")).scalar()
            with pytest.raises(IngestInProgress, match="advisory lock"):
                here.ingest([seed_copy])
            assert here.store.count() == 0
        # The other worker's session ended (as when its process is killed): the lock is free.
        report = here.ingest([seed_copy])
        assert report.count("added") == 2
        # And this ingest let go of it when it ended, as it does when one fails.
        with pytest.raises(RuntimeError), here.indexer.locked():
            raise RuntimeError("an ingest that fails half-way")
        with elsewhere.connect() as other:
            assert other.execute(sqlalchemy.text(f"SELECT pg_try_advisory_lock({key})")).scalar()
            other.execute(sqlalchemy.text(f"SELECT pg_advisory_unlock({key})"))
    finally:
        elsewhere.dispose()


# -- the keyword index in PostgreSQL scores exactly as the SQLite FTS5 one ----------------


def _seed_chunks() -> list[tuple[str, str, int]]:
    """The seed articles' sentences as chunks, with dates spread over three years."""
    chunks = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for i, (start, end) in enumerate(split_sentences(text)):
            day = 0 if i % 5 == 0 else 20200101 + (i % 3) * 10000 + (i % 12) * 100
            chunks.append((f"{path.stem}-{i}", text[start:end], day))
    return chunks


@pytest.fixture
def both(pg_url: str, tmp_path: Path) -> tuple[KeywordStore, PgKeywordStore]:
    chunks = _seed_chunks()
    sqlite, pg = KeywordStore(tmp_path / "keywords.sqlite"), PgKeywordStore(pg_url, space="news")
    for store in (sqlite, pg):
        store.add(chunks)
    yield sqlite, pg
    pg.close()


QUERIES = [
    "Who leads the Islamic Movement for Azawad?",
    "Ansar Dine ceasefire talks",
    "Iyad Ag Ghaly secret talks northern groups",
    "Kidal Kidal rebels",
    "o'brien",
    "nothing matches xyzzy",
]


@pytest.mark.parametrize("query", QUERIES)
def test_pg_keyword_scores_match_the_sqlite_index(
    both: tuple[KeywordStore, PgKeywordStore], query: str
) -> None:
    sqlite, pg = both
    expected = sqlite.search(query, 8)
    found = pg.search(query, 8)
    assert list(found) == list(expected)  # the same chunks, best first
    assert found == pytest.approx(expected, rel=1e-9)
    # Chunks asked for by id get their scores too, and unknown ids 0.
    also = [*list(sqlite.ids())[:5], "no-such-chunk"]
    assert pg.search(query, 3, also=also) == pytest.approx(
        sqlite.search(query, 3, also=also), rel=1e-9
    )
    # A date range applies before ranking in both.
    days = (20210101, 20211231)
    assert pg.search(query, 5, days=days) == pytest.approx(
        sqlite.search(query, 5, days=days), rel=1e-9
    )


def test_pg_keyword_totals_idf_and_writes_match_the_sqlite_index(
    both: tuple[KeywordStore, PgKeywordStore],
) -> None:
    sqlite, pg = both
    assert len(pg) == len(sqlite) > 50
    assert pg.ids() == sqlite.ids()
    assert pg.newest_day() == sqlite.newest_day()
    assert pg.max_idf() == pytest.approx(sqlite.max_idf())
    for word in ["ansar", "dine", "kidal", "unknownword", "o'brien"]:
        term = search_words(word)[0] if search_words(word) else word
        assert pg.idf(term) == pytest.approx(sqlite.idf(term)), term

    first = sorted(sqlite.ids())[:10]
    replaced = [(first[0], "Timbuktu fell to the rebels of Ansar Dine.", 20230101)]
    for store in (sqlite, pg):
        store.delete(first[1:])
        store.add(replaced)  # a known id is replaced, not doubled
    assert len(pg) == len(sqlite) and pg.ids() == sqlite.ids()
    assert pg.search("Timbuktu Ansar Dine", 5) == pytest.approx(
        sqlite.search("Timbuktu Ansar Dine", 5), rel=1e-9
    )
    assert next(iter(pg.search("Timbuktu", 1))) == first[0]

    assert pg.in_step_at() is None
    pg.mark_in_step(7)
    pg.mark_in_step(8)
    assert pg.in_step_at() == 8
    pg.clear()
    assert len(pg) == 0 and pg.ids() == set() and pg.search("Ansar Dine", 5) == {}


def test_collections_sharing_a_database_keep_their_chunks_apart(pg_url: str) -> None:
    news, other = PgKeywordStore(pg_url, space="news"), PgKeywordStore(pg_url, space="other")
    news.add([("a", "Kidal is held by rebels", 20220714)])
    other.add([("b", "Kidal market reopened", 0), ("c", "Gao", 0)])
    assert (news.ids(), len(other)) == ({"a"}, 2)
    assert set(news.search("Kidal", 5)) == {"a"}
    news.close()
    other.close()


def test_word_counts_a_pg_reader_remembered_change_with_another_machines_writes(
    pg_url: str,
) -> None:
    reader, writer = PgKeywordStore(pg_url, space="counts"), PgKeywordStore(pg_url, space="counts")
    writer.add([("a", "Kidal is held by rebels", 20220714), ("b", "Gao market", 0)])
    before = reader.idf("kidal")
    writer.add([("c", "Kidal market reopened", 0)])
    assert reader.idf("kidal") == pytest.approx(writer.idf("kidal")) != pytest.approx(before)
    remembered = reader.idf("gao")
    writer.add([("c", "Gao market reopened", 0)])  # same totals: the generation tells
    writer.mark_in_step(3)
    assert reader.idf("gao") == pytest.approx(writer.idf("gao")) != pytest.approx(remembered)
    writer.clear()
    reader.close()
    writer.close()


def test_an_unreachable_pg_keyword_index_names_the_setting(pg_url: str) -> None:
    dead = pg_url.rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/nowhere"
    with pytest.raises(
        StoreUnavailable, match=r"(?s)PostgreSQL.*refused.*DOSSIER_RECORD_MANAGER_URL"
    ):
        PgKeywordStore(dead)
