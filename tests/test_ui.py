"""The web app's parts that need no server: HTML rendering, the handlers, login settings."""

from __future__ import annotations

import re

import gradio as gr
import pytest

from assistant import Assistant
from core.errors import ConfigError
from core.settings import Settings
from core.types import Answer, Citation
from ui import app, render

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


def test_login_settings(monkeypatch: pytest.MonkeyPatch):
    assert Settings.load().login is None
    assert Settings.load(ui_user="ed", ui_password="pw").login == ("ed", "pw")
    with pytest.raises(ConfigError, match="set DOSSIER_UI_PASSWORD"):
        Settings.load(ui_user="ed").login  # noqa: B018
    monkeypatch.setenv("DOSSIER_UI_PASSWORD", "pw")
    with pytest.raises(ConfigError, match="set DOSSIER_UI_USER"):
        Settings.load().login  # noqa: B018


# -- the handlers, called without a server ---------------------------------------------------


def test_respond_shows_the_question_then_the_cited_answer(seeded: Assistant, monkeypatch):
    monkeypatch.setattr(app, "REVEAL_SECONDS", 0.0)
    updates, shown = [], []  # shown: the answer's HTML at each update (the list is reused)
    for update in app.respond(
        seeded, "Who leads the Islamic Movement for Azawad?", [], [], 5, "extractive"
    ):
        updates.append(update)
        shown.append(update[1][-1]["content"])
    box, chat, plain = updates[-1]
    assert box == "" and len(chat) == 2 and chat[0]["role"] == "user"
    assert "dossier-sources" in chat[1]["content"] and "Alghabass" in chat[1]["content"]
    assert plain[1]["role"] == "assistant" and "[1]" in plain[1]["content"]
    # The pending answer and the words revealed come before the finished one.
    assert len(shown) > 2 and "dossier-pending" in shown[0]
    assert not any("dossier-sources" in html for html in shown[:-1])

    # A follow-up uses the plain-text turns; an empty question changes nothing.
    *_, (_, chat, plain) = app.respond(seeded, "Who leads it?", chat, plain, 5, "extractive")
    assert len(chat) == 4 and "Alghabass" in plain[-1]["content"]
    assert list(app.respond(seeded, "  ", chat, plain, 5, "extractive")) == [("  ", chat, plain)]


def test_respond_turns_errors_into_a_chat_message(seeded: Assistant):
    *_, (_, chat, plain) = app.respond(seeded, "Who leads the MIA?", [], [], 5, "oracle")
    assert "dossier-error" in chat[-1]["content"] and "answer mode" in chat[-1]["content"]
    assert plain == []


def test_library_view_and_the_api_handlers(seeded: Assistant):
    status, rows, doomed, examples = app.library_view(seeded)
    assert status.startswith("2 articles") and len(rows) == 2
    assert {value for _, value in doomed.choices} == {s.source_id for s in seeded.sources()}
    assert len(examples.samples) == 2
    result = app.ask(seeded, "Which coalition controls the Kidal region?")
    assert result["answered"] and result["citations"][0]["source"]
    with pytest.raises(gr.Error, match="the question is empty"):
        app.ask(seeded, " ")
    with pytest.raises(gr.Error, match="Choose the articles"):
        app.delete_articles(seeded, [])
    with pytest.raises(gr.Error, match="Choose one or more files"):
        app.add_articles(seeded, [])


def test_ask_checks_each_field_with_its_own_message(seeded: Assistant):
    question = "Who leads it?  "  # 15 characters, leaning on the history
    history = [{"role": "user", "content": "x" * 2_000_000}]
    with pytest.raises(gr.Error) as caught:
        app.ask(seeded, question, history)
    message = str(caught.value)
    assert "history message 1 (user) is 2,000,000 characters long" in message
    assert "the question is" not in message
    # A long (allowed) previous question is not folded into an overlong query.
    long_previous = [{"role": "user", "content": "What is the Islamic Movement for Azawad? " * 90}]
    assert app.ask(seeded, "Who leads it?", long_previous)["question"] == "Who leads it?"

    assert app.ask(seeded, "Which coalition controls the Kidal region?", k="5")["answered"]
    assert app.ask(seeded, "Which coalition controls the Kidal region?", k=5)["answered"]
    for bad in ("five", 0, 101, "-3", 2.5, True, "٣"):
        with pytest.raises(gr.Error, match=r"k must be a whole number from 1 to 100"):
            app.ask(seeded, "Which coalition controls the Kidal region?", k=bad)  # type: ignore[arg-type]
    with pytest.raises(gr.Error, match="mode must be text"):
        app.ask(seeded, "Which coalition controls the Kidal region?", mode=3)  # type: ignore[arg-type]


def test_example_questions_are_short_real_questions_the_articles_answer(seeded: Assistant):
    *_, examples = app.library_view(seeded)
    questions = [sample[0] for sample in examples.raw_samples]
    assert questions
    for question in questions:
        assert question.endswith("?") and len(question) <= 100, question
        assert "…" not in question and "..." not in question, question
        assert "article “" not in question  # not the old "What does the article ... report?"
    assert seeded.answer(questions[0]).answered
