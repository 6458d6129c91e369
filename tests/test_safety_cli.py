"""The `dossier` command on awkward input: names that match several articles, a read-only
data directory, control characters in names, a data directory that does not exist, and
what each command's help shows first.

None of these asks a question, so none needs the answer models.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gradio
import pytest

from assistant import Assistant
from core.errors import AmbiguousName, NoDataDirectory
from tests.conftest import GSIM, MIA, ROOT, SEEDS
from ui.cli import SETTINGS_TITLE, build_parser, main
from vectorstore.chroma import ChunkStore


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- 3. a bare file name that matches several articles ------------------------------------


@pytest.fixture
def twins(tmp_path: Path) -> tuple[Path, Path]:
    """Two different articles that share a file name: x/001.txt and y/001.txt."""
    x, y = tmp_path / "x" / "001.txt", tmp_path / "y" / "001.txt"
    for target, seed in ((x, MIA), (y, GSIM)):
        target.parent.mkdir()
        shutil.copy(SEEDS / seed, target)
    return x.resolve(), y.resolve()


def test_delete_refuses_a_name_that_matches_several_articles(
    tmp_path: Path, twins: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = twins
    data = str(tmp_path / "data")
    assert run(capsys, "ingest", "--data-dir", data, str(x), str(y))[0] == 0

    code, out, err = run(capsys, "delete", "--data-dir", data, "001.txt")
    assert code == 1 and out == ""
    assert err.startswith("dossier: error: '001.txt' matches 2 articles: ")
    assert f"{x}, {y}" in err and "`dossier delete --all 001.txt`" in err
    assert len(err.splitlines()) == 1
    bot = Assistant(data_dir=data)
    assert sorted(s.source_id for s in bot.sources()) == [str(x), str(y)]  # nothing removed

    code, out, _ = run(capsys, "delete", "--data-dir", data, str(x))  # a full path always works
    assert code == 0 and f"deleted: {x}" in out
    assert [s.source_id for s in bot.sources()] == [str(y)]

    assert run(capsys, "ingest", "--data-dir", data, str(x))[0] == 0
    code, out, _ = run(capsys, "delete", "--data-dir", data, "--all", "001.txt")
    assert code == 0 and f"deleted: {x}" in out and f"deleted: {y}" in out
    assert bot.sources() == []


def test_the_web_app_deletes_by_id_and_its_api_refuses_an_ambiguous_name(
    make_assistant, twins: tuple[Path, Path]
) -> None:
    from ui.app import delete_articles, library_view

    x, y = twins
    bot = make_assistant()
    bot.ingest([x, y])
    with pytest.raises(AmbiguousName, match=r"'001\.txt' matches 2 articles"):
        bot.delete(["001.txt"])
    with pytest.raises(gradio.Error, match=r"matches 2 articles: .*give the full path"):
        delete_articles(bot, ["001.txt"])
    assert len(bot.sources()) == 2

    dropdown = library_view(bot)[2]
    assert sorted(value for _, value in dropdown.choices) == [str(x), str(y)]  # ids, not names
    assert delete_articles(bot, [str(y)]) > 0
    assert [s.source_id for s in bot.sources()] == [str(x)]


# -- 5. a read-only data directory ------------------------------------------------------------

# Root ignores file permissions (CAP_DAC_OVERRIDE), so a chmod alone proves nothing when the
# tests run as root. The command then runs under this launcher, which drops root's two
# permission-override capabilities from its bounding set and execs Python: the kernel then
# enforces the directory's mode bits on the real command as it would for any user.
DROP_OVERRIDE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        sys.exit(f"cannot drop capability {capability}: errno {ctypes.get_errno()}")
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def as_plain_user(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGV`` in the project, bound by file permissions even as root."""
    launcher = [sys.executable, "-c", DROP_OVERRIDE] if os.geteuid() == 0 else [sys.executable]
    return subprocess.run(
        [*launcher, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def chmod_tree(root: Path, writable: bool) -> None:
    write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~write)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder holding a data directory with the seeds ingested, all of it read-only."""
    folder = tmp_path / "ro"
    Assistant(data_dir=folder / "data").ingest([SEEDS])
    chmod_tree(folder, writable=False)
    try:
        probe = as_plain_user("-c", "import sys; open(sys.argv[1], 'w')", str(folder / "probe"))
        if probe.returncode == 0 or "PermissionError" not in probe.stderr:
            pytest.skip(f"cannot make a directory read-only for a test here: {probe.stderr}")
        yield folder
    finally:
        chmod_tree(folder, writable=True)


@pytest.mark.parametrize(
    "argv",
    [["ingest", str(SEEDS)], ["sources"], ["doctor"], ["delete", MIA]],
    ids=["ingest", "sources", "doctor", "delete"],
)
def test_a_read_only_data_directory_gives_one_line_with_the_fix(
    read_only: Path, argv: list[str]
) -> None:
    data = read_only / "data"
    done = as_plain_user("-m", "ui.cli", *argv, "--data-dir", str(data))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("Loading ")]
    assert len(lines) == 1 and lines[0].startswith(f"dossier: error: cannot write to {data}")
    assert "writable, or set DOSSIER_DATA_DIR (or --data-dir) to a writable directory" in lines[0]


def test_a_data_directory_that_cannot_be_made_gives_one_line_with_the_fix(
    read_only: Path,
) -> None:
    new = read_only / "new"
    done = as_plain_user("-m", "ui.cli", "ingest", "--data-dir", str(new), str(SEEDS))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(
        f"dossier: error: cannot write to {new} (PermissionError"
    )
    assert not new.exists()


# -- 9. control characters in names ------------------------------------------------------------

EVIL = "evil\n\u202efdp.txt"


@pytest.fixture
def evil_folder(tmp_path: Path) -> Path:
    """An article whose file name holds a newline and U+202E, and whose title holds U+202E."""
    folder = tmp_path / "evil"
    folder.mkdir()
    text = (SEEDS / MIA).read_text(encoding="utf-8")
    (folder / EVIL).write_text(text.replace("Ansar Dine rebels", "Ansar Dine \u202erebels", 1))
    (folder / "bad\u202e\x1b[2J.txt").write_bytes(b"\x00\x00")  # fails, and its name is shown
    return folder


def test_control_characters_in_names_are_escaped(
    tmp_path: Path, evil_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    code, out, err = run(capsys, "ingest", "--data-dir", data, str(evil_folder))
    assert code == 1  # the bad file
    assert "failed: " in out and "bad\\u202e\\x1b[2J.txt: the file contains NUL bytes" in out
    for shown in (out, err):  # stdout, and the progress bar's file names on stderr
        assert "\u202e" not in shown and "\x1b" not in shown and EVIL not in shown

    code, out, _ = run(capsys, "sources", "--data-dir", data)
    assert code == 0 and "\u202e" not in out and len(out.splitlines()) == 1
    assert out.startswith(
        "evil\\n\\u202efdp.txt: Mali’s Ansar Dine \\u202erebels split, call for ceasefire "
        "(GlobalPost, undated) - "
    )

    code, out, _ = run(capsys, "sources", "--data-dir", data, "--json")
    assert code == 0 and "\u202e" not in out  # escaped as \u202e: still valid JSON
    (listed,) = json.loads(out)
    assert listed["source"] == EVIL and "\u202erebels" in listed["title"]

    code, out, err = run(capsys, "delete", "--data-dir", data, "gone\n\u202e.txt")
    assert code == 1 and "not found: gone\\n\\u202e.txt" in err and "\u202e" not in err


def test_log_lines_and_json_escape_what_would_act_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ui.cli import _print_json, _SafeLogFormatter

    record = logging.LogRecord(
        "ingest.sync", logging.WARNING, __file__, 1, "%s: lost", (EVIL,), None
    )
    line = _SafeLogFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert line == "WARNING ingest.sync: evil\\n\\u202efdp.txt: lost"

    value = {"name": "a\n\u202e\x9b\u2028b"}  # json.dumps leaves the last three raw
    _print_json(value)
    out = capsys.readouterr().out
    assert json.loads(out) == value
    assert not any(ch in out for ch in "\u202e\x9b\u2028")


# -- 12. reading commands never make a data directory -----------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "Who leads the rebels?"],
        ["search", "Kidal"],
        ["sources"],
        ["doctor"],
        ["doctor", "--repair"],
        ["delete", MIA],
    ],
    ids=["ask", "search", "sources", "doctor", "doctor-repair", "delete"],
)
def test_reading_commands_do_not_create_a_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    missing = tmp_path / "does-not-exist"
    code, out, err = run(capsys, *argv, "--data-dir", str(missing))
    assert code == 1 and out == ""
    assert err == (
        f"dossier: error: no data directory at {missing}; create one with "
        f"`dossier ingest --data-dir {missing} FILES...`, or check --data-dir and "
        "DOSSIER_DATA_DIR\n"
    )
    assert not missing.exists()


def test_the_service_reads_no_missing_directory_but_writes_a_new_one(tmp_path: Path) -> None:
    missing = tmp_path / "nested" / "data"
    bot = Assistant(data_dir=missing)
    for read in (bot.sources, bot.check, lambda: bot.retrieve("Kidal")):
        with pytest.raises(NoDataDirectory, match="no data directory at"):
            read()
    answer = bot.answer("Who leads the rebels?")  # as for an empty library
    assert not answer.answered and "dossier ingest" in answer.text
    assert not missing.parent.exists()

    store = ChunkStore(persist_dir=missing / "chroma")  # nor does the store below it
    with pytest.raises(NoDataDirectory, match="no Chroma directory at"):
        store.count()
    assert not missing.parent.exists()

    assert bot.ingest([SEEDS]).count("added") == 2  # writing makes it
    assert len(bot.sources()) == 2


def test_ui_makes_its_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.app

    seen: dict[str, int] = {}

    class Started:  # what serve(block=False) gives: the running app
        def block_thread(self) -> None:
            seen["served"] = 1

    def serve(bot: Assistant, **options: object) -> Started:  # the store is readable, and empty
        seen["count"] = bot.store.count()
        return Started()

    monkeypatch.setattr(ui.app, "serve", serve)
    data = tmp_path / "fresh"
    code, _, _ = run(capsys, "ui", "--data-dir", str(data))
    assert code == 0 and seen == {"count": 0, "served": 1} and data.is_dir()


# -- 13. each command's help ---------------------------------------------------------------------


def test_ask_help_shows_its_own_arguments_first_and_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    shown = capsys.readouterr().out
    order = [
        "the question about the articles",
        "  --json",
        "  -k K",
        SETTINGS_TITLE,
        "  --data-dir",
        "Example:\n  dossier ask ",
    ]
    assert [shown.index(part) for part in order] == sorted(shown.index(p) for p in order)
    assert "--data-dir" not in shown.splitlines()[0]  # the usage line: its own options


def test_every_command_documents_its_arguments_and_shows_an_example() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    for name, sub in commands.choices.items():
        shown = sub.format_help()
        assert "Example:\n  dossier " + name in shown, name
        assert shown.index(SETTINGS_TITLE) > shown.index("options:"), name
        for action in sub._actions:
            assert action.help, (name, action.dest)
