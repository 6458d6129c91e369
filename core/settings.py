"""Every setting of Dossier, declared once: ``DOSSIER_*`` variables, flags and arguments.

``Settings`` is a pydantic-settings model: each field is one setting, with its
type, bounds, default and description. The variable is ``DOSSIER_`` plus the
field's name in capitals; the ``dossier`` command makes one flag per field from
the same declaration (``ui/cli.py``), so a new setting is one field here.
Settings are read only at the entry points (the CLI, the web app's ``main``,
``Assistant`` and ``answer()``); everything below them takes plain arguments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, TypeAdapter, ValidationError, field_validator
from pydantic import model_validator as _model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

ENV_PREFIX = "DOSSIER_"
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]
EMBEDDING_BACKENDS: tuple[str, ...] = get_args(EmbeddingBackend)
DEVICE_PATTERN = r"^(auto|cpu|cuda(:[0-9]+)?|mps)$"  # PyTorch's device names Dossier supports
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")

# Answer modes: "extractive", "local", "ollama:<model>", "openai:<model>".
EXTRACTIVE = "extractive"
LOCAL = "local"


@dataclass(frozen=True)
class LLMSpec:
    """A parsed answer mode: ``kind`` is extractive, local, ollama or openai."""

    kind: str
    model: str = ""

    @property
    def mode(self) -> str:
        return self.kind if not self.model else f"{self.kind}:{self.model}"

    @property
    def setting(self) -> str:
        """The environment variable that points at this backend's server."""
        return {"ollama": "DOSSIER_OLLAMA_URL", "openai": "DOSSIER_OPENAI_BASE_URL"}.get(
            self.kind, "DOSSIER_LLM"
        )


def parse_llm(mode: str) -> LLMSpec:
    """``"openai:gpt-4o-mini"`` -> LLMSpec("openai", "gpt-4o-mini"); bad values -> ConfigError."""
    value = (mode or "").strip()
    kind, _, model = value.partition(":")
    kind = kind.lower()
    if kind in (EXTRACTIVE, LOCAL) and not model:
        return LLMSpec(kind)
    if kind in ("ollama", "openai") and model.strip():
        return LLMSpec(kind, model.strip())
    raise ConfigError(
        f"answer mode {mode!r} is not known; use extractive, local, ollama:<model> "
        "(e.g. ollama:llama3.2) or openai:<model> (e.g. openai:gpt-4o-mini) in DOSSIER_LLM or --llm"
    )


def _flag(
    command: str | None = None, name: str | None = None, metavar: str | None = None
) -> dict[str, Any]:
    """How the CLI offers a field: on every command, or only on ``command`` (space-separated
    names); as ``name`` (default ``--field-name``), showing ``metavar`` for its value."""
    return {"cli": {"command": command, "flag": name, "metavar": metavar}}


NO_FLAG: dict[str, Any] = {"cli": None}  # secrets: environment only, never on a command line


