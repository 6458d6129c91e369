"""Loading files: types, encodings, and every kind of bad file gets a clear reason."""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path

import pytest

from core.errors import RejectedFile
from ingest.loaders import find_files, load_article, load_article_with_note

STORY = (
    "Harbour wall to be rebuilt\n\nThe town council voted on Tuesday to rebuild the harbour "
    "wall that collapsed in the January storms.\n\nWork starts in spring.\n"
)
LIMIT = 1024 * 1024


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_plain_text_article(tmp_path: Path):
    article = load_article(write(tmp_path, "story.txt", STORY), LIMIT)
    assert article.title == "Harbour wall to be rebuilt"
    assert article.source == "story.txt"
    assert article.source_id == str(tmp_path / "story.txt")
    assert article.text.startswith("Harbour wall to be rebuilt\n\nThe town council")
    assert len(article.content_hash) == 64


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\t\n  ", "whitespace"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG image"),
        ("nul.txt", b"some text\x00\x00 more", "NUL bytes"),
        ("controls.txt", bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15]) * 50, "control characters"),
        ("bad.txt", b"caf\x81\x8d\x8f\x90 text", "neither UTF-8 nor Windows-1252"),
        ("menu.txt", b"Skip to content\n\nMenu\n\nSubscribe\n", "no article text"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, name: str, data: bytes, reason: str):
    with pytest.raises(RejectedFile, match=reason):
        load_article(write(tmp_path, name, data), LIMIT)


def test_oversized_file_is_refused_before_reading(tmp_path: Path):
    path = write(tmp_path, "huge.txt", "word " * 300_000)
    with pytest.raises(RejectedFile, match=r"1\.4 MB, over the 1 MB limit.*DOSSIER_MAX_FILE_MB"):
        load_article(path, LIMIT)


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (STORY.replace("Tuesday", "Tuesday’s café").encode("cp1252"), "Tuesday’s café"),
        (STORY.replace("Tuesday", "Tuesday café").encode("latin-1"), "Tuesday café"),
        (b"\xef\xbb\xbf" + STORY.encode("utf-8"), "Harbour wall"),
        (STORY.encode("utf-16"), "Harbour wall"),
        (STORY.replace("\n", "\r\n").encode("utf-8"), "Work starts in spring."),
    ],
    ids=["windows-1252", "latin-1", "utf-8-bom", "utf-16-bom", "crlf"],
)
def test_encodings_decode(tmp_path: Path, encoded: bytes, expected: str):
    article = load_article(write(tmp_path, "enc.txt", encoded), LIMIT)
    assert expected in article.text
    assert not article.text.startswith("\ufeff")
    assert "\r" not in article.text
    assert article.title == "Harbour wall to be rebuilt"


def test_html_is_reduced_to_the_article(tmp_path: Path):
    html = """<!doctype html><html><head><title>Harbour wall to be rebuilt | Harbour Times</title>
    <meta property="og:site_name" content="Harbour Times">
    <meta property="article:published_time" content="2024-03-04T09:00:00Z">
    <style>body { color: red }</style><script>alert("pwned")</script></head>
    <body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
    <article><h1>Harbour wall to be rebuilt</h1>
    <p>The town council voted on Tuesday to rebuild the harbour wall that collapsed in the
    January storms, at a cost of two million pounds, after months of public debate.</p>
    <p>Engineers said the work would start in the spring and last about a year, and that the
    harbour would stay open to fishing boats throughout.</p>
    <p>Local fishermen welcomed the decision, saying the old wall had been failing for years.</p>
    </article><footer>Copyright Harbour Times. Cookie settings.</footer></body></html>"""
    article = load_article(write(tmp_path, "page.html", html), LIMIT)
    assert article.title.startswith("Harbour wall to be rebuilt")
    assert article.outlet == "Harbour Times"
    assert article.date == "2024-03-04"
    assert "voted on Tuesday" in article.text
    assert "fishing boats throughout" in article.text
    for markup in ("alert", "pwned", "color: red", "<p>", "Cookie settings"):
        assert markup not in article.text


def test_markdown_keeps_text_and_drops_links_images_and_html(tmp_path: Path):
    md = (
        "# Harbour wall to be rebuilt\n\nThe council [voted](https://evil.example/x) on "
        "Tuesday to rebuild the **harbour wall**.\n\n![wall](https://evil.example/img.png)\n\n"
        "<script>alert(1)</script>\n\nWork starts in spring.\n"
    )
    article = load_article(write(tmp_path, "story.md", md), LIMIT)
    assert article.title == "Harbour wall to be rebuilt"
    assert "The council voted on Tuesday to rebuild the harbour wall." in article.text
    for markup in ("evil.example", "](", "**", "<script>", "alert", "#"):
        assert markup not in article.text


def test_find_files_walks_folders_and_reports_bad_paths(tmp_path: Path):
    folder = tmp_path / "news"
    (folder / "sub").mkdir(parents=True)
    write(folder, "a.txt", STORY)
    write(folder / "sub", "b dé ü.md", STORY)  # spaces and unicode in the name
    write(folder, "c.HTML", "<p>x</p>")
    write(folder, "notes.pdf", b"%PDF-1.4")
    write(folder, ".hidden.txt", STORY)
    os.symlink(folder, folder / "sub" / "loop")  # a link back up must not loop the walk
    files, problems = find_files([folder, tmp_path / "missing.txt", folder / "notes.pdf"])
    assert sorted(p.name for p in files) == ["a.txt", "b dé ü.md", "c.HTML"]
    reasons = dict(problems)
    assert "no such file" in reasons[str(tmp_path / "missing.txt")]
    assert "unsupported file type '.pdf'" in reasons[str(folder / "notes.pdf")]


