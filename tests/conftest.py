"""Shared fixtures. Chroma and the embedding model are always the real ones.

The model loads once per session (it is cached per process by ``Embedder``),
and the seed articles are ingested once into a session-wide data directory that
read-only tests share; tests that write get a data directory of their own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may download at run time
os.environ["TRANSFORMERS_OFFLINE"] = "1"
for _name in list(os.environ):
    if _name.startswith("DOSSIER_"):  # a developer's settings must not leak into tests
        del os.environ[_name]

import pytest  # noqa: E402

from assistant import Assistant  # noqa: E402
from vectorstore.embeddings import Embedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
TEST_DATA = Path(__file__).resolve().parent / "data"
MIA = "000_6db25d13bdcc533d.txt"
GSIM = "001_a1a23fc04081479d.txt"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed articles."""
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def make_assistant(tmp_path: Path) -> Iterator:
    """Build Assistants on a fresh data directory of this test."""

    def build(**settings: object) -> Assistant:
        settings.setdefault("data_dir", tmp_path / "data")
        return Assistant(**settings)  # type: ignore[arg-type]

    yield build


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """An Assistant with the two seed articles ingested; do not write to it."""
    data_dir = tmp_path_factory.mktemp("seeded") / "data"
    bot = Assistant(data_dir=data_dir)
    report = bot.ingest([SEEDS])
    assert report.count("added") == 2, report
    return bot
