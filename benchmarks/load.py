"""Load: many gradio_client users asking the running web app at once.

``drive`` is shared by the load test (tests/test_load.py) and ``run``, the
benchmark, which starts its own ``dossier ui`` and reports latency percentiles,
throughput and the app's memory before and after.

Run alone: .venv/bin/python -m benchmarks.load [--users 20] [--questions 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, latency_ms, rss_mb

BUSY = "Queue is full"


@dataclass
class Outcome:
    """What the users got: answers per question, busy refusals, errors, timings."""

    answers: dict[str, set[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    busy: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    wall: float = 0.0

    @property
    def answered(self) -> int:
        return len(self.seconds)


def ask_once(url: str, question: str) -> tuple[str, tuple[str, ...]]:
    """One user's answer: its text and cited sources."""
    from gradio_client import Client

    result = Client(url, verbose=False).predict(question, api_name="/ask")
    return result["text"], tuple(c["source"] for c in result["citations"])


def drive(url: str, questions: list[str], users: int, per_user: int) -> Outcome:
    """``users`` clients at once, each asking ``per_user`` questions in turn."""
    from gradio_client import Client

    outcome = Outcome()

    def user(number: int) -> list[tuple[str, Any, float]]:
        client = Client(url, verbose=False)
        done = []
        for i in range(per_user):
            question = questions[(number + i) % len(questions)]
            started = time.perf_counter()
            try:
                result: Any = client.predict(question, api_name="/ask")
            except Exception as exc:  # busy or broken: both are counted, neither is hidden
                result = exc
            done.append((question, result, time.perf_counter() - started))
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        runs = list(pool.map(user, range(users)))
    outcome.wall = time.perf_counter() - started
    for question, result, seconds in (r for run in runs for r in run):
        if isinstance(result, Exception):
            if BUSY in str(result):
                outcome.busy += 1
            else:
                outcome.errors.append(f"{question}: {type(result).__name__}: {result}")
            continue
        outcome.seconds.append(seconds)
        outcome.answers.setdefault(question, set()).add(
            (result["text"], tuple(c["source"] for c in result["citations"]))
        )
    return outcome


def run(workdir: Path, users: int = 20, per_user: int = 10) -> dict[str, Any]:
    """Start the app on the seed articles, measure one user, then ``users`` at once."""
    rows = [
        json.loads(line)
        for line in (ROOT / "tests" / "data" / "seed_questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    questions = [r["question"] for r in rows if r["kind"] != "followup"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    log = (workdir / "load-app.log").open("w")
    command = [sys.executable, "-m", "ui.cli", "ui", "--port", str(port)]
    command += ["--data-dir", str(workdir / "load-data"), "--seeds", str(ROOT / "seeds")]
    app = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        _wait_for(url, app)
        single = [ask_once(url, q) for q in questions]  # warm-up, and the reference answers
        memory_before = rss_mb(app.pid)
        one_user = drive(url, questions, 1, len(questions))
        crowd = drive(url, questions, users, per_user)
        memory_after = rss_mb(app.pid)
    finally:
        app.terminate()
        app.wait(timeout=30)
        log.close()
    reference = dict(zip(questions, single, strict=True))
    mismatched = [q for q, got in crowd.answers.items() if got != {reference[q]}]
    return {
        "users": users,
        "questions_per_user": per_user,
        "requests": users * per_user,
        "answered": crowd.answered,
        "busy": crowd.busy,
        "errors": crowd.errors,
        "answers_differ_from_single_user": mismatched,
        "single_user": latency_ms(one_user.seconds),
        "latency": latency_ms(crowd.seconds),
        "throughput_per_s": round(crowd.answered / crowd.wall, 2),
        "single_user_throughput_per_s": round(one_user.answered / one_user.wall, 2),
        "app_memory_mb_before": round(memory_before, 1),
        "app_memory_mb_after": round(memory_after, 1),
    }


def _wait_for(url: str, app: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"the app exited with status {app.returncode}")
        try:
            if httpx.get(f"{url}config", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the app did not start at {url}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10, help="per user")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), args.users, args.questions), indent=2))
