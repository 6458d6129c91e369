"""Issue 14: since/until filters in the store, time words in questions, answers dated "as of".

On the dated Nolvar Front corpus (tests/corpus.py), where a leader is replaced,
figures are revised and events are told with relative dates.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from assistant import Assistant
from core.errors import InvalidDateRange
from core.timescope import DateRange, date_range, time_scope
from tests.corpus import RECENCY_QUESTIONS, write_dated_corpus
from ui.cli import main
from vectorstore.fts import KeywordStore
from vectorstore.metadata import day_where

LEADER = RECENCY_QUESTIONS[0]


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The dated corpus, ingested once for the module's read-only tests."""
    root = tmp_path_factory.mktemp("dated")
    write_dated_corpus(root / "articles")
    bot = Assistant(data_dir=root / "data")
    report = bot.ingest([root / "articles"])
    assert not report.failures
    return bot


# -- reading time in questions and bounds -------------------------------------------------


@pytest.mark.parametrize(
    ("question", "recent", "since", "until"),
    [
        ("Who currently leads the Nolvar Front?", True, None, None),
        ("What is the latest toll?", True, None, None),
        ("What has happened so far?", True, None, None),
        ("Who is the new leader?", True, None, None),
        ("Who is the mayor of New York?", False, None, None),
        ("Who led the Front?", False, None, None),
        ("What happened in 2022?", False, "2022-01-01", "2022-12-31"),
        ("What happened before March 2021?", False, None, "2021-02-28"),
        ("What happened since 2020?", False, "2020-01-01", None),
        # A month without a year: its latest occurrence by the reference (2023-03-03).
        ("What happened after June?", False, "2022-07-01", None),
        ("What happened in March?", False, "2023-03-01", "2023-03-31"),
        ("Who governs Marseille?", False, None, None),
    ],
)
def test_time_scope_reads_recency_words_and_ranges(question, recent, since, until):
    scope = time_scope(question, reference=date(2023, 3, 3))
    assert scope.recent is recent
    assert scope.range == DateRange(since, until)


def test_the_range_words_are_taken_out_of_the_question_they_filter():
    question = "What happened to the Brevik road in 2022?"
    assert time_scope(question).without_range(question) == "What happened to the Brevik road?"


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("yesterday", None, "YYYY-MM-DD"),
        ("2022-13-01", None, "not a real date"),
        (None, "2022-02-30", "not a real date"),
        ("2023", "2022", "after until"),
    ],
)
def test_bad_bounds_are_value_errors_that_name_the_format(since, until, message):
    with pytest.raises(ValueError, match=message):
        date_range(since, until)


def test_bounds_accept_years_and_months_inclusively():
    assert date_range("2021", "2022-02") == DateRange("2021-01-01", "2022-02-28")
    assert date_range("", None) == DateRange()


# -- filtering in the store ---------------------------------------------------------------


def test_keyword_index_filters_before_ranking():
    index = KeywordStore(":memory:")
    index.add(
        [
            # The best keyword hit by far, but out of range.
            ("old", "Kessmark dam Kessmark dam Kessmark dam cost", 20210914),
            ("new", "the Kessmark dam cost was revised", 20230411),
            ("newer", "a Kessmark dam inquiry", 20230501),
            ("undated", "Kessmark dam history", 0),
        ]
    )
    assert list(index.search("Kessmark dam", 1)) == ["old"]
    in_range = index.search("Kessmark dam", 2, days=(20230101, 99991231))
    assert sorted(in_range) == ["new", "newer"]  # k in-range hits, not the top k filtered
    assert index.search("Kessmark dam", 5, days=(1, 20221231)) == {
        "old": pytest.approx(index.search("Kessmark dam", 1)["old"])
    }
    assert index.newest_day() == date(2023, 5, 1)


def test_dense_search_filters_in_chromas_where(dated: Assistant):
    vector = dated.embedder.embed_query("Who leads the Nolvar Front?")
    everything = dated.store.query(vector, 3)
    assert any(c.metadata["date"] >= "2023" for c in everything)
    until_2021 = dated.store.query(vector, 3, where=day_where(date_range(None, "2021").days))
    # Both 2021 chunks, however far down the unfiltered ranking: the filter runs first.
    assert sorted(c.metadata["date"] for c in until_2021) == ["2021-05-10", "2021-09-14"]


@pytest.mark.parametrize(
    ("since", "until"), [("2023-01-01", None), (None, "2021-12-31"), ("2022-08", "2022-08")]
)
def test_retrieval_keeps_only_articles_in_range_and_leaves_out_undated(dated, since, until):
    window = date_range(since, until)
    passages = dated.retrieve("Nolvar Front Kessmark", k=20, since=since, until=until)
    assert passages
    assert all(
        p.date and window.days[0] <= int(p.date.replace("-", "")) <= window.days[1]
        for p in passages
    )
    everything = dated.retrieve("Nolvar Front Kessmark", k=20)
    assert any(p.date is None for p in everything)  # the undated history article is found...
    expected = {
        p.source
        for p in everything
        if p.date and window.days[0] <= int(p.date.replace("-", "")) <= window.days[1]
    }
    assert {p.source for p in passages} >= expected  # ...and every in-range one still is


