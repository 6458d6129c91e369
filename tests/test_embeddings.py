"""Embedding backends: ONNX gives PyTorch's vectors; int8 is a different embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from core.errors import ConfigError, DossierError, ModelUnavailable
from vectorstore.embeddings import Embedder

TEXTS = [
    "Who leads the Islamic Movement for Azawad?",
    "Kidal is a crossroads region in the north that is not under the control of the state.",
    "word " * 600,  # longer than the model's 256 word pieces: truncated like PyTorch does
]


def test_onnx_matches_pytorch_and_int8_is_close():
    torch_vectors = Embedder(backend="torch").encode(TEXTS)
    onnx_vectors = Embedder(backend="onnx").encode(TEXTS)
    int8_vectors = Embedder(backend="onnx-int8").encode(TEXTS)
    assert onnx_vectors.shape == torch_vectors.shape == (3, 384)
    assert np.min(np.sum(onnx_vectors * torch_vectors, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(int8_vectors, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(int8_vectors * torch_vectors, axis=1)) > 0.85


def test_backend_identity_and_errors():
    assert Embedder(backend="onnx").identity == Embedder(backend="torch").identity
    assert Embedder(backend="onnx-int8").identity.endswith("(int8)")
    with pytest.raises(ModelUnavailable, match="unknown embedding backend 'tpu'"):
        Embedder(backend="tpu")
    with pytest.raises(ConfigError, match="DOSSIER_EMBEDDING_BACKEND must be"):
        Assistant(data_dir="unused", embedding_backend="gpu")


def test_int8_vectors_are_not_mixed_into_a_full_precision_collection(
    make_assistant, seed_copy: Path
):
    make_assistant(embedding_backend="onnx").ingest([seed_copy])
    # PyTorch gives the same vectors as ONNX: the same collection serves both.
    assert (
        "Alghabass" in make_assistant(embedding_backend="torch").answer("Who leads the MIA?").text
    )
    with pytest.raises(DossierError, match=r"\(int8\)"):
        make_assistant(embedding_backend="onnx-int8").answer("Who leads the MIA?")


def test_query_vectors_are_remembered():
    embedder = Embedder()
    first = embedder.embed_query("Where is Kidal?")
    assert embedder.embed_query("Where is Kidal?") is first
    assert embedder.embed_query("Where is Gao?") != first
