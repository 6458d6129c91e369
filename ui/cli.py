"""The ``dossier`` command: ingest, ask, search, sources, delete, doctor, ui.

Settings come from ``DOSSIER_*`` variables; the flags override them. Errors
print one line naming the problem and the fix, and exit with status 1 (2 for
bad usage).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant import Assistant
from core.errors import ConfigError, DossierError
from core.settings import check_value, flags


def _setting_flags(parser: argparse.ArgumentParser, command: str | None) -> None:
    """Add a flag for each setting offered on ``command`` (None: on every command).

    The flags come from ``Settings``' fields (name, type, description, default),
    so a new setting is one field there. Given flags override ``DOSSIER_*``.
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


def build_parser() -> argparse.ArgumentParser:
    # No abbreviations: "--llm" must not be read as a prefix of "--llm-timeout".
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _setting_flags(common, None)

    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        prog="dossier",
        parents=[common],
        description="Ask questions about news articles; every answer cites its passages.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], allow_abbrev=False, help=help_text)
        _setting_flags(sub, name)
        return sub

    ingest = command("ingest", "add or update articles")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help=".txt/.md/.html files or folders")
    ingest.add_argument(
        "--prune",
        action="store_true",
        help="also remove stored articles whose files no longer exist",
    )
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")

    ask = command("ask", "answer a question with sources")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")

    search = command("search", "show the passages a query finds")
    search.add_argument("query")
    search.add_argument("--json", action="store_true", help="print the passages as JSON")

    sources = command("sources", "list the ingested articles")
    sources.add_argument("--json", action="store_true", help="print the list as JSON")

    delete = command("delete", "remove articles")
    delete.add_argument("sources", nargs="+", metavar="SOURCE", help="file name or path")

    doctor = command("doctor", "check the data directory; --repair or --rebuild it")
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

    ui = command("ui", "start the web app")
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
        "--share",
        action="store_true",
        help="also open a public gradio.live link (off by default; needs internet)",
    )
    return parser


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {name: getattr(args, name) for name in flags() if hasattr(args, name)}
    try:
        bot = Assistant(**overrides)
        return int(_COMMANDS[args.command](bot, args) or 0)
    except DossierError as exc:
        print(f"dossier: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dossier: interrupted", file=sys.stderr)
        return 130


def _ingest(bot: Assistant, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    bar: list[tqdm] = []

    def progress(result: Any, done: int, total: int) -> None:
        if not bar:
            bar.append(
                tqdm(total=total, unit="file", desc="ingest", file=sys.stderr, dynamic_ncols=True)
            )
        if result.status != "deleted":
            bar[0].update(1)
        bar[0].set_postfix_str(f"{result.status}: {result.path[-40:]}", refresh=False)

    print("Loading the embedding model and the store...", file=sys.stderr)
    report = bot.ingest(args.paths, prune=args.prune, progress=progress)
    if bar:
        bar[0].close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for result in report.files:
            if result.status in ("updated", "deleted"):
                print(f"  {result.status}: {result.path}")
        print(f"Summary: {report.summary()}")
        for failure in report.failures:
            print(f"  failed: {failure.path}: {failure.reason}")
    return 1 if report.failures else 0


def _ask(bot: Assistant, args: argparse.Namespace) -> int:
    if args.json:
        answer = bot.answer(args.question)
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    stream = bot.stream(args.question)
    written = ""
    for piece in stream:  # an LLM writing: show it as it comes
        if not written:
            print(f"Writing with {bot.default_mode}...", file=sys.stderr)
        written += piece
        print(piece, end="", flush=True)
    answer = stream.answer()
    if written:
        print("\n\nChecked against the passages:")
    if answer.notice:
        print(f"note: {answer.notice}", file=sys.stderr)
    print(textwrap.fill(answer.text, width=100))
    for sentence in answer.unsupported:
        print(textwrap.fill(f"unsupported by the articles: {sentence}", width=100))
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            where = ", ".join(x for x in (c.outlet, c.date) if x)
            print(f"[{c.number}] {c.title}" + (f" ({where})" if where else "") + f" - {c.source}")
            print(
                textwrap.fill(
                    f"\u201c{c.quote}\u201d",
                    width=100,
                    initial_indent="    ",
                    subsequent_indent="    ",
                )
            )
    return 0


def _search(bot: Assistant, args: argparse.Namespace) -> int:
    passages = bot.retrieve(args.query)
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(p) for p in passages], ensure_ascii=False, indent=2))
        return 0
    if not passages:
        print("No passages found.")
    for rank, p in enumerate(passages, start=1):
        print(f"{rank}. {p.title} - {p.source} [{p.start}:{p.end}] score {p.score:.4f}")
        print(textwrap.fill(p.text, width=100, initial_indent="    ", subsequent_indent="    "))
    return 0


def _sources(bot: Assistant, args: argparse.Namespace) -> int:
    infos = bot.sources()
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], ensure_ascii=False, indent=2))
        return 0
    if not infos:
        print("No articles yet; add some with `dossier ingest PATH`.")
    for i in infos:
        where = ", ".join(x for x in (i.outlet, i.date) if x)
        print(f"{i.source}: {i.title}" + (f" ({where})" if where else "") + f" - {i.chunks} chunks")
    return 0


def _delete(bot: Assistant, args: argparse.Namespace) -> int:
    known = {name for s in bot.sources() for name in (s.source, s.source_id)}
    unknown = [s for s in args.sources if s not in known]
    removed = bot.delete(args.sources)
    print(f"Removed {removed} chunks.")
    for s in unknown:
        print(f"  not found: {s}", file=sys.stderr)
    return 1 if unknown else 0


def _doctor(bot: Assistant, args: argparse.Namespace) -> int:
    if args.rebuild is not None:
        aside, report = bot.rebuild(args.rebuild)
        if aside is not None:
            print(f"The old store is kept in {aside}; delete it when you no longer need it.")
        print(f"Rebuilt: {report.summary()}")
        for failure in report.failures:
            print(f"  failed: {failure.path}: {failure.reason}")
    checkup = bot.check()
    if args.repair and not checkup.ok:
        print(f"Before: {checkup.summary()}")
        for problem in checkup.problems:
            print(f"  {problem.kind}: {problem.source_id or 'store'}: {problem.detail}")
        print(f"Repaired: {bot.repair(checkup).summary()}")
        checkup = bot.check()
    if args.json:
        print(json.dumps(checkup.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(checkup.summary())
        for problem in checkup.problems:
            print(f"  {problem.kind}: {problem.source_id or 'store'}: {problem.detail}")
        if not checkup.ok:
            print(
                "Run `dossier doctor --repair` to fix this without re-embedding what is "
                "intact, or `dossier doctor --rebuild PATH...` to rebuild from the files."
            )
    return 0 if checkup.ok else 1


def _ui(bot: Assistant, args: argparse.Namespace) -> int:
    import logging

    from ui.app import default_seeds, serve

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
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
    print(f"Starting Dossier at http://{host}:{port} ...", file=sys.stderr)
    serve(
        bot,
        host=host,
        port=port,
        auth=auth,
        share=args.share,
        concurrency=args.concurrency,
        queue_size=args.queue_size,
        seeds=seeds,
    )
    return 0


_COMMANDS = {
    "ingest": _ingest,
    "ask": _ask,
    "search": _search,
    "sources": _sources,
    "delete": _delete,
    "doctor": _doctor,
    "ui": _ui,
}

if __name__ == "__main__":
    sys.exit(main())
