"""Uploaded articles: safe names, checked before they are kept, deleted with their article."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant
from assistant.uploads import safe_name
from core.errors import IngestInProgress, RejectedFile
from tests.conftest import MIA


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
    assert safe_name(name) == expected


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
        safe_name(name)


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

    report = bot.add_uploads([("../../escape.txt", good), ("binary.txt", binary), ("x.exe", good)])
    assert [(Path(f.path).name, f.status) for f in report.files] == [
        ("binary.txt", "failed"),
        ("x.exe", "failed"),
        ("escape.txt", "added"),
    ]
    stored = bot.layout.uploads / "escape.txt"
    assert stored.read_text() == good.read_text()
    assert not (tmp_path / "escape.txt").exists()
    assert sorted(p.name for p in bot.layout.uploads.iterdir()) == ["escape.txt"]
    assert "412" in bot.answer("How many otters were counted on the Tweed?").text

    # A bad file under the same name never replaces the stored article.
    report = bot.add_uploads([("escape.txt", binary)])
    assert report.files[0].status == "failed"
    assert stored.read_text() == good.read_text()
    assert [s.source for s in bot.sources()] == ["escape.txt"]

    # Deleting an uploaded article removes its file too.
    assert bot.delete([str(stored.resolve())]) == 1
    assert not stored.exists()
    assert bot.sources() == []


def test_deleting_an_ingested_article_leaves_the_users_file(make_assistant, seed_copy: Path):
    bot: Assistant = make_assistant()
    bot.ingest([seed_copy])
    assert bot.delete([MIA]) > 0
    assert (seed_copy / MIA).exists()


def test_an_upload_refused_while_another_ingest_runs_leaves_nothing(make_assistant, tmp_path: Path):
    bot: Assistant = make_assistant()
    memo = tmp_path / "confidential-memo.txt"
    memo.write_text("Confidential memo\n\nThe board will close the Galashiels plant in March.")
    kept = tmp_path / "kept.txt"
    kept.write_text("Otter numbers rise\n\nVolunteers counted 412 otters on the Tweed this year.")
    bot.add_uploads([("confidential-memo.txt", kept)])  # an earlier upload of that name
    stored = bot.layout.uploads / "confidential-memo.txt"
    before = stored.read_bytes()

    with bot.indexer.locked(), pytest.raises(IngestInProgress, match="another ingest"):
        bot.add_uploads([("confidential-memo.txt", memo), ("new-memo.txt", memo)])
    assert stored.read_bytes() == before  # not replaced
    assert sorted(p.name for p in bot.layout.uploads.iterdir()) == ["confidential-memo.txt"]

    # Refused after storing (another ingest takes the lock in between): taken back too.
    real = bot.ingest

    def raced(*args: object, **kwargs: object) -> object:
        with bot.indexer.locked():
            return real(*args, **kwargs)  # type: ignore[arg-type]

    bot.ingest = raced  # type: ignore[method-assign]
    with pytest.raises(IngestInProgress):
        bot.add_uploads([("confidential-memo.txt", memo), ("new-memo.txt", memo)])
    assert stored.read_bytes() == before
    assert sorted(p.name for p in bot.layout.uploads.iterdir()) == ["confidential-memo.txt"]
    assert [s.source for s in bot.sources()] == ["confidential-memo.txt"]
