"""Scale: query latency, insert rate, disk and memory at growing collection sizes.

Collections are grown from real BBC chunks: chunk i repeats the text and
metadata of BBC chunk ``i mod N`` under its own id and article, and its vector
is that chunk's vector plus Gaussian noise (sigma 0.05, renormalised), so the
filler needs no embedding and still spreads through the vector space like real
text. Queries are real questions answered through ``Assistant``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assistant import Assistant
from benchmarks.common import folder_mb, latency_ms, log, rss_mb, timed

BATCH = 4000


def run(source_data: Path, workdir: Path, sizes: list[int], queries: list[str]) -> dict[str, Any]:
    base = Assistant(data_dir=source_data)
    chunks = list(base.store.iter_all())
    stored = base.store.vectors([c.id for c in chunks])
    vectors = np.asarray([stored[c.id] for c in chunks], dtype=np.float32)
    texts, metas = [c.text for c in chunks], [c.metadata for c in chunks]
    rng = np.random.default_rng(11)
    results: dict[str, Any] = {"base_chunks": len(texts), "sizes": []}
    for size in sizes:
        data = workdir / f"scale-{size}"
        bot = Assistant(data_dir=data, create=True)
        before = rss_mb()
        with timed() as insert_time:
            for start in range(0, size, BATCH):
                ids = list(range(start, min(start + BATCH, size)))
                picks = [i % len(texts) for i in ids]
                noisy = vectors[picks] + rng.normal(0, 0.05, (len(ids), vectors.shape[1]))
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                bot.store.add(
                    [f"synthetic-{i}" for i in ids],
                    [texts[p] for p in picks],
                    noisy.astype(np.float32).tolist(),
                    [
                        {**metas[p], "source_id": f"synthetic/{i // 4}", "source": f"s{i // 4}.txt"}
                        for i, p in zip(ids, picks, strict=True)
                    ],
                )
        bot.store.bump_generation()
        with timed() as index_time:
            bot.warm_up()  # loads the models and opens the stored keyword index
        for q in queries[:5]:
            bot.answer(q)
        retrieve, answer = [], []
        half = 5 + (len(queries) - 5) // 2  # disjoint halves: no query-cache hits
        for q in queries[5:half]:
            with timed() as t:
                bot.retrieve(q)
            retrieve.append(t())
        for q in queries[half:]:
            with timed() as t:
                bot.answer(q)
            answer.append(t())
        entry = {
            "chunks": bot.store.count(),
            "insert_chunks_per_s": round(size / insert_time(), 1),
            "warm_up_seconds": round(index_time(), 2),
            "disk_kb_per_chunk": round(folder_mb(data) * 1024 / size, 2),
            "memory_kb_per_chunk": round(max(rss_mb() - before, 0) * 1024 / size, 2),
            "retrieve": latency_ms(retrieve),
            "answer": latency_ms(answer),
        }
        log(f"scale {size}: {entry}")
        results["sizes"].append(entry)
        del bot
    return results
