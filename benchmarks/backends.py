"""Embedding backends side by side: PyTorch, ONNX Runtime and int8 ONNX.

Throughput on the same chunks, single-query latency, and SQuAD retrieval top-5
with each backend (the same paragraphs ingested again, the same questions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant import Assistant
from benchmarks.common import latency_ms, log, timed
from benchmarks.squad import Question
from core.settings import EMBEDDING_BACKENDS as BACKENDS
from vectorstore.embeddings import Embedder


def run(
    chunks: list[str],
    queries: list[str],
    squad_articles: Path,
    squad_questions: list[Question],
    workdir: Path,
) -> dict[str, Any]:
    results: dict[str, Any] = {"chunks": len(chunks), "squad_questions": len(squad_questions)}
    for backend in BACKENDS:
        embedder = Embedder(backend=backend)
        embedder.encode(chunks[:32])  # load (and for ONNX, export once) outside the timing
        with timed() as encode_time:
            embedder.encode(chunks)
        times = []
        for q in queries:
            with timed() as t:
                embedder.encode([q])
            times.append(t())
        bot = Assistant(data_dir=workdir / f"backend-{backend}", embedding_backend=backend)
        bot.ingest([squad_articles])
        hits = 0
        for q in squad_questions:
            sources = [p.source for p in bot.retrieve(q.text, k=40)]
            hits += q.gold in list(dict.fromkeys(sources))[:5]
        results[backend] = {
            "chunks_per_s": round(len(chunks) / encode_time(), 1),
            "query": latency_ms(times),
            "squad_top5": round(hits / max(len(squad_questions), 1), 4),
        }
        log(f"backend {backend}: {results[backend]}")
    torch_top5 = results["torch"]["squad_top5"]
    for backend in BACKENDS:
        results[backend]["top5_change"] = round(results[backend]["squad_top5"] - torch_top5, 4)
    return results
