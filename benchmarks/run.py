"""Run the benchmark suite and write results.json, report.md and plots.

    python -m benchmarks.run                 # the full suite on ../shared/data (make bench)
    python -m benchmarks.run --smoke --out D # a few articles and questions (the test suite)

The smoke run uses the same code on the seed articles and a tiny SQuAD-format
file built from the seed questions, so it needs nothing outside the project.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from answerers.backends import local_model_path
from benchmarks import (
    backends,
    bbc,
    load,
    news,
    reader,
    report,
    scale,
    seed_questions,
    squad,
    tutorial,
)
from benchmarks.common import ROOT, SHARED_DATA, log, timed


def seed_squad(path: Path) -> Path:
    """A SQuAD-format file whose paragraphs are the seed articles (for the smoke run)."""
    rows = [
        json.loads(line)
        for line in (ROOT / "tests" / "data" / "seed_questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    paragraphs = []
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        qas = [
            {
                "id": r["id"],
                "question": r["question"],
                "answers": [{"text": a} for a in r["answers"]],
            }
            for r in rows
            if r["kind"] == "fact" and seed.name in r["sources"]
        ]
        paragraphs.append({"context": seed.read_text(encoding="utf-8"), "qas": qas})
    path.write_text(json.dumps({"data": [{"title": "seeds", "paragraphs": paragraphs}]}))
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few articles and questions")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="../shared/data")
    parser.add_argument("--squad-questions", type=int, default=None, help="retrieval (all)")
    parser.add_argument(
        "--reader-questions",
        default="600,300,300",
        help="reader benchmark: answerable, unanswerable, absent-article questions",
    )
    parser.add_argument("--bbc-articles", type=int, default=600, help="ingest benchmarks")
    parser.add_argument("--scale", default="10000,100000", help="collection sizes to measure")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    results: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
            "mode": "smoke" if args.smoke else "full",
        },
        "notes": [],
    }
    work = Path(tempfile.mkdtemp(prefix="dossier-bench-"))
    try:
        with timed() as total:
            if args.smoke:
                squad_file = seed_squad(work / "seed-squad.json")
                bbc_dir, bbc_limit, queries, sizes = (
                    ROOT / "tests" / "data" / "clean",
                    None,
                    6,
                    [500],
                )
                backend_questions, backend_chunks = 10, 16
            else:
                squad_file = args.data / "squad" / "dev-v1.1-half.json"
                bbc_dir, bbc_limit, queries = args.data / "bbc", args.bbc_articles, 200
                sizes = [int(s) for s in args.scale.split(",") if s.strip()]
                backend_questions, backend_chunks = 800, 600
            log("seed questions")
            # The LLM modes take seconds per answer: the full run compares the embedded one.
            modes = (
                ["extractive"]
                if args.smoke or local_model_path() is None
                else ["extractive", "local"]
            )
            results["seed_modes"] = seed_questions.compare(
                ROOT / "tests" / "data" / "seed_questions.jsonl", ROOT / "seeds", work, modes
            )
            results["seeds"] = results["seed_modes"]["extractive"]
            log(f"seed questions: {results['seed_modes']}")
            articles = work / "squad-articles"
            questions = squad.prepare(squad_file, articles)
            questions = squad.spread(questions, args.squad_questions)
            results["squad"] = squad.run(articles, questions, work)
            if not args.smoke:  # the smoke run has no SQuAD articles to hold out
                counts = [int(n) for n in args.reader_questions.split(",")]
                results["reader"] = reader.run(args.data / "squad", work, *counts)
                results["tutorial"] = tutorial.run(args.data / "squad", work, counts[0] // 2)
            if not args.smoke:
                results["news"] = news.run(args.data / "bbc", work)
            results["bbc"] = bbc.run(bbc_dir, work, bbc_limit, queries)
            bbc_files = sorted((work / "bbc").rglob("*.txt"))
            chunk_texts = [c.text for c in _chunks(work / "bbc-data")][:backend_chunks]
            results["backends"] = backends.run(
                chunk_texts,
                bbc.queries_from(bbc_files, 40, seed=5),
                articles,
                squad.spread(questions, backend_questions),
                work,
            )
            log("web app load")
            results["load"] = load.run(work, users=20, per_user=10)
            scale_queries = bbc.queries_from(bbc_files, 45)
            results["scale"] = scale.run(
                work / "bbc-data",
                work,
                sizes,
                scale_queries,
                corpus=work / "bbc",
                repeats=1 if args.smoke else 3,
            )
            results["scale"]["method"] = scale.__doc__.split("\n\n")[1].replace("\n", " ")
            results["notes"].append(
                "1M chunks is measured by `make bench-scale` (scale.md): its inserts alone take "
                "longer than this suite's 20-minute budget on 2 cores."
            )
        results["meta"]["seconds"] = round(total(), 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    report.plots(results, args.out)
    (args.out / "report.md").write_text(report.markdown(results))
    log(f"wrote {args.out / 'report.md'} in {results['meta']['seconds']} s")
    return results


def _chunks(data_dir: Path) -> list[Any]:
    from assistant import Assistant

    return list(Assistant(data_dir=data_dir).store.iter_all())


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
