"""``Assistant``: wires the store, the indexer, the retriever and an answerer together."""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.answerers import Answerer
from assistant.answerers.backends import (
    EXTRACTIVE,
    LOCAL,
    LLMSpec,
    backend_error,
    chat_model,
    local_model_path,
    parse_llm,
)
from assistant.answerers.extractive import ExtractiveAnswerer
from assistant.answerers.generative import GenerativeAnswerer
from assistant.config import Settings
from assistant.errors import InvalidQuestion, ModelUnavailable
from assistant.retrieval import HybridRetriever, Message, contextual_query, message_text
from assistant.types import Answer, Passage, SourceInfo, SyncReport
from ingest.sync import Indexer, Progress
from vectorstore.chroma import ChunkStore
from vectorstore.embeddings import Embedder

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
EMPTY_STORE = (
    "No articles have been ingested yet, so there is nothing to answer from; "
    "add some with `dossier ingest PATH`."
)


class Assistant:
    """Question answering over the ingested articles, with cited passages.

    Construction is cheap; the embedding model loads on first use and is shared
    by every Assistant in the process. Settings not given here come from the
    ``DOSSIER_*`` environment variables.

    Example:
        >>> from assistant import Assistant
        >>> bot = Assistant(data_dir="data")
        >>> bot.ingest(["seeds/"]).summary()
        '2 added, 0 updated, 0 unchanged, 0 deleted, 0 failed (...)'
        >>> answer = bot.answer("What is the Islamic Movement for Azawad?")
        >>> answer.citations[0].source
        '000_6db25d13bdcc533d.txt'
        >>> bot.answer("Who leads it?", history=[
        ...     {"role": "user", "content": "What is the Islamic Movement for Azawad?"},
        ...     {"role": "assistant", "content": answer.text}]).text
        '... would be led by a former senior figure in Ansar Dine, Alghabass Ag Intallah. [1]'
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        **overrides: Any,
    ) -> None:
        if settings is None:
            settings = Settings.load(data_dir=data_dir, **overrides)
        else:
            settings = settings.with_overrides(data_dir=data_dir, **overrides)
        self.settings = settings
        self.embedder = Embedder(settings.embedding_model, backend=settings.embedding_backend)
        self.store = ChunkStore(
            persist_dir=None if settings.chroma_url else settings.data_dir / "chroma",
            url=settings.chroma_url,
            collection=settings.collection,
            embedding_model=self.embedder.identity,
            timeout=settings.chroma_timeout,
        )
        self.indexer = Indexer(
            self.store,
            self.embedder,
            record_manager_url=settings.resolved_record_manager_url,
            lock_path=settings.data_dir / ".ingest.lock",
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            max_file_bytes=settings.max_file_bytes,
            batch_chunks=settings.ingest_batch,
        )
        self.retriever = HybridRetriever(self.store, self.embedder)
        self.extractive = ExtractiveAnswerer(
            self.embedder,
            idf=self.retriever.keyword.idf,
            unknown_idf=self.retriever.keyword.max_idf,
        )
        # LLM answerers are made on first use: building one may need a key or a server.
        self.answerers: dict[str, Answerer] = {self.extractive.mode: self.extractive}
        self._answerers_lock = threading.Lock()
        self.default_mode = parse_llm(settings.llm).mode

    @property
    def modes(self) -> list[str]:
        """The answer modes to offer people; the first is the default.

        The configured mode, extractive, and the embedded ``local`` LLM when it is
        installed. Any other ``ollama:<model>`` / ``openai:<model>`` works too.
        """
        offered = [self.default_mode, EXTRACTIVE]
        if local_model_path() is not None:
            offered.append(LOCAL)
        return list(dict.fromkeys(offered))

    def __repr__(self) -> str:
        return f"Assistant(data_dir={str(self.settings.data_dir)!r}, store={self.store.where!r})"

    def warm_up(self) -> None:
        """Load the model and the keyword index now rather than on the first question."""
        self.embedder.embed_query("warm up")
        self.retriever.refresh()

    # -- asking -------------------------------------------------------------------------

    def answer(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        *,
        k: int | None = None,
        mode: str | None = None,
        fallback: bool = False,
    ) -> Answer:
        """Answer ``question``; ``history`` is the chat so far as role/content messages.

        ``mode`` picks the answerer (see ``modes``; default: the ``llm`` setting).
        With ``fallback``, an LLM that cannot be reached gives the extractive
        answer with a ``notice`` instead of raising ``ModelUnavailable``.
        """
        result: Answer | None = None
        for event in self.stream(question, history, k=k, mode=mode, fallback=fallback):
            if isinstance(event, Answer):
                result = event
        assert result is not None  # stream() always ends with the Answer
        return result

    def stream(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        *,
        k: int | None = None,
        mode: str | None = None,
        fallback: bool = False,
    ) -> Iterator[str | Answer]:
        """Answer ``question`` as it is written: text pieces (``str``), then the ``Answer``.

        Answerers that write their text incrementally (LLMs) yield pieces as they
        come; the others yield the finished Answer only. The last item is always
        the Answer, whose text is final and whose citations are checked.
        """
        answerer = self._answerer(mode)
        question = clean_question(question)
        turns = normalize_history(history)
        try:
            yield from self._stream(answerer, question, turns, k)
        except ModelUnavailable as exc:
            if not fallback or answerer is self.extractive:
                raise
            log.warning("answering with the extractive answerer: %s", exc)
            answer = next(e for e in self._stream(self.extractive, question, turns, k))
            assert isinstance(answer, Answer)
            yield replace(answer, notice=f"{exc}. This is the extractive answer instead.")

    def _stream(
        self, answerer: Answerer, question: str, turns: list[Message], k: int | None
    ) -> Iterator[str | Answer]:
        condense = getattr(answerer, "condense", None)
        query = None
        if condense is not None and turns:
            query = condense(question, turns)  # the LLM rewrites a follow-up to stand alone
        if query is None or len(query) > MAX_QUESTION_CHARS:
            query = contextual_query(question, turns)
        passages = self.retrieve(query, k=k)
        if not passages:
            yield Answer(
                question=question,
                text=EMPTY_STORE
                if self.store.count() == 0
                else "The articles do not answer this question.",
                answered=False,
                mode=answerer.mode,
            )
            return
        stream = getattr(answerer, "stream", None)
        if stream is None:
            yield answerer.answer(question, passages, query=query)
        else:
            yield from stream(question, passages, query=query)

    def _answerer(self, mode: str | None) -> Answerer:
        mode = self.default_mode if mode is None else mode
        if mode in self.answerers:
            return self.answerers[mode]
        spec = parse_llm(mode)
        with self._answerers_lock:
            if spec.mode not in self.answerers:
                self.answerers[spec.mode] = self._generative(spec)
            return self.answerers[spec.mode]

    def _generative(self, spec: LLMSpec) -> GenerativeAnswerer:
        s = self.settings
        where = {"ollama": s.ollama_url, "openai": s.openai_base_url or "api.openai.com"}
        llm = chat_model(
            spec,
            timeout=s.llm_timeout,
            max_tokens=s.llm_max_tokens,
            ollama_url=s.ollama_url,
            openai_base_url=s.openai_base_url,
            openai_api_key=os.environ.get("DOSSIER_OPENAI_API_KEY")
            or os.environ.get("OPENAI_API_KEY"),
        )
        return GenerativeAnswerer(
            llm,
            self.extractive,
            mode=spec.mode,
            # The small local model reads 3 passages well; more only slows it down.
            passages_given=3 if spec.kind == LOCAL else 5,
            on_error=lambda exc: backend_error(
                exc, spec, where=where.get(spec.kind), timeout=s.llm_timeout
            ),
        )

    def retrieve(self, query: str, k: int | None = None) -> list[Passage]:
        """The ``k`` passages that best match ``query``, best first."""
        query = clean_question(query)
        k = self.settings.k if k is None else k
        if not 1 <= k <= 100:
            raise InvalidQuestion(f"k must be between 1 and 100, got {k}")
        return self.retriever.retrieve(query, k)

    # -- the collection -----------------------------------------------------------------

    def ingest(
        self, paths: Iterable[str | Path], prune: bool = False, progress: Progress | None = None
    ) -> SyncReport:
        """Add new and changed articles from files and folders; ``prune`` drops vanished ones."""
        if isinstance(paths, str | Path):
            paths = [paths]
        report = self.indexer.sync(list(paths), prune=prune, progress=progress)
        self.retriever.refresh()
        return report

    def sources(self) -> list[SourceInfo]:
        """The ingested articles."""
        return self.indexer.sources()

    def delete(self, sources: Iterable[str]) -> int:
        """Remove articles by file name or path; returns the number of chunks removed."""
        wanted = set(sources)
        wanted_paths = {str(Path(w).resolve()) for w in wanted}
        ids = [
            s.source_id
            for s in self.sources()
            if s.source_id in wanted or s.source in wanted or s.source_id in wanted_paths
        ]
        removed = self.indexer.delete(ids)
        self.retriever.refresh()
        return removed


def clean_question(question: Any) -> str:
    """The question with control characters removed, or ``InvalidQuestion``."""
    if not isinstance(question, str):
        raise InvalidQuestion(f"the question must be text, got {type(question).__name__}")
    text = "".join(
        " " if unicodedata.category(ch) == "Cc" else "" if unicodedata.category(ch) == "Cf" else ch
        for ch in question
    )
    text = " ".join(text.split())
    if not text:
        raise InvalidQuestion("the question is empty; type a question about the articles")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidQuestion(
            f"the question is {len(text):,} characters long; the limit is "
            f"{MAX_QUESTION_CHARS:,}, so shorten it to the question itself"
        )
    return text


def normalize_history(history: Sequence[Any] | None) -> list[Message]:
    """Chat history as role/content messages.

    Accepts Gradio's messages format (``{"role", "content"}`` dicts, content a
    string or a list of parts) and the older ``[user, assistant]`` pairs.
    """
    if history is None:
        return []
    if isinstance(history, str | bytes) or not isinstance(history, Sequence):
        raise InvalidQuestion(
            "history must be a list of {'role': 'user' | 'assistant', 'content': str} messages, "
            f"got {type(history).__name__}"
        )
    messages: list[Message] = []
    for item in history[-20:]:  # older turns cannot matter to "it" and "he"
        if isinstance(item, dict):
            role = item.get("role")
            if role not in ("user", "assistant", "system"):
                raise InvalidQuestion(
                    f"history message role must be 'user' or 'assistant', got {role!r}"
                )
            messages.append({"role": role, "content": message_text(item)})
        elif isinstance(item, list | tuple) and len(item) == 2:
            user, bot = item
            if user:
                messages.append({"role": "user", "content": str(user)})
            if bot:
                messages.append({"role": "assistant", "content": str(bot)})
        else:
            raise InvalidQuestion(
                "each history item must be a {'role', 'content'} dict or a [user, assistant] "
                f"pair, got {item!r:.80}"
            )
    return messages


_DEFAULT: dict[Settings, Assistant] = {}
_DEFAULT_LOCK = threading.Lock()


def answer(question: str, history: Sequence[Message] | None = None) -> Answer:
    """Answer one question from the default data directory (``DOSSIER_*`` settings).

    The Assistant behind it is built once per process and reused.

    Example:
        >>> from assistant import answer
        >>> print(answer("Which coalition controls the Kidal region?").text)
        Kidal is a crossroads region ... Coordination of Azawad Movements (CMA). [1]
    """
    settings = Settings.load()
    with _DEFAULT_LOCK:
        assistant = _DEFAULT.get(settings)
        if assistant is None:
            assistant = _DEFAULT[settings] = Assistant(settings=settings)
    return assistant.answer(question, history)