class Settings(BaseSettings):
    """Every tunable of Dossier, with its default.

    Example:
        >>> Settings.load(k=3).k
        3
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,  # DOSSIER_CHROMA_URL= means unset
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    data_dir: Path = Field(Path("data"), description="data directory (Chroma, records, uploads)")
    chroma_url: str | None = Field(
        None, description="Chroma server URL, e.g. http://127.0.0.1:8000; unset = embedded Chroma"
    )
    collection: str = Field("dossier", description="Chroma collection")
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL, description="sentence-transformers model name or folder"
    )
    embedding_backend: EmbeddingBackend = Field(
        "onnx", description="onnx (PyTorch's vectors, faster queries), torch or onnx-int8"
    )
    device: str = Field(
        "auto",
        pattern=DEVICE_PATTERN,
        description="where the embedding model runs: auto (cuda when PyTorch sees a GPU, "
        "else cpu), cpu, cuda, cuda:N or mps; off the CPU the onnx backend runs as torch "
        "(same vectors)",
    )
    chunk_size: int = Field(200, ge=16, description="chunk size in model tokens")
    chunk_overlap: int = Field(
        40, ge=0, description="model tokens of whole sentences repeated between chunks"
    )
    k: int = Field(
        5,
        ge=1,
        le=100,
        description="passages retrieved per question",
        json_schema_extra=_flag(command="ask search", name="-k"),
    )
    record_manager_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the record manager (a PostgreSQL one holds the keyword index "
            "too); unset = SQLite in the data directory"
        ),
    )
    max_file_mb: float = Field(20.0, gt=0, description="largest file to ingest, in MB")
    ingest_batch: int = Field(
        512, ge=1, le=100_000, description="chunks embedded and written per ingest step"
    )
    chroma_timeout: float = Field(5.0, gt=0, description="seconds to wait for a Chroma server")
    watch_debounce: float = Field(
        1.0,
        ge=0.05,
        le=600,
        description="seconds of quiet after a change in a watched folder before it is ingested",
        json_schema_extra=_flag(command="watch ui", metavar="SECONDS"),
    )
    llm: str = Field(
        EXTRACTIVE,
        description="answer mode: extractive, local (the embedded SmolLM2), ollama:<model> "
        "or openai:<model>",
        json_schema_extra=_flag(command="ask ui", metavar="MODE"),
    )
    llm_timeout: float = Field(
        60.0, gt=0, description="seconds to wait for an LLM server (per request and per piece)"
    )
    llm_max_tokens: int = Field(
        256, ge=16, le=8192, description="the longest answer an LLM may write, in tokens"
    )
    ollama_url: str = Field("http://127.0.0.1:11434", description="Ollama server")
    openai_base_url: str | None = Field(
        None, description="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1; unset = OpenAI"
    )
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("DOSSIER_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"),
        description="API key of the OpenAI-compatible server (or OPENAI_API_KEY)",
        json_schema_extra=NO_FLAG,
    )
    cache_dir: Path | None = Field(
        None, description="where the exported ONNX model is kept; unset = ~/.cache/dossier"
    )
    ui_host: str = Field(
        "127.0.0.1",
        description="address the web app listens on (127.0.0.1: this machine only)",
        json_schema_extra=_flag(command="ui", name="--host"),
    )
    ui_port: int = Field(
        7860, ge=1, le=65535, description="web app port", json_schema_extra=_flag("ui", "--port")
    )
    ui_user: str | None = Field(
        None, description="web app login name (with DOSSIER_UI_PASSWORD)", json_schema_extra=NO_FLAG
    )
    ui_password: SecretStr | None = Field(
        None, description="web app login password (with DOSSIER_UI_USER)", json_schema_extra=NO_FLAG
    )

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Settings from ``DOSSIER_*`` variables, then ``overrides`` (None = not given).

        Raises:
            ConfigError: a value is bad; the message names the variable or argument.
        """
        given = {name: value for name, value in overrides.items() if value is not None}
        try:
            return cls(**given)
        except ValidationError as exc:
            raise _config_error(exc, set(given)) from None

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some values replaced (None = keep), validated."""
        given = {name: value for name, value in overrides.items() if value is not None}
        try:
            # model_validate, unlike the constructor, reads no environment: only these values.
            return type(self).model_validate({**self.model_dump(), **given})
        except ValidationError as exc:
            raise _config_error(exc, set(given)) from None

    @field_validator("data_dir", "cache_dir")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("chroma_url", "ollama_url", "openai_base_url")
    @classmethod
    def _http_url(cls, url: str | None, info: Any) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            example = {
                "chroma_url": "http://127.0.0.1:8000",
                "ollama_url": "http://127.0.0.1:11434",
                "openai_base_url": "http://127.0.0.1:8080/v1",
            }[info.field_name]
            raise ValueError(
                f"{ENV_PREFIX}{info.field_name.upper()} {url!r} is not an http(s) URL; "
                f"use e.g. {example}, or unset it"
            )
        return url

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, name: str) -> str:
        if not _COLLECTION_NAME.match(name):
            raise ValueError(
                f"collection name {name!r} is not allowed: use 3-512 characters from letters, "
                "digits, '.', '_' and '-', starting and ending with a letter or digit"
            )
        return name

    @field_validator("embedding_model")
    @classmethod
    def _model_name(cls, name: str) -> str:
        if not name.strip():
            raise ValueError(
                "embedding_model is empty; unset DOSSIER_EMBEDDING_MODEL for the default"
            )
        return name

    @field_validator("llm")
    @classmethod
    def _answer_mode(cls, mode: str) -> str:
        parse_llm(mode)  # ConfigError names the allowed forms
        return mode

    @_model_validator(mode="after")
    def _overlap_below_half(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size // 2:
            raise ValueError(
                f"chunk_overlap must be between 0 and half of chunk_size ({self.chunk_size}), "
                f"got {self.chunk_overlap}; set DOSSIER_CHUNK_OVERLAP lower"
            )
        return self

    # -- derived values -----------------------------------------------------------------

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.data_dir)

    @property
    def resolved_record_manager_url(self) -> str:
        if self.record_manager_url:
            return self.record_manager_url
        return f"sqlite:///{self.layout.records.resolve()}"

    @property
    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        xdg = os.environ.get("XDG_CACHE_HOME")  # the XDG convention, not a Dossier setting
        return (Path(xdg) if xdg else Path.home() / ".cache") / "dossier"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def login(self) -> tuple[str, str] | None:
        """``(user, password)`` for the web app, or None when no login is set."""
        user = (self.ui_user or "").strip()
        password = self.ui_password.get_secret_value() if self.ui_password else ""
        if bool(user) != bool(password):
            missing = "DOSSIER_UI_PASSWORD" if user else "DOSSIER_UI_USER"
            raise ConfigError(
                f"web app login needs both DOSSIER_UI_USER and DOSSIER_UI_PASSWORD; set {missing}"
            )
        return (user, password) if user else None


@dataclass(frozen=True)
class DataLayout:
    """Where everything lives in a data directory; the only place that spells it out."""

    root: Path

    @property
    def chroma(self) -> Path:
        return self.root / "chroma"

    def keywords(self, collection: str) -> Path:
        """The stored keyword index of ``collection`` (SQLite FTS5, ``vectorstore/fts.py``)."""
        return self.root / f"keywords-{collection}.sqlite"

    @property
    def records(self) -> Path:
        return self.root / "records.sqlite"

    @property
    def ingest_lock(self) -> Path:
        return self.root / ".ingest.lock"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    def damaged(self, stamp: str) -> Path:
        """Where a rebuild keeps the store it replaced."""
        return self.root / f"damaged-{stamp}"


def flags(settings: type[Settings] = Settings) -> Mapping[str, dict[str, Any]]:
    """The CLI's view of each field that has a flag: {field: {"flag", "command", ...}}."""
    found: dict[str, dict[str, Any]] = {}
    for name, field in settings.model_fields.items():
        extra: Any = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        cli = extra.get("cli", {})
        if cli is None:
            continue
        found[name] = {
            "flag": cli.get("flag") or "--" + name.replace("_", "-"),
            "commands": (cli.get("command") or "").split() or None,
            "metavar": cli.get("metavar") or name.upper(),
            "env": ENV_PREFIX + name.upper(),
            "description": field.description or "",
            "default": field.default,
            "annotation": field.annotation,
        }
    return found


