"""Shared helpers for the benchmarks: timing, percentiles, memory, answer matching."""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DOSSIER_BENCH_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """``with timed() as elapsed: ...; elapsed()`` gives seconds (also after the block)."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_ms(values: list[float]) -> dict[str, float]:
    """p50 / p95 / mean of durations given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p95_ms": round(percentile(values, 95) * 1000, 2),
        "mean_ms": round(statistics.fmean(values) * 1000, 2) if values else float("nan"),
        "n": len(values),
    }


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process (default: this one) now, in MB (Linux)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """The most resident memory this process has held, in MB.

    From /proc (VmHWM) where it exists: ``ru_maxrss`` of a process started from a big
    one reports the parent's size at the fork, whatever the child itself needed.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


@dataclass(frozen=True)
class ChromaServer:
    url: str
    pid: int


@contextmanager
def running_chroma(db: Path, port: int, log_file: Path) -> Iterator[ChromaServer]:
    """A real `chroma run` on loopback serving the Chroma folder ``db``, until the block ends."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if not chroma:
        raise RuntimeError("no `chroma` command: it comes with the chromadb package")
    db.mkdir(parents=True, exist_ok=True)
    with log_file.open("a") as log_out:
        proc = subprocess.Popen(
            [chroma, "run", "--path", str(db), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log_out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log_file.read_text()[-3000:]) from None
                    time.sleep(0.3)
            yield ChromaServer(url, proc.pid)
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    """Ask a process to end; kill it if it has not within 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation: lower case, no punctuation, single spaces."""
    return " ".join(re.sub(r"[^\w ]", " ", text.lower()).split())


def contains_gold(text: str, answers: list[str]) -> bool:
    normalized = normalize_answer(text)
    return any(normalize_answer(a) and normalize_answer(a) in normalized for a in answers)
