"""The web app's parts that need no server: HTML rendering, uploads, login settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import ConfigError, RejectedFile
from assistant.types import Answer, Citation
from tests.conftest import MIA
from ui import library, render
from ui.app import login_from_env

HOSTILE = (
    '<script>alert(1)</script> <img src=x onerror="alert(2)"> [link](http://evil.example) '
    "![pic](http://evil.example/p.png) **bold** $$x$$ http://evil.example\n\nnew paragraph"
)


def citation(**fields) -> Citation:
    values = {
        "number": 1,
        "source": "a.txt",
        "title": "Title",
        "quote": "The quote.",
        "passage": "Before. The quote. After.",
        "start": 108,
        "end": 118,
        "score": 0.9,
        "outlet": "Outlet",
        "date": "2024-05-01",
        "passage_start": 100,
        "passage_end": 125,
    }
    values.update(fields)
    return Citation(**values)


def test_answer_html_links_markers_to_numbered_sources():
    answer = Answer(
        question="q",
        text="The quote. [1] Other. [2] Stray [7].",
        citations=(
            citation(),
            citation(number=2, quote="After.", start=119, end=125),
        ),
    )
    html = render.answer_html(answer, turn=4)
    assert '<a class="dossier-cite" href="#dossier-source-4-1"' in html
    assert 'id="dossier-source-4-2"' in html
    assert "[7]" in html and "dossier-source-4-7" not in html  # no source 7: plain text
    assert "Before. <mark>The quote.</mark> After." in html
    assert "Outlet · 2024-05-01 · a.txt" in html
    assert "dossier-final" in html


def test_unsupported_sentences_and_notices_are_shown_escaped():
    answer = Answer(
        question="q",
        text="The quote. [1] He was born on <Mars>.",
        citations=(citation(),),
        unsupported=("He was born on <Mars>.",),
        notice="openai:x is down <b>now</b>; this is the extractive answer instead.",
    )
    html = render.answer_html(answer, turn=1)
    assert (
        '<span class="dossier-unsupported" title="No retrieved passage supports this sentence">'
        'He was born on &lt;Mars&gt;.</span> <span class="dossier-flag">unsupported</span>'
    ) in html
    assert '<div class="dossier-notice">ℹ openai:x is down &lt;b&gt;now&lt;/b&gt;;' in html
    assert html.index("dossier-notice") < html.index("dossier-text")


def test_refusal_html_has_no_sources():
    refusal = Answer(question="q", text="The articles do not answer this question.", answered=False)
    html = render.answer_html(refusal, turn=2)
    assert "dossier-refused" in html
    assert "dossier-source" not in html


@pytest.mark.parametrize("where", ["text", "quote", "title", "passage"])
def test_article_text_is_escaped_on_one_line(where: str):
    fields = {
        "quote": HOSTILE if where == "quote" else "The quote.",
        "title": HOSTILE if where == "title" else "Title",
    }
    tail = HOSTILE if where == "passage" else ""
    fields["passage"] = f"Before. {fields['quote']} After. {tail}"
    c = citation(**fields, start=108, end=108 + len(fields["quote"]))
    text = HOSTILE if where == "text" else "The quote. [1]"
    html = render.answer_html(Answer(question="q", text=text, citations=(c,)), turn=1)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    # One HTML block without a blank line: Markdown is never applied to it.
    assert "\n" not in html
    assert not re.search(r"<a (?![^>]*dossier-cite)", html)


def test_question_partial_and_error_html_are_escaped():
    for html in (
        render.question_html(HOSTILE),
        render.partial_html(HOSTILE),
        render.error_html(HOSTILE),
    ):
        assert "<script" not in html and "\n" not in html


def test_quote_found_when_offsets_do_not_match():
    moved = citation(start=0, end=5)
    assert render.split_passage(moved) == ("Before. ", "The quote.", " After.")
    missing = citation(quote="Not there.")
    assert render.split_passage(missing) == ("", "Not there.", "")


def test_reveal_grows_to_the_whole_text():
    steps = list(render.reveal("one two three four five six seven", words_per_step=3))
    assert steps == ["one two three ", "one two three four five six ", steps[-1]]
    assert steps[-1] == "one two three four five six seven"
    assert list(render.reveal("")) == [""]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.txt", "report.txt"),
        ("../../etc/evil.txt", "evil.txt"),
        ("C:\\Users\\me\\notes.MD", "notes.md"),
        ("/abs/path/page.html", "page.html"),
        ("..hidden.txt", "hidden.txt"),
        ("Zürich café 2024.txt", "Zürich café 2024.txt"),
        ("a<b>|c?.txt", "a_b_c.txt"),
        ("x" * 300 + ".txt", "x" * 116 + ".txt"),
    ],
)
def test_safe_name(name: str, expected: str):
    assert library.safe_name(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("photo.png", r"unsupported file type \(\.png\)"),
        ("README", r"unsupported file type \(no suffix\)"),
        ("....txt", "no usable characters"),
        ("../.txt", "no usable characters"),
    ],
)
def test_safe_name_refuses(name: str, message: str):
    with pytest.raises(RejectedFile, match=message):
        library.safe_name(name)


def test_uploads_are_stored_inside_the_data_dir_and_ingested(make_assistant, tmp_path: Path):
    bot: Assistant = make_assistant()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "good.txt"
    good.write_text(
        "Otter numbers rise\n\nVolunteers counted 412 otters on the river Tweed this year."
    )
    binary = incoming / "binary.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))

    report = library.add_uploads(
        bot, [("../../escape.txt", good), ("binary.txt", binary), ("x.exe", good)]
    )
    assert [(Path(f.path).name, f.status) for f in report.files] == [
        ("binary.txt", "failed"),
        ("x.exe", "failed"),
        ("escape.txt", "added"),
    ]
    stored = library.uploads_dir(bot) / "escape.txt"
    assert stored.read_text() == good.read_text()
    assert not (tmp_path / "escape.txt").exists()
    assert sorted(p.name for p in library.uploads_dir(bot).iterdir()) == ["escape.txt"]
    assert "412" in bot.answer("How many otters were counted on the Tweed?").text

    # A bad file under the same name never replaces the stored article.
    report = library.add_uploads(bot, [("escape.txt", binary)])
    assert report.files[0].status == "failed"
    assert stored.read_text() == good.read_text()
    assert [s.source for s in bot.sources()] == ["escape.txt"]

    # Deleting an uploaded article removes its file too.
    assert library.delete_articles(bot, [str(stored.resolve())]) == 1
    assert not stored.exists()
    assert bot.sources() == []


def test_deleting_an_ingested_article_leaves_the_users_file(make_assistant, seed_copy: Path):
    bot: Assistant = make_assistant()
    bot.ingest([seed_copy])
    assert library.delete_articles(bot, [MIA]) > 0
    assert (seed_copy / MIA).exists()


def test_login_settings():
    assert login_from_env({}) is None
    assert login_from_env({"DOSSIER_UI_USER": "ed", "DOSSIER_UI_PASSWORD": "pw"}) == ("ed", "pw")
    with pytest.raises(ConfigError, match="set DOSSIER_UI_PASSWORD"):
        login_from_env({"DOSSIER_UI_USER": "ed"})
    with pytest.raises(ConfigError, match="set DOSSIER_UI_USER"):
        login_from_env({"DOSSIER_UI_PASSWORD": "pw"})
