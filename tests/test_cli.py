"""The `dossier` command, in process and once through the installed entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from tests.conftest import GSIM, MIA


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir(tmp_path: Path, seed_copy: Path, capsys) -> Path:
    data = tmp_path / "data"
    code, out, _ = run(capsys, "--data-dir", str(data), "ingest", str(seed_copy))
    assert code == 0 and "2 added" in out
    return data


def test_ingest_reports_and_progress(tmp_path: Path, seed_copy: Path, capsys):
    (seed_copy / "bad.txt").write_bytes(b"\x00\x00")
    code, out, err = run(capsys, "ingest", "--data-dir", str(tmp_path / "d"), str(seed_copy))
    assert code == 1  # a failure makes the exit status say so
    assert "Summary: 2 added, 0 updated, 0 unchanged, 0 deleted, 1 failed" in out
    assert "bad.txt: the file contains NUL bytes" in out
    assert "ingest: 100%" in err  # the progress bar
    code, out, _ = run(
        capsys, "ingest", "--data-dir", str(tmp_path / "d"), "--json", str(seed_copy)
    )
    report = json.loads(out)
    assert [f["status"] for f in report["files"]].count("unchanged") == 2
    assert report["chunks_embedded"] == 0


def test_ask_json_has_the_answer_fields(data_dir: Path, capsys):
    code, out, _ = run(
        capsys,
        "--data-dir",
        str(data_dir),
        "ask",
        "--json",
        "Which paramilitary group do France and others say the Russian operatives belong to?",
    )
    assert code == 0
    result = json.loads(out)
    assert "Wagner" in result["text"]
    assert set(result) >= {"question", "text", "citations", "passages", "answered"}
    citation = result["citations"][0]
    assert set(citation) >= {
        "number",
        "source",
        "title",
        "quote",
        "passage",
        "start",
        "end",
        "score",
    }
    assert citation["source"] == GSIM


def test_ask_prints_answer_and_numbered_sources(data_dir: Path, capsys):
    code, out, _ = run(
        capsys, "ask", "--data-dir", str(data_dir), "Who leads the Islamic Movement for Azawad?"
    )
    assert code == 0
    assert "Alghabass Ag Intallah. [1]" in out
    assert f"[1] Mali’s Ansar Dine rebels split, call for ceasefire (GlobalPost) - {MIA}" in out


def test_search_and_sources(data_dir: Path, capsys):
    code, out, _ = run(capsys, "search", "--data-dir", str(data_dir), "-k", "2", "--json", "Kidal")
    passages = json.loads(out)
    assert code == 0 and len(passages) == 2
    assert all({"source", "title", "text", "start", "end", "score"} <= set(p) for p in passages)
    code, out, _ = run(capsys, "sources", "--data-dir", str(data_dir), "--json")
    listed = json.loads(out)
    assert [s["source"] for s in listed] == [MIA, GSIM]
    assert set(listed[0]) >= {"source", "title", "outlet", "date", "chunks"}
    assert listed[0]["outlet"] == "GlobalPost" and listed[0]["chunks"] > 0


def test_delete(data_dir: Path, capsys):
    code, out, _ = run(capsys, "delete", "--data-dir", str(data_dir), GSIM)
    assert code == 0 and "Removed" in out
    code, out, err = run(capsys, "delete", "--data-dir", str(data_dir), "nope.txt")
    assert code == 1 and "not found: nope.txt" in err


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--chunk-size", "10", "sources"], {}, "chunk_size must be at least 16"),
        (["sources"], {"DOSSIER_K": "many"}, "DOSSIER_K must be a whole number, got 'many'"),
        (["sources"], {"DOSSIER_CHROMA_URL": "localhost:8000"}, "not an http(s) URL"),
        (["sources"], {"DOSSIER_COLLECTION": "x"}, "collection name 'x' is not allowed"),
        (["ask", ""], {}, "the question is empty"),
    ],
)
def test_bad_settings_and_input_exit_1_with_the_fix(
    tmp_path, capsys, monkeypatch, argv, env, message
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), *argv)
    assert code == 1
    assert err.startswith("dossier: error: ") and message in err


def test_installed_command(tmp_path: Path, seed_copy: Path):
    exe = shutil.which("dossier", path=str(Path(sys.executable).parent))
    assert exe, "pip install -e . installs the dossier command"
    env = {**os.environ, "DOSSIER_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [exe, "ingest", str(seed_copy)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [exe, "ask", "--json", "When is the international team expected to head to Kidal?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Wednesday" in json.loads(done.stdout)["text"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ui", "--port", "0"], "expected a positive number, got 0"),
        (["ui", "--port", "70000"], "port must be 1-65535, got 70000"),
        (["ui", "--port", "web"], "expected a whole number, got 'web'"),
        (["ui", "--concurrency", "-2"], "expected a positive number, got -2"),
    ],
)
def test_ui_rejects_bad_options(capsys, argv: list[str], message: str):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_ui_login_needs_both_variables(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("DOSSIER_UI_USER", "editor")
    code, _, err = run(capsys, "ui", "--data-dir", str(tmp_path / "d"))
    assert code == 1
    assert "needs both DOSSIER_UI_USER and DOSSIER_UI_PASSWORD; set DOSSIER_UI_PASSWORD" in err


def test_every_setting_has_a_flag():
    from dataclasses import fields

    from assistant.cli import _SETTING_FLAGS
    from assistant.config import Settings

    on_commands = {"k": "-k on ask and search", "llm": "--llm on ask and ui"}
    assert {f.name for f in fields(Settings)} == set(_SETTING_FLAGS) | set(on_commands)
    for name, (flag, _, help_text) in _SETTING_FLAGS.items():
        assert flag == "--" + name.replace("_", "-")
        assert f"DOSSIER_{name.upper()}" in help_text
