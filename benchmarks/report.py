"""The benchmark report: goals with measured figures and met / not met, tables, plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

READER = "Dossier: ranker + reader (default)"


def goals(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(goal, measured, met) rows; met is None where the figure was not measured."""
    rows: list[tuple[str, str, bool | None]] = []
    squad = results.get("squad")
    if squad:
        hybrid = squad["retrieval"]["hybrid"]
        rows.append(
            ("SQuAD retrieval top-1 >= 0.80", f"{hybrid['top1']:.3f}", hybrid["top1"] >= 0.80)
        )
        rows.append(
            ("SQuAD retrieval top-5 >= 0.96", f"{hybrid['top5']:.3f}", hybrid["top5"] >= 0.96)
        )
    reader = results.get("reader")
    if reader:
        r = reader[READER]
        rows.append(
            (
                "Reader (measuring split): short-answer F1 >= 0.75",
                f"{r['short_f1']:.3f} (exact match {r['short_exact_match']:.3f})",
                r["short_f1"] >= 0.75,
            )
        )
        rows.append(
            (
                "Reader (measuring split): a cited sentence contains gold >= 0.90",
                f"{r['answer_contains_gold']:.3f} ({r['sentences']:.2f} sentences)",
                r["answer_contains_gold"] >= 0.90,
            )
        )
        unanswerable = min(r["unanswerable_refused"], r["absent_article_refused"])
        rows.append(
            (
                "Refuses >= 0.85 of unanswerable, wrongly refuses <= 0.05 of answerable",
                f"{r['unanswerable_refused']:.3f} SQuAD 2.0 / {r['absent_article_refused']:.3f} "
                f"absent article refused; {r['answerable_refused']:.3f} answerable refused",
                unanswerable >= 0.85 and r["answerable_refused"] <= 0.05,
            )
        )
    seeds = results.get("seeds")
    if seeds:
        rows.append(
            (
                "Seed questions: all correct",
                f"{seeds['correct']}/{seeds['questions']}"
                + (f" (wrong: {', '.join(seeds['wrong'])})" if seeds["wrong"] else ""),
                seeds["correct"] == seeds["questions"],
            )
        )
    bbc = results.get("bbc")
    if bbc:
        rows.append(
            (
                "Ingest time / bare sentence-transformers encoding <= 1.15",
                f"{bbc['overhead_ratio']:.3f}",
                bbc["overhead_ratio"] <= 1.15,
            )
        )
        re = bbc["reingest_unchanged"]
        rows.append(
            (
                "Unchanged re-ingest: 0 embedded, <= 5% of first ingest time",
                f"{re['chunks_embedded']} embedded, {re['share_of_first'] * 100:.1f}%",
                re["chunks_embedded"] == 0 and re["share_of_first"] <= 0.05,
            )
        )
        ed = bbc["reingest_edited"]
        rows.append(
            (
                "Edit 1%: only their chunks re-embedded",
                f"{ed['chunks_embedded']} embedded for {ed['articles_edited']} articles "
                f"({ed['chunks_of_edited_articles']} chunks)",
                ed["chunks_embedded"] == ed["chunks_of_edited_articles"]
                and ed["updated"] == ed["articles_edited"],
            )
        )
        p50 = bbc["latency"]["answer"]["p50_ms"]
        rows.append(("Full answer p50 <= 60 ms (2 cores)", f"{p50:.1f} ms", p50 <= 60))
    backends = results.get("backends")
    if backends:
        for name in ("onnx", "onnx-int8"):
            b = backends[name]
            rows.append(
                (
                    f"{name}: SQuAD top-5 drop < 0.005 (then it may be the default)",
                    f"{b['top5_change']:+.4f}; {b['chunks_per_s']} vs "
                    f"{backends['torch']['chunks_per_s']} chunks/s; query p50 "
                    f"{b['query']['p50_ms']} vs {backends['torch']['query']['p50_ms']} ms",
                    -b["top5_change"] < 0.005,
                )
            )
    return rows


