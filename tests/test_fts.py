"""The stored keyword index (SQLite FTS5): BM25 ranking, date ranges, updates, other readers."""

from __future__ import annotations

import math
import multiprocessing
from pathlib import Path

import pytest

from vectorstore.fts import MATCH_BUDGET, KeywordStore, TermCounts, search_words

CHUNKS = [
    ("kidal-2022", "Rebels hold Kidal after the army withdrew from the town.", 20220714),
    ("kidal-2020", "Kidal was calm; Kidal traders reopened the Kidal market.", 20200102),
    ("gao", "Gao and Menaka saw no fighting this week.", 20210301),
    ("undated", "A Kidal elder spoke about the rebels.", 0),
]


@pytest.fixture()
def index(tmp_path: Path) -> KeywordStore:
    store = KeywordStore(tmp_path / "keywords.sqlite")
    store.add(CHUNKS)
    return store


def _bm25(query: str, chunks: list[tuple[str, str, int]]) -> dict[str, float]:
    """Okapi BM25 with Lucene's idf, written out plainly: what the SQL must compute."""
    docs = {chunk_id: search_words(text) for chunk_id, text, _ in chunks}
    average = sum(len(words) for words in docs.values()) / len(docs)
    scores: dict[str, float] = {}
    for term in search_words(query):
        containing = sum(term in words for words in docs.values())
        idf = math.log1p((len(docs) - containing + 0.5) / (containing + 0.5))
        for chunk_id, words in docs.items():
            tf = words.count(term)
            if tf:
                norm = 1.2 * (1 - 0.75 + 0.75 * len(words) / average)
                scores[chunk_id] = scores.get(chunk_id, 0.0) + idf * tf * 2.2 / (tf + norm)
    return scores


@pytest.mark.parametrize("query", ["Who holds Kidal?", "rebels Kidal kidal", "Gao week", "none"])
def test_scores_are_okapi_bm25_best_first(index: KeywordStore, query: str) -> None:
    found = index.search(query, 10)
    assert found == pytest.approx(_bm25(query, CHUNKS))
    assert list(found.values()) == sorted(found.values(), reverse=True)
    # A word in most chunks still counts (FTS5's own bm25() would weigh "kidal" at zero).
    assert index.search("Kidal", 1) == {
        "kidal-2020": pytest.approx(_bm25("Kidal", CHUNKS)["kidal-2020"])
    }


def test_date_range_applies_before_ranking(index: KeywordStore) -> None:
    # kidal-2020 is the best match overall; with a range it is not even a candidate, and
    # the one best chunk in range still comes back.
    assert list(index.search("Kidal", 1, days=(20220101, 99991231))) == ["kidal-2022"]
    assert set(index.search("Kidal", 10, days=(0, 20211231))) == {"kidal-2020"}  # not undated
    assert index.search("Kidal", 10, days=(20230101, 20231231)) == {}
    assert str(index.newest_day()) == "2022-07-14"


def test_scores_of_also_asked_chunks_match_their_search_scores(index: KeywordStore) -> None:
    full = index.search("rebels Kidal", 10)
    one = index.search("rebels Kidal", 1, also=["undated", "gao", "unknown"])
    assert one["undated"] == pytest.approx(full["undated"])
    assert one["gao"] == 0.0 and one["unknown"] == 0.0


def test_add_replaces_a_known_id_and_delete_forgets(index: KeywordStore) -> None:
    index.add([("gao", "Now Gao has Kidal in it too.", 20210301)])
    assert len(index) == 4
    assert "gao" in index.search("Kidal", 10)
    assert "Menaka" not in str(index.search("Menaka", 10))
    index.delete(["gao", "never-stored"])
    assert index.ids() == {"kidal-2022", "kidal-2020", "undated"}
    assert "gao" not in index.search("Kidal", 10)


def test_idf_counts_documents_as_the_search_words_store_them(index: KeywordStore) -> None:
    assert search_words("Rebels' O’Brien") == ["rebel", "obrien"]
    assert index.idf("kidal") < index.idf("menaka") < index.max_idf()
    assert index.idf("absent") == 0.0


