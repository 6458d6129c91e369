"""Settings from DOSSIER_* variables and overrides, validated with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings


def test_defaults():
    s = Settings.load()
    assert s.data_dir == Path("data") and s.chroma_url is None and s.k == 5
    assert s.resolved_record_manager_url.startswith("sqlite:///")
    assert s.resolved_record_manager_url.endswith("data/records.sqlite")


def test_environment_then_overrides(monkeypatch: pytest.MonkeyPatch):
    env = {
        "DOSSIER_DATA_DIR": "/tmp/x",
        "DOSSIER_K": "7",
        "DOSSIER_CHUNK_SIZE": "128",
        "DOSSIER_RECORD_MANAGER_URL": "postgresql://db/dossier",
        "DOSSIER_CHROMA_URL": "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = Settings.load(k=3)
    assert s.data_dir == Path("/tmp/x") and s.k == 3 and s.chunk_size == 128
    assert s.resolved_record_manager_url == "postgresql://db/dossier"
    assert s.chroma_url is None  # empty means unset


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"k": 0}, "between 1 and 100"),
        ({"k": 2.5}, "k must be a whole number"),
        ({"chunk_size": 8}, "at least 16"),
        ({"chunk_overlap": 150}, "chunk_overlap"),
        ({"max_file_mb": -1}, "max_file_mb"),
        ({"chroma_url": "ftp://x"}, r"not an http\(s\) URL"),
        ({"collection": "-bad-"}, "collection name"),
        ({"colour": "red"}, "unknown setting"),
        ({"embedding_model": "  "}, "embedding_model is empty"),
    ],
)
def test_bad_values_name_the_problem(overrides, message):
    with pytest.raises(ConfigError, match=message):
        Settings.load(**overrides)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DOSSIER_CHROMA_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="DOSSIER_CHROMA_TIMEOUT must be a number, got 'soon'"):
        Settings.load()


def test_secrets_come_from_the_environment_only(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("DOSSIER_UI_USER", "ed")
    monkeypatch.setenv("DOSSIER_UI_PASSWORD", "pw")
    s = Settings.load()
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(s) and s.login == ("ed", "pw")
    monkeypatch.setenv("DOSSIER_OPENAI_API_KEY", "sk-dossier")  # Dossier's own name wins
    assert Settings.load().openai_api_key.get_secret_value() == "sk-dossier"  # type: ignore[union-attr]


def test_with_overrides_keeps_the_rest_and_validates():
    s = Settings.load(k=3).with_overrides(chunk_size=120, k=None)
    assert (s.k, s.chunk_size) == (3, 120)
    with pytest.raises(ConfigError, match="k must be between 1 and 100, got 0"):
        s.with_overrides(k=0)
