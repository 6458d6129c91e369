"""The benchmark suite, smoke-sized, so that it cannot rot (the full run is `make bench`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Assistant
from benchmarks import run
from tests.conftest import KNOWN_WRONG

pytestmark = pytest.mark.slow


def test_smoke_run_writes_results_report_and_plots(tmp_path: Path):
    results = run.main(["--smoke", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["meta"]["mode"] == "smoke"
    for section in ("seeds", "squad", "bbc", "backends", "scale"):
        assert section in saved, section
    retrieval = saved["squad"]["retrieval"]
    assert set(retrieval) >= {"hybrid", "rrf", "dense", "keyword"}
    assert retrieval["hybrid"]["top5"] >= 0.9
    assert saved["bbc"]["reingest_unchanged"]["chunks_embedded"] == 0
    edited = saved["bbc"]["reingest_edited"]
    assert edited["chunks_embedded"] == edited["chunks_of_edited_articles"] > 0
    assert saved["seeds"]["correct"] >= saved["seeds"]["questions"] - len(KNOWN_WRONG)
    report = (tmp_path / "report.md").read_text()
    assert "| goal | measured | met |" in report
    assert "SQuAD retrieval top-1 >= 0.80" in report
    for plot in ("retrieval.png", "latency.png"):
        assert (tmp_path / plot).read_bytes()[:4] == b"\x89PNG"
    assert results["meta"]["seconds"] > 0


def test_reader_section_scores_and_reports(tmp_path: Path):
    from benchmarks import report
    from benchmarks.reader import _curve, exact_f1

    assert exact_f1("Alghabass Ag Intallah", ["Alghabass Ag Intallah"]) == (1.0, 1.0)
    assert exact_f1("the MIA", ["MIA", "Islamic Movement"]) == (1.0, 1.0)
    em, f1 = exact_f1("a senior figure", ["former senior figure"])
    assert em == 0.0 and round(f1, 3) == 0.8
    curve = _curve({"answerable": [0.9, 0.1], "unanswerable": [0.05, 0.3], "absent": [0.0]})
    at = next(p for p in curve if p["threshold"] == 0.2)
    assert at == {
        "threshold": 0.2,
        "answerable_refused": 0.5,
        "unanswerable_refused": 0.5,
        "absent_refused": 1.0,
    }
    row = {
        "answer_contains_gold": 0.8,
        "short_f1": 0.5,
        "short_exact_match": 0.4,
        "answerable_refused": 0.05,
        "unanswerable_refused": 0.9,
        "absent_article_refused": 0.9,
        "sentences": 1.2,
        "latency": {"p50_ms": 40.0},
        "questions": {"answerable": 2, "unanswerable": 2, "absent_article": 1},
    }
    results = {
        "reader": {report.READER: row, "threshold": 0.2, "curve": curve, "trained": {}},
    }
    text = report.markdown(results)
    assert "| Dossier: ranker + reader (default) | 0.800 | 0.500 |" in text
    assert "refusal.png" in text and "short-answer F1 >= 0.75" in text
    assert (tmp_path / "refusal.png") in report.plots(results, tmp_path)


def test_scale_smoke_run_measures_every_column_and_writes_its_report(tmp_path: Path):
    from benchmarks import scale

    scale.main(["--smoke", "--out", str(tmp_path), "--keep", str(tmp_path / "kept")])
    saved = json.loads((tmp_path / "scale.json").read_text())
    (size,) = saved["scale"]["sizes"]
    assert size["chunks"] == 300 and size["inserted"] == 300 - saved["scale"]["base_chunks"]
    assert size["insert_chunks_per_s"] > 0 and size["disk_kb_per_chunk"] > 0
    assert size["retrieve"]["n"] > 0 and size["answer"]["n"] > 0
    assert size["answering_rss_mb"] > 100  # the models are loaded
    assert size["cold_ask_seconds"] > 0
    assert 0 < size["ui"]["listening_seconds"] < size["ui"]["first_answer_seconds"]
    # The real article files a second time: all found unchanged, nothing embedded.
    assert size["reingest_unchanged"]["files"] == saved["scale"]["articles"] == 10
    assert size["reingest_unchanged"]["chunks_embedded"] == 0
    assert size["reingest_unchanged"]["chunks_after"] == 300  # no filler taken for a moved file
    assert size["ingest_new"]["status"] == "added" and size["ingest_new"]["wall_seconds"] > 0
    # The library: the real articles and each synthetic one that has its first chunk.
    fillers = sum(1 for i in range(saved["scale"]["base_chunks"], 300) if i % 4 == 0)
    assert size["sources"]["articles"] == 10 + fillers and size["sources"]["wall_seconds"] > 0
    # Again through a real `chroma run` on the same folder: answers, and the server's memory.
    served = size["server"]
    assert served["answer"]["n"] == size["answer"]["n"] and served["server_rss_mb"] > 50
    assert served["first_ask_after_server_start_seconds"] > 0 and served["cold_ask_seconds"] > 0
    assert 0 < served["ui"]["listening_seconds"] < served["ui"]["first_answer_seconds"]
    text = (tmp_path / "scale.md").read_text()
    assert "| 300 |" in text and "warm full answer p50 <= 50 ms at 100k chunks" in text
    assert "| Chroma server MB |" in text and "at 1M chunks (vectors in a `chroma run`" in text
    for plot in ("scale-latency.png", "scale-cold-start.png"):
        assert (tmp_path / plot).read_bytes()[:4] == b"\x89PNG"
    # --keep leaves the grown collection to profile, and never builds over a folder in use.
    assert Assistant(data_dir=tmp_path / "kept" / "scale-data").store.count() == 300
    with pytest.raises(SystemExit):
        scale.main(["--smoke", "--out", str(tmp_path), "--keep", str(tmp_path / "kept")])
    assert (tmp_path / "kept" / "scale-data").is_dir()
