"""The ``dossier`` command: ingest, ask, search, timeline, sources, delete, doctor, watch, ui.

Settings come from ``DOSSIER_*`` variables; the flags override them. Errors
print one line naming the problem and the fix, and exit with status 1 (2 for
bad usage). Text that comes from articles (names, titles, quotes) is printed
through ``_safe``, so a file name cannot move the cursor or turn text around.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
import time
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from assistant import Assistant
from assistant.service import ingest_overrides
from core.errors import ConfigError, DossierError, InvalidDateRange, InvalidOverride
from core.settings import check_value, flags
from core.timescope import parse_bound
from core.types import AnswerSpan, Citation

SETTINGS_TITLE = "settings (also DOSSIER_* variables)"


def _setting_flags(parser: argparse._ActionsContainer, command: str | None) -> None:
    """Add a flag for each setting offered on ``command`` (None: on every command).

    The flags come from ``Settings``' fields (name, type, description, default),
    so a new setting is one field there. Given flags override ``DOSSIER_*``.
    ``parser`` is a parser or one of its argument groups.
    """
    for name, spec in flags().items():
        on = spec["commands"]  # None: a global flag
        if (on is None) != (command is None) or (on is not None and command not in on):
            continue
        default = spec["default"]
        shown = "unset" if default is None else f"{default:g}" if _is_number(default) else default
        parser.add_argument(
            spec["flag"],
            dest=name,
            type=_checked(name, spec["flag"]),
            default=argparse.SUPPRESS,
            metavar=spec["metavar"],
            help=f"{spec['description']} ({spec['env']}, default {shown})",
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked(name: str, flag: str) -> Any:
    """An argparse type that converts and checks a flag's value as its setting's field does."""

    def convert(value: str) -> Any:
        try:
            return check_value(name, value, flag)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help whose usage line shows a command's own arguments; the settings get their group.

    Raw descriptions keep each command's example on its own lines.
    """

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[Any],
        prefix: str | None = None,
    ) -> None:
        shared = {name for name, spec in flags().items() if spec["commands"] is None}
        own = [action for action in actions if action.dest not in shared]
        super().add_usage(usage, own, groups, prefix)


