"""The benchmark suite, smoke-sized, so that it cannot rot (the full run is `make bench`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run

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
    assert saved["seeds"]["correct"] >= saved["seeds"]["questions"] - 1
    report = (tmp_path / "report.md").read_text()
    assert "| goal | measured | met |" in report
    assert "SQuAD retrieval top-1 >= 0.80" in report
    for plot in ("retrieval.png", "latency.png"):
        assert (tmp_path / plot).read_bytes()[:4] == b"\x89PNG"
    assert results["meta"]["seconds"] > 0
