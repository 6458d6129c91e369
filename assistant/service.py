"""``Assistant``: wires the store, the indexer, the retriever and an answerer together."""

from __future__ import annotations

import logging
import re
import shlex
import shutil
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict, Unpack

from answerers.backends import backend_error, chat_model, local_model_path
from answerers.extractive import ExtractiveAnswerer
from answerers.generative import GenerativeAnswerer
from answerers.grounding import Grounding
from answerers.ranker import Ranker
from answerers.reader import Reader
from assistant.retrieval import HybridRetriever, contextual_query
from assistant.uploads import check_uploads, keep_uploads
from core.chat import to_messages
from core.errors import (
    AmbiguousName,
    IngestInProgress,
    InvalidQuestion,
    ModelUnavailable,
    NoDataDirectory,
    NotWritable,
    StoreUnavailable,
)
from core.protocols import Answerer
from core.settings import EXTRACTIVE, LOCAL, LLMSpec, Settings, parse_llm
from core.stream import AnswerStream, Pieces
from core.text import NAME_OR_NUMBER, split_sentences
from core.types import NOT_ANSWERED, Answer, Message, Passage, SourceInfo, SyncReport
from ingest import doctor
from ingest.doctor import Checkup, Repair
from ingest.sync import DamagedRecords, Indexer, Progress
from vectorstore.chroma import ChunkStore
from vectorstore.embeddings import Embedder
from vectorstore.metadata import CHUNK_INDEX

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
EMPTY_STORE = (
    "No articles have been ingested yet, so there is nothing to answer from; "
    "add some with `dossier ingest PATH`."
)


class AskOptions(TypedDict, total=False):
    """How to answer, beyond the question and the chat (all optional)."""

    k: int | None  # passages retrieved (default: the k setting)
    mode: str | None  # answer mode (default: the llm setting)
    fallback: bool  # an unreachable LLM gives the extractive answer, with a notice


