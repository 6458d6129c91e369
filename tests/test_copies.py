"""Copies of one story carried by several outlets: grouped at ingest, retrieved and cited once.

Real Chroma in a tmp dir, the real embedding model and the real answerer.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.retrieval import one_per_story
from core.types import Answer, Passage, SourceInfo
from ingest import copies as story_copies
from ingest.copies import COMPLETE_TABLE, STORY_TABLE, grouping_quality
from ingest.loaders import load_article
from ui.cli import main
from ui.render import answer_html
from vectorstore.metadata import CHUNK_INDEX, to_source_info

# A wire story: paragraphs of plain news text, long enough for several chunks.
STORY = [
    "The regional council of Tarnow voted on Tuesday to build a floating solar farm on the "
    "Dunajec reservoir, the first of its kind in the province.",
    "The farm will cover 14 hectares of the reservoir and is expected to produce 19 megawatts "
    "at its peak, enough for about 6,000 homes, council officials said.",
    "Construction is planned to start in April and to take 18 months. The council chose the "
    "engineering firm Helioflot, based in Gdansk, after a tender that drew five bids.",
    "Environmental groups had warned that the panels could harm the fish that spawn in the "
    "shallow northern bay. The council agreed to keep that bay free of panels.",
    "Mayor Irena Kostrzewa said the project would cut the city's electricity bill by a fifth "
    "and called it a model for other towns with reservoirs.",
    "Opposition councillors questioned the cost, put at 62 million zloty, of which the European "
    "Union will pay 40 percent through its regional development fund.",
    "Anglers who use the reservoir will keep access to the southern shore, where a new jetty "
    "is to be built with part of the budget.",
    "The council will hold a public meeting about the project on March 3 at the town hall, "
    "where residents can see the designs and ask questions.",
]
SIMILAR = [  # the same topic, written independently: not a copy
    "Another reservoir in the province may soon carry solar panels as well: the town of Nowy "
    "Sacz is studying a floating array on the Roznow lake.",
    "Its planners say a study will take a year before any vote, and that the town has not yet "
    "asked any firm for a price.",
    "Residents are divided: sailors fear losing part of the lake, while the local energy "
    "cooperative wants the panels to cover its members' needs.",
    "The town hopes for money from a national fund for renewable energy rather than from "
    "the European Union, its deputy mayor said.",
]
QUESTION = "How many hectares will the floating solar farm on the Dunajec reservoir cover?"


def page(outlet: str, headline: str, paragraphs: list[str]) -> str:
    """An outlet's HTML page of a story (its name in the page's OpenGraph site name)."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<html><head><title>{html.escape(headline)}</title><meta property="og:site_name" '
        f'content="{outlet}"></head><body><article><h1>{html.escape(headline)}</h1>{body}'
        "</article></body></html>"
    )


FILES = {  # outlet -> (file, headline, paragraphs)
    "AP": (Path("a_ap.html"), "Tarnow approves floating solar farm", STORY),
    # A new headline and the last paragraph trimmed.
    "Reuters": (
        Path("b_reuters.html"),
        "Polish town to float solar panels on reservoir",
        STORY[:-1],
    ),
    # Another headline and a dateline of its own.
    "CNN": (
        Path("c_cnn.html"),
        "A Polish reservoir will soon carry a solar farm",
        [f"TARNOW, Poland (CNN) — {STORY[0]}", *STORY[1:]],
    ),
    "Gazeta": (Path("d_gazeta.html"), "Nowy Sacz studies a solar lake", SIMILAR),
}