def _example(*lines: str) -> str:
    return "Example:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    # No abbreviations: "--llm" must not be read as a prefix of "--llm-timeout".
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog="dossier",
        formatter_class=_HelpFormatter,
        description="Ask questions about news articles; every answer cites its passages.",
        epilog=_example(
            "dossier ingest seeds/",
            'dossier ask "Who leads the Islamic Movement for Azawad?"',
        )
        + "\n\n`dossier COMMAND --help` shows a command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    subcommands: dict[str, argparse.ArgumentParser] = {}

    def command(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            allow_abbrev=False,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=_example(example),
            formatter_class=_HelpFormatter,
        )
        subcommands[name] = sub
        return sub

    ingest = command("ingest", "add or update articles", "dossier ingest --data-dir data seeds/")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help=".txt/.md/.html files or folders")
    ingest.add_argument(
        "--prune",
        action="store_true",
        help="also remove stored articles whose files no longer exist",
    )
    ingest.add_argument(
        "--date",
        type=_override("date"),
        default=None,
        metavar="DATE",
        help="the date of every article of this run (YYYY-MM-DD), over what the files say",
    )
    ingest.add_argument(
        "--outlet",
        type=_override("outlet"),
        default=None,
        metavar="NAME",
        help="the outlet of every article of this run (e.g. CNN), over what the files say",
    )
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")

    ask = command(
        "ask",
        "answer a question with sources",
        'dossier ask "Who leads the Islamic Movement for Azawad?"',
    )
    ask.add_argument("question", help="the question about the articles (quote it)")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    _date_flags(ask, "answer only from articles")

    search = command(
        "search", "show the passages a query finds", 'dossier search -k 3 "talks in Kidal"'
    )
    search.add_argument("query", help="words or a question to find passages for (quote it)")
    search.add_argument("--json", action="store_true", help="print the passages as JSON")
    _date_flags(search, "only passages of articles")

    timeline = command(
        "timeline",
        "the dated events about a name or topic, in date order",
        'dossier timeline --since 2022 "Iyad Ag Ghaly"',
    )
    timeline.add_argument("topic", help="a name or a few words (quote them)")
    _date_flags(timeline, "only events")
    shape = timeline.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print the timeline as JSON")
    shape.add_argument("--csv", action="store_true", help="print the events as CSV")

    sources = command("sources", "list the ingested articles", "dossier sources --json")
    sources.add_argument("--json", action="store_true", help="print the list as JSON")

    delete = command("delete", "remove articles", "dossier delete --all 001.txt")
    delete.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="the article's full path (source_id in `dossier sources --json`) or its file name",
    )
    delete.add_argument(
        "--all",
        dest="all_matches",
        action="store_true",
        help="delete every article a file name matches (without it, a name that matches "
        "several is refused)",
    )

    watch = command(
        "watch",
        "keep the library in step with folders: ingest what is added, changed or removed",
        "dossier watch ~/news/",
    )
    watch.add_argument(
        "paths", nargs="+", metavar="PATH", help=".txt/.md/.html files or folders to watch"
    )

    doctor = command(
        "doctor", "check the data directory; --repair or --rebuild it", "dossier doctor --repair"
    )
    fix = doctor.add_mutually_exclusive_group()
    fix.add_argument(
        "--repair",
        action="store_true",
        help="make records, Chroma and the keyword index agree (re-embeds only missing chunks)",
    )
    fix.add_argument(
        "--rebuild",
        nargs="*",
        metavar="PATH",
        default=None,
        help="move the store aside and ingest PATHs (default: the files it knew) afresh; "
        "for a store Chroma cannot open. Stop the web app first",
    )
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")

    ui = command("ui", "start the web app", "dossier ui --port 8080 --llm local")
    ui.add_argument(
        "--seeds",
        type=Path,
        default=None,
        metavar="DIR",
        help="articles to ingest on first start when the library is empty "
        "(default: the project's seeds/ folder)",
    )
    ui.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        help="questions answered at the same time; more wait in the queue (default 4)",
    )
    ui.add_argument(
        "--queue-size",
        type=_positive,
        default=64,
        help="requests allowed to wait; beyond that users are told the app is busy (default 64)",
    )
    ui.add_argument(
        "--watch",
        nargs="+",
        default=None,
        metavar="PATH",
        help="also keep the library in step with these files or folders while the app runs",
    )
    ui.add_argument(
        "--share",
        action="store_true",
        help="also open a public gradio.live link (off by default; needs internet)",
    )

    # A command's own settings (ask's -k and --llm, ui's --host ...) are its options; the
    # settings every command takes come after them, in a group of their own. They are on the
    # top-level parser too, so `dossier --data-dir D sources` works as well.
    _setting_flags(parser.add_argument_group(SETTINGS_TITLE), None)
    for name, sub in subcommands.items():
        _setting_flags(sub, name)
        _setting_flags(sub.add_argument_group(SETTINGS_TITLE), None)
    return parser


def _date_flags(parser: argparse.ArgumentParser, what: str) -> None:
    """``--since`` and ``--until``: a bad date is a usage error (exit 2) naming the format."""
    for flag, end in (("--since", False), ("--until", True)):
        parser.add_argument(
            flag,
            type=_bound(end),
            default=None,
            metavar="DATE",
            help=f"{what} dated {'on or after' if not end else 'on or before'} DATE "
            "(YYYY-MM-DD, YYYY-MM or YYYY)",
        )


def _bound(end: bool) -> Any:
    def convert(value: str) -> str:
        try:
            return parse_bound(value, end=end)
        except InvalidDateRange as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _override(what: str) -> Any:
    """``ingest --date/--outlet``: a bad one is a usage error (exit 2) naming the format."""

    def convert(value: str) -> str | None:
        try:
            date, outlet = ingest_overrides(*((value, None) if what == "date" else (None, value)))
        except InvalidOverride as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return date if what == "date" else outlet

    return convert


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return number


# Characters that act on a terminal instead of showing: controls (a newline, ESC), format
# characters (U+202E turns the text after it right to left), line/paragraph separators,
# and the lone surrogates that undecodable bytes in a file name become.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _safe(text: object, *, flow: bool = False, keep: str = "") -> str:
    """``text`` (from an article, a file name or an error) fit to print on a terminal.

    Hidden characters are shown as escapes (``\\n``, ``\\x1b``, ``\\u202e``), so a file
    name cannot break a line, move the cursor or reverse what follows it. ``flow``:
    text wrapped as a paragraph anyway, whose whitespace runs (newlines too) become
    one space first; ``keep``: characters to pass through (an LLM's line breaks).
    """
    value = " ".join(str(text).split()) if flow else str(text)
    return "".join(
        ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        if ch not in keep and unicodedata.category(ch) in _HIDDEN
        else ch
        for ch in value
    )


