"""The Library tab's handlers without a server: search, date order, refresh, delete and its marks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import gradio as gr
import pytest

from assistant import Assistant
from assistant.service import library_search_words
from core.errors import InvalidQuestion
from tests.conftest import ROOT
from ui import app, render
from vectorstore.metadata import CHUNK_INDEX

TITLE, OUTLET, DATE, CHUNKS, INGESTED, FILE = range(6)


def html_article(title: str, outlet: str, date: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title>"
        f'<meta property="article:published_time" content="{date}T09:00:00Z">'
        f'<meta property="og:site_name" content="{outlet}"></head>'
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def write_library(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "otters.html").write_text(
        html_article(
            "Otters return to the Tweed",
            "Daily Otter",
            "2024-03-05",
            "Volunteers counted 412 otters along the river this autumn, the wildlife trust said.",
            "The census was the largest ever held, and a heron colony was found nearby.",
        )
    )
    (folder / "harbour.html").write_text(
        html_article(
            "Harbour wall finished",
            "Harbour Times",
            "2022-07-01",
            "The harbour wall of Port Zell is now 300 metres long, the council said on Monday.",
            "Fishermen said the wall would protect the boats from winter storms.",
        )
    )
    (folder / "tram.html").write_text(
        html_article(
            "Tram line opens",
            "City Courier",
            "2023-11-20",
            "The new tram line has 12 stops and links the station with the university.",
            "The council said the trams would run every six minutes at peak hours.",
        )
    )
    (folder / "zell_notes.txt").write_text(
        "Market hall plans\n\nThe market hall of Port Zell will reopen after repairs to its "
        "roof, traders were told at a meeting.\n"
    )


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """Three dated articles from three outlets and an undated one; do not write to it."""
    root = tmp_path_factory.mktemp("library")
    write_library(root / "articles")
    bot = Assistant(data_dir=root / "data")
    assert bot.ingest([root / "articles"]).count("added") == 4
    return bot


def column(rows: list[list[str | int]], index: int) -> list[str | int]:
    return [row[index] for row in rows]


def test_the_table_is_newest_first_with_dates_and_outlets_filled(library: Assistant):
    _, rows, _, _ = app.library_view(library)
    assert column(rows, DATE) == ["2024-03-05", "2023-11-20", "2022-07-01", render.UNDATED]
    assert column(rows, OUTLET) == ["Daily Otter", "City Courier", "Harbour Times", ""]
    assert column(rows, FILE) == ["otters.html", "tram.html", "harbour.html", "zell_notes.txt"]


@pytest.mark.parametrize(
    ("query", "files"),
    [
        ("tweed", ["otters.html"]),  # title
        ("harbour times", ["harbour.html"]),  # outlet
        ("COURIER", ["tram.html"]),  # outlet, any case
        ("heron colony", ["otters.html"]),  # words only in the text
        ("port zell", ["harbour.html", "zell_notes.txt"]),  # text, newest first, undated last
        ("zell_notes", ["zell_notes.txt"]),  # file name
        ("2023-11", ["tram.html"]),  # date
        ("otters storms", []),  # every word must be in the same article
        ("nothing-like-this", []),
        (".*(", []),  # regular-expression characters are plain text
        ("", ["otters.html", "tram.html", "harbour.html", "zell_notes.txt"]),
    ],
)
def test_search_finds_articles_by_title_outlet_file_date_and_text(library, query, files):
    assert column(app.search_library(library, query), FILE) == files


def test_a_search_that_is_too_long_says_so(library: Assistant):
    with pytest.raises(gr.Error, match="the search is 201 characters long; the limit is 200"):
        app.search_library(library, "x" * 201)
    with pytest.raises(InvalidQuestion, match="the search has 11 words; the limit is 10"):
        library_search_words(" ".join(f"w{i}" for i in range(11)))
    assert library_search_words("a\x00b\u202ec\n") == ["a", "b", "c"]  # controls separate words


def test_the_view_keeps_the_search_and_the_chosen_articles(library: Assistant):
    harbour = next(s.source_id for s in library.sources() if s.source == "harbour.html")
    status, rows, doomed, _ = app.library_view(library, "tweed", [harbour, "/gone.txt"])
    assert status.startswith("4 articles")
    assert column(rows, FILE) == ["otters.html"]
    assert doomed.value == [harbour]  # chosen and still there
    assert len(doomed.choices) == 4


def test_the_refresh_sends_nothing_until_another_process_writes(tmp_path: Path):
    write_library(tmp_path / "articles")
    bot = Assistant(data_dir=tmp_path / "data")
    bot.ingest([tmp_path / "articles" / "otters.html"])
    seen = app.library_version(bot)
    unchanged = app.refresh_library(bot, seen, "", [])
    assert unchanged[0] == seen
    assert all(part == gr.skip() for part in unchanged[1:])

    tram = str(tmp_path / "articles" / "tram.html")
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", "--data-dir", str(tmp_path / "data"), tram],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    version, status, rows, *_ = app.refresh_library(bot, seen, "tram", [])
    assert version != seen
    assert status.startswith("2 articles")
    assert column(rows, FILE) == ["tram.html"]  # the search still applies


def test_delete_asks_first():
    assert app.delete_prompt(["a", "b"]) == "**Delete 2 articles?** This cannot be undone."
    assert app.delete_prompt(["a"]).startswith("**Delete 1 article?**")
    with pytest.raises(gr.Error, match="Choose the articles to delete first"):
        app.delete_prompt([])


def test_answers_citing_a_deleted_article_say_so(tmp_path: Path):
    write_library(tmp_path / "articles")
    bot = Assistant(data_dir=tmp_path / "data")
    bot.ingest([tmp_path / "articles"])
    answers: app.Answers = {}
    chat: app.Chat = []
    plain: app.Turns = []
    for question in ("How many otters did the volunteers count?", "How many stops has the tram?"):
        *_, (_, chat, plain) = app.respond(bot, question, chat, plain, 5, "extractive", answers)
    assert sorted(answers) == [1, 3]  # where they are in the chat
    assert render.cited_source_ids(answers[1])[1].endswith("otters.html")
    before = [turn["content"] for turn in chat]
    assert render.DELETED_NOTE not in "".join(before)

    otters = str((tmp_path / "articles" / "otters.html").resolve())
    assert app.delete_articles(bot, [otters]) > 0
    after = app.mark_deleted(bot, chat, answers)
    assert render.DELETED_NOTE in after[1]["content"]  # the otter answer
    assert "412" in after[1]["content"]  # still the same answer, with its sources
    assert after[3]["content"] == before[3]  # the tram answer cites nothing deleted
    assert after[0] == chat[0] and after[2] == chat[2]  # the questions


def test_the_deleted_note_is_on_the_deleted_sources_only():
    from tests.test_ui import citation

    answer = app.Answer(
        question="q",
        text="The quote. [1] After. [2]",
        citations=(citation(), citation(number=2, source="b.txt", quote="After.")),
    )
    html = render.answer_html(answer, turn=2, deleted=[2])
    first, second = html.split('<details class="dossier-source"')[1:]
    assert render.DELETED_NOTE not in first
    assert render.DELETED_NOTE in second


def test_a_library_bigger_than_the_table_shows_its_newest_and_says_so(
    library: Assistant, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(app, "LIBRARY_ROWS", 2)
    ids = {s.source: s.source_id for s in library.sources()}
    status, rows, doomed, _ = app.library_view(library, "", [ids["zell_notes.txt"]])
    assert status.startswith("4 articles") and "shows the newest 2: search to find" in status
    assert column(rows, FILE) == ["otters.html", "tram.html"]
    # The delete list offers what the table shows, and keeps a chosen article that it does not.
    assert [value for _, value in doomed.choices] == [
        ids["otters.html"],
        ids["tram.html"],
        ids["zell_notes.txt"],
    ]
    assert doomed.value == [ids["zell_notes.txt"]]
    # A search narrows the table to its matches, which fit: no note, and they can be chosen.
    status, rows, doomed, _ = app.library_view(library, "port zell")
    assert "newest" not in status
    assert column(rows, FILE) == ["harbour.html", "zell_notes.txt"]
    assert [value for _, value in doomed.choices] == [ids["harbour.html"], ids["zell_notes.txt"]]
    assert column(app.search_library(library, ""), FILE) == ["otters.html", "tram.html"]


def test_example_questions_come_from_the_newest_articles_without_reading_every_one(
    make_assistant, seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    bot = make_assistant()
    bot.ingest([seed_copy])
    time.sleep(1.1)  # when an article was ingested is kept to the second
    newer = tmp_path / "harbour_board.txt"
    newer.write_text(
        "Harbour board named\n\nMaria Quell chairs the harbour board of Port Zell. "
        "The board meets monthly.\n",
        encoding="utf-8",
    )
    bot.ingest([newer])
    wheres: list[object] = []
    real_get = bot.store.get
    monkeypatch.setattr(
        bot.store, "get", lambda *a, **kw: wheres.append(kw.get("where")) or real_get(*a, **kw)
    )
    questions = bot.example_questions(2)
    assert "Port Zell" in questions[0]  # the newest article's
    assert len(questions) == 2  # and one from a seed article
    assert {CHUNK_INDEX: 0} not in wheres  # every article's first chunk: linear in an archive
