"""Every article gets a date and an outlet, or an honest "undated": from its text, its
header or metadata, or from whoever ingests it; never from the file's timestamps."""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr
import pytest

from assistant.service import ingest_overrides
from core.errors import InvalidOverride, RejectedFile
from ingest.loaders import load_article, split_front_matter
from ui import app
from ui.cli import main

STORY = (
    "Boris Johnson announced his resignation on Thursday after a wave of ministers quit his "
    "government.\n\nHe will stay on as prime minister until the Conservative Party chooses a "
    "new leader, he said outside Downing Street."
)
CNN = (
    "Boris Johnson resigns as UK prime minister\n\nBy Luke McGee, CNN\n\n"
    f"Updated 3:12 PM ET, Thu July 14, 2022\n\nLondon CNN —\n\n{STORY}"
)


def _load(folder: Path, name: str, text: str, **overrides: str):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return load_article(path.resolve(), 10**6, **overrides)


def test_cnn_text_with_updated_line_and_dateline(tmp_path: Path):
    article = _load(tmp_path, "cnn.txt", CNN)
    assert (article.date, article.outlet) == ("2022-07-14", "CNN")
    assert article.date_text == "Updated 3:12 PM ET, Thu July 14, 2022"
    assert article.title == "Boris Johnson resigns as UK prime minister"
    # The date line and the dateline are the page's, not the story's.
    assert "Updated 3:12" not in article.text and "CNN —" not in article.text
    assert "Boris Johnson announced his resignation on Thursday" in article.text


@pytest.mark.parametrize(
    ("opening", "outlet", "date"),
    [
        ("(CNN) — ", "CNN", None),
        ("KIDAL, Mali (AP) — ", "AP", None),
        # A dateline's day counts only with its year: "Jan 5" alone does not say which January.
        ("LONDON, Jan 5 (Reuters) - ", "Reuters", None),
        ("LONDON, Jan 5, 2022 (Reuters) - ", "Reuters", "2022-01-05"),
    ],
)
def test_wire_datelines_name_the_outlet(tmp_path: Path, opening: str, outlet: str, date):
    article = _load(tmp_path, "wire.txt", f"Johnson resigns\n\n{opening}{STORY}")
    assert (article.outlet, article.date) == (outlet, date)
    assert article.text.startswith("Johnson resigns\n\nBoris Johnson announced")


def test_a_byline_names_the_outlet_by_its_initials_only(tmp_path: Path):
    cnn = _load(tmp_path, "cnn.txt", f"Johnson resigns\n\nBy Luke McGee, CNN\n\n{STORY}")
    assert cnn.outlet == "CNN" and "By Luke McGee, CNN" in cnn.text
    editor = _load(
        tmp_path, "ed.txt", f"Johnson resigns\n\nBy Jo Smith, Political Editor\n\n{STORY}"
    )
    assert editor.outlet is None


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("Published 10:02 AM EDT, Mon June 6, 2022", "2022-06-06"),
        ("Posted: 2021-03-04", "2021-03-04"),
        ("5 March 2021", "2021-03-05"),  # BBC style
        ("Last updated on Friday, 5 March 2021, 14:02 GMT", "2021-03-05"),
    ],
)
def test_date_lines_in_plain_text_and_markdown(tmp_path: Path, line: str, date: str):
    for name, text in (
        ("story.txt", f"Johnson resigns\n\n{line}\n\n{STORY}"),
        ("story.md", f"# Johnson resigns\n\n*{line}*\n\n{STORY}"),
    ):
        article = _load(tmp_path, name, text)
        assert (article.date, article.date_text) == (date, line), name
        assert line not in article.text


def test_a_sentence_that_mentions_a_date_is_not_a_date_line(tmp_path: Path):
    article = _load(
        tmp_path, "story.txt", f"Johnson resigns\n\nOn 5 March 2021 it began.\n\n{STORY}"
    )
    assert article.date is None
    assert "On 5 March 2021 it began." in article.text


def test_yaml_front_matter_in_markdown_and_text(tmp_path: Path):
    header = (
        "---\ntitle: Johnson quits\ndate: 2022-07-07\noutlet: The Planet\n"
        "url: https://example.org/johnson\ntags: [uk, politics]\n---\n"
    )
    for name in ("story.md", "story.txt"):
        article = _load(tmp_path, name, header + f"\n{STORY}")
        assert (article.title, article.date, article.outlet) == (
            "Johnson quits",
            "2022-07-07",
            "The Planet",
        )
        assert article.date_text == "2022-07-07"
        assert "---" not in article.text and "tags" not in article.text


