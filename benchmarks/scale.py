"""Scale: insert rate, disk, memory, latency, cold start and re-ingest at growing sizes.

One collection grows through the sizes. It starts as real articles ingested from
their files (real records, real vectors from the real model); it is then filled
to each size with copies of those chunks: chunk i repeats the text and metadata
of real chunk ``i mod N`` under its own id and article (four chunks per
synthetic article), and its vector is that chunk's vector plus Gaussian noise
(sigma 0.05, renormalised), so the filler needs no embedding (1M chunks would
take hours on 2 cores) and still spreads through the vector space like real
text. Filler goes through ``ChunkStore.add``, which writes Chroma and the FTS5
keyword index as ingest does, and each synthetic article gets its story-table row
(the MinHash signature of its first chunk's text), as an ingested one would.
Latency and memory are those of a fresh answering process; cold start is a fresh
``dossier ask`` and a fresh ``dossier ui`` up to its first answer; the library list is
a fresh ``dossier sources --json``; re-ingest is
``dossier ingest`` of the real article files a second time (nothing changed) into
the grown collection (the filler has no files); then one new article (a real one
with a sentence added) is ingested, which must be matched against every stored
article's signature for copies. The answering process, cold ``dossier ask`` and
``dossier ui`` are then measured again with the vectors served by a ``chroma run``
server on the same Chroma folder (the deployment mode), with the server's memory.

    python -m benchmarks.scale                          # make bench-scale: 1k, 10k, 100k, 1M
    python -m benchmarks.scale --sizes 1000,10000       # chosen sizes
    python -m benchmarks.scale --smoke --out D          # 300 chunks of the test articles
    python -m benchmarks.scale --sizes 1000000 --keep D # and keep the collection in D

Writes scale.json, scale.md, scale-latency.png and scale-cold-start.png.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    ROOT,
    SHARED_DATA,
    folder_mb,
    latency_ms,
    log,
    peak_rss_mb,
    rss_mb,
    running_chroma,
    stop,
    timed,
)
from ingest import copies
from vectorstore.metadata import CHUNK_INDEX, CONTENT_HASH, SOURCE_ID, STORY_ID, listing

BATCH = 4000
WARM_QUESTIONS = 5


def run(
    source_data: Path,
    workdir: Path,
    sizes: list[int],
    queries: list[str],
    *,
    corpus: Path | None = None,
    repeats: int = 3,
    measured: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Grow a copy of ``source_data`` (real chunks ingested from ``corpus``) through ``sizes``.

    ``queries``: the first ``WARM_QUESTIONS`` warm the answering process up, the rest
    are split into disjoint halves for retrieval and answers (no query-cache hits).
    Without ``corpus`` the re-ingest is not measured. ``measured`` is called with the
    results so far after each size (a long run keeps what it has measured).
    """
    from assistant import Assistant

    data = workdir / "scale-data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(source_data, data)
    bot = Assistant(data_dir=data)
    chunks = list(bot.store.iter_all())
    stored = bot.store.vectors([c.id for c in chunks])
    vectors = np.asarray([stored[c.id] for c in chunks], dtype=np.float32)
    texts, metas = [c.text for c in chunks], [c.metadata for c in chunks]
    engine = bot.indexer.record_manager.engine
    namespace = bot.indexer.record_manager.namespace

    @functools.cache
    def signature(p: int) -> tuple[Any, int]:
        return copies.signature(texts[p])

    rng = np.random.default_rng(11)
    results: dict[str, Any] = {"base_chunks": len(texts), "sizes": [], "skipped": []}
    queries_file = workdir / "scale-queries.json"
    queries_file.write_text(json.dumps(queries))
    have = len(texts)
    for size in sorted(sizes):
        if size < have:
            results["skipped"].append(size)
            log(f"scale {size}: skipped, the collection already holds {have} chunks")
            continue
        log(f"scale {size}: inserting {size - have} chunks")
        with timed() as insert_time:
            for start in range(have, size, BATCH):
                ids = list(range(start, min(start + BATCH, size)))
                picks = [i % len(texts) for i in ids]
                noisy = vectors[picks] + rng.normal(0, 0.05, (len(ids), vectors.shape[1]))
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                filler = [_filler_metadata(metas[p], i) for i, p in zip(ids, picks, strict=True)]
                # Story rows first (one per synthetic article), as ingest writes them.
                copies.save_members(
                    engine,
                    namespace,
                    [
                        copies.Member(
                            m[SOURCE_ID],
                            m[SOURCE_ID],
                            m[CONTENT_HASH],
                            *signature(p),
                            listing=listing(m),
                        )
                        for m, p in zip(filler, picks, strict=True)
                        if m[CHUNK_INDEX] == 0
                    ],
                )
                bot.store.add(
                    [f"synthetic-{i}" for i in ids],
                    [texts[p] for p in picks],
                    noisy.astype(np.float32).tolist(),
                    filler,
                )
        inserted = size - have
        bot.store.bump_generation()
        have = size
        entry: dict[str, Any] = {
            "chunks": bot.store.count(),
            "inserted": inserted,
            "insert_chunks_per_s": round(inserted / insert_time(), 1) if inserted else None,
            "disk_kb_per_chunk": round(folder_mb(data) * 1024 / size, 2),
        }
        log(f"scale {size}: a fresh answering process")
        entry.update(_answering_process(data, queries_file))
        log(f"scale {size}: cold `dossier ask` x{repeats}")
        cold = [
            _cli("--data-dir", str(data), "ask", queries[i % len(queries)])[0]
            for i in range(repeats)
        ]
        entry["cold_ask_seconds"] = round(statistics.median(cold), 2)
        entry["cold_ask_all_seconds"] = [round(s, 2) for s in cold]
        log(f"scale {size}: `dossier ui` to its first answer")
        entry["ui"] = _ui_first_answer(data, workdir, queries[-1])
        log(f"scale {size}: `dossier sources` (the library list)")
        wall, out = _cli("--data-dir", str(data), "sources", "--json")
        entry["sources"] = {"wall_seconds": round(wall, 2), "articles": len(json.loads(out))}
        log(f"scale {size}: the same collection through a `chroma run` server")
        entry["server"] = _server_mode(data, workdir, queries, queries_file, repeats)
        if corpus is not None:
            log(f"scale {size}: re-ingest of the unchanged article files")
            wall, out = _cli("--data-dir", str(data), "ingest", "--json", str(corpus))
            report = json.loads(out)
            entry["reingest_unchanged"] = {
                "files": len(report["files"]),
                "wall_seconds": round(wall, 2),
                "sync_seconds": round(report["seconds"], 2),
                "chunks_embedded": report["chunks_embedded"],
                "chunks_after": bot.store.count(),  # nothing may be lost
            }
            log(f"scale {size}: ingest of one new article")
            entry["ingest_new"] = _ingest_new(data, corpus, workdir / f"new-{size}")
            bot.indexer.delete([entry["ingest_new"].pop("source_id")])  # the next size as before
        # Timings on a shared machine mean little without how busy it was.
        entry["load_average_1m"] = round(os.getloadavg()[0], 2)
        log(f"scale {size}: {entry}")
        results["sizes"].append(entry)
        if measured is not None:
            measured(results)
    return results


