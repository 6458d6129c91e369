"""Seed questions: does the answer hold a gold answer, cite a gold source, and refuse
the unanswerable ones; per answer mode, side by side.

Run alone:
    .venv/bin/python -m benchmarks.seed_questions [--modes extractive,local] [EVAL_FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from assistant import Answer, Assistant
from benchmarks.common import ROOT, latency_ms, timed


def has_gold(row: dict[str, Any], result: Answer) -> bool:
    return any(g.lower() in result.text.lower() for g in row["answers"])


def cites_gold(row: dict[str, Any], result: Answer) -> bool:
    return any(c.source in row["sources"] for c in result.citations)


def correct(row: dict[str, Any], result: Answer) -> bool:
    if row["kind"] == "unanswerable":
        return not result.answered and not result.citations
    return has_gold(row, result) and cites_gold(row, result)


def load(eval_file: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in eval_file.read_text().splitlines() if line.strip()]


def run(eval_file: Path, seeds: Path, workdir: Path) -> dict[str, Any]:
    """The default (extractive) answerer on every seed question."""
    return compare(eval_file, seeds, workdir, ["extractive"])["extractive"]


def compare(eval_file: Path, seeds: Path, workdir: Path, modes: list[str]) -> dict[str, Any]:
    """Each mode on each question, the modes taking turns question by question."""
    rows = load(eval_file)
    bot = Assistant(data_dir=workdir / "seed-data")
    bot.ingest([seeds])
    bot.warm_up()
    for mode in modes:  # load each model before the clock starts
        bot.answer(rows[0]["question"], mode=mode)
    found: dict[str, dict[str, Any]] = {
        m: {"wrong": [], "times": [], "gold": 0, "cited": 0, "fallbacks": 0, "unsupported": 0}
        for m in modes
    }
    for row in rows:
        history = [{"role": "user", "content": u} for u, _ in row.get("history", [])]
        for mode in modes:
            with timed() as t:
                result = bot.answer(row["question"], history, mode=mode)
            stats = found[mode]
            stats["times"].append(t())
            if not correct(row, result):
                stats["wrong"].append(row["id"])
            if row["kind"] != "unanswerable":
                stats["gold"] += has_gold(row, result)
                stats["cited"] += cites_gold(row, result)
            stats["fallbacks"] += bool(result.notice)
            stats["unsupported"] += len(result.unsupported)
    answerable = sum(r["kind"] != "unanswerable" for r in rows)
    return {
        mode: {
            "questions": len(rows),
            "correct": len(rows) - len(s["wrong"]),
            "wrong": s["wrong"],
            "answerable": answerable,
            "contains_gold": s["gold"],
            "cites_gold_source": s["cited"],
            "fell_back_to_extractive": s["fallbacks"],
            "unsupported_sentences": s["unsupported"],
            "seconds_per_answer": round(statistics.fmean(s["times"]), 3),
            "answer": latency_ms(s["times"]),
        }
        for mode, s in found.items()
    }


def table(results: dict[str, Any]) -> str:
    lines = [
        "| mode | correct | contains gold | cites gold source | fell back | s/answer (mean, p50) |",
        "|---|---|---|---|---|---|",
    ]
    for mode, r in results.items():
        lines.append(
            f"| {mode} | {r['correct']}/{r['questions']} | {r['contains_gold']}/{r['answerable']} "
            f"| {r['cites_gold_source']}/{r['answerable']} | {r['fell_back_to_extractive']} "
            f"| {r['seconds_per_answer']:.2f}, {r['answer']['p50_ms'] / 1000:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "eval_file", nargs="?", type=Path, default=ROOT / "tests" / "data" / "seed_questions.jsonl"
    )
    parser.add_argument("--modes", default="extractive", help="comma-separated answer modes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        compared = compare(args.eval_file, ROOT / "seeds", Path(tmp), args.modes.split(","))
    print(json.dumps(compared, indent=2))
    print(table(compared))