@pytest.mark.parametrize(
    "query",
    ['"', "NEAR(kidal rebels)", "kidal AND OR NOT", "*", "kidal^2 -rebels", "\x00", "" * 10],
)
def test_query_syntax_is_never_interpreted(index: KeywordStore, query: str) -> None:
    found = index.search(query, 5)  # no sqlite3.OperationalError
    assert set(found) <= {c[0] for c in CHUNKS}


def test_a_huge_query_is_answered(index: KeywordStore) -> None:
    assert "kidal-2022" in index.search("withdrew " * 20_000 + "army", 5)


def _write(path: str) -> None:
    KeywordStore(path).add([("other", "Timbuktu fell to the rebels.", 20230101)])


def test_another_process_sees_writes_without_reopening(tmp_path: Path, index: KeywordStore) -> None:
    assert index.search("Timbuktu", 5) == {}
    process = multiprocessing.get_context("spawn").Process(
        target=_write, args=(str(tmp_path / "keywords.sqlite"),)
    )
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert list(index.search("Timbuktu", 5)) == ["other"]
    assert len(index) == 5


def test_a_big_collection_matches_its_rarest_words_and_scores_with_all(tmp_path: Path) -> None:
    # "minister" is in more chunks than MATCH_BUDGET: ranking all of them would cost time
    # linear in the collection, so only the rarer "kidal" picks candidates, and
    # "minister" still adds to their scores.
    chunks = [
        (f"filler-{i}", f"The minister opened school number {i} today.", 0)
        for i in range(MATCH_BUDGET + 100)
    ]
    chunks += [
        ("kidal-minister", "The minister met the rebels in Kidal.", 0),
        ("kidal", "Kidal rebels met at the market.", 0),
    ]
    index = KeywordStore(tmp_path / "big.sqlite")
    index.add(chunks)
    found = index.search("minister Kidal", 5)
    assert set(found) == {"kidal-minister", "kidal"}  # no chunk with "minister" only
    expected = _bm25("minister Kidal", chunks)
    assert found == pytest.approx({chunk_id: expected[chunk_id] for chunk_id in found})
    assert found["kidal-minister"] > _bm25("Kidal", chunks)["kidal-minister"]
    # Asked for by id, a chunk with only the common word is still scored.
    also = index.search("minister Kidal", 5, also=["filler-7"])
    assert also["filler-7"] == pytest.approx(expected["filler-7"]) and also["filler-7"] > 0


def test_word_counts_are_asked_once_until_the_index_changes() -> None:
    asked: list[list[str]] = []
    stamp = [1]

    def count(terms: list[str]) -> dict[str, int]:
        asked.append(terms)
        return {t: 3 for t in terms if t != "absent"}

    counts = TermCounts(count, lambda: stamp[0])
    assert counts.of(["kidal", "absent", "kidal"]) == {"kidal": 3}
    assert counts.of(["absent", "kidal", "gao"]) == {"kidal": 3, "gao": 3}
    assert asked == [["kidal", "absent"], ["gao"]]  # each word once, absent ones too
    stamp[0] = 2  # a write, here or in another process
    counts.of(["kidal"])
    assert asked[-1] == ["kidal"]


def test_another_writer_changes_the_counts_a_reader_remembered(
    tmp_path: Path, index: KeywordStore
) -> None:
    before = index.idf("kidal")
    assert index.idf("timbuktu") == 0.0
    KeywordStore(tmp_path / "keywords.sqlite").add(
        [("other", "Timbuktu and Kidal fell to the rebels.", 20230101)]
    )
    assert index.idf("timbuktu") > 0.0
    assert index.idf("kidal") < before
    assert list(index.search("Timbuktu", 5)) == ["other"]
    # A finished ingest marks the generation: counts are asked again even where the totals
    # are as they were (a chunk replaced by one of the same length).
    remembered = index.idf("kidal")
    writer = KeywordStore(tmp_path / "keywords.sqlite")
    writer.add([("other", "Timbuktu and Gao fell to the rebels.", 20230101)])
    writer.mark_in_step(2)
    assert index.idf("kidal") == writer.idf("kidal") > remembered
