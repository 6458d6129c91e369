"""Settings: read from ``DOSSIER_*`` environment variables and explicit overrides.

Settings are read only at the entry points (the CLI, the web app's ``main``,
``Assistant`` and ``answer()``); everything below them takes plain arguments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.answerers.backends import parse_llm
from assistant.errors import ConfigError
from vectorstore.onnx_backend import BACKENDS

ENV_PREFIX = "DOSSIER_"
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


@dataclass(frozen=True)
class Settings:
    """Every tunable of Dossier, with its default.

    Example:
        >>> Settings.load(k=3).k
        3
    """

    data_dir: Path = Path("data")
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000; unset = embedded Chroma
    collection: str = "dossier"
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_backend: str = "onnx"  # onnx (PyTorch's vectors, faster queries), torch, onnx-int8
    chunk_size: int = 200  # model tokens per chunk, at most the model's limit
    chunk_overlap: int = 40  # model tokens of whole sentences repeated between chunks
    k: int = 5  # passages retrieved per question
    record_manager_url: str | None = None  # SQLAlchemy URL; unset = SQLite in data_dir
    max_file_mb: float = 20.0
    ingest_batch: int = 512  # chunks embedded and written per ingest step
    chroma_timeout: float = 5.0  # seconds to wait for a Chroma server
    llm: str = "extractive"  # answer mode: extractive, local, ollama:<model>, openai:<model>
    llm_timeout: float = 60.0  # seconds to wait for an LLM server (per request and per token)
    llm_max_tokens: int = 256  # the longest answer an LLM may write
    ollama_url: str = "http://127.0.0.1:11434"
    openai_base_url: str | None = None  # unset = api.openai.com; the key is OPENAI_API_KEY

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``DOSSIER_*`` variables, then ``overrides`` (None = not given)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw.strip() != "":
                values[f.name] = _coerce(f.name, raw.strip(), ENV_PREFIX + f.name.upper())
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            known = ", ".join(f.name for f in fields(cls))
            raise ConfigError(f"unknown setting(s) {sorted(unknown)}; known settings: {known}")
        for name, value in overrides.items():
            if value is not None:
                values[name] = _coerce(name, value, name)
        settings = cls(**values)
        settings.validate()
        return settings

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some values replaced (None = keep), validated."""
        values = {n: _coerce(n, v, n) for n, v in overrides.items() if v is not None}
        new = replace(self, **values)
        new.validate()
        return new

    def validate(self) -> None:
        if self.chunk_size < 16:
            raise ConfigError(f"chunk_size must be at least 16 tokens, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size // 2:
            raise ConfigError(
                f"chunk_overlap must be between 0 and half of chunk_size ({self.chunk_size}), "
                f"got {self.chunk_overlap}; set DOSSIER_CHUNK_OVERLAP lower"
            )
        if not 1 <= self.k <= 100:
            raise ConfigError(f"k (passages per question) must be between 1 and 100, got {self.k}")
        if not 1 <= self.ingest_batch <= 100_000:
            raise ConfigError(f"ingest_batch must be between 1 and 100000, got {self.ingest_batch}")
        if self.max_file_mb <= 0:
            raise ConfigError(f"max_file_mb must be positive, got {self.max_file_mb}")
        if self.chroma_timeout <= 0:
            raise ConfigError(f"chroma_timeout must be positive, got {self.chroma_timeout}")
        if not _COLLECTION_NAME.match(self.collection):
            raise ConfigError(
                f"collection name {self.collection!r} is not allowed: use 3-512 characters "
                "from letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
            )
        _check_url("DOSSIER_CHROMA_URL", self.chroma_url, "http://127.0.0.1:8000")
        _check_url("DOSSIER_OLLAMA_URL", self.ollama_url, "http://127.0.0.1:11434")
        _check_url("DOSSIER_OPENAI_BASE_URL", self.openai_base_url, "http://127.0.0.1:8080/v1")
        parse_llm(self.llm)
        if self.llm_timeout <= 0:
            raise ConfigError(f"llm_timeout must be positive seconds, got {self.llm_timeout}")
        if not 16 <= self.llm_max_tokens <= 8192:
            raise ConfigError(
                f"llm_max_tokens must be between 16 and 8192, got {self.llm_max_tokens}"
            )
        if self.embedding_backend not in BACKENDS:
            raise ConfigError(
                f"DOSSIER_EMBEDDING_BACKEND must be {', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}, "
                f"got {self.embedding_backend!r}"
            )
        if not self.embedding_model.strip():
            raise ConfigError(
                "embedding_model is empty; unset DOSSIER_EMBEDDING_MODEL for the default"
            )

    @property
    def resolved_record_manager_url(self) -> str:
        if self.record_manager_url:
            return self.record_manager_url
        return f"sqlite:///{(self.data_dir / 'records.sqlite').resolve()}"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def _check_url(name: str, url: str | None, example: str) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} {url!r} is not an http(s) URL; use e.g. {example}, or unset it")


def _coerce(name: str, value: Any, label: str) -> Any:
    """Convert ``value`` to the type of field ``name``; ``label`` names it in errors."""
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "Path":
            return Path(value).expanduser()
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        wanted = {"int": "a whole number", "float": "a number"}.get(str(kind), str(kind))
        raise ConfigError(f"{label} must be {wanted}, got {value!r}") from None