def _ingest_new(data: Path, corpus: Path, folder: Path) -> dict[str, Any]:
    """``dossier ingest`` of one new article: a real one with a sentence of its own added."""
    real = sorted(corpus.rglob("*.txt"))[0]
    folder.mkdir(parents=True, exist_ok=True)
    new = folder / f"new-{folder.name}.txt"
    new.write_text(
        real.read_text(encoding="utf-8", errors="replace")
        + f"\n\nThis sentence was added for the {folder.name} ingest benchmark.\n",
        encoding="utf-8",
    )
    wall, out = _cli("--data-dir", str(data), "ingest", "--json", str(new))
    report = json.loads(out)
    return {
        "wall_seconds": round(wall, 2),
        "sync_seconds": round(report["seconds"], 2),
        "status": report["files"][0]["status"],
        "source_id": str(new.resolve()),
    }


def _filler_metadata(real: dict[str, Any], i: int) -> dict[str, Any]:
    """Filler chunk ``i``'s metadata: the real chunk's, as chunk ``i % 4`` of its own article.

    Its own content hash and story too: with the real article's, ingest would take the
    real file for a move of the (file-less) filler article and delete the filler.
    """
    article = f"synthetic/{i // 4}"
    return {
        **real,
        SOURCE_ID: article,
        "source": f"s{i // 4}.txt",
        CONTENT_HASH: article,
        STORY_ID: article,
        CHUNK_INDEX: i % 4,
        "chunk_count": 4,
    }