def markdown(results: dict[str, Any]) -> str:
    lines = ["# Dossier benchmarks", ""]
    meta = results.get("meta", {})
    lines.append(
        f"Run {meta.get('started', '')} on {meta.get('machine', '')}; "
        f"{meta.get('seconds', 0):.0f} s in all. Mode: {meta.get('mode', 'full')}. "
        "Reproduce with `make bench` (figures are from one run, side by side)."
    )
    lines += ["", "## Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for goal, measured, met in goals(results):
        mark = "yes" if met else ("no" if met is False else "n/a")
        lines.append(f"| {goal} | {measured} | {mark} |")

    if results.get("seed_modes"):
        from benchmarks.seed_questions import table

        lines += ["", "## Seed questions by answer mode (side by side)", ""]
        lines.append(table(results["seed_modes"]))

    squad = results.get("squad")
    if squad:
        r = squad["retrieval"]
        lines += [
            "",
            f"## SQuAD retrieval ({r['questions']} questions, {squad['paragraphs']} paragraphs "
            f"as {squad['chunks']} chunks)",
            "",
            "| method | top-1 | top-5 | top-20 | MRR |",
            "|---|---|---|---|---|",
        ]
        names = {
            "keyword": "BM25 alone",
            "dense": "dense alone (all-MiniLM-L6-v2)",
            "rrf": "reciprocal rank fusion (k=60)",
            "hybrid": "**Dossier hybrid** (score fusion)",
        }
        for method, label in names.items():
            m = r[method]
            lines.append(
                f"| {label} | {m['top1']:.3f} | {m['top5']:.3f} | {m['top20']:.3f} | "
                f"{m['mrr']:.3f} |"
            )

    reader = results.get("reader")
    if reader:
        n = reader[READER]["questions"]
        made = reader.get("trained", {})
        lines += [
            "",
            "## Answers: Dossier (ranker + reader) against the reader alone and the sentence scorer",
            "",
            f"On the {len(made.get('measure_articles', []))} SQuAD articles of the measuring "
            f"split, which nothing was trained or tuned on: {n['answerable']} answerable, "
            f"{n['unanswerable']} unanswerable (SQuAD 2.0) and {n['absent_article']} "
            "absent-article questions; the same retrieved passages for every answerer. The "
            f"ranker's threshold ({reader['threshold']:.3f}) and the reader's margin were chosen "
            f"on the calibration articles ({', '.join(made.get('calibrate_articles', []))}).",
            "",
            "| answerer | contains gold | short F1 | short EM | answerable refused | "
            "unanswerable refused | absent refused | sentences | p50 ms |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, m in reader.items():
            if isinstance(m, dict) and "answer_contains_gold" in m:
                lines.append(
                    f"| {name} | {m['answer_contains_gold']:.3f} | {m['short_f1']:.3f} | "
                    f"{m['short_exact_match']:.3f} | {m['answerable_refused']:.3f} | "
                    f"{m['unanswerable_refused']:.3f} | {m['absent_article_refused']:.3f} | "
                    f"{m['sentences']:.2f} | {m['latency']['p50_ms']} |"
                )
        gold = reader.get("gold_paragraph")
        if gold:
            lines += [
                "",
                f"The reader alone, handed each answerable question's own paragraph (no "
                f"retrieval, no ranker): exact match {gold['exact_match']:.3f}, F1 "
                f"{gold['f1']:.3f} ({gold['questions']} questions).",
            ]
        lines += [
            "",
            "The scorer has no short answer: its first quoted sentence stands in for one.",
            "",
            "![refusal curve](refusal.png)",
        ]

    tutorial = results.get("tutorial")
    if tutorial:
        lines += _tutorial_section(tutorial)
    if results.get("news"):
        from benchmarks.news import section

        lines += section(results["news"])

    bbc = results.get("bbc")
    if bbc:
        fi = bbc["first_ingest"]
        lat = bbc["latency"]
        lines += [
            "",
            f"## BBC News ({bbc['articles']} articles)",
            "",
            f"- First ingest (`dossier ingest`, own process): {fi['chunks']} chunks, "
            f"{fi['sync_seconds']} s in the sync ({fi['wall_seconds']} s wall with start-up), "
            f"{fi['articles_per_s']} articles/s, {fi['chunks_per_s']} chunks/s, "
            f"peak memory {fi['peak_rss_mb']} MB, {fi['failed']} failed.",
            f"- sentence-transformers alone on the same chunks: {bbc['encode_only_seconds']} s; "
            f"ratio {bbc['overhead_ratio']}.",
            f"- Unchanged re-ingest: {bbc['reingest_unchanged']['seconds']} s, "
            f"{bbc['reingest_unchanged']['chunks_embedded']} chunks embedded.",
            f"- After editing {bbc['reingest_edited']['articles_edited']} articles: "
            f"{bbc['reingest_edited']['updated']} updated, "
            f"{bbc['reingest_edited']['chunks_embedded']} chunks embedded in "
            f"{bbc['reingest_edited']['seconds']} s.",
            f"- Warm latency over {lat['chunks']} chunks: retrieval p50 "
            f"{lat['retrieve']['p50_ms']} ms / p95 {lat['retrieve']['p95_ms']} ms; full answer "
            f"p50 {lat['answer']['p50_ms']} ms / p95 {lat['answer']['p95_ms']} ms.",
            f"- Cold start, `dossier ask` in a fresh process: {bbc['cold_start_ask_seconds']} s.",
        ]
    crowd = results.get("load")
    if crowd:
        lines += [
            "",
            f"## Web app load ({crowd['users']} gradio_client users x "
            f"{crowd['questions_per_user']} seed questions, at once)",
            "",
            "| | p50 ms | p95 ms | answers/s |",
            "|---|---|---|---|",
            f"| 1 user | {crowd['single_user']['p50_ms']} | {crowd['single_user']['p95_ms']} | "
            f"{crowd['single_user_throughput_per_s']} |",
            f"| {crowd['users']} users | {crowd['latency']['p50_ms']} | "
            f"{crowd['latency']['p95_ms']} | {crowd['throughput_per_s']} |",
            "",
            f"{crowd['answered']} of {crowd['requests']} answered, {crowd['busy']} busy, "
            f"{len(crowd['errors'])} errors; answers that differ from the single-user answer: "
            f"{len(crowd['answers_differ_from_single_user'])}. App memory "
            f"{crowd['app_memory_mb_before']} MB before, {crowd['app_memory_mb_after']} MB after.",
        ]
    scale = results.get("scale")
    if scale:
        lines += ["", "## Scale", "", *scale_table(scale)]
        lines += [
            "",
            "![latency against collection size](latency.png)",
            "",
            "Up to 1M chunks, with cold start and re-ingest: [scale.md](scale.md) "
            "(`make bench-scale`).",
        ]
    backends = results.get("backends")
    if backends:
        lines += [
            "",
            f"## Embedding backends ({backends['chunks']} BBC chunks; SQuAD top-5 on "
            f"{backends['squad_questions']} questions, each backend ingesting the paragraphs)",
            "",
            "| backend | chunks/s | query p50 / p95 ms | SQuAD top-5 | change |",
            "|---|---|---|---|---|",
        ]
        for name in ("torch", "onnx", "onnx-int8"):
            b = backends[name]
            lines.append(
                f"| {name} | {b['chunks_per_s']} | {b['query']['p50_ms']} / "
                f"{b['query']['p95_ms']} | {b['squad_top5']:.4f} | {b['top5_change']:+.4f} |"
            )
    if results.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in results["notes"]]
    if squad:
        lines += ["", "![SQuAD retrieval](retrieval.png)"]
    return "\n".join(lines) + "\n"


def _tutorial_section(t: dict[str, Any]) -> list[str]:
    from benchmarks.tutorial import DOSSIER, TUTORIAL, behind

    lines = [
        "",
        "## Against the LangChain + Chroma tutorial pipeline (same pool, same questions)",
        "",
        f"Every SQuAD paragraph ({t['files']} files) ingested by both; {t['questions']} "
        "answerable questions about the measuring split's articles. The tutorial pipeline: "
        "RecursiveCharacterTextSplitter 1,000/200, the same MiniLM embeddings, Chroma "
        "`similarity_search` k=4, the top chunk's sentence most similar to the question.",
        "",
        "| pipeline | ingest s | top-1 | top-5 | answer holds gold | refused | answer p50 / p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in (DOSSIER, TUTORIAL):
        m = t[name]
        lines.append(
            f"| {name} | {m['ingest_seconds']} | {m['top1']:.3f} | {m['top5']:.3f} | "
            f"{m['answer_contains_gold']:.3f} | {m['refused']:.3f} | "
            f"{m['answer_latency']['p50_ms']} / {m['answer_latency']['p95_ms']} |"
        )
    lagging = behind(t)
    lines += [
        "",
        "Dossier is behind on: " + ("; ".join(lagging) if lagging else "nothing") + ".",
    ]
    return lines


def plots(results: dict[str, Any], out: Path) -> list[Path]:
    written = []
    squad = results.get("squad")
    if squad:
        r = squad["retrieval"]
        methods = ["keyword", "dense", "rrf", "hybrid"]
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for offset, depth in enumerate(("top1", "top5", "top20")):
            ax.bar(
                [i + offset * 0.27 for i in range(len(methods))],
                [r[m][depth] for m in methods],
                width=0.27,
                label=depth,
            )
        ax.set_xticks([i + 0.27 for i in range(len(methods))], ["BM25", "dense", "RRF", "Dossier"])
        ax.set_ylim(0.5, 1.0)
        ax.set_ylabel("gold paragraph found")
        ax.legend(loc="lower right")
        ax.set_title("SQuAD retrieval")
        fig.tight_layout()
        written.append(out / "retrieval.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    reader = results.get("reader")
    if reader and reader.get("curve"):
        curve = reader["curve"]
        fig, ax = plt.subplots(figsize=(6, 4))
        for kind, label in (
            ("unanswerable", "SQuAD 2.0 unanswerable"),
            ("absent", "absent article"),
        ):
            ax.plot(
                [p["answerable_refused"] for p in curve],
                [p[f"{kind}_refused"] for p in curve],
                "-",
                label=label,
            )
        chosen = min(curve, key=lambda p: abs(p["threshold"] - reader["threshold"]))
        for kind in ("unanswerable", "absent"):
            ax.plot(chosen["answerable_refused"], chosen[f"{kind}_refused"], "ko")
        ax.axvline(0.05, color="grey", linestyle=":")
        ax.axhline(0.85, color="grey", linestyle=":")
        ax.set_xlabel("answerable questions refused")
        ax.set_ylabel("unanswerable questions refused")
        ax.set_title("Refusals as the threshold varies (dots: shipped threshold)")
        ax.legend(loc="lower right")
        fig.tight_layout()
        written.append(out / "refusal.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    scale = results.get("scale")
    if scale and scale["sizes"]:
        sizes = [s["chunks"] for s in scale["sizes"]]
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for key, label in (("retrieve", "retrieval"), ("answer", "full answer")):
            ax.plot(sizes, [s[key]["p50_ms"] for s in scale["sizes"]], "o-", label=f"{label} p50")
            ax.plot(sizes, [s[key]["p95_ms"] for s in scale["sizes"]], "o--", label=f"{label} p95")
        ax.set_xscale("log")
        ax.set_xlabel("chunks in the collection")
        ax.set_ylabel("ms")
        ax.legend()
        ax.set_title("Query latency against collection size (2 cores)")
        fig.tight_layout()
        written.append(out / "latency.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def scale_table(scale: dict[str, Any]) -> list[str]:
    """The scale figures, one row per collection size (the columns measured in this run)."""
    rows = scale["sizes"]
    cold = any("cold_ask_seconds" in s for s in rows)
    header = (
        "| chunks | insert chunks/s | disk KB/chunk | retrieve p50 / p95 ms | "
        "answer p50 / p95 ms | answering process MB (peak) | warm-up s |"
    )
    if cold:
        header += " cold `ask` s | `ui` first answer s | re-ingest unchanged s |"
    new = any("ingest_new" in s for s in rows)
    if new:
        header += " ingest 1 new article s |"
    listed = any("sources" in s for s in rows)
    if listed:
        header += " `dossier sources` s |"
    load = any("load_average_1m" in s for s in rows)
    if load:
        header += " load (1 min) |"
    lines = [header, "|" + "---|" * header.count(" |")]
    for s in rows:
        rate = s.get("insert_chunks_per_s")
        # Older runs measured memory per chunk, not the answering process: not comparable.
        memory = s.get("answering_rss_mb", "-")
        if "answering_peak_rss_mb" in s:
            memory = f"{memory} (peak {s['answering_peak_rss_mb']})"
        row = (
            f"| {s['chunks']:,} | {f'{rate:,.0f}' if rate else '-'} | {s['disk_kb_per_chunk']} | "
            f"{s['retrieve']['p50_ms']} / {s['retrieve']['p95_ms']} | "
            f"{s['answer']['p50_ms']} / {s['answer']['p95_ms']} | {memory} | "
            f"{s.get('warm_up_seconds', '-')} |"
        )
        if cold:
            reingest = s.get("reingest_unchanged")
            row += f" {s['cold_ask_seconds']} | {s['ui']['first_answer_seconds']} | " + (
                f"{reingest['wall_seconds']} ({reingest['files']} files, "
                f"{reingest['chunks_embedded']} embedded) |"
                if reingest
                else "- |"
            )
        if new:
            row += f" {s['ingest_new']['wall_seconds'] if 'ingest_new' in s else '-'} |"
        if listed:
            row += f" {s['sources']['wall_seconds'] if 'sources' in s else '-'} |"
        if load:
            row += f" {s.get('load_average_1m', '-')} |"
        lines.append(row)
    return lines


def scale_markdown(results: dict[str, Any]) -> str:
    """scale.md: the scale run (``python -m benchmarks.scale``) with its goals."""
    scale, meta = results["scale"], results["meta"]
    lines = [
        "# Dossier at scale",
        "",
        f"{meta['started']}, {meta['machine']}, {meta['mode']} run, {meta['seconds']} s. "
        "Reproduce: `make bench-scale` (or `python -m benchmarks.scale --sizes ...`).",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
    ]
    by_size = {s["chunks"]: s for s in scale["sizes"]}

    def figures(size: int, mode: str) -> dict[str, Any]:
        """One size's figures in one mode ("": Chroma in the process; "server")."""
        entry = by_size.get(size, {})
        return dict(entry.get(mode, {})) if mode else entry

    for mode, where in (("", ""), ("server", " (vectors in a `chroma run` server)")):
        for size, label, limit in ((100_000, "100k", 50.0), (1_000_000, "1M", 100.0)):
            s = figures(size, mode)
            value = f"{s['answer']['p50_ms']} ms" if s else "not measured"
            met = ("yes" if s["answer"]["p50_ms"] <= limit else "no") if s else "-"
            lines.append(
                f"| warm full answer p50 <= {limit:.0f} ms at {label} chunks{where} "
                f"| {value} | {met} |"
            )
        s = figures(1_000_000, mode)
        value = f"{s['answering_rss_mb']} MB" if s else "not measured"
        if s and mode:
            value += f" (the Chroma server: {s['server_rss_mb']} MB)"
        met = ("yes" if s["answering_rss_mb"] <= 2048 else "no") if s else "-"
        lines.append(f"| answering process memory <= 2 GB at 1M chunks{where} | {value} | {met} |")
    lines += [
        "",
        f"Base: {scale.get('articles', '?')} real articles, {scale['base_chunks']} chunks "
        "embedded by the real model. " + scale.get("method", ""),
        "",
        "Columns: insert rate of the chunks added to reach that size (Chroma + FTS5 keyword "
        "index, through `ChunkStore.add`); disk = the whole data directory; latency, warm-up "
        "and memory (RSS after warm-up and the timed answers) of a fresh answering process; "
        "cold `ask` = wall time of a fresh `dossier ask` process (median); `ui` first answer "
        "= from starting `dossier ui` to its first `/ask` answer over HTTP; re-ingest = "
        "`dossier ingest` of the real article files again (nothing changed) into the grown "
        "collection; ingest 1 new article = `dossier ingest` of one new file (a real article "
        "with a sentence added), matched for copies against every stored signature; "
        "`dossier sources` = a fresh process listing every stored article (the library).",
        "",
        *scale_table(scale),
        *server_table(scale),
        "",
        "![cold start against collection size](scale-cold-start.png)",
        "",
        "![latency against collection size](scale-latency.png)",
    ]
    if scale.get("skipped"):
        lines += ["", f"Skipped (smaller than the real articles' chunks): {scale['skipped']}."]
    for note in results.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def server_table(scale: dict[str, Any]) -> list[str]:
    """The same collections with the vectors in a `chroma run` server (if measured)."""
    rows = [s for s in scale["sizes"] if "server" in s]
    if not rows:
        return []
    lines = [
        "",
        "The same collections through a `chroma run` server on the same Chroma folder "
        "(records and keyword index stay in the data directory): a fresh answering process, "
        "cold `dossier ask` and `dossier ui` again, now with no vector index of their own to "
        "load. The server loads it on its first query after it starts (first `ask` column); "
        "a deployment's server is long-lived. Server MB: the `chroma run` process after the "
        "answers.",
        "",
        "| chunks | retrieve p50 / p95 ms | answer p50 / p95 ms | answering process MB (peak) | "
        "Chroma server MB | warm-up s | first `ask` after server start s | cold `ask` s | "
        "`ui` first answer s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in rows:
        s = size["server"]
        lines.append(
            f"| {size['chunks']:,} | {s['retrieve']['p50_ms']} / {s['retrieve']['p95_ms']} | "
            f"{s['answer']['p50_ms']} / {s['answer']['p95_ms']} | "
            f"{s['answering_rss_mb']} (peak {s['answering_peak_rss_mb']}) | {s['server_rss_mb']} | {s['warm_up_seconds']} | "
            f"{s['first_ask_after_server_start_seconds']} | {s['cold_ask_seconds']} | "
            f"{s['ui']['first_answer_seconds']} |"
        )
    return lines


def scale_plots(scale: dict[str, Any], out: Path) -> list[Path]:
    """scale-latency.png and scale-cold-start.png against collection size."""
    rows = scale["sizes"]
    if not rows:
        return []
    sizes = [s["chunks"] for s in rows]
    written = []
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for key, label in (("retrieve", "retrieval"), ("answer", "full answer")):
        ax.plot(sizes, [s[key]["p50_ms"] for s in rows], "o-", label=f"{label} p50")
        ax.plot(sizes, [s[key]["p95_ms"] for s in rows], "o--", label=f"{label} p95")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("chunks in the collection")
    ax.set_ylabel("ms (warm)")
    ax.legend()
    ax.set_title("Query latency against collection size")
    fig.tight_layout()
    written.append(out / "scale-latency.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(sizes, [s["cold_ask_seconds"] for s in rows], "o-", label="`dossier ask`, cold")
    ax.plot(
        sizes,
        [s["ui"]["first_answer_seconds"] for s in rows],
        "o-",
        label="`dossier ui` to first answer",
    )
    ax.plot(sizes, [s["warm_up_seconds"] for s in rows], "o--", label="warm-up in process")
    served = [s for s in rows if "server" in s]
    if served:
        ax.plot(
            [s["chunks"] for s in served],
            [s["server"]["cold_ask_seconds"] for s in served],
            "s:",
            label="`dossier ask`, cold, Chroma server",
        )
        ax.plot(
            [s["chunks"] for s in served],
            [s["server"]["ui"]["first_answer_seconds"] for s in served],
            "s:",
            label="`dossier ui` to first answer, Chroma server",
        )
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("chunks in the collection")
    ax.set_ylabel("seconds")
    ax.legend()
    ax.set_title("Cold start against collection size")
    fig.tight_layout()
    written.append(out / "scale-cold-start.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
    return written
