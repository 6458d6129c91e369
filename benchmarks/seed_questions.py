"""Seed questions: correctness and warm latency of the default answerer.

Run: .venv/bin/python benchmarks/seed_questions.py [../shared/eval/seed_questions.jsonl]
Ingests seeds/ into a temporary data directory, then asks every question three
times (passes 2 and 3 hit the sentence-embedding cache) and prints the score on
the first pass and the median latency of answer() and retrieve() over all passes.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant import Assistant

ROOT = Path(__file__).resolve().parents[1]


def correct(row: dict, result) -> bool:  # type: ignore[no-untyped-def]
    if row["kind"] == "unanswerable":
        return not result.answered and not result.citations
    return any(g.lower() in result.text.lower() for g in row["answers"]) and any(
        c.source in row["sources"] for c in result.citations
    )


def main(eval_file: Path) -> int:
    rows = [json.loads(line) for line in eval_file.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        bot = Assistant(data_dir=tmp)
        print("ingest:", bot.ingest([ROOT / "seeds"]).summary())
        print("re-ingest:", bot.ingest([ROOT / "seeds"]).summary())
        bot.warm_up()
        answer_s, retrieve_s, wrong = [], [], []
        for repeat in range(3):
            for row in rows:
                history = [{"role": "user", "content": u} for u, _ in row.get("history", [])]
                started = time.perf_counter()
                result = bot.answer(row["question"], history)
                answer_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                bot.retrieve(row["question"])
                retrieve_s.append(time.perf_counter() - started)
                if repeat == 0 and not correct(row, result):
                    wrong.append(row["id"])
    print(
        f"correct: {len(rows) - len(wrong)}/{len(rows)}" + (f" (wrong: {wrong})" if wrong else "")
    )
    print(
        f"answer p50 {statistics.median(answer_s) * 1000:.1f} ms, "
        f"retrieve p50 {statistics.median(retrieve_s) * 1000:.1f} ms over {len(answer_s)} calls"
    )
    return 0


if __name__ == "__main__":
    default = ROOT / "tests" / "data" / "seed_questions.jsonl"
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
