"""BBC News: ingest speed and its overhead over bare encoding, re-ingest, edits, latency.

The first ingest runs as its own ``dossier ingest`` process, so its peak memory
and wall time are a user's. Everything else runs in this process on the same
data directory.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from assistant import Assistant
from benchmarks.common import latency_ms, log, timed
from ingest.loaders import load_article


def copy_corpus(source: Path, target: Path, limit: int | None = None) -> list[Path]:
    """Copy the article files (so that edits never touch the source); returns the copies."""
    files = sorted(p for p in source.rglob("*.txt") if p.name != "README.TXT")
    if limit is not None:
        files = files[:limit]
    copies = []
    for f in files:
        dest = target / f.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
        copies.append(dest)
    return copies


def cli(*args: str) -> tuple[float, str]:
    """Run the ``dossier`` command; (wall seconds, stdout)."""
    with timed() as wall:
        done = subprocess.run(
            [sys.executable, "-m", "ui.cli", *args],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"dossier {args[:1]} failed: {done.stderr[-2000:]}")
    return wall(), done.stdout


def queries_from(files: list[Path], count: int, seed: int = 7) -> list[str]:
    """Distinct questions made from articles' sentences (their first twelve words)."""
    rng = random.Random(seed)
    sentences = []
    for path in rng.sample(files, min(count, len(files))):
        text = load_article(path, 10**8).text
        sentences.append([s for s in text.split("\n") if len(s.split()) >= 8])
    queries: list[str] = []
    for _ in range(count * 3):  # small corpora give several questions per article
        if len(queries) == count:
            break
        pool = rng.choice(sentences)
        if pool:
            q = " ".join(rng.choice(pool).split()[:12]) + "?"
            if q not in queries:
                queries.append(q)
    return queries


def run(
    bbc_dir: Path, workdir: Path, limit: int | None = None, queries: int = 200
) -> dict[str, Any]:
    corpus = workdir / "bbc"
    files = copy_corpus(bbc_dir, corpus, limit)
    data = workdir / "bbc-data"
    result: dict[str, Any] = {"articles": len(files)}

    log(f"BBC: first ingest of {len(files)} articles (a separate process)")
    wall, out = cli("--data-dir", str(data), "ingest", "--json", str(corpus))
    report = json.loads(out)
    chunks = report["chunks_embedded"]
    result["first_ingest"] = {
        "wall_seconds": round(wall, 1),
        "sync_seconds": round(report["seconds"], 1),
        "chunks": chunks,
        "articles_per_s": round(len(files) / report["seconds"], 1),
        "chunks_per_s": round(chunks / report["seconds"], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "failed": sum(1 for f in report["files"] if f["status"] == "failed"),
    }

    bot = Assistant(data_dir=data)
    texts = [c.text for c in bot.store.iter_all()]
    model = bot.embedder.model
    model.encode(texts[:64], batch_size=bot.embedder.batch_size)  # warm
    log(f"BBC: sentence-transformers alone on the same {len(texts)} chunks")
    with timed() as bare:
        model.encode(texts, batch_size=bot.embedder.batch_size, show_progress_bar=False)
    result["encode_only_seconds"] = round(bare(), 1)
    result["overhead_ratio"] = round(report["seconds"] / bare(), 3)
    # The ingest's own encoder (ONNX by default, faster than sentence-transformers' torch):
    # what is left above 1 here is reading, chunking and writing not hidden behind encoding.
    with timed() as own:
        bot.embedder.encode(texts)
    result["encode_own_backend_seconds"] = round(own(), 1)
    result["overhead_ratio_own_backend"] = round(report["seconds"] / own(), 3)

    log("BBC: re-ingest, unchanged")
    with timed() as again:
        unchanged = bot.ingest([corpus])
    result["reingest_unchanged"] = {
        "seconds": round(again(), 2),
        "chunks_embedded": unchanged.chunks_embedded,
        "share_of_first": round(again() / report["seconds"], 4),
    }

    edited = random.Random(3).sample(files, max(1, len(files) // 100))
    for path in edited:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\nThis paragraph was added by the re-ingest benchmark.\n")
    log(f"BBC: re-ingest after editing {len(edited)} articles")
    with timed() as edit_time:
        changed = bot.ingest([corpus])
    expected = sum(len(bot.indexer.chunks_of(load_article(p, 10**8))) for p in edited)
    result["reingest_edited"] = {
        "articles_edited": len(edited),
        "updated": changed.count("updated"),
        "chunks_embedded": changed.chunks_embedded,
        "chunks_of_edited_articles": expected,
        "seconds": round(edit_time(), 2),
    }

    # Disjoint questions for warming up, retrieval and answers: every timed call
    # embeds its question afresh (the query cache never hits).
    asked = queries_from(files, queries + 10)
    warm, half = asked[:10], (len(asked) - 10) // 2
    bot.warm_up()
    for q in warm:
        bot.answer(q)
    retrieve_times, answer_times = [], []
    for q in asked[10 : 10 + half]:
        with timed() as t:
            bot.retrieve(q)
        retrieve_times.append(t())
    for q in asked[10 + half :]:
        with timed() as t:
            bot.answer(q)
        answer_times.append(t())
    result["latency"] = {
        "chunks": bot.store.count(),
        "retrieve": latency_ms(retrieve_times),
        "answer": latency_ms(answer_times),
    }
    log(f"BBC latency: {result['latency']}")

    wall, _ = cli("--data-dir", str(data), "ask", asked[0])
    result["cold_start_ask_seconds"] = round(wall, 2)
    return result
