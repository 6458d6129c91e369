"""The Chroma store past SQLite's limit of 32,766 variables in one statement.

Chroma reads a result's metadata with one SQL variable per chunk; asking for
every article's first chunk of a 130k-chunk collection (ingest's moved-file and
story checks, the library list) failed with "too many SQL variables".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vectorstore.chroma import GET_PAGE, ChunkStore
from vectorstore.metadata import CHUNK_INDEX, SOURCE_ID

SQLITE_VARIABLES = 32_766


def test_a_filter_matching_more_chunks_than_sqlite_variables_returns_them_all(tmp_path: Path):
    store = ChunkStore(persist_dir=tmp_path, embedding_model="m", keyword_path=tmp_path / "k.db")
    count = SQLITE_VARIABLES + 1000
    vectors = np.random.default_rng(1).normal(size=(count, 4)).astype(np.float32)
    ids = [f"c{i}" for i in range(count)]
    for start in range(0, count, 5000):
        end = min(start + 5000, count)
        store.add(
            ids[start:end],
            ["w"] * (end - start),
            vectors[start:end].tolist(),
            [{SOURCE_ID: f"a{i}", CHUNK_INDEX: 0} for i in range(start, end)],
        )
    first = store.get(where={CHUNK_INDEX: 0}, include_text=False)
    assert sorted(c.id for c in first) == sorted(ids)  # every one, once
    assert len(store.get(ids=ids, include_text=False)) == count  # by id too
    offset = store.get(where={CHUNK_INDEX: 0}, include_text=False, offset=count - 10)
    assert len(offset) == 10
    assert count > 2 * GET_PAGE  # several pages were read
