"""Issue 14: timelines of a name or topic on the dated Nolvar Front corpus (tests/corpus.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.timeline import CSV_FIELDS, build_timeline
from core.errors import InvalidQuestion
from core.types import Passage
from ingest.loaders import load_article
from tests.corpus import write_dated_corpus
from ui import render
from ui.app import timeline_view
from ui.cli import main

LEADER_NAMED = "Dara Quint was named the new leader of the Nolvar Front on Thursday"
ROAD_SEIZED = "Last week, fighters of the Nolvar Front seized the mountain road to Brevik."
FOUNDED = "The Nolvar Front was founded by shepherds"
TALKS = "Talks between the Nolvar Front and the government opened"


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    root = tmp_path_factory.mktemp("timeline")
    write_dated_corpus(root / "articles")
    bot = Assistant(data_dir=root / "data")
    assert not bot.ingest([root / "articles"]).failures
    return bot


def _find(events, start: str):
    found = [e for e in events if e.sentence.startswith(start)]
    assert len(found) == 1, [e.sentence for e in events]
    return found[0]


def test_events_are_in_date_order_with_relative_dates_resolved(dated: Assistant):
    timeline = dated.timeline("Nolvar Front")
    dates = [e.date for e in timeline.events]
    assert dates == sorted(dates) and len(dates) >= 5
    named = _find(timeline.events, LEADER_NAMED)
    # The article is from Friday 3 March 2023: "on Thursday" is 2 March.
    assert (named.date, named.date_text, named.resolved) == ("2023-03-02", "on Thursday", True)
    assert named.article_date == "2023-03-03" and named.date_source == "sentence"
    seized = _find(timeline.events, ROAD_SEIZED)
    assert (seized.date, seized.date_text, seized.resolved) == ("2022-11-11", "Last week", True)
    assert dates.index(seized.date) < dates.index(named.date)


def test_a_sentence_without_a_date_takes_its_articles_marked_so(dated: Assistant):
    leads = _find(dated.timeline("Ovid Tarr").events, "Ovid Tarr leads the Nolvar Front")
    assert (leads.date, leads.date_source, leads.resolved) == ("2021-05-10", "article", False)
    took = _find(dated.timeline("Ovid Tarr").events, "Tarr took command")
    assert (took.date, took.date_text) == ("2019-01-01", "in 2019")  # the year it writes


def test_undated_events_are_listed_apart(dated: Assistant):
    timeline = dated.timeline("Nolvar Front")
    founded = _find(timeline.undated, FOUNDED)
    assert founded.date is None and founded.date_source == "none"
    assert all(e.date for e in timeline.events)


def test_a_story_carried_by_three_outlets_is_one_event(dated: Assistant):
    timeline = dated.timeline("Nolvar Front")
    talks = _find(timeline.events, TALKS)
    assert talks.date == "2022-06-06"  # "on Monday" in the copies of Tuesday 7 June 2022


def test_offsets_point_at_the_sentence_in_the_cleaned_article(dated: Assistant):
    for event in dated.timeline("Nolvar Front").events:
        article = load_article(Path(event.source_id), 1_000_000)
        assert article.text[event.start : event.end] == event.sentence


def test_since_and_until_keep_events_dated_in_range(dated: Assistant):
    timeline = dated.timeline("Nolvar Front", since="2022-07", until="2022-12-31")
    assert [e.sentence[:20] for e in timeline.events] and all(
        "2022-07-01" <= str(e.date) <= "2022-12-31" for e in timeline.events
    )
    assert _find(timeline.events, ROAD_SEIZED)
    assert timeline.undated == ()  # nothing says an undated event is in the range
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        dated.timeline("Nolvar Front", since="last spring")


def test_empty_topic_is_an_error_and_an_unknown_one_an_empty_timeline(dated: Assistant):
    with pytest.raises(InvalidQuestion):
        dated.timeline("   ")
    unknown = dated.timeline("Zebulon Marchetti")
    assert unknown.events == () and unknown.undated == ()
    assert "No article sentence mentions 'Zebulon Marchetti'" in unknown.message


def test_a_topic_needs_its_words_in_the_sentence():
    passage = Passage(
        "1",
        "a.txt",
        "T",
        "The dam will cost 80 million. Floods hit the valley on 4 March 2022.",
        0,
        68,
        1.0,
        date="2022-03-05",
    )
    assert [e.sentence for e in build_timeline("valley floods", [passage]).events] == [
        "Floods hit the valley on 4 March 2022."
    ]


def test_cli_timeline_text_json_and_csv(dated: Assistant, capsys):
    data = str(dated.settings.data_dir)
    assert main(["timeline", "--data-dir", data, "Nolvar Front"]) == 0
    out = capsys.readouterr().out
    assert "2023-03-02 (on Thursday) [2023-03-03_river_times_new_leader.txt]" in out
    assert out.index("2022-11-11") < out.index("2023-03-02") < out.index("Undated:")
    assert main(["timeline", "--data-dir", data, "--json", "--until", "2022", "Nolvar Front"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["until"] == "2022-12-31" and parsed["events"]
    assert all(e["date"] <= "2022-12-31" for e in parsed["events"])
    assert main(["timeline", "--data-dir", data, "--csv", "Ovid Tarr"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)


def test_cli_timeline_bad_input(dated: Assistant, capsys):
    data = str(dated.settings.data_dir)
    with pytest.raises(SystemExit) as usage:
        main(["timeline", "--data-dir", data, "--since", "2023-02-30", "Nolvar Front"])
    assert usage.value.code == 2 and "not a real date" in capsys.readouterr().err
    assert main(["timeline", "--data-dir", data, " "]) == 1
    assert "error" in capsys.readouterr().err


def test_the_app_shows_the_timeline_escaped(dated: Assistant):
    shown = timeline_view(dated, "Nolvar Front")
    assert 'class="dossier-events"' in shown and "2023-03-02" in shown
    assert shown.index("2022-11-11") < shown.index("2023-03-02") < shown.index("Undated")
    assert "error" in timeline_view(dated, "Nolvar Front", since="soon")
    hostile = render.timeline_html(
        build_timeline(
            "Front",
            [Passage("1", "<b>x</b>.txt", "T", "The Front <script>x</script> won.", 0, 33, 1.0)],
        )
    )
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
