"""Seed questions: does the default answer hold a gold answer, cite a gold source, and
refuse the unanswerable ones.

Run alone: .venv/bin/python -m benchmarks.seed_questions [../shared/eval/seed_questions.jsonl]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from assistant import Answer, Assistant
from benchmarks.common import ROOT, latency_ms, timed


def correct(row: dict[str, Any], result: Answer) -> bool:
    if row["kind"] == "unanswerable":
        return not result.answered and not result.citations
    return any(g.lower() in result.text.lower() for g in row["answers"]) and any(
        c.source in row["sources"] for c in result.citations
    )


def run(eval_file: Path, seeds: Path, workdir: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in eval_file.read_text().splitlines() if line.strip()]
    bot = Assistant(data_dir=workdir / "seed-data")
    bot.ingest([seeds])
    bot.warm_up()
    wrong, times = [], []
    for row in rows:
        history = [{"role": "user", "content": u} for u, _ in row.get("history", [])]
        with timed() as t:
            result = bot.answer(row["question"], history)
        times.append(t())
        if not correct(row, result):
            wrong.append(row["id"])
    return {
        "questions": len(rows),
        "correct": len(rows) - len(wrong),
        "wrong": wrong,
        "answer": latency_ms(times),
    }


if __name__ == "__main__":
    default = ROOT / "tests" / "data" / "seed_questions.jsonl"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(path, ROOT / "seeds", Path(tmp)), indent=2))