def test_plain_key_value_header_and_outlet_from_url(tmp_path: Path):
    header = "Title: Johnson quits\nDate: July 7, 2022\nURL: https://www.cnn.com/2022/07/07/uk\n\n"
    article = _load(tmp_path, "story.txt", header + STORY)
    assert (article.title, article.date, article.outlet) == (
        "Johnson quits",
        "2022-07-07",
        "cnn.com",
    )
    assert article.date_text == "July 7, 2022"
    assert "URL" not in article.text


def test_headers_saved_on_windows(tmp_path: Path):
    for header in ("---\r\ndate: 2022-07-07\r\n---\r\n", "Date: 2022-07-07\r\n\r\n"):
        article = _load(tmp_path, "story.txt", header + STORY.replace("\n", "\r\n"))
        assert article.date == "2022-07-07", header
        assert "Date" not in article.text and "---" not in article.text


def test_a_story_opening_with_a_colon_is_not_a_header(tmp_path: Path):
    text, meta = split_front_matter(f"Update: talks go on\n\n{STORY}")
    assert meta == {} and text.startswith("Update: talks go on")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("---\ndate: [2022\n---\n", "not valid YAML"),
        ("---\ntitle: " + "[" * 3000 + "]" * 3000 + "\n---\n", "not valid YAML"),
        (
            "---\ndate: soon\n---\n",
            "header's date 'soon' is not a calendar date; write it as YYYY-MM-DD",
        ),
    ],
)
def test_a_broken_header_is_refused_with_the_fix(tmp_path: Path, header: str, message: str):
    with pytest.raises(RejectedFile, match=message):
        _load(tmp_path, "story.md", header + STORY)


def test_thematic_breaks_around_prose_are_not_a_header(tmp_path: Path):
    article = _load(tmp_path, "story.md", "---\nA note before the story.\n---\n\n" + STORY)
    assert "A note before the story." in article.text and article.date is None


def test_html_metadata_gives_date_and_site_name(tmp_path: Path):
    paragraphs = "".join(f"<p>{p}</p>" for p in STORY.split("\n\n"))
    page = (
        '<html><head><title>Johnson resigns</title><meta property="og:site_name" '
        'content="Daily Planet"><meta property="article:published_time" '
        'content="2022-07-14T15:12:00Z"></head><body><article><h1>Johnson resigns</h1>'
        f"{paragraphs}</article></body></html>"
    )
    article = _load(tmp_path, "page.html", page)
    assert (article.date, article.outlet) == ("2022-07-14", "Daily Planet")
    assert article.date_text == "2022-07-14"


def test_undated_stays_undated_whatever_the_file_times(tmp_path: Path):
    path = tmp_path / "undated.txt"
    path.write_text(f"Johnson resigns\n\n{STORY}", encoding="utf-8")
    os.utime(path, (1_600_000_000, 1_600_000_000))  # 2020-09-13: must not become the date
    article = load_article(path.resolve(), 10**6)
    assert (article.date, article.date_text, article.outlet) == (None, None, None)


def test_overrides_win_and_count_as_a_change(tmp_path: Path):
    plain = _load(tmp_path, "cnn.txt", CNN)
    dated = _load(tmp_path, "cnn.txt", CNN, date="2022-07-15", outlet="CNN International")
    assert (dated.date, dated.date_text, dated.outlet) == (
        "2022-07-15",
        "2022-07-15",
        "CNN International",
    )
    assert dated.text == plain.text
    other = _load(tmp_path, "cnn.txt", CNN, date="2022-07-16")
    assert len({plain.content_hash, dated.content_hash, other.content_hash}) == 3


