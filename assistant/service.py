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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypedDict, Unpack

from answerers.backends import backend_error, chat_model, local_model_path
from answerers.extractive import ExtractiveAnswerer
from answerers.generative import GenerativeAnswerer
from answerers.grounding import Grounding
from answerers.ranker import SIMILARITY_EMBEDDER, Ranker
from answerers.reader import Reader
from assistant.retrieval import HybridRetriever, contextual_query
from assistant.timeline import Timeline, build_timeline
from assistant.uploads import check_uploads, keep_uploads
from core.chat import to_messages
from core.dates import read_date
from core.errors import (
    AmbiguousName,
    IngestInProgress,
    InvalidOverride,
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
from core.timescope import DateRange, date_range, time_scope
from core.types import NOT_ANSWERED, Answer, Message, Passage, SourceInfo, SyncReport
from ingest import doctor
from ingest.doctor import Checkup, Repair
from ingest.sync import ChunkProgress, DamagedRecords, Indexer, Progress
from vectorstore.chroma import ChunkStore
from vectorstore.embeddings import Embedder
from vectorstore.metadata import CHUNK_INDEX, SOURCE_ID
from vectorstore.pg_keywords import is_postgres_url

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
TIMELINE_PASSAGES = 200  # passages a timeline reads: generous, every mention counts
EMPTY_STORE = (
    "No articles have been ingested yet, so there is nothing to answer from; "
    "add some with `dossier ingest PATH`."
)


class AskOptions(TypedDict, total=False):
    """How to answer, beyond the question and the chat (all optional)."""

    k: int | None  # passages retrieved (default: the k setting)
    mode: str | None  # answer mode (default: the llm setting)
    fallback: bool  # an unreachable LLM gives the extractive answer, with a notice
    since: str | None  # only articles dated on or after this day (YYYY-MM-DD, YYYY-MM, YYYY)
    until: str | None  # only articles dated on or before this day


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
            device=settings.device,
            cache_dir=settings.resolved_cache_dir,
        )
        records_url = settings.resolved_record_manager_url
        self.store = ChunkStore(
            persist_dir=None if settings.chroma_url else self.layout.chroma,
            url=settings.chroma_url,
            collection=settings.collection,
            embedding_model=self.embedder.identity,
            timeout=settings.chroma_timeout,
            keyword_path=self.layout.keywords(settings.collection),
            # Records in PostgreSQL (a multi-machine deployment): the keyword index beside them.
            keyword_url=records_url if is_postgres_url(records_url) else None,
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
        # Lambdas: the keyword index opens on first use, not here (reading makes no files).
        self.grounding = Grounding(
            self._similarity_embedder(),
            idf=lambda term: self.retriever.keyword.idf(term),
            unknown_idf=lambda: self.retriever.keyword.max_idf(),
        )
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

    def _similarity_embedder(self) -> Embedder:
        """The embedder of the ranker's sentence similarities (``SIMILARITY_EMBEDDER``): the
        chunks' own when it is the same model and backend, so that it loads once."""
        model, backend = SIMILARITY_EMBEDDER["model"], SIMILARITY_EMBEDDER["backend"]
        if (self.embedder.name, self.embedder.backend) == (model, backend):
            return self.embedder
        return Embedder(
            model,
            backend=backend,
            device=self.settings.device,
            cache_dir=self.settings.resolved_cache_dir,
        )

    def warm_up(self) -> None:
        """Load the models and the keyword index now rather than on the first question."""
        self._open_data_dir(write=False)
        self.embedder.embed_query("warm up")
        self.grounding.embed_sentences(["Warm up."])
        self.extractive.reader.read("warm up", ["Warm up."])
        self.retriever.refresh()

    # -- asking -------------------------------------------------------------------------

    def answer(
        self, question: str, history: Sequence[Any] | None = None, **options: Unpack[AskOptions]
    ) -> Answer:
        """Answer ``question``; ``history`` is the chat so far as role/content messages.

        ``options`` are ``AskOptions``: ``k``, ``mode`` (see ``modes``; default:
        the ``llm`` setting), ``fallback`` (an LLM that cannot be reached gives
        the extractive answer with a ``notice`` instead of raising ``ModelUnavailable``)
        and ``since``/``until`` (answer only from articles dated in that range; a bad
        date raises ``InvalidDateRange``, a ``ValueError``).

        Time words in the question count too (``core.timescope``): "in 2022" or
        "before March" filter like ``since``/``until`` when those are not given (and
        some articles are dated), and
        "latest", "currently", "so far" prefer the newest articles that answer. The
        answer to such a question opens with the date it holds as of (``as_of``).
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
        window = date_range(options.get("since"), options.get("until"))  # checked now, not later
        return AnswerStream(self._pieces(answerer, question, turns, k, fallback, window))

    def _pieces(
        self,
        answerer: Answerer,
        question: str,
        turns: list[Message],
        k: int | None,
        fallback: bool,
        window: DateRange,
    ) -> Pieces:
        try:
            stream = self._ask(answerer, question, turns, k, window)
            yield from stream
            return self._carried(stream.answer())
        except ModelUnavailable as exc:
            if not fallback or answerer is self.extractive:
                raise
            log.warning("answering with the extractive answerer: %s", exc)
            answer = self._carried(self._ask(self.extractive, question, turns, k, window).answer())
            return replace(answer, notice=f"{exc}. This is the extractive answer instead.")

    def _carried(self, answer: Answer) -> Answer:
        """``answer`` with, on each source carried by several outlets, all of them.

        Retrieval keeps one copy of each story (``one_per_story``); the others are
        named here, looked up in one query for all the cited stories.
        """
        members = self.indexer.story_members(c.story_id for c in answer.citations if c.story_id)
        if not any(len(m) > 1 for m in members.values()):
            return answer
        citations = tuple(
            replace(c, carried_by=tuple(m.outlet or m.source for m in members[c.story_id]))
            if len(members.get(c.story_id, ())) > 1
            else c
            for c in answer.citations
        )
        return replace(answer, citations=citations)

    def _ask(
        self,
        answerer: Answerer,
        question: str,
        turns: list[Message],
        k: int | None,
        window: DateRange,
    ) -> AnswerStream:
        query = answerer.condense(question, turns) if turns else None
        if query is None or len(query) > MAX_QUESTION_CHARS:
            query = contextual_query(question, turns)
        if self._data_dir_missing():  # nothing ingested yet, and asking must not make one
            return AnswerStream.of(Answer.refusal(question, mode=answerer.mode, text=EMPTY_STORE))
        newest = self._newest_day()
        scope = time_scope(question, reference=newest)
        said = [m["content"] for m in turns if m["role"] == "assistant"]
        stream: AnswerStream | None = None
        notice = ""
        # The question's own range ("in 2022") filters when none was given and there are
        # dated articles to filter (in an undated collection it would leave nothing). It is
        # a reading of the question, not an order: "in December" may say when something
        # happened rather than when it was reported, so when no article in the range
        # answers, the whole collection is asked. The extractive answerer (fast, no LLM)
        # tells which; the chosen answerer then answers once, streaming.
        if not window and scope.range and newest is not None:
            within = scope.without_range(query)
            probe = self._answer_within(
                self.extractive, question, within, k, scope.range, said
            ).answer()
            if probe.answered:
                window, query = scope.range, within
                if answerer is self.extractive:
                    stream = AnswerStream.of(probe)
            else:
                notice = (
                    f"No article dated {scope.range} answers this; the answer below is from "
                    "articles of any date."
                )
        if stream is None:
            stream = self._answer_within(answerer, question, query, k, window, said)
        if notice:
            stream = stream.then(lambda a: replace(a, notice=notice) if a.answered else a)
        if scope.recent or window or scope.range or scope.asks_when:
            return stream.then(dated)
        return stream

    def _answer_within(
        self,
        answerer: Answerer,
        question: str,
        query: str,
        k: int | None,
        window: DateRange,
        said: list[str],
    ) -> AnswerStream:
        passages = self.retrieve(query, k=k, since=window.since, until=window.until)
        if not passages:
            empty = self.store.count() == 0
            text = EMPTY_STORE if empty else NOT_ANSWERED
            if window and not empty:
                text = f"No article dated {window} answers this question."
            return AnswerStream.of(Answer.refusal(question, mode=answerer.mode, text=text))
        return answerer.stream(question, passages, query=query, said=said)

    def _newest_day(self) -> date | None:
        """The newest article's date (a month named without a year is the latest one by it)."""
        self.retriever.refresh()
        return self.retriever.keyword.newest_day()

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

    def retrieve(
        self,
        query: str,
        k: int | None = None,
        *,
        since: str | None = None,
        until: str | None = None,
    ) -> list[Passage]:
        """The ``k`` passages that best match ``query``, best first; ``since``/``until``
        (YYYY-MM-DD, YYYY-MM or YYYY, inclusive) keep only articles dated in that range.
        """
        query = clean_question(query)
        k = self.settings.k if k is None else k
        if not 1 <= k <= 100:
            raise InvalidQuestion(f"k must be between 1 and 100, got {k}")
        window = date_range(since, until)
        self._open_data_dir(write=False)
        return self.retriever.retrieve(query, k, since=window.since, until=window.until)

    def timeline(
        self,
        topic: str,
        since: str | None = None,
        until: str | None = None,
        limit: int = TIMELINE_PASSAGES,
    ) -> Timeline:
        """The dated events about ``topic`` (a name or a few words) in date order.

        Each event is a sentence about the topic from the ``limit`` passages that
        match it best, dated by the date it writes (relative ones resolved against
        its article's date) or else by its article's date; ``since``/``until`` keep
        events dated in that range. Undated events are listed apart. See
        ``assistant.timeline``.

        Example:
            >>> [(e.date, e.sentence) for e in bot.timeline("Dara Quint").events]
            [('2023-03-02', 'Dara Quint was named the new leader of the Nolvar Front ...')]
        """
        topic = clean_question(topic)
        window = date_range(since, until)
        if not 1 <= limit <= 1000:
            raise InvalidQuestion(f"limit must be between 1 and 1000, got {limit}")
        self._open_data_dir(write=False)
        # An article dated before ``since`` cannot report what happened after it, so the
        # search itself starts there; later articles may report earlier events, so
        # ``until`` filters the events, not the search.
        passages = self.retriever.retrieve(topic, limit, since=window.since)
        return build_timeline(topic, passages, window)

    def example_questions(
        self, n: int = 3, sources: Sequence[SourceInfo] | None = None
    ) -> list[str]:
        """Up to ``n`` questions the newest articles answer, made from their own sentences.

        From each article's first passage, the first sentence that names someone or
        something and reads as "<Name> <verb> ..." becomes "Who <verb> ...?" (or
        "What is ...?"); failing that, a sentence's first name becomes "What is
        reported about <Name>?". Each is at most ``MAX_EXAMPLE_CHARS`` characters
        and never cut short. Only the ``EXAMPLE_ARTICLES`` x ``n`` newest articles are read
        (their first chunks, in one query): reading every one is linear in an archive.
        ``sources``: the library (``sources()``) when the caller has just listed it.
        """
        self._open_data_dir(write=False)
        listed = self.sources() if sources is None else sources
        newest = sorted(listed, key=lambda s: s.ingested_at, reverse=True)
        order = {s.source_id: i for i, s in enumerate(newest[: EXAMPLE_ARTICLES * n])}
        if not order:
            return []
        first = self.store.get(
            where={"$and": [{SOURCE_ID: {"$in": list(order)}}, {CHUNK_INDEX: 0}]}
        )
        first.sort(key=lambda c: order.get(str(c.metadata.get(SOURCE_ID, "")), len(order)))
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
        self,
        paths: Iterable[str | Path],
        prune: bool = False,
        progress: Progress | None = None,
        *,
        prune_within: Sequence[str | Path] | None = None,
        date: str | None = None,
        outlet: str | None = None,
        chunk_progress: ChunkProgress | None = None,
    ) -> SyncReport:
        """Add new and changed articles from files and folders; ``prune`` drops vanished ones.

        ``prune_within``: prune only the articles at or under these paths (a watched
        folder's own), leaving vanished articles from elsewhere alone.
        ``date`` ("2022-07-14" or "14 July 2022") and ``outlet`` override what every
        file of this run says; blank means none. ``InvalidOverride`` for a bad one.

        Example:
            >>> bot.ingest(["cnn-johnson.txt"], date="2022-07-14", outlet="CNN").count("added")
            1
        """
        if isinstance(paths, str | Path):
            paths = [paths]
        date, outlet = ingest_overrides(date, outlet)
        self._open_data_dir(write=True)
        report = self.indexer.sync(
            list(paths),
            prune=prune,
            prune_within=prune_within,
            progress=progress,
            date=date,
            outlet=outlet,
            chunk_progress=chunk_progress,
        )
        self.retriever.refresh()
        return report

    def sources(self) -> list[SourceInfo]:
        """The ingested articles."""
        self._open_data_dir(write=False)
        return self.indexer.sources()

    def find_sources(self, query: str) -> list[SourceInfo]:
        """The articles in which every word of ``query`` appears, ignoring case: in the
        title, outlet, date or file name, or in the text. A blank query finds all.

        The text is searched in one Chroma query (a ``$regex`` over the chunks), so
        it is the stored text, and a word may be part of a longer one ("otter" finds
        "otters"). ``InvalidQuestion`` for a query over ``MAX_SEARCH_CHARS``.

        Example:
            >>> [s.source for s in bot.find_sources("kidal coalition")]
            ['001_a1a23fc04081479d.txt']
        """
        words = library_search_words(query)
        sources = self.sources()
        if not words:
            return sources
        pattern = "(?i)" + "|".join(re.escape(word) for word in words)
        in_text: dict[str, set[str]] = {}
        for chunk in self.store.get(where_document={"$regex": pattern}):
            text = chunk.text.casefold()
            found = in_text.setdefault(str(chunk.metadata.get(SOURCE_ID, "")), set())
            found.update(word for word in words if word in text)
        matches = []
        for info in sources:
            about = " ".join(x or "" for x in (info.title, info.outlet, info.date, info.source))
            about = about.casefold()
            in_article = in_text.get(info.source_id, set())
            if all(word in about or word in in_article for word in words):
                matches.append(info)
        return matches

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
        self,
        files: Sequence[tuple[str, str | Path]],
        progress: Progress | None = None,
        *,
        date: str | None = None,
        outlet: str | None = None,
        chunk_progress: ChunkProgress | None = None,
    ) -> SyncReport:
        """Check, keep and ingest uploaded files, given as ``(original name, temporary path)``.

        Every file gets a result: added, updated, unchanged, or failed with the reason.
        A refused file is never stored; while another ingest runs, ``IngestInProgress``
        is raised and the uploads folder is left as it was. ``date`` and ``outlet``
        override what the files say, as for ``ingest``.
        """
        date, outlet = ingest_overrides(date, outlet)  # before anything is kept
        self._open_data_dir(write=True)
        accepted, refused = check_uploads(files, self.settings.max_file_bytes)
        if not accepted:
            return SyncReport(files=tuple(refused))
        # Stored only under the ingest lock: while another ingest runs the upload is
        # refused (IngestInProgress) before anything is written to the uploads folder.
        with self.indexer.locked():
            kept = keep_uploads(self.layout.uploads, accepted)
        try:
            report = self.ingest(
                kept.paths,
                progress=progress,
                date=date,
                outlet=outlet,
                chunk_progress=chunk_progress,
            )
        except IngestInProgress:  # another ingest took the lock in between: take ours back
            kept.undo()
            raise
        return replace(report, files=tuple(refused) + report.files)

    # -- checking the data directory ----------------------------------------------------

    def check(self) -> Checkup:
        """Whether the record manager, Chroma and the keyword index agree (``dossier doctor``)."""
        self._open_data_dir(write=False)
        return doctor.check(self.indexer, self.store.keywords.ids())

    def repair(self, checkup: Checkup | None = None) -> Repair:
        """Make them agree, re-embedding only chunks that are really missing."""
        self._open_data_dir(write=False)
        result = doctor.repair(self.indexer, checkup or self.check())
        self.store.sync_keywords(full=True)
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
            self.store.keywords.clear()  # written afresh by the ingest below
            records = None if self.settings.record_manager_url else self.layout.records
            if records is None:
                try:
                    manager = self.indexer.record_manager
                    manager.delete_keys(manager.list_keys())
                    self.indexer.forget_stories()  # they describe the store set aside
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