def test_bad_dates_in_python_are_value_errors(dated: Assistant):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        dated.answer("Who leads the Nolvar Front?", since="last Tuesday")
    with pytest.raises(InvalidDateRange, match="after until"):
        dated.retrieve("Nolvar Front", since="2023", until="2021")


# -- recency and "as of" ------------------------------------------------------------------


@pytest.mark.parametrize("case", RECENCY_QUESTIONS, ids=lambda c: c.question)
def test_latest_questions_get_the_newest_fact_as_of_its_date(dated: Assistant, case):
    answer = dated.answer(case.question)
    assert answer.answered
    assert answer.span is not None
    assert case.answer in answer.span.text and case.earlier not in answer.span.text
    assert [c.source for c in answer.citations] == [case.file]
    assert answer.as_of == case.date
    assert answer.text.startswith(f"As of {case.date}")


@pytest.mark.parametrize("case", RECENCY_QUESTIONS, ids=lambda c: c.plain)
def test_the_same_questions_without_time_words_still_answer(dated: Assistant, case):
    answer = dated.answer(case.plain)
    assert answer.answered and answer.as_of is None
    # Measured: without a time word the best-matching sentence leads, old or new; the
    # newest fact is among the citations.
    assert case.file in [c.source for c in answer.citations]


def test_each_article_of_a_list_answer_has_its_own_short_answer(dated: Assistant):
    # Articles are ranked one by one for a list; each span is taken from its own article.
    answer = dated.answer("Which articles say how much the Kessmark dam will cost?")
    assert {"135 million", "80 million"} <= {" ".join(s.text.split()[:2]) for s in answer.spans}
    for span in answer.spans:
        cited = answer.citation_of(span)
        assert cited is not None and cited.source == span.source and span.text in cited.quote


def test_a_year_in_the_question_filters_by_date(dated: Assistant):
    answer = dated.answer("How much would the Kessmark dam cost in 2021?")
    assert "80 million" in answer.text and "135" not in answer.text
    assert answer.as_of == "2021-09-14"
    # No article from 2019 answers: the question's year is a reading of it, not an order,
    # so the answer comes from articles of any date, and says so.
    anytime = dated.answer("Who leads the Nolvar Front in 2019?")
    assert anytime.answered and "No article dated 2019-01-01 to 2019-12-31" in anytime.notice


def test_explicit_bounds_keep_newer_facts_out(dated: Assistant):
    answer = dated.answer(LEADER.plain, until="2022-12-31")
    assert LEADER.earlier in answer.text and LEADER.answer not in answer.text
    assert answer.as_of == "2021-05-10"


def test_a_when_answer_gives_the_day_a_relative_date_means(dated: Assistant):
    answer = dated.answer("When was Dara Quint named leader of the Nolvar Front?")
    assert answer.text.startswith("As of 2023-03-03")
    assert "Thursday (2023-03-02)" in answer.text  # the article is from Friday 3 March 2023


# -- the command line ---------------------------------------------------------------------


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's usage errors
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_ask_and_search_take_since_and_until(dated: Assistant, capsys):
    data = str(dated.settings.data_dir)
    code, out, _ = _run(capsys, "ask", "--data-dir", data, "--until", "2022", LEADER.plain)
    assert code == 0 and LEADER.earlier in out and "As of 2021-05-10" in out
    assert "2021-05-10" in out.split("Sources:")[1]  # the source shows its date
    code, out, _ = _run(capsys, "search", "--data-dir", data, "--since", "2023", "--json", "Nolvar")
    found = json.loads(out)
    assert code == 0 and found and all(p["date"] >= "2023-01-01" for p in found)
    code, out, _ = _run(capsys, "search", "--data-dir", data, "-k", "20", "founded shepherds")
    assert "undated)" in out  # an undated source says so


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "soon"], "YYYY-MM-DD"),
        (["--until", "2022-02-30"], "not a real date"),
        (["--since", "2023", "--until", "2021"], "after --until"),
    ],
)
def test_cli_bad_dates_are_usage_errors(dated: Assistant, capsys, argv, message):
    data = str(dated.settings.data_dir)
    code, _, err = _run(capsys, "ask", "--data-dir", data, *argv, "Who leads the Front?")
    assert code == 2 and message in err


def test_api_citations_carry_the_date(dated: Assistant):
    cited = dated.answer(LEADER.question).to_dict()
    assert cited["as_of"] == LEADER.date
    assert cited["citations"][0]["date"] == LEADER.date


def test_the_corpus_files_carry_their_dates(tmp_path: Path):
    facts = write_dated_corpus(tmp_path)
    assert len(facts) == len(list(tmp_path.iterdir()))
    dated_files = [f for f in facts if f.date]
    head = (tmp_path / dated_files[0].file).read_text().splitlines()[:2]
    assert head == ["---", f"date: {dated_files[0].date}"]
