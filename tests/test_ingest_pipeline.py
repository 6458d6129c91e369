"""The ingest pipeline: steps embedded in the background, progress over chunks, the device."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError, ModelUnavailable
from core.settings import Settings
from tests.conftest import TEST_DATA
from ui.cli import main
from vectorstore.embeddings import Embedder, resolve_device


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """Ten BBC articles (a few dozen chunks)."""
    target = tmp_path / "articles"
    shutil.copytree(TEST_DATA / "clean", target)
    return target


def test_chunk_progress_moves_while_steps_are_embedded(make_assistant, articles: Path):
    bot = make_assistant(ingest_batch=16)
    bot.embedder.batch_size = 4  # several encoder batches per step
    events: list[tuple[str, int, int]] = []
    report = bot.ingest(
        [articles],
        progress=lambda result, done, total: events.append(("file", done, total)),
        chunk_progress=lambda done, total: events.append(("chunks", done, total)),
    )
    chunks = [(done, total) for kind, done, total in events if kind == "chunks"]
    files = [done for kind, done, _ in events if kind == "file"]
    assert report.count("added") == 10 and report.chunks_embedded > 16  # several steps
    assert files == list(range(1, 11))
    done = [d for d, _ in chunks]
    assert done == sorted(set(done))  # one call per encoder batch, always forward
    assert all(0 < d <= t for d, t in chunks)
    assert len(chunks) >= report.chunks_embedded / 4
    assert chunks[-1] == (report.chunks_embedded, report.chunks_embedded)
    # The bar moves before the first file is reported, and between file reports.
    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "chunks"
    first_file, last_file = kinds.index("file"), len(kinds) - 1 - kinds[::-1].index("file")
    assert "chunks" in kinds[first_file:last_file]

    again = bot.ingest([articles], chunk_progress=lambda d, t: events.append(("again", d, t)))
    assert again.count("unchanged") == 10 and again.chunks_embedded == 0
    assert not [e for e in events if e[0] == "again"]  # nothing embedded, nothing counted


def test_vectors_embedded_ahead_belong_to_their_chunks(make_assistant, articles: Path):
    """Steps are embedded apart from their write, longest texts last: every stored vector
    is still its own chunk's."""
    bot = make_assistant(ingest_batch=8)
    bot.embedder.batch_size = 3
    bot.ingest([articles])
    stored = list(bot.store.iter_all())
    vectors = bot.store.vectors([c.id for c in stored])
    expected = bot.embedder.encode([c.text for c in stored])
    got = np.array([vectors[c.id] for c in stored], dtype=np.float32)
    assert len(stored) > 8
    assert np.min(np.sum(got * expected, axis=1)) > 0.9999


def test_cli_shows_a_bar_over_chunks_embedded(tmp_path: Path, articles: Path, capsys):
    code = main(
        ["--data-dir", str(tmp_path / "d"), "--ingest-batch", "16", "ingest", str(articles)]
    )
    _, err = capsys.readouterr()
    assert code == 0
    assert "ingest: 100%" in err and "chunk" in err  # chunks embedded
    assert "10/10 files" in err  # files written


def test_device_setting_is_checked():
    assert Settings.load().device == "auto"
    assert Settings.load(device="cuda:1").device == "cuda:1"
    with pytest.raises(ConfigError, match="device"):
        Settings.load(device="gpu")


def test_auto_device_is_cuda_exactly_when_torch_sees_a_gpu():
    import torch

    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == "cpu"


def test_off_the_cpu_the_onnx_backend_runs_as_torch():
    on_gpu, on_cpu = Embedder(device="cuda"), Embedder(device="cpu")
    assert (on_gpu.backend, on_cpu.backend) == ("torch", "onnx")
    assert on_gpu.identity == on_cpu.identity  # same vectors: same collection
    int8 = Embedder(device="cuda", backend="onnx-int8")
    assert (int8.backend, int8.device) == ("onnx-int8", "cpu")  # its vectors are its own


def test_cuda_without_a_gpu_says_so():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(ModelUnavailable, match=r"DOSSIER_DEVICE=cuda but PyTorch .* sees no CUDA"):
        Embedder(device="cuda").encode(["Who leads the MIA?"])


@pytest.mark.skipif("not __import__('torch').cuda.is_available()")
def test_cuda_gives_the_cpu_vectors():
    texts = ["Who leads the MIA?", "Volunteers counted 412 otters on the river Tweed."]
    on_gpu = Embedder(device="cuda").encode(texts)
    assert np.min(np.sum(on_gpu * Embedder(device="cpu").encode(texts), axis=1)) > 0.999


def test_a_failure_while_a_step_is_embedded_stops_the_ingest_cleanly(
    make_assistant, articles: Path
):
    """An error in the encoding thread reaches the caller, the lock is let go, and the
    next ingest finishes the work: every article once, every chunk recorded."""
    bot = make_assistant(ingest_batch=16)
    bot.embedder.batch_size = 4

    def broken_bar(done: int, total: int) -> None:
        if done > 8:
            raise BrokenPipeError("the terminal went away")

    with pytest.raises(BrokenPipeError, match="the terminal went away"):
        bot.ingest([articles], chunk_progress=broken_bar)
    report = bot.ingest([articles])
    assert report.count("failed") == 0
    assert report.count("added") + report.count("unchanged") == 10
    stored = {c.id for c in bot.store.iter_all(include_text=False)}
    assert stored == set(bot.indexer.records())
    assert {bot.indexer.records()[i] for i in stored} == {str(p) for p in articles.glob("*.txt")}
