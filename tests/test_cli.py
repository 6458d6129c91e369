"""The `dossier` command, in process and once through the installed entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GSIM, MIA
from ui.cli import main


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
    assert (
        f"[1] Mali’s Ansar Dine rebels split, call for ceasefire (GlobalPost, undated) - {MIA}"
        in out
    )


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
        (["sources"], {"DOSSIER_CHUNK_SIZE": "10"}, "DOSSIER_CHUNK_SIZE must be at least 16"),
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
        (["ui", "--port", "0"], "--port must be between 1 and 65535, got 0"),
        (["ui", "--port", "70000"], "--port must be between 1 and 65535, got 70000"),
        (["ui", "--port", "web"], "--port must be a whole number, got 'web'"),
        (["ask", "-k", "0", "q"], "-k must be between 1 and 100, got 0"),
        (["ingest", "--chroma-timeout", "soon", "x"], "--chroma-timeout must be a number"),
        (["--chunk-size", "10", "sources"], "--chunk-size must be at least 16, got 10"),
        (["ui", "--concurrency", "-2"], "expected a positive number, got -2"),
    ],
)
def test_bad_flag_values_are_usage_errors(capsys, argv: list[str], message: str):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_ui_login_needs_both_variables(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("DOSSIER_UI_USER", "editor")
    code, _, err = run(capsys, "ui", "--data-dir", str(tmp_path / "d"))
    assert code == 1
    assert "needs both DOSSIER_UI_USER and DOSSIER_UI_PASSWORD; set DOSSIER_UI_PASSWORD" in err


def test_every_setting_has_a_flag_made_from_its_field(capsys):
    from core.settings import Settings, flags
    from ui.cli import build_parser

    secrets = {"openai_api_key", "ui_user", "ui_password"}  # environment only
    assert set(Settings.model_fields) == set(flags()) | secrets
    on_commands = {"k": ["ask", "search"], "llm": ["ask", "ui"], "ui_host": ["ui"]}
    for name, commands in on_commands.items():
        assert flags()[name]["commands"] == commands
    parser = build_parser()
    for command in ("ask", "search", "ingest", "doctor", "ui"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        shown = capsys.readouterr().out
        for name, spec in flags().items():
            offered = spec["commands"] is None or command in spec["commands"]
            assert (f"({spec['env']}," in shown) == offered, (command, name)
    assert "--host" in shown and "--port" in shown  # ui's own names for ui_host and ui_port
    args = parser.parse_args(["ask", "-k", "3", "--chunk-size", "120", "question"])
    assert (args.k, args.chunk_size) == (3, 120)