def _server_mode(
    data: Path, workdir: Path, queries: list[str], queries_file: Path, repeats: int
) -> dict[str, Any]:
    """The measures of a fresh process again, with the vectors served by `chroma run`.

    The server serves the same Chroma folder (records and keyword index stay in ``data``),
    as a deployment's long-lived server would. Its first query loads the vector index;
    that is timed apart (the first `dossier ask` after the server started), and the
    answering processes after it pay no index load of their own.
    """
    with running_chroma(data / "chroma", _free_port(), workdir / "chroma-server.log") as server:
        env = {"DOSSIER_CHROMA_URL": server.url}
        first_ask = _cli("--data-dir", str(data), "ask", queries[0], env=env)[0]
        figures = _answering_process(data, queries_file, env=env)
        cold = [
            _cli("--data-dir", str(data), "ask", queries[(i + 1) % len(queries)], env=env)[0]
            for i in range(repeats)
        ]
        ui = _ui_first_answer(data, workdir, queries[-1], env=env)
        server_rss = rss_mb(server.pid)
    return {
        **figures,
        "first_ask_after_server_start_seconds": round(first_ask, 2),
        "cold_ask_seconds": round(statistics.median(cold), 2),
        "ui": ui,
        "server_rss_mb": round(server_rss),
    }


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run the ``dossier`` command in a fresh process; (wall seconds, stdout).

    ``env``: settings added to this process's environment (e.g. ``DOSSIER_CHROMA_URL``).
    """
    with timed() as wall:
        done = subprocess.run(
            [sys.executable, "-m", "ui.cli", *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **(env or {})},
        )
    if done.returncode != 0:
        raise RuntimeError(f"dossier {' '.join(args[2:3])} failed: {done.stderr[-2000:]}")
    return wall(), done.stdout


def _answering_process(
    data: Path, queries_file: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Warm-up, latency and memory measured in a fresh process (``--answer-in``)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--answer-in", str(data), str(queries_file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(f"the answering process failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout))


def answer_in(data: Path, queries: list[str]) -> dict[str, Any]:
    """In this (fresh) process: open ``data``, warm up, time retrieval and answers."""
    from assistant import Assistant

    with timed() as warm_up:
        bot = Assistant(data_dir=data)
        bot.warm_up()  # loads the models and opens the stored keyword index
    for q in queries[:WARM_QUESTIONS]:
        bot.answer(q)
    retrieve, answer = [], []
    half = WARM_QUESTIONS + (len(queries) - WARM_QUESTIONS) // 2
    for q in queries[WARM_QUESTIONS:half]:
        with timed() as t:
            bot.retrieve(q)
        retrieve.append(t())
    for q in queries[half:]:
        with timed() as t:
            bot.answer(q)
        answer.append(t())
    return {
        "warm_up_seconds": round(warm_up(), 2),
        "retrieve": latency_ms(retrieve),
        "answer": latency_ms(answer),
        "answering_rss_mb": round(rss_mb()),
        "answering_peak_rss_mb": round(peak_rss_mb()),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ui_first_answer(
    data: Path, workdir: Path, question: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Start ``dossier ui`` on ``data``; seconds until it listens and until its first /ask answer."""
    import httpx

    from benchmarks.load import ask_once

    no_seeds = workdir / "no-seeds"  # the collection is not empty, so none would be ingested
    no_seeds.mkdir(exist_ok=True)
    port = _free_port()
    log_path = workdir / "scale-ui.log"
    command = [sys.executable, "-m", "ui.cli", "ui", "--port", str(port)]
    command += ["--data-dir", str(data), "--seeds", str(no_seeds)]
    url = f"http://127.0.0.1:{port}/"
    with log_path.open("w") as log_file, timed() as elapsed:
        proc = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        try:
            while True:
                try:
                    if httpx.get(f"{url}config", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or elapsed() > 600:
                    raise RuntimeError(f"dossier ui did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.1)
            listening = elapsed()
            ask_once(url, question)
            first_answer = elapsed()
            memory = rss_mb(proc.pid)
        finally:
            stop(proc)
    return {
        "listening_seconds": round(listening, 2),
        "first_answer_seconds": round(first_answer, 2),
        "rss_mb": round(memory),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from assistant import Assistant
    from benchmarks import bbc, report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000", help="chunks")
    parser.add_argument("--smoke", action="store_true", help="300 chunks of the test articles")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="../shared/data")
    parser.add_argument("--articles", type=int, default=200, help="real BBC articles ingested")
    parser.add_argument("--questions", type=int, default=45, help="questions per size")
    parser.add_argument("--repeats", type=int, default=3, help="cold `dossier ask` runs per size")
    parser.add_argument(
        "--keep",
        type=Path,
        help="build in this folder and keep it (to profile the grown collection afterwards)",
    )
    parser.add_argument("--answer-in", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.answer_in:  # the fresh answering process that run() starts
        data, queries_file = args.answer_in
        figures = answer_in(data, json.loads(queries_file.read_text()))
        print(json.dumps(figures))
        return figures

    if args.smoke:
        source, limit, sizes, questions, repeats = (
            ROOT / "tests" / "data" / "clean",
            None,
            [300],
            9,
            1,
        )
    else:
        source, limit = args.data / "bbc", args.articles
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        questions, repeats = args.questions, args.repeats
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
            "mode": "smoke" if args.smoke else "full",
        }
    }
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            parser.error(f"--keep {args.keep} is not empty; name a new or empty folder")
        args.keep.mkdir(parents=True, exist_ok=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="dossier-scale-"))
    started = time.perf_counter()

    def write(scale: dict[str, Any]) -> None:
        results["scale"] = scale
        results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
        (args.out / "scale.json").write_text(json.dumps(results, indent=2))
        report.scale_plots(scale, args.out)
        (args.out / "scale.md").write_text(report.scale_markdown(results))

    try:
        corpus = work / "corpus"
        files = bbc.copy_corpus(source, corpus, limit)
        log(f"scale: ingesting {len(files)} real articles (the real model)")
        base = work / "base-data"
        Assistant(data_dir=base, create=True).ingest([corpus])
        queries = bbc.queries_from(files, questions)
        results["scale"] = {"articles": len(files), "method": _method()}

        def measured(scale: dict[str, Any]) -> None:
            write({**scale, "articles": len(files), "method": _method()})
            log(f"wrote {args.out / 'scale.md'} ({scale['sizes'][-1]['chunks']:,} chunks)")

        run(base, work, sizes, queries, corpus=corpus, repeats=repeats, measured=measured)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return results


def _method() -> str:
    return (__doc__ or "").split("\n\n")[1].replace("\n", " ")


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