def write_copies(folder: Path) -> dict[str, Path]:
    """The story as AP, Reuters and CNN carry it, and an article on the same topic."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for outlet, (name, headline, paragraphs) in FILES.items():
        paths[outlet] = folder / name
        paths[outlet].write_text(page(outlet, headline, paragraphs), encoding="utf-8")
    return paths


@pytest.fixture
def copies(tmp_path: Path, seed_copy: Path) -> dict[str, Path]:
    """The three copies and the similar article, beside the two seed articles."""
    return write_copies(seed_copy / "news")


def stories(bot: Assistant) -> dict[str, str]:
    """Outlet -> story id, for every stored copy (and file name -> story id for the others)."""
    outlets = {path.name: outlet for outlet, (path, _, _) in FILES.items()}
    return {outlets.get(s.source, s.source): s.story_id for s in bot.sources()}


def carriers(bot: Assistant, story: str) -> list[str]:
    """How a source carried by the copies of ``story`` names them: outlet, else file."""
    return sorted(s.outlet or s.source for s in bot.sources() if s.story_id == story)


def one_number_per_article(answer: Answer) -> None:
    numbers: dict[str, set[int]] = {}
    for c in answer.citations:
        numbers.setdefault(c.story_id, set()).add(c.number)
    assert all(len(n) == 1 for n in numbers.values()), answer.citations
    for c in answer.citations:  # and every marker points at a cited source
        assert f"[{c.number}]" in answer.text


def signature_rows(bot: Assistant) -> int:
    import sqlalchemy

    engine = bot.indexer.record_manager.engine
    assert isinstance(engine, sqlalchemy.Engine)
    with engine.connect() as connection:
        return connection.execute(sqlalchemy.text(f"SELECT COUNT(*) FROM {STORY_TABLE}")).scalar()


def test_three_outlets_are_one_story_retrieved_and_cited_once(
    make_assistant, seed_copy: Path, copies: dict[str, Path]
):
    bot = make_assistant()
    report = bot.ingest([seed_copy])
    assert report.count("added") == 6 and not report.failures, report

    found = stories(bot)
    assert {"AP", "Reuters", "CNN", "Gazeta"} <= set(found)  # the library lists every copy
    assert found["AP"] == found["Reuters"] == found["CNN"] == str(copies["AP"].resolve())
    assert found["Gazeta"] == str(copies["Gazeta"].resolve())  # same topic, another text
    assert len(set(found.values())) == 4  # the seeds are stories of their own

    passages = bot.retrieve(QUESTION, k=8)
    assert passages[0].story_id == found["AP"]
    retrieved = {p.source_id for p in passages if p.story_id == found["AP"]}
    assert len(retrieved) == 1  # the story comes back once, from one of its copies

    answer = bot.answer(QUESTION)
    assert answer.answered and "14 hectares" in answer.text, answer
    one_number_per_article(answer)
    cited = [c for c in answer.citations if c.story_id == found["AP"]]
    assert cited and {c.number for c in cited} == {1}
    assert sorted(cited[0].carried_by) == carriers(bot, found["AP"])
    assert len(cited[0].carried_by) == 3
    assert cited[0].carried_text.startswith("carried by 3 outlets: ")

    shown = answer_html(answer, turn=0)  # the web app: one source, naming the three
    assert shown.count('class="dossier-source"') == len(answer.sources)
    assert html.escape(cited[0].carried_text) in shown


def test_the_cli_lists_one_source_with_its_quotes_and_carriers(
    tmp_path: Path, seed_copy: Path, copies: dict[str, Path], capsys: pytest.CaptureFixture[str]
):
    data = str(tmp_path / "data")
    assert main(["ingest", "--data-dir", data, str(seed_copy)]) == 0
    capsys.readouterr()
    assert main(["ask", "--data-dir", data, QUESTION]) == 0
    out = capsys.readouterr().out
    sources = out.split("Sources:", 1)[1]
    assert sources.count("\n[1] ") == 1 and "\n[2] " not in sources
    assert "carried by 3 outlets: " in sources


def test_signatures_persist_and_reingest_is_idempotent(
    make_assistant, seed_copy: Path, copies: dict[str, Path], embed_calls: list[int]
):
    make_assistant().ingest([seed_copy])
    embed_calls.clear()

    bot = make_assistant()  # a new process's Assistant on the same data
    again = bot.ingest([seed_copy])
    assert again.count("unchanged") == 6 and again.chunks_embedded == 0
    assert embed_calls == []
    assert signature_rows(bot) == 6
    story = stories(bot)["AP"]

    # A fourth outlet's copy, ingested later by yet another process, joins the story.
    fourth = copies["AP"].with_name("e_bbc.html")
    fourth.write_text(
        page(
            "BBC", "Floating solar for Tarnow", [f"By our correspondent. {STORY[0]}", *STORY[1:6]]
        ),
        encoding="utf-8",
    )
    later = make_assistant()
    assert later.ingest([fourth]).count("added") == 1
    assert stories(later)["e_bbc.html"] == story
    answer = later.answer(QUESTION)
    cited = [c for c in answer.citations if c.story_id == story]
    assert sorted(cited[0].carried_by) == carriers(later, story)
    assert len(cited[0].carried_by) == 4


def test_deleting_a_copy_keeps_the_story_answerable(
    make_assistant, seed_copy: Path, copies: dict[str, Path]
):
    bot = make_assistant()
    report = bot.ingest([seed_copy])
    assert report.count("added") == 6, report
    story = stories(bot)["AP"]

    assert bot.delete([str(copies["AP"].resolve())]) > 0  # the first copy: the story's label
    copies["AP"].unlink()
    assert signature_rows(bot) == 5
    left = stories(bot)
    assert "AP" not in left and left["Reuters"] == left["CNN"] == story  # the label stays

    answer = bot.answer(QUESTION)
    assert answer.answered and "14 hectares" in answer.text
    cited = [c for c in answer.citations if c.story_id == story]
    assert sorted(cited[0].carried_by) == carriers(bot, story)
    assert len(cited[0].carried_by) == 2

    # A re-ingest changes nothing, and a changed copy that is no longer the story leaves it.
    assert make_assistant().ingest([seed_copy]).chunks_embedded == 0
    copies["CNN"].write_text(page("CNN", "Something else", SIMILAR[::-1]), encoding="utf-8")
    make_assistant().ingest([seed_copy])
    assert stories(bot)["CNN"] != story and stories(bot)["Reuters"] == story


def test_one_article_gets_one_number_with_several_quotes(make_assistant, tmp_path: Path):
    # The answer is stated twice, far apart (two chunks): both sentences may be quoted,
    # and they are one source.
    folder = tmp_path / "otters"
    folder.mkdir()
    filler = [
        f"Volunteers walked the {side} bank of the river Tweed from dawn, stopping at "
        f"every {n} hundred metres to check the reed beds for tracks and spraint."
        for n, side in enumerate(["north", "south", "east", "west", "upper", "lower"], start=2)
    ]
    (folder / "otters.txt").write_text(
        "Otter survey on the Tweed\n\n"
        "Volunteers counted 412 otters on the river Tweed this year, the survey said.\n\n"
        + "\n\n".join(filler * 3)
        + "\n\nThe survey counted 412 otters on the river Tweed, the most since counts began.\n",
        encoding="utf-8",
    )
    bot = make_assistant()
    bot.ingest([folder])
    answer = bot.answer("How many otters did volunteers count on the river Tweed?")
    assert answer.answered
    assert len({c.start for c in answer.citations}) == 2, answer.citations  # two quotes...
    assert {c.number for c in answer.citations} == {1}  # ...under one number
    assert answer.text.count("[1]") == 2 and "[2]" not in answer.text
    assert len(answer.sources) == 1
    span = answer.span
    if span is not None:
        cited = answer.citation_of(span)
        assert cited is not None and cited.quote[span.start - cited.start :].startswith(span.text)


def passage(source_id: str, story_id: str, score: float, start: int = 0) -> Passage:
    return Passage(
        id=f"{source_id}:{start}",
        source=source_id,
        title="t",
        text="x",
        start=start,
        end=start + 1,
        score=score,
        source_id=source_id,
        story_id=story_id,
    )


def test_one_per_story_keeps_the_best_copy_and_all_its_chunks():
    ranked = [
        passage("cnn", "ap", 0.9),
        passage("other", "other", 0.8),
        passage("ap", "ap", 0.7),
        passage("cnn", "ap", 0.6, start=5),
        passage("reuters", "ap", 0.5),
    ]
    kept = one_per_story(ranked)
    assert [(p.source_id, p.start) for p in kept] == [("cnn", 0), ("other", 0), ("cnn", 5)]


def test_grouping_quality_counts_pairs():
    story = " ".join(STORY)
    texts = [story, " ".join(SIMILAR), " ".join(STORY[:-1]), "TARNOW (AP) — " + story]
    assert grouping_quality(texts, ["s", "o", "s", "s"]) == (1.0, 1.0)
    precision, recall = grouping_quality(texts, ["s", "o", "t", "s"])
    assert (precision, recall) == (1 / 3, 1.0)  # two of the three grouped pairs are wrong
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        grouping_quality(texts[:3], ["a", "b"])


def test_a_page_reads_the_same_however_often_it_is_read(tmp_path: Path):
    # trafilatura's deduplication, if on, remembers what it read for the whole process and
    # drops what it has seen a few times: a page re-read by a long-running app (a watched
    # folder) would lose its outlet and text, and be re-embedded as "updated".
    for n in range(3):
        path = tmp_path / f"copy{n}.html"
        path.write_text(page(f"Outlet {n}", f"Headline {n}", STORY), encoding="utf-8")
        for _ in range(4):  # ingested, then re-ingested as unchanged
            article = load_article(path.resolve(), 10**6)
            assert all(paragraph in article.text for paragraph in STORY), n
            assert article.outlet == f"Outlet {n}"


def test_only_stories_with_copies_are_looked_up_in_chroma(
    make_assistant, seed_copy: Path, copies: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    bot = make_assistant()
    bot.ingest([seed_copy])
    found = stories(bot)
    story, alone = found["AP"], found["Gazeta"]
    named = carriers(bot, story)
    gets: list[object] = []  # the lookups asked of Chroma (its pages call get positionally)
    real_get = bot.indexer.store.get
    monkeypatch.setattr(
        bot.indexer.store,
        "get",
        lambda *a, **kw: (gets.append(kw) if kw else None) or real_get(*a, **kw),
    )

    members = bot.indexer.story_members([story, alone, "no such story"])
    assert sorted(members) == [story]  # one without copies has none to name
    assert sorted(m.outlet or m.source for m in members[story]) == named
    assert len(gets) == 1

    assert bot.indexer.story_members([alone]) == {} and len(gets) == 1  # Chroma not asked


def test_a_record_database_from_before_the_story_index_gains_it(
    make_assistant, seed_copy: Path, copies: dict[str, Path]
):
    import sqlalchemy

    bot = make_assistant()
    bot.ingest([seed_copy])
    engine = bot.indexer.record_manager.engine
    assert isinstance(engine, sqlalchemy.Engine)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("DROP INDEX dossier_story_by_story"))

    later = make_assistant()  # another process opens the older database
    later_engine = later.indexer.record_manager.engine
    assert isinstance(later_engine, sqlalchemy.Engine)
    indexes = sqlalchemy.inspect(later_engine).get_indexes(STORY_TABLE)
    assert [i["column_names"] for i in indexes] == [["namespace", "story_id"]]
    answer = later.answer(QUESTION)
    assert (
        len(next(c for c in answer.citations if c.story_id == stories(later)["AP"]).carried_by) == 3
    )


def test_damaged_records_still_give_answers_that_name_the_copies(
    make_assistant, seed_copy: Path, copies: dict[str, Path]
):
    bot = make_assistant()
    bot.ingest([seed_copy])
    story = stories(bot)["AP"]
    records = bot.indexer.records_file
    assert records is not None
    records.write_bytes(b"not a database" * 100)

    later = make_assistant()  # the story table cannot be read: Chroma names the copies
    answer = later.answer(QUESTION)
    assert answer.answered and "14 hectares" in answer.text
    cited = next(c for c in answer.citations if c.story_id == story)
    assert len(cited.carried_by) == 3


def watch_reads(
    bot: Assistant, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[object], list[object]]:
    """(the ``where`` filters asked of Chroma, the loads of every stored signature)."""
    wheres: list[object] = []
    loads: list[object] = []
    real_get, real_load = bot.indexer.store.get, story_copies.load_groups
    monkeypatch.setattr(
        bot.indexer.store,
        "get",
        lambda *a, **kw: wheres.append(kw.get("where")) or real_get(*a, **kw),
    )
    monkeypatch.setattr(story_copies, "load_groups", lambda *a: loads.append(a) or real_load(*a))
    return wheres, loads


def test_a_reingest_that_finds_nothing_new_reads_no_first_chunks_and_no_signatures(
    make_assistant, seed_copy: Path, copies: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    make_assistant().ingest([seed_copy])
    bot = make_assistant()
    story = stories(bot)["AP"]
    wheres, loads = watch_reads(bot, monkeypatch)

    again = bot.ingest([seed_copy])
    assert again.count("unchanged") == 6
    # Both grow with the archive: Chroma's metadata filter and the LSH index of signatures.
    assert {CHUNK_INDEX: 0} not in wheres and loads == []

    # A new copy is matched against the stored signatures: they are read, once.
    fourth = copies["AP"].with_name("e_bbc.html")
    fourth.write_text(page("BBC", "Floating solar for Tarnow", STORY[:6]), encoding="utf-8")
    assert bot.ingest([fourth]).count("added") == 1
    assert len(loads) == 1 and {CHUNK_INDEX: 0} not in wheres
    assert stories(bot)["e_bbc.html"] == story

    # A moved file is still found by its content: moved, not embedded again; its story row
    # is written before the move writes its chunks (a crash in between leaves no chunks
    # without a row).
    moved = fourth.with_name("f_bbc.html")
    fourth.rename(moved)
    rows_at_move: list[int] = []
    real_move = bot.indexer._move
    monkeypatch.setattr(
        bot.indexer,
        "_move",
        lambda *a: rows_at_move.append(signature_rows(bot)) or real_move(*a),
    )
    assert bot.ingest([moved]).count("moved") == 1
    assert rows_at_move == [8]  # the six, the fourth copy and the moved one
    assert stories(bot)["f_bbc.html"] == story

    # Pruning a vanished file lists the stored articles from the story table too.
    moved.unlink()
    wheres.clear()  # (stories() above lists the sources from Chroma)
    pruned = bot.ingest([seed_copy], prune=True)
    assert {CHUNK_INDEX: 0} not in wheres
    assert pruned.count("deleted") == 1 and "f_bbc.html" not in stories(bot)
    assert signature_rows(bot) == 6


def test_an_incomplete_story_table_is_completed_from_the_chunks(
    make_assistant, seed_copy: Path, copies: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    import sqlalchemy

    bot = make_assistant()
    bot.ingest([seed_copy])
    before = stories(bot)
    engine = bot.indexer.record_manager.engine
    assert isinstance(engine, sqlalchemy.Engine)
    # As a record database from before the story table was complete: two rows missing.
    gone = [str(copies["AP"].resolve()), str(copies["Reuters"].resolve())]
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"DELETE FROM {COMPLETE_TABLE}"))
        for source_id in gone:
            connection.execute(
                sqlalchemy.text(f"DELETE FROM {STORY_TABLE} WHERE source_id = :s"), {"s": source_id}
            )
    assert signature_rows(bot) == 4

    later = make_assistant()
    wheres, _ = watch_reads(later, monkeypatch)
    later.ingest([copies["CNN"]])  # the two without rows are not read: still incomplete
    assert {CHUNK_INDEX: 0} in wheres
    collection = str(later.store.collection.id)
    assert not story_copies.is_complete(engine, later.indexer.record_manager.namespace, collection)

    wheres.clear()
    assert later.ingest([seed_copy]).count("unchanged") == 6
    assert {CHUNK_INDEX: 0} in wheres  # their story ids come from their chunks
    assert stories(later) == before and signature_rows(later) == 6
    assert story_copies.is_complete(engine, later.indexer.record_manager.namespace, collection)

    wheres.clear()
    later.ingest([seed_copy])
    assert {CHUNK_INDEX: 0} not in wheres


def test_the_signature_index_finds_the_candidates_datasketch_finds():
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    def minhash(values: np.ndarray) -> MinHash:
        seed, scheme = story_copies.SEED, story_copies.SCHEME
        return MinHash(num_perm=story_copies.NUM_PERM, seed=seed, hashvalues=values, scheme=scheme)

    # Overlapping runs of one word list: many pairs near the candidate threshold.
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(3000)]
    runs = [(int(rng.integers(0, 2500)), int(rng.integers(30, 300))) for _ in range(400)]
    values = [story_copies.signature(" ".join(words[a : a + n]))[0] for a, n in runs]
    index = story_copies.SignatureIndex([str(i) for i in range(200)], np.stack(values[:200]))
    lsh = MinHashLSH(threshold=story_copies.CANDIDATE_JACCARD, num_perm=story_copies.NUM_PERM)
    for i in range(200):
        lsh.insert(str(i), minhash(values[i]))
    for i in range(200, 300):  # added after the index was built
        index.insert(str(i), values[i])
        lsh.insert(str(i), minhash(values[i]))
    for i in (5, 17, 250):  # removed: stored ones and added ones
        index.remove(str(i))
        lsh.remove(str(i))
    index.insert("9", values[399])  # replaced: found by its new signature only
    lsh.remove("9")
    lsh.insert("9", minhash(values[399]))
    found = [index.query(values[q]) for q in range(300, 400)]
    assert found == [set(lsh.query(minhash(values[q]))) for q in range(300, 400)]
    assert sum(map(len, found)) > 100  # the comparison has candidates to compare


def test_a_story_row_newer_than_its_chunks_never_lends_them_to_a_moved_file(
    make_assistant, seed_copy: Path, copies: dict[str, Path]
):
    import sqlalchemy

    bot = make_assistant()
    bot.ingest([seed_copy])
    old = copies["Gazeta"]
    edited = old.read_text(encoding="utf-8").replace("a year", "a week")  # same length
    # An ingest of the edit stopped after writing the story row, before the chunks.
    old.write_text(edited, encoding="utf-8")
    new_hash = load_article(old, 10**8).content_hash
    engine = bot.indexer.record_manager.engine
    assert isinstance(engine, sqlalchemy.Engine)
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(f"UPDATE {STORY_TABLE} SET content_hash = :h WHERE source_id = :s"),
            {"h": new_hash, "s": str(old.resolve())},
        )
    moved = old.rename(old.with_name("e_gazeta.html"))  # then the file was renamed

    report = bot.ingest([moved])
    # The stored chunks hold the old text: the new file is embedded, not moved onto them.
    assert report.count("added") == 1 and report.chunks_embedded > 0
    assert "a week" in " ".join(c.text for c in bot.store.iter_all() if "Sacz" in c.text)


def test_a_story_row_that_outlived_its_article_is_pruned_without_a_report(
    make_assistant, seed_copy: Path, copies: dict[str, Path]
):
    bot = make_assistant()
    bot.ingest([seed_copy])
    # A row left by an ingest stopped before the chunks, for a file since removed.
    gone = seed_copy / "news" / "never_stored.html"
    story_copies.save_members(
        bot.indexer.record_manager.engine,
        bot.indexer.record_manager.namespace,
        [story_copies.Member(str(gone), str(gone), "h", *story_copies.signature("a b c d e f"))],
    )
    assert signature_rows(bot) == 7
    report = bot.ingest([seed_copy], prune=True)
    assert report.count("deleted") == 0 and report.count("unchanged") == 6
    assert signature_rows(bot) == 6


def test_a_rebuild_keeping_its_record_database_starts_the_story_rows_afresh(
    seed_copy: Path, copies: dict[str, Path], tmp_path: Path
):
    import os
    import subprocess
    import sys

    import sqlalchemy

    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    data = tmp_path / "data"
    env = {**os.environ, "DOSSIER_RECORD_MANAGER_URL": url}

    def dossier(*args: str) -> None:  # its own process, as Chroma's folder is moved aside
        subprocess.run(
            [sys.executable, "-m", "ui.cli", *args, "--data-dir", str(data)], env=env, check=True
        )

    def rows() -> dict[str, str]:
        with sqlalchemy.create_engine(url).connect() as connection:
            found = connection.execute(
                sqlalchemy.text(f"SELECT source_id, story_id FROM {STORY_TABLE}")
            ).all()
        return {Path(source).name: Path(story).name for source, story in found}

    dossier("ingest", str(seed_copy))
    before = rows()
    assert len(before) == 6
    copies["Gazeta"].unlink()  # gone before the rebuild: its row must not outlive it
    dossier("doctor", "--rebuild", str(seed_copy))
    gazeta = FILES["Gazeta"][0].name
    assert rows() == {k: v for k, v in before.items() if k != gazeta}
    with sqlalchemy.create_engine(url).connect() as connection:
        assert connection.execute(
            sqlalchemy.text(f"SELECT COUNT(*) FROM {COMPLETE_TABLE}")
        ).scalar()


def test_a_collection_made_afresh_does_not_inherit_the_completeness_mark(
    make_assistant, seed_copy: Path, copies: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    make_assistant().ingest([seed_copy])
    bot = make_assistant()
    bot.store.drop_collection()  # as an operator might on the Chroma server; records stay
    wheres, _ = watch_reads(bot, monkeypatch)
    report = bot.ingest([seed_copy])
    # The story rows may describe chunks no longer there: Chroma is asked, and every
    # article is stored again.
    assert {CHUNK_INDEX: 0} in wheres
    assert report.count("updated") + report.count("added") == 6 and len(bot.sources()) == 6


def listed_in_chroma(bot: Assistant) -> list[SourceInfo]:
    """The library as the stored first chunks list it (what the story table must match)."""
    first_chunks = bot.store.get(where={CHUNK_INDEX: 0}, include_text=False)
    infos = [to_source_info(chunk.metadata) for chunk in first_chunks]
    return sorted(infos, key=lambda i: (i.source.lower(), i.source_id))


def test_a_complete_story_table_lists_the_library_without_reading_chroma(
    make_assistant, seed_copy: Path, copies: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    make_assistant().ingest([seed_copy])
    bot = make_assistant()  # another process: the web app listing its library
    wheres, _ = watch_reads(bot, monkeypatch)
    listed = bot.sources()
    assert {CHUNK_INDEX: 0} not in wheres
    assert listed == listed_in_chroma(bot) and len(listed) == 6
    # A new date (new chunks), a move and a delete: the listing follows each.
    bot.ingest([copies["CNN"]], date="2021-03-04")
    moved = copies["Reuters"].with_name("z_reuters.html")
    copies["Reuters"].rename(moved)
    assert bot.ingest([moved]).count("moved") == 1
    bot.delete([str(copies["AP"].resolve())])
    wheres.clear()
    listed = bot.sources()
    assert {CHUNK_INDEX: 0} not in wheres
    assert listed == listed_in_chroma(bot) and len(listed) == 5
    assert {s.source: s.date for s in listed}[copies["CNN"].name] == "2021-03-04"
    assert "z_reuters.html" in {s.source for s in listed}


def test_a_story_table_from_before_the_listing_column_gains_it_from_the_chunks(
    make_assistant, seed_copy: Path, copies: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    import sqlalchemy

    bot = make_assistant()
    bot.ingest([seed_copy])
    engine = bot.indexer.record_manager.engine
    assert isinstance(engine, sqlalchemy.Engine)
    with engine.begin() as connection:  # as an older Dossier left it: marked complete
        connection.execute(sqlalchemy.text(f"ALTER TABLE {STORY_TABLE} DROP COLUMN listing"))
    engine.dispose()

    later = make_assistant()  # a newer Dossier opens it
    wheres, _ = watch_reads(later, monkeypatch)
    assert later.sources() == listed_in_chroma(later)  # from Chroma: no listings yet
    assert {CHUNK_INDEX: 0} in wheres
    # One ingest of one file fills every row's listing from the stored chunks.
    later.ingest([copies["CNN"]])
    wheres.clear()
    listed = later.sources()
    assert {CHUNK_INDEX: 0} not in wheres
    assert listed == listed_in_chroma(later) and len(listed) == 6


def test_doctor_finds_story_rows_that_disagree_with_the_chunks_and_repair_distrusts_them(
    make_assistant, seed_copy: Path, copies: dict[str, Path]
):
    import sqlalchemy

    bot = make_assistant()
    bot.ingest([seed_copy])
    assert bot.check().ok
    engine = bot.indexer.record_manager.engine
    assert isinstance(engine, sqlalchemy.Engine)
    ap, cnn = str(copies["AP"].resolve()), str(copies["CNN"].resolve())
    # As a Chroma folder restored from an older backup under the kept record database
    # might leave it: one article without its row, one listed wrongly, one row too many.
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(f"DELETE FROM {STORY_TABLE} WHERE source_id = :s"), {"s": ap}
        )
        connection.execute(
            sqlalchemy.text(f"UPDATE {STORY_TABLE} SET listing = :l WHERE source_id = :s"),
            {"s": cnn, "l": '{"title": "Wrong"}'},
        )
        connection.execute(
            sqlalchemy.text(
                f"INSERT INTO {STORY_TABLE} SELECT namespace, '/gone.txt', story_id, "
                f"content_hash, signature, shingles, listing FROM {STORY_TABLE} LIMIT 1"
            )
        )
    assert len(bot.sources()) == 6  # the table is trusted: AP missing, /gone.txt listed
    assert "Wrong" in {s.title for s in bot.sources()}

    checkup = bot.check()
    (problem,) = [p for p in checkup.problems if p.kind == "story-table"]
    assert sorted(problem.ids) == sorted([ap, cnn, "/gone.txt"]), problem
    assert "`dossier doctor --repair`" in problem.detail

    bot.repair(checkup)
    assert bot.sources() == listed_in_chroma(bot)  # Chroma lists them until an ingest
    assert bot.check().ok  # no longer marked complete: nothing is trusted
    bot.ingest([seed_copy])
    namespace = bot.indexer.record_manager.namespace
    assert story_copies.is_complete(engine, namespace, str(bot.store.collection.id))
    assert bot.check().ok and bot.sources() == listed_in_chroma(bot)