def test_ingest_overrides_reach_the_store_and_a_new_date_re_ingests(make_assistant, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "cnn.txt").write_text(CNN, encoding="utf-8")
    (folder / "undated.txt").write_text(f"Johnson resigns\n\n{STORY}", encoding="utf-8")
    bot = make_assistant()
    assert bot.ingest([folder]).count("added") == 2
    shown = {s.source: (s.date, s.date_text, s.outlet) for s in bot.sources()}
    assert shown == {
        "cnn.txt": ("2022-07-14", "Updated 3:12 PM ET, Thu July 14, 2022", "CNN"),
        "undated.txt": (None, None, None),
    }

    report = bot.ingest([folder / "undated.txt"], date="14 July 2022", outlet="  The  Planet ")
    assert report.count("updated") == 1, report
    again = bot.ingest([folder / "undated.txt"], date="2022-07-14", outlet="The Planet")
    assert again.count("unchanged") == 1, again  # the same override: nothing to do
    # sources() reads the chunks' metadata in Chroma.
    info = next(s for s in bot.sources() if s.source == "undated.txt")
    assert (info.date, info.date_text, info.outlet) == ("2022-07-14", "2022-07-14", "The Planet")

    with pytest.raises(InvalidOverride, match="'July 2022' is not a calendar date"):
        bot.ingest([folder], date="July 2022")


def test_an_override_outlives_later_reads_of_the_file_until_the_article_is_deleted(
    make_assistant, tmp_path
):
    """A date given at ingest is recorded: a plain re-ingest (a watched folder's), an edit of
    the file and a repair keep it; a delete forgets it."""
    path = tmp_path / "undated.txt"
    path.write_text(f"Johnson resigns\n\n{STORY}", encoding="utf-8")
    bot = make_assistant()
    bot.ingest([path], outlet="The Planet", date="2022-07-14")

    def shown() -> tuple[str | None, str | None]:
        info = next(s for s in bot.sources() if s.source == "undated.txt")
        return info.date, info.outlet

    assert bot.ingest([path]).count("unchanged") == 1
    path.write_text(f"Johnson resigns\n\n{STORY} He thanked his staff.", encoding="utf-8")
    assert bot.ingest([path]).count("updated") == 1
    assert shown() == ("2022-07-14", "The Planet")
    bot.ingest([path], outlet="Planet Daily")  # one override changed, the other kept
    assert shown() == ("2022-07-14", "Planet Daily")
    bot.store.delete(ids=sorted(bot.store.keywords.ids())[:1])  # a chunk lost: repair re-reads
    bot.repair()
    assert shown() == ("2022-07-14", "Planet Daily") and not bot.check().problems

    bot.delete([str(path)])
    bot.ingest([path])
    assert shown() == (None, None)


def test_an_outlet_must_be_a_name():
    assert ingest_overrides(None, "  Leet \n Gazette ") == (None, "Leet Gazette")
    assert ingest_overrides(" ", "") == (None, None)  # blank: read it from the files
    with pytest.raises(InvalidOverride, match="outlet name is 500 characters long"):
        ingest_overrides(None, "x" * 500)


def test_cli_date_and_outlet(tmp_path: Path, capsys):
    path = tmp_path / "undated.txt"
    path.write_text(f"Johnson resigns\n\n{STORY}", encoding="utf-8")
    data = str(tmp_path / "data")
    code = main(
        ["ingest", "--data-dir", data, "--date", "2022-07-14", "--outlet", "CNN", str(path)]
    )
    assert code == 0
    capsys.readouterr()
    assert main(["sources", "--data-dir", data, "--json"]) == 0
    out = capsys.readouterr().out
    assert '"date": "2022-07-14"' in out and '"outlet": "CNN"' in out

    with pytest.raises(SystemExit) as stopped:
        main(["ingest", "--data-dir", data, "--date", "14/07/22", str(path)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --date: the date '14/07/22' is not a calendar date" in err
    assert "YYYY-MM-DD" in err


def test_upload_form_date_and_outlet(make_assistant, tmp_path: Path):
    upload = tmp_path / "undated.txt"
    upload.write_text(f"Johnson resigns\n\n{STORY}", encoding="utf-8")
    bot = make_assistant()
    with pytest.raises(gr.Error, match="The date 'next week' is not a calendar date"):
        app.add_articles(bot, [str(upload)], date="next week")
    assert upload.exists()  # a typo costs no upload: the file can be added again as it is
    app.add_articles(bot, [str(upload)], date="2022-07-14", outlet="CNN")
    (info,) = bot.sources()
    assert (info.date, info.outlet) == ("2022-07-14", "CNN")