def dated(answer: Answer) -> Answer:
    """``answer`` opened with the date it holds as of: its newest cited article's date.

    Example:
        >>> dated(answer).text
        'As of 2023-03-03 (River Times): Dara Quint was named the new leader ... [1]'
    """
    if not answer.answered:
        return answer
    dates = [(c.date, c.outlet or "") for c in answer.citations if c.date]
    if not dates:  # nothing to date it by; its sources say "undated" where they are shown
        return answer
    newest, outlet = max(dates)
    per = f" ({outlet})" if outlet else ""
    return replace(answer, text=f"As of {newest}{per}: {answer.text}", as_of=newest)


MAX_OUTLET_CHARS = 100


def ingest_overrides(date: str | None, outlet: str | None) -> tuple[str | None, str | None]:
    """A typed date and outlet for an ingest, checked: (ISO date or None, outlet or None).

    Blank means "none, read it from the file". ``InvalidOverride`` names what is
    wrong and the form that works.

    Example:
        >>> ingest_overrides(" 14 July 2022 ", " CNN "), ingest_overrides("", None)
        (('2022-07-14', 'CNN'), (None, None))
    """
    iso = None
    if date is not None and date.strip():
        try:
            iso = read_date(date)
        except ValueError as exc:
            raise InvalidOverride(f"the date {exc}") from None
    name = " ".join(outlet.split()) if outlet is not None else ""
    if len(name) > MAX_OUTLET_CHARS:
        raise InvalidOverride(
            f"the outlet name is {len(name)} characters long; give just the outlet's name "
            f"(at most {MAX_OUTLET_CHARS} characters), e.g. CNN"
        )
    return iso, name or None


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


MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 10


def library_search_words(query: Any) -> list[str]:
    """The distinct words of a library search, case-folded (``InvalidQuestion`` if too long).

    Example:
        >>> library_search_words("  Kidal  REBELS kidal ")
        ['kidal', 'rebels']
    """
    if not isinstance(query, str):
        raise InvalidQuestion(f"the search must be text, got {type(query).__name__}")
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in query)
    if len(text.strip()) > MAX_SEARCH_CHARS:
        raise InvalidQuestion(
            f"the search is {len(text.strip()):,} characters long; the limit is "
            f"{MAX_SEARCH_CHARS}, so search for a few words of the title or the text"
        )
    words = list(dict.fromkeys(text.casefold().split()))
    if len(words) > MAX_SEARCH_WORDS:
        raise InvalidQuestion(
            f"the search has {len(words)} words; the limit is {MAX_SEARCH_WORDS}, "
            "so search for fewer words"
        )
    return words


MAX_EXAMPLE_CHARS = 100
EXAMPLE_ARTICLES = 10  # newest articles read per example question wanted (few fail to make one)
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