class Assistant:
    """Question answering over the ingested articles, with cited passages.

    Construction is cheap; the embedding model loads on first use and is shared
    by every Assistant in the process. Settings not given here come from the
    ``DOSSIER_*`` environment variables.

    Writing (``ingest``, ``add_uploads``, ``rebuild``) makes the data directory
    when there is none; reading never does: ``sources``, ``retrieve``, ``delete``
    and ``check`` raise ``NoDataDirectory``, and ``answer`` says nothing has
    been ingested yet. ``create=True`` makes it at once (the web app lists its
    library before anything is ingested).

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
        create: bool = False,
        **overrides: Any,
    ) -> None:
        if settings is None:
            settings = Settings.load(data_dir=data_dir, **overrides)
        else:
            settings = settings.with_overrides(data_dir=data_dir, **overrides)
        self.settings = settings
        self.layout = settings.layout
        self.embedder = Embedder(
            settings.embedding_model,
            backend=settings.embedding_backend,
            cache_dir=settings.resolved_cache_dir,
        )
        self.store = ChunkStore(
            persist_dir=None if settings.chroma_url else self.layout.chroma,
            url=settings.chroma_url,
            collection=settings.collection,
            embedding_model=self.embedder.identity,
            timeout=settings.chroma_timeout,
        )
        self.indexer = Indexer(
            store=self.store,
            embedder=self.embedder,
            record_manager_url=settings.resolved_record_manager_url,
            lock_path=self.layout.ingest_lock,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            max_file_bytes=settings.max_file_bytes,
            batch_chunks=settings.ingest_batch,
        )
        self.retriever = HybridRetriever(self.store, self.embedder)
        keyword = self.retriever.keyword
        self.grounding = Grounding(self.embedder, idf=keyword.idf, unknown_idf=keyword.max_idf)
        self.extractive = ExtractiveAnswerer(self.grounding, Reader(), Ranker())
        # LLM answerers are made on first use: building one may need a key or a server.
        self.answerers: dict[str, Answerer] = {self.extractive.mode: self.extractive}
        self._answerers_lock = threading.Lock()
        self.default_mode = parse_llm(settings.llm).mode
        if create:
            self._open_data_dir(write=True)

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
        """Load the models and the keyword index now rather than on the first question."""
        self._open_data_dir(write=False)
        self.embedder.embed_query("warm up")
        self.extractive.reader.read("warm up", ["Warm up."])
        self.retriever.refresh()

    # -- asking -------------------------------------------------------------------------

    def answer(
        self, question: str, history: Sequence[Any] | None = None, **options: Unpack[AskOptions]
    ) -> Answer:
        """Answer ``question``; ``history`` is the chat so far as role/content messages.

        ``options`` are ``AskOptions``: ``k``, ``mode`` (see ``modes``; default:
        the ``llm`` setting) and ``fallback`` (an LLM that cannot be reached gives
        the extractive answer with a ``notice`` instead of raising ``ModelUnavailable``).
        """
        return self.stream(question, history, **options).answer()

    def stream(
        self, question: str, history: Sequence[Any] | None = None, **options: Unpack[AskOptions]
    ) -> AnswerStream:
        """Answer ``question`` as it is written: iterate for text pieces, then ``answer()``.

        Answerers that write their text incrementally (LLMs) give pieces as they
        come; the others give none. The final Answer's text is checked and is
        what counts (see ``AnswerStream``). ``options`` as for ``answer``.
        """
        answerer = self._answerer(options.get("mode"))
        question = clean_question(question)
        turns = to_messages(history)
        k, fallback = options.get("k"), options.get("fallback", False)
        return AnswerStream(self._pieces(answerer, question, turns, k, fallback))

    def _pieces(
        self,
        answerer: Answerer,
        question: str,
        turns: list[Message],
        k: int | None,
        fallback: bool,
    ) -> Pieces:
        try:
            stream = self._ask(answerer, question, turns, k)
            yield from stream
            return stream.answer()
        except ModelUnavailable as exc:
            if not fallback or answerer is self.extractive:
                raise
            log.warning("answering with the extractive answerer: %s", exc)
            answer = self._ask(self.extractive, question, turns, k).answer()
            return replace(answer, notice=f"{exc}. This is the extractive answer instead.")

    def _ask(
        self, answerer: Answerer, question: str, turns: list[Message], k: int | None
    ) -> AnswerStream:
        query = answerer.condense(question, turns) if turns else None
        if query is None or len(query) > MAX_QUESTION_CHARS:
            query = contextual_query(question, turns)
        if self._data_dir_missing():  # nothing ingested yet, and asking must not make one
            return AnswerStream.of(Answer.refusal(question, mode=answerer.mode, text=EMPTY_STORE))
        passages = self.retrieve(query, k=k)
        if not passages:
            empty = self.store.count() == 0
            text = EMPTY_STORE if empty else NOT_ANSWERED
            return AnswerStream.of(Answer.refusal(question, mode=answerer.mode, text=text))
        said = [m["content"] for m in turns if m["role"] == "assistant"]
        return answerer.stream(question, passages, query=query, said=said)

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
            openai_api_key=s.openai_api_key.get_secret_value() if s.openai_api_key else None,
        )
        return GenerativeAnswerer(
            llm,
            self.grounding,
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
        self._open_data_dir(write=False)
        return self.retriever.retrieve(query, k)

    def example_questions(self, n: int = 3) -> list[str]:
        """Up to ``n`` questions the newest articles answer, made from their own sentences.

        From each article's first passage, the first sentence that names someone or
        something and reads as "<Name> <verb> ..." becomes "Who <verb> ...?" (or
        "What is ...?"); failing that, a sentence's first name becomes "What is
        reported about <Name>?". Each is at most ``MAX_EXAMPLE_CHARS`` characters
        and never cut short.
        """
        self._open_data_dir(write=False)
        first = self.store.get(where={CHUNK_INDEX: 0})
        first.sort(key=lambda c: str(c.metadata.get("ingested_at", "")), reverse=True)
        questions: list[str] = []
        for chunk in first:
            title = str(chunk.metadata.get("title", ""))
            sentences = [chunk.text[s:e].strip() for s, e in split_sentences(chunk.text)]
            sentences = [s for s in sentences if s and s != title and s[-1] in ".!"]
            made = [q for q in map(question_from_sentence, sentences) if q]
            made = made or [q for q in map(_about_name, sentences) if q]
            if made and made[0] not in questions:
                questions.append(made[0])
            if len(questions) >= n:
                break
        return questions

    # -- the collection -----------------------------------------------------------------

    def ingest(
        self, paths: Iterable[str | Path], prune: bool = False, progress: Progress | None = None
    ) -> SyncReport:
        """Add new and changed articles from files and folders; ``prune`` drops vanished ones."""
        if isinstance(paths, str | Path):
            paths = [paths]
        self._open_data_dir(write=True)
        report = self.indexer.sync(list(paths), prune=prune, progress=progress)
        self.retriever.refresh()
        return report

    def sources(self) -> list[SourceInfo]:
        """The ingested articles."""
        self._open_data_dir(write=False)
        return self.indexer.sources()

    def matching(self, names: Iterable[str], all_matches: bool = False) -> dict[str, list[str]]:
        """The ``source_id`` of every stored article each of ``names`` means (none: unknown).

        A ``source_id`` (the full path ``dossier sources --json`` shows) means its
        one article. A file name or relative path means every article it names;
        when that is more than one, ``AmbiguousName`` lists them unless
        ``all_matches`` says every match is meant. Articles whose delete was
        interrupted count as stored, so that deleting them again finishes it.
        """
        stored = self.sources()
        ids = {s.source_id for s in stored}
        # Articles whose delete was interrupted: Chroma may no longer list them, but a
        # delete of the same name must find them to finish the job.
        pending = [p for p in self.indexer.pending_deletes() if p not in ids]
        found: dict[str, list[str]] = {}
        for name in names:
            if name in ids or name in pending:
                found[name] = [name]
                continue
            path = str(Path(name).resolve())
            found[name] = [s.source_id for s in stored if name == s.source or s.source_id == path]
            found[name] += [p for p in pending if name == Path(p).name or p == path]
        ambiguous = {name: matches for name, matches in found.items() if len(matches) > 1}
        if ambiguous and not all_matches:
            name, matches = next(iter(ambiguous.items()))
            raise AmbiguousName(
                f"{name!r} matches {len(matches)} articles: {', '.join(matches)}; give the full "
                "path of the one to delete, or delete them all with "
                f"`dossier delete --all {shlex.quote(name)}`"
            )
        return found

    def delete(self, sources: Iterable[str], all_matches: bool = False) -> int:
        """Remove articles by ``source_id``, file name or path; returns the chunks removed.

        Nothing is removed when a name matches several articles and
        ``all_matches`` is False (``AmbiguousName``, see ``matching``). An uploaded
        article's stored copy leaves ``DATA_DIR/uploads`` too; files ingested from
        elsewhere are the user's own and are never touched.
        """
        found = self.matching(sources, all_matches)
        ids = sorted({source_id for matches in found.values() for source_id in matches})
        removed = self.indexer.delete(ids)
        self.retriever.refresh()
        uploads = self.layout.uploads.resolve()
        for source_id in ids:
            path = Path(source_id)
            if path.parent == uploads and path.is_file():
                path.unlink()
        return removed

    def add_uploads(
        self, files: Sequence[tuple[str, str | Path]], progress: Progress | None = None
    ) -> SyncReport:
        """Check, keep and ingest uploaded files, given as ``(original name, temporary path)``.

        Every file gets a result: added, updated, unchanged, or failed with the reason.
        A refused file is never stored; while another ingest runs, ``IngestInProgress``
        is raised and the uploads folder is left as it was.
        """
        self._open_data_dir(write=True)
        accepted, refused = check_uploads(files, self.settings.max_file_bytes)
        if not accepted:
            return SyncReport(files=tuple(refused))
        # Stored only under the ingest lock: while another ingest runs the upload is
        # refused (IngestInProgress) before anything is written to the uploads folder.
        with self.indexer.locked():
            kept = keep_uploads(self.layout.uploads, accepted)
        try:
            report = self.ingest(kept.paths, progress=progress)
        except IngestInProgress:  # another ingest took the lock in between: take ours back
            kept.undo()
            raise
        return replace(report, files=tuple(refused) + report.files)

    # -- checking the data directory ----------------------------------------------------

    def check(self) -> Checkup:
        """Whether the record manager, Chroma and the keyword index agree (``dossier doctor``)."""
        self._open_data_dir(write=False)
        self.retriever.refresh()
        return doctor.check(self.indexer, self.retriever.keyword.ids)

    def repair(self, checkup: Checkup | None = None) -> Repair:
        """Make them agree, re-embedding only chunks that are really missing."""
        self._open_data_dir(write=False)
        result = doctor.repair(self.indexer, checkup or self.check())
        self.retriever.refresh()
        return result

    def rebuild(self, paths: Sequence[str | Path] = ()) -> tuple[Path | None, SyncReport]:
        """Move the store aside (never deleted) and ingest ``paths`` (default: the known files).

        The known files are those the record manager names or, when its database
        is damaged (or empty), those Chroma's chunks name. A damaged record
        database is moved aside too, and the ingest writes the records afresh.

        Returns the folder the old store was moved to (None for a Chroma server,
        whose collection is dropped instead) and the ingest report.
        """
        sources = list(paths)
        chroma_open = False  # read here: a local Chroma is then copied aside and kept in place
        if not sources:
            sources = [s for s in doctor.known_sources(self.indexer) if Path(s).exists()]
        if not sources:
            sources = [s for s in doctor.stored_sources(self.indexer) if Path(s).exists()]
            chroma_open = bool(sources)
        if not sources:
            raise StoreUnavailable(
                "no article files to rebuild from: neither the record manager nor Chroma lists "
                "any that still exist; name them: `dossier doctor --rebuild PATH...`"
            )
        aside: Path | None = None
        with self.indexer.locked():
            if self.settings.chroma_url:
                self.store.drop_collection()
            else:
                aside = self.layout.damaged(datetime.now(UTC).strftime("%Y%m%dT%H%M%S"))
                aside.mkdir(parents=True)
                chroma = self.layout.chroma
                if chroma.exists() and chroma_open:
                    # This process has it open (its files cannot be moved from under
                    # Chroma): keep a copy, and let the ingest below rewrite its chunks.
                    shutil.copytree(chroma, aside / chroma.name)
                elif chroma.exists():
                    shutil.move(str(chroma), str(aside / chroma.name))
            records = None if self.settings.record_manager_url else self.layout.records
            if records is None:
                try:
                    manager = self.indexer.record_manager
                    manager.delete_keys(manager.list_keys())
                except DamagedRecords:  # a damaged SQLite file named by the URL: move it
                    records = self.indexer.records_file
            if records is not None and records.exists():
                target = aside or self.layout.damaged("records")
                target.mkdir(parents=True, exist_ok=True)
                shutil.move(str(records), str(target / records.name))
            self.indexer.forget_record_manager()
        # Kept in place, Chroma may hold articles whose files are gone: the new records
        # do not track them, so they go (the copy aside keeps them).
        return aside, self.ingest(sources, prune=chroma_open)

    # -- the data directory -------------------------------------------------------------

    def require_data_dir(self) -> None:
        """Raise ``NoDataDirectory`` if the data directory does not exist.

        For front ends, before a command that only reads: a mistyped
        ``--data-dir`` is then an error rather than an empty library.
        """
        if self._data_dir_missing():
            root = self.layout.root
            raise NoDataDirectory(
                f"no data directory at {root}; create one with "
                f"`dossier ingest --data-dir {shlex.quote(str(root))} FILES...`, "
                "or check --data-dir and DOSSIER_DATA_DIR"
            )

    def _data_dir_missing(self) -> bool:
        # With a Chroma server the store lives there, and the data directory is made on writing.
        return not self.settings.chroma_url and not self.layout.root.is_dir()

    def _open_data_dir(self, *, write: bool) -> None:
        """Make sure the data directory is there before anything opens the store in it.

        Writing makes it; reading never does, so a mistyped ``--data-dir`` is
        reported instead of leaving an empty directory behind. Inside a data
        directory that exists, the store's folder is made either way: an empty
        library is a fine answer to a read.
        """
        if not write:
            self.require_data_dir()
        root = self.layout.root
        try:
            if write:
                root.mkdir(parents=True, exist_ok=True)
            if not self.settings.chroma_url:
                self.layout.chroma.mkdir(exist_ok=True)
        except OSError as exc:
            raise NotWritable.at(root, exc) from None


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


MAX_EXAMPLE_CHARS = 100
# "<Name>[, an aside,] <verb> <the rest>": a name is capitalised words, with small joining words.
_NAME = r"[A-Z][\w’'-]*(?:\s+(?:(?:of|for|the|and|de|al|in)\s+)*[A-Z][\w’'-]*)*"
_STATEMENT = re.compile(
    rf"^(?P<name>{_NAME})(?:,[^,]{{1,80}},)?\s+"
    r"(?P<verb>is|are|was|were|has|have|had|will|would|can|could|said|says|told|leads|heads|"
    r"controls|wants|plans|[a-z]{3,}ed)\s+(?P<rest>[^\s].*)$"
)
# Where the first clause ends, for the question's object.
_CLAUSE_END = re.compile(
    r"\s*(?:[,;:(“”\"]|\s[–—-]\s|\s(?:and|but|that|which|who|where|while|because|after|"
    r"before|as|since|when|according)\s)"
)
_NOT_NAMES = frozenset(
    "A An The This That These Those He She It They We I You His Her Its Their Our In On At "
    "For But And Or If As When While After Before Since There Here What Who Why How".split()
)


def question_from_sentence(sentence: str) -> str | None:
    """A question that ``sentence`` answers, or None when its form is not "<Name> <verb> ...".

    Example:
        >>> question_from_sentence("Northern Mali is the birthplace of an insurgency that spread.")
        'What is the birthplace of an insurgency?'
        >>> question_from_sentence("Ansar Dine, one of the rebel groups, has split, and ...")
        'Who has split?'
    """
    match = _STATEMENT.match(sentence.strip())
    if not match or match["name"].split()[0] in _NOT_NAMES:
        return None
    rest = _CLAUSE_END.split(match["rest"], maxsplit=1)[0].rstrip(" .!?")
    verb = match["verb"]
    if not rest and verb in ("is", "are", "was", "were", "will", "would", "can", "could"):
        return None  # "X is." asks nothing
    lead = "What" if verb in ("is", "are", "was", "were") else "Who"
    question = f"{lead} {verb} {rest}".strip() + "?"
    return question if len(question) <= MAX_EXAMPLE_CHARS else None


def _about_name(sentence: str) -> str | None:
    """ "What is reported about <the first name>?" for a sentence that names someone."""
    for match in NAME_OR_NUMBER.finditer(sentence):
        name = re.match(_NAME, sentence[match.start() :])
        if name and name[0] not in _NOT_NAMES and len(name[0].split()) >= 2:
            question = f"What is reported about {name[0]}?"
            return question if len(question) <= MAX_EXAMPLE_CHARS else None
    return None


_DEFAULT: dict[Settings, Assistant] = {}
_DEFAULT_LOCK = threading.Lock()


def answer(question: str, history: Sequence[Any] | None = None) -> Answer:
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
