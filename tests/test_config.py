"""Settings from DOSSIER_* variables and overrides, validated with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import ConfigError


def test_defaults():
    s = Settings.load(env={})
    assert s.data_dir == Path("data") and s.chroma_url is None and s.k == 5
    assert s.resolved_record_manager_url.startswith("sqlite:///")
    assert s.resolved_record_manager_url.endswith("data/records.sqlite")


def test_environment_then_overrides():
    env = {
        "DOSSIER_DATA_DIR": "/tmp/x",
        "DOSSIER_K": "7",
        "DOSSIER_CHUNK_SIZE": "128",
        "DOSSIER_RECORD_MANAGER_URL": "postgresql://db/dossier",
        "DOSSIER_CHROMA_URL": "",
    }
    s = Settings.load(env=env, k=3)
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
        Settings.load(env={}, **overrides)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="DOSSIER_CHROMA_TIMEOUT must be a number, got 'soon'"):
        Settings.load(env={"DOSSIER_CHROMA_TIMEOUT": "soon"})