def test_same_file_named_twice_is_ingested_once(tmp_path: Path):
    path = write(tmp_path, "a.txt", STORY)
    files, _ = find_files([path, tmp_path, tmp_path / "." / "a.txt"])
    assert files == [path.resolve()]


@pytest.mark.timeout(30)  # opening the FIFO or /dev/zero would hang, not fail
def test_a_folder_scan_reports_pipes_devices_and_bad_links_like_naming_them(tmp_path: Path):
    folder = tmp_path / "news"
    folder.mkdir()
    good = write(folder, "good.txt", STORY)
    os.mkfifo(folder / "pipe.txt")  # opening it would wait for a writer forever
    (folder / "x.txt").symlink_to("/dev/zero")  # reading it would never end
    (folder / "y.txt").symlink_to("/dev/urandom")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "gone.txt").symlink_to(folder / "deleted.txt")
    bad = ["pipe.txt", "x.txt", "y.txt", "loop.txt", "gone.txt"]

    started = time.monotonic()
    files, problems = find_files([folder])
    assert time.monotonic() - started < 5  # nothing was opened, so nothing blocked
    assert files == [good.resolve()]
    reasons = {Path(path).name: reason for path, reason in problems}
    assert sorted(reasons) == sorted(bad)
    for name in bad:
        assert find_files([folder / name]) == ([], [(str(folder / name), reasons[name])])
        with pytest.raises(RejectedFile, match=re.escape(reasons[name])):
            load_article(folder / name, LIMIT)  # refused before it is opened
    assert "named pipe (FIFO)" in reasons["pipe.txt"]
    assert "/dev/zero, a character device" in reasons["x.txt"]
    assert "/dev/urandom, a character device" in reasons["y.txt"]
    assert "symbolic link loop" in reasons["loop.txt"]
    assert "broken symbolic link" in reasons["gone.txt"] and "deleted.txt" in reasons["gone.txt"]


def page(head: str, title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head>{head}<title>{title}</title></head>"
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


HARBOUR = [
    "The town council voted on Tuesday to rebuild the harbour wall that collapsed in the "
    "January storms, at a cost of two million pounds, after months of public debate.",
    "Engineers at the café by the quay said the work would start in the spring and last "
    "about a year, and that the harbour would stay open to fishing boats throughout.",
]


def test_html_with_a_few_invalid_utf8_bytes_is_read_and_the_repair_reported(tmp_path: Path):
    html = page('<meta charset="utf-8">', "Harbour wall to be rebuilt", HARBOUR).encode("utf-8")
    html = html.replace(b"two million", b"two\xff million").replace(b"spring", b"spr\xe2\x80ing")
    article, note = load_article_with_note(write(tmp_path, "page.html", html), LIMIT)
    assert note == "3 invalid bytes replaced (not valid UTF-8)"
    assert "at the café by the quay" in article.text  # the valid UTF-8 around them is intact
    assert "two\ufffd million" in article.text


def test_plain_text_with_a_few_invalid_utf8_bytes_is_read_and_the_repair_reported(
    tmp_path: Path,
):
    text = (
        STORY.replace("Tuesday", "Tuesday’s café").encode("utf-8").replace(b"spring", b"spr\x80ing")
    )
    article, note = load_article_with_note(write(tmp_path, "story.txt", text), LIMIT)
    assert note == "1 invalid byte replaced (not valid UTF-8)"
    assert "Tuesday’s café" in article.text  # not misread as Windows-1252


@pytest.mark.parametrize(
    ("head", "encoding", "title", "paragraphs", "word"),
    [
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-2">',
            "iso-8859-2",
            "Żółta łódź wróciła do portu",
            [
                "Rada miasta zagłosowała we wtorek za odbudową falochronu, który zawalił się "
                "podczas styczniowych sztormów.",
                "Prace ruszą wiosną i potrwają około roku.",
            ],
            "zagłosowała",
        ),
        (
            "<meta charset=Shift_JIS>",
            "shift_jis",
            "港の防波堤を再建へ",
            [
                "町議会は火曜日、一月の嵐で崩れた港の防波堤を再建することを決めた。",
                "工事は春に始まり、約一年続く見込みだ。",
                "漁船は引き続き港を利用できる。",
            ],
            "防波堤を再建",
        ),
        (
            "<meta charset='GBK'>",
            "gbk",
            "港口防波堤将重建",
            [
                "镇议会周二投票决定重建在一月风暴中倒塌的港口防波堤。",
                "工程将于春季开始，预计持续约一年。",
                "渔船仍可使用港口。",
            ],
            "港口防波堤",
        ),
    ],
    ids=["iso-8859-2", "shift_jis", "gbk"],
)
def test_html_is_decoded_as_the_page_declares(
    tmp_path: Path, head: str, encoding: str, title: str, paragraphs: list[str], word: str
):
    html = page(head, title, paragraphs).encode(encoding)
    article, note = load_article_with_note(write(tmp_path, "page.html", html), LIMIT)
    assert note == ""
    assert article.title == title
    assert word in article.text


@pytest.mark.parametrize("declared", ["", '<meta charset="utf-8">', "<meta charset=gbk>"])
def test_a_binary_blob_named_html_is_still_refused(tmp_path: Path, declared: str):
    blob = random.Random(7).randbytes(20_000)
    for data in (blob, blob.replace(b"\x00", b"")):  # with and without NUL bytes
        with pytest.raises(RejectedFile, match=r"binary|neither UTF-8|most of it is not"):
            load_article(write(tmp_path, "blob.html", declared.encode() + data), LIMIT)