def _print_json(value: Any) -> None:
    """``value`` as JSON, with hidden characters as ``\\u`` escapes (still the same JSON).

    json.dumps escapes controls below U+0020 but leaves U+202E, U+2028 and C1
    controls raw; outside strings it writes no hidden character but the newlines
    of its indentation.
    """
    text = json.dumps(value, ensure_ascii=False, indent=2)
    # By distinct character, then one translate (in C): a loop over every character
    # took 14 s for the 74 MB listing of 250,000 articles.
    escapes = {
        ord(ch): json.dumps(ch)[1:-1]
        for ch in set(text)
        if ch != "\n" and unicodedata.category(ch) in _HIDDEN
    }
    print(text.translate(escapes))


class _SafeLogFormatter(logging.Formatter):
    """Log lines with hidden characters escaped, as in the rest of the output."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return _safe(super().formatMessage(record))


def _log_to_stderr(level: int) -> None:
    """Send log records to stderr through ``_SafeLogFormatter`` (if nothing else handles them)."""
    handler = logging.StreamHandler()
    handler.setFormatter(_SafeLogFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    if since and until and since > until:
        parser.error(f"--since {since} is after --until {until}; swap them or widen the range")
    overrides = {name: getattr(args, name) for name in flags() if hasattr(args, name)}
    _log_to_stderr(logging.INFO if args.command == "ui" else logging.WARNING)
    try:
        # Only the web app makes a data directory up front (it ingests the seeds into it);
        # ingest makes one when it writes, and the other commands never do.
        bot = Assistant(create=args.command == "ui", **overrides)
        return int(_COMMANDS[args.command](bot, args) or 0)
    except DossierError as exc:
        print(f"dossier: error: {_safe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dossier: interrupted", file=sys.stderr)
        return 130


def _ingest(bot: Assistant, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    # One bar, over chunks embedded: it moves while a step is embedded (its total grows as
    # files are read), so a long ingest never looks stalled; the files written so far and
    # the last one's result stand beside it. One bar, because two stacked bars move the
    # cursor with escape codes, and the output must stay plain text.
    bar: list[tqdm] = []
    files = [""]

    def shown() -> tqdm:
        if not bar:
            bar.append(
                tqdm(total=0, unit="chunk", desc="ingest", file=sys.stderr, dynamic_ncols=True)
            )
        return bar[0]

    def progress(result: Any, done: int, total: int) -> None:
        files[0] = f"{done}/{total} files, {result.status}: {_safe(result.path)[-40:]}"
        shown().set_postfix_str(files[0], refresh=True)

    def chunk_progress(done: int, total: int) -> None:  # from the ingest's encoding thread
        counting = shown()
        counting.total = total
        counting.update(done - counting.n)

    print("Loading the embedding model and the store...", file=sys.stderr)
    report = bot.ingest(
        args.paths,
        prune=args.prune,
        progress=progress,
        date=args.date,
        outlet=args.outlet,
        chunk_progress=chunk_progress,
    )
    for counting in bar:
        counting.close()
    if args.json:
        _print_json(report.to_dict())
    else:
        for result in report.files:
            if result.status in ("updated", "moved", "deleted"):
                print(f"  {result.status}: {_safe(result.path)}")
            if result.note:
                print(f"  note: {_safe(result.path)}: {_safe(result.note)}")
        print(f"Summary: {report.summary()}")
        for failure in report.failures:
            print(f"  failed: {_safe(failure.path)}: {_safe(failure.reason)}")
    return 1 if report.failures else 0


def _ask(bot: Assistant, args: argparse.Namespace) -> int:
    # Checks the question; answers when read.
    stream = bot.stream(args.question, since=args.since, until=args.until)
    bot.require_data_dir()  # answering would say "nothing ingested"; a wrong path is an error
    if args.json:
        _print_json(stream.answer().to_dict())
        return 0
    written = ""
    for piece in stream:  # an LLM writing: show it as it comes
        if not written:
            print(f"Writing with {bot.default_mode}...", file=sys.stderr)
        written += piece
        print(_safe(piece, keep="\n"), end="", flush=True)
    answer = stream.answer()
    if written:
        print("\n\nChecked against the passages:")
    if answer.notice:
        print(f"note: {_safe(answer.notice)}", file=sys.stderr)
    print(textwrap.fill(_safe(answer.text, flow=True), width=100))
    for sentence in answer.unsupported:
        print(
            textwrap.fill(f"unsupported by the articles: {_safe(sentence, flow=True)}", width=100)
        )
    if answer.citations:
        print("\nSources:")
        spans = {s.citation: s for s in answer.spans}
        for c, *more in answer.sources:  # one source per story, with each of its quotes
            print(f"[{c.number}] {_safe(c.title)} ({_safe(_dated(c.outlet, c.date))})", end="")
            print(f" - {_safe(c.source)}")
            if c.carried_text:
                print(f"    {_safe(c.carried_text)}")
            for quote in (c, *more):
                print(
                    textwrap.fill(
                        f"\u201c{_safe(_marked(quote, spans.get(c.number)), flow=True)}\u201d",
                        width=100,
                        initial_indent="    ",
                        subsequent_indent="    ",
                    )
                )
    return 0


def _marked(citation: Citation, span: AnswerSpan | None) -> str:
    """The quote with the short answer in it between asterisks."""
    quote = citation.quote
    if span is None:
        return quote
    start = span.start - citation.start
    if start < 0 or quote[start : start + len(span.text)] != span.text:
        return quote
    return f"{quote[:start]}*{span.text}*{quote[start + len(span.text) :]}"


def _search(bot: Assistant, args: argparse.Namespace) -> int:
    passages = bot.retrieve(args.query, since=args.since, until=args.until)
    if args.json:
        from dataclasses import asdict

        _print_json([asdict(p) for p in passages])
        return 0
    if not passages:
        print("No passages found.")
    for rank, p in enumerate(passages, start=1):
        print(
            f"{rank}. {_safe(p.title)} ({_safe(_dated(p.outlet, p.date))}) - {_safe(p.source)} "
            f"[{p.start}:{p.end}] score {p.score:.4f}"
        )
        text = _safe(p.text, flow=True)
        print(textwrap.fill(text, width=100, initial_indent="    ", subsequent_indent="    "))
    return 0


def _sources(bot: Assistant, args: argparse.Namespace) -> int:
    infos = bot.sources()
    if args.json:
        _print_json([i.to_dict() for i in infos])
        return 0
    if not infos:
        print("No articles yet; add some with `dossier ingest PATH`.")
    for i in infos:
        where = _safe(_dated(i.outlet, i.date))
        print(f"{_safe(i.source)}: {_safe(i.title)} ({where}) - {i.chunks} chunks")
    return 0


def _dated(outlet: str | None, date: str | None) -> str:
    """ "River Times, 2023-03-03", or "undated": where a source is shown, so is its date."""
    return ", ".join(x for x in (outlet, date or "undated") if x)


def _timeline(bot: Assistant, args: argparse.Namespace) -> int:
    timeline = bot.timeline(args.topic, since=args.since, until=args.until)
    if args.json:
        _print_json(timeline.to_dict())
        return 0
    if args.csv:
        sys.stdout.write(timeline.to_csv())
        return 0
    if timeline.message:
        print(_safe(timeline.message))
    for event in timeline.events:
        # The day, then how it was found: "(on Thursday)" from the sentence, "(article date)".
        how = f"{event.date_text}" if event.date_source == "sentence" else "article date"
        print(f"{event.date} ({_safe(how)}) [{_safe(event.source)}]")
        _print_quote(event.sentence)
    if timeline.undated:
        print("\nUndated:")
        for event in timeline.undated:
            print(f"[{_safe(event.source)}]")
            _print_quote(event.sentence)
    return 0


def _print_quote(text: str) -> None:
    print(
        textwrap.fill(
            f"\u201c{_safe(text, flow=True)}\u201d",
            width=100,
            initial_indent="    ",
            subsequent_indent="    ",
        )
    )


def _delete(bot: Assistant, args: argparse.Namespace) -> int:
    # Refuses (AmbiguousName) before anything is removed when a name matches several.
    found = bot.matching(args.sources, all_matches=args.all_matches)
    removed = bot.delete(args.sources, all_matches=args.all_matches)
    print(f"Removed {removed} chunks.")
    for source_id in sorted({s for matches in found.values() for s in matches}):
        print(f"  deleted: {_safe(source_id)}")
    unknown = [name for name, matches in found.items() if not matches]
    for name in unknown:
        print(f"  not found: {_safe(name)}", file=sys.stderr)
    return 1 if unknown else 0


def _doctor(bot: Assistant, args: argparse.Namespace) -> int:
    if args.rebuild is not None:
        aside, report = bot.rebuild(args.rebuild)
        if aside is not None:
            print(f"The old store is kept in {_safe(aside)}; delete it when you no longer need it.")
        print(f"Rebuilt: {report.summary()}")
        for failure in report.failures:
            print(f"  failed: {_safe(failure.path)}: {_safe(failure.reason)}")
    checkup = bot.check()
    if args.repair and not checkup.ok:
        print(f"Before: {checkup.summary()}")
        for problem in checkup.problems:
            print(
                f"  {problem.kind}: {_safe(problem.source_id or 'store')}: {_safe(problem.detail)}"
            )
        print(f"Repaired: {bot.repair(checkup).summary()}")
        checkup = bot.check()
    if args.json:
        _print_json(checkup.to_dict())
    else:
        print(checkup.summary())
        for problem in checkup.problems:
            print(
                f"  {problem.kind}: {_safe(problem.source_id or 'store')}: {_safe(problem.detail)}"
            )
        if not checkup.ok:
            print(
                "Run `dossier doctor --repair` to fix this without re-embedding what is "
                "intact, or `dossier doctor --rebuild PATH...` to rebuild from the files."
            )
    return 0 if checkup.ok else 1


def _watch(bot: Assistant, args: argparse.Namespace) -> int:
    import signal

    from assistant.watch import FolderWatcher

    def report(result: Any) -> None:
        stamp = time.strftime("%H:%M:%S")
        for file in result.files:
            if file.status in ("added", "updated", "moved", "deleted"):
                print(f"  {file.status}: {_safe(file.path)}", flush=True)
        print(f"{stamp} synced: {result.summary()}", flush=True)
        for failure in result.failures:
            print(f"  failed: {_safe(failure.path)}: {_safe(failure.reason)}", flush=True)

    def failed(exc: Exception) -> None:
        print(f"dossier: error: {_safe(exc)} (still watching)", file=sys.stderr, flush=True)

    watcher = FolderWatcher(bot, args.paths, on_sync=report, on_error=failed)
    signal.signal(signal.SIGTERM, lambda signum, frame: watcher.stop())
    shown = ", ".join(_safe(p) for p in watcher.paths)
    print(f"Watching {shown} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        with watcher:
            watcher.wait()
    except KeyboardInterrupt:
        pass  # Ctrl+C: leaving the with block has stopped the watcher
    print("dossier: stopped watching", file=sys.stderr)
    return 0


def _ui(bot: Assistant, args: argparse.Namespace) -> int:
    # Gradio's upload cache is a private folder of this process (mkdtemp: mode 0700), so
    # it serves only this app's uploads and nothing another program writes to
    # /tmp/gradio; it goes when the app stops. Gradio reads GRADIO_TEMP_DIR when it is
    # imported, so this comes before ui.app (and gradio) are.
    import os
    import shutil
    import signal
    import tempfile

    cache = tempfile.mkdtemp(prefix="dossier-gradio-")
    os.environ["GRADIO_TEMP_DIR"] = cache

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the app as Ctrl+C does, cleaning up

    signal.signal(signal.SIGTERM, stop)
    try:
        from assistant.watch import FolderWatcher
        from ui.app import default_seeds, serve

        settings = bot.settings
        auth = settings.login
        host, port = settings.ui_host, settings.ui_port
        if auth is None and host not in ("127.0.0.1", "localhost", "::1"):
            print(
                f"dossier: warning: listening on {host} without a login; "
                "set DOSSIER_UI_USER and DOSSIER_UI_PASSWORD to require one",
                file=sys.stderr,
            )
        seeds = args.seeds if args.seeds is not None else default_seeds()
        # Watched paths are checked before the (slow) start, so a typo fails at once.
        watcher: AbstractContextManager[Any] = (
            FolderWatcher(bot, args.watch) if args.watch else nullcontext()
        )
        print("Starting Dossier: loading the models and the library ...", file=sys.stderr)
        app = serve(
            bot,
            host=host,
            port=port,
            auth=auth,
            share=args.share,
            concurrency=args.concurrency,
            queue_size=args.queue_size,
            seeds=seeds,
            block=False,
        )
        # Started once the seeds are in, so the two ingests never contend for the lock.
        with watcher:
            app.block_thread()
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


_COMMANDS = {
    "ingest": _ingest,
    "ask": _ask,
    "search": _search,
    "timeline": _timeline,
    "sources": _sources,
    "delete": _delete,
    "doctor": _doctor,
    "watch": _watch,
    "ui": _ui,
}

if __name__ == "__main__":
    sys.exit(main())