def check_value(name: str, value: Any, label: str) -> Any:
    """``value`` converted to field ``name``'s type and checked against its bounds.

    For front ends that check one value at a time (a flag as it is parsed);
    ``label`` names it in the error (e.g. ``--port``).

    Raises:
        ConfigError: the value is not of the field's type or out of its bounds.
    """
    field = Settings.model_fields[name]
    kind: Any = field.annotation
    if field.metadata:  # the type with its bounds
        kind = Annotated[(kind, *field.metadata)]
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0], label, field)) from None


def _config_error(exc: ValidationError, given: set[str]) -> ConfigError:
    """One ConfigError for pydantic's findings, naming the variable or argument of each."""
    messages = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        label = name if (name in given or not name) else ENV_PREFIX + name.upper()
        if error["type"] == "extra_forbidden":
            known = ", ".join(Settings.model_fields)
            messages.append(f"unknown setting {name!r}; known settings: {known}")
        elif error["type"] == "literal_error":  # named by its variable, however it was given
            messages.append(
                _describe(error, ENV_PREFIX + name.upper(), Settings.model_fields[name])
            )
        else:
            messages.append(_describe(error, label, Settings.model_fields.get(name)))
    return ConfigError("; ".join(messages))


def _describe(error: Any, label: str, field: Any) -> str:
    """One pydantic finding as a sentence that names ``label`` and the value it got."""
    value = error.get("input")
    kind = error["type"]
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{label} must be a whole number, got {value!r}"
    if kind in ("float_parsing", "float_type"):
        return f"{label} must be a number, got {value!r}"
    if kind == "literal_error":
        allowed = ", ".join(get_args(field.annotation)) if field else error["msg"]
        return f"{label} must be one of {allowed}; got {value!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{label} {_bounds(field)}, got {value}"
    if kind == "value_error":
        cause = error.get("ctx", {}).get("error")
        return str(cause) if cause is not None else str(error["msg"])
    return f"{label}: {error['msg']} (got {value!r})"


def _bounds(field: Any) -> str:
    low = high = None
    strict = False
    for rule in getattr(field, "metadata", []):
        low = getattr(rule, "ge", None) if getattr(rule, "ge", None) is not None else low
        if getattr(rule, "gt", None) is not None:
            low, strict = rule.gt, True
        high = getattr(rule, "le", None) if getattr(rule, "le", None) is not None else high
    if low is not None and high is not None:
        return f"must be between {low:g} and {high:g}"
    if strict and low == 0:
        return "must be positive"
    if low is not None:
        return f"must be {'more than' if strict else 'at least'} {low:g}"
    return f"must be at most {high:g}"
