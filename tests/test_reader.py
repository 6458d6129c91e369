"""The trained reader: shipped weights, short answers with exact offsets, refusals, lists."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from answerers.ranker import RANKER_FILE, SIMILARITY_EMBEDDER, Ranker, seal
from answerers.reader import MODEL_DIR, Reader, best_spans, encode_windows, load_tokenizer
from assistant import Assistant
from core.errors import ModelUnavailable
from ingest.loaders import load_article
from tests.conftest import MIA, SEEDS
from training.squad_split import CALIBRATE, MEASURE
from training.train_reader import label
from vectorstore.embeddings import resolve_model_path

TOKENIZER = Path(resolve_model_path("all-MiniLM-L6-v2")) / "tokenizer.json"


def test_the_shipped_weights_match_their_checksum_and_say_how_they_were_made():
    config = json.loads((MODEL_DIR / "reader.json").read_text())
    weights = MODEL_DIR / config["weights"]
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == config["sha256"]
    assert weights.stat().st_size < 50 * 2**20  # small enough to ship
    made = config["made"]
    assert made["measure_articles"] == list(MEASURE)
    assert made["calibrate_articles"] == list(CALIBRATE)
    assert "make train-reader" in made["command"]
    assert config["calibration"]["margin"] == config["margin"]


@pytest.mark.parametrize("damage", ["missing", "corrupt", "no config"])
def test_missing_or_corrupt_weights_are_refused_with_the_fix(tmp_path: Path, damage: str):
    copy = tmp_path / "reader"
    shutil.copytree(MODEL_DIR, copy)
    if damage == "missing":
        (copy / "reader.onnx").unlink()
    elif damage == "corrupt":
        data = bytearray((copy / "reader.onnx").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (copy / "reader.onnx").write_bytes(bytes(data))
    else:
        (copy / "reader.json").unlink()
    with pytest.raises(ModelUnavailable, match=r"make train-reader"):
        Reader(copy).read("Who leads the MIA?", ["The MIA is led by Alghabass Ag Intallah."])


def test_a_ranker_fitted_on_another_sentence_embedder_is_refused(tmp_path: Path):
    config = json.loads(RANKER_FILE.read_text())
    assert config["similarity_embedder"] == SIMILARITY_EMBEDDER
    config["similarity_embedder"] = {"model": "all-mpnet-base-v2", "backend": "torch"}
    copy = tmp_path / "ranker.json"
    copy.write_text(json.dumps(seal(config)))
    with pytest.raises(ModelUnavailable, match=r"sentence embedder.*make train-reader"):
        Ranker(copy).threshold  # noqa: B018 (reading it loads the file)


def test_a_ranker_fitted_on_another_reader_is_refused(
    make_assistant, seed_copy: Path, tmp_path: Path
):
    config = json.loads(RANKER_FILE.read_text())
    assert (
        config["made"]["reader_sha256"]
        == json.loads((MODEL_DIR / "reader.json").read_text())["sha256"]
    )
    config["made"]["reader_sha256"] = "0" * 64
    copy = tmp_path / "ranker.json"
    copy.write_text(json.dumps(seal(config)))
    bot = make_assistant()
    bot.ingest([seed_copy])
    bot.extractive.ranker = Ranker(copy)
    with pytest.raises(ModelUnavailable, match=r"fitted on another reader.*make train-reader"):
        bot.answer("Who leads the MIA?")


@pytest.mark.parametrize("backend", ["onnx", "torch", "onnx-int8"])
def test_sentences_are_compared_with_the_embedder_the_ranker_was_fitted_on(
    make_assistant, backend: str
):
    bot = make_assistant(embedding_backend=backend)
    similarity = bot.grounding.embedder
    assert (similarity.name, similarity.backend) == (
        SIMILARITY_EMBEDDER["model"],
        SIMILARITY_EMBEDDER["backend"],
    )
    # The chunks' own embedder when it is the same one: the model loads once.
    assert (similarity is bot.embedder) == (bot.embedder.backend == similarity.backend)


def test_windows_cover_every_token_and_overlap():
    tokenizer = load_tokenizer(TOKENIZER)
    passage = " ".join(f"word{i}" for i in range(300))
    windows = encode_windows(tokenizer, "Which word?", [passage], max_length=64, stride=16)
    assert len(windows) > 3 and all(len(w.ids) <= 64 for w in windows)
    covered = {o for w in windows for o in w.offsets if o is not None}
    assert len(covered) == len(tokenizer.encode(passage, add_special_tokens=False).ids)
    first = [o for o in windows[0].offsets if o is not None]
    second = [o for o in windows[1].offsets if o is not None]
    assert first[-16:] == second[:16]  # the stride: an answer cut by one window is whole next


def test_training_labels_point_at_the_answer_tokens():
    tokenizer = load_tokenizer(TOKENIZER)
    context = "The group said it would be led by Alghabass Ag Intallah, a former official."
    answer = ("Alghabass Ag Intallah", context.index("Alghabass"))
    (window,) = encode_windows(tokenizer, "Who leads it?", [context], max_length=64, stride=16)
    first, last = label(window, answer)
    assert context[window.offsets[first][0] : window.offsets[last][1]] == answer[0]
    assert label(window, None) == (0, 0)
    assert label(window, ("missing", 500)) == (0, 0)


def test_decoding_keeps_spans_inside_the_passage():
    tokenizer = load_tokenizer(TOKENIZER)
    import numpy as np

    windows = encode_windows(tokenizer, "Who?", ["Ana Bruno won."], max_length=32, stride=8)
    width = len(windows[0].ids)
    starts, ends = np.zeros((1, width)), np.zeros((1, width))
    starts[0, 0] = ends[0, 0] = 5.0  # "no answer" is the model's favourite
    starts[0, 1] = ends[0, 1] = 9.0  # a question token: never an answer
    starts[0, 4], ends[0, 5] = 3.0, 3.0  # "Ana Bruno"
    best = best_spans(windows, starts, ends, ["Ana Bruno won."])[0]
    assert "Ana Bruno won."[best.start : best.end] == "Ana Bruno"
    assert best.no_answer == 10.0 and best.score == 6.0


def test_decoding_answers_whole_words_not_word_pieces():
    import numpy as np

    tokenizer = load_tokenizer(TOKENIZER)
    text = "The Tuareg rebels of Kidal."
    (window,) = encode_windows(tokenizer, "Who?", [text], max_length=32, stride=8)
    pieces = [text[o[0] : o[1]] if o else None for o in window.offsets]
    assert "##" not in "".join(p or "" for p in pieces)  # offsets are text, not vocabulary
    inside = [i for i, o in enumerate(window.offsets) if o is not None]
    # A start and an end that fall inside words: "uareg rebels of Kid".
    start = next(i for i in inside if text[window.offsets[i][0] - 1].isalpha())
    end = max(
        i
        for i in inside
        if window.offsets[i][1] < len(text) - 1 and text[window.offsets[i][1]].isalpha()
    )
    width = len(window.ids)
    starts, ends = np.zeros((1, width)), np.zeros((1, width))
    starts[0, start], ends[0, end] = 4.0, 4.0
    best = best_spans([window], starts, ends, [text])[0]
    assert text[best.start : best.end] == "Tuareg rebels of Kidal"


def test_the_short_answer_leads_and_its_offsets_point_into_the_article(
    make_assistant, tmp_path: Path
):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "otters.txt").write_text(
        "Otter numbers rise on the Tweed\n\nVolunteers counted 412 otters on the river Tweed "
        "this year, the wildlife trust said on Tuesday. The count was the highest since 1990."
    )
    bot = make_assistant()
    bot.ingest([folder])
    answer = bot.answer("How many otters did volunteers count on the Tweed?")
    assert answer.answered and answer.span is not None
    span = answer.span
    cited = next(c for c in answer.citations if c.number == span.citation)
    text = load_article((folder / "otters.txt").resolve(), 10**7).text
    assert text[span.start : span.end] == span.text
    assert text[cited.start : cited.end] == cited.quote
    assert cited.start <= span.start and span.end <= cited.end  # the span is inside the quote
    assert "412" in span.text and answer.text.startswith(span.text)


def test_seed_answers_quote_the_exact_sentence_with_any_span_inside_it(seeded: Assistant):
    answer = seeded.answer("Who leads the Islamic Movement for Azawad?")
    assert answer.answered and answer.citations[0].source == MIA
    text = load_article((SEEDS / MIA).resolve(), 10**7).text
    for span in answer.spans:
        cited = answer.citations[span.citation - 1]
        assert text[span.start : span.end] == span.text
        assert cited.start <= span.start and span.end <= cited.end


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "Who won the 2018 football World Cup?",
        "How many moons does Jupiter have?",
    ],
)
def test_off_topic_questions_are_refused(seeded: Assistant, question: str):
    answer = seeded.answer(question)
    assert not answer.answered and answer.citations == () and answer.spans == ()
    assert "do not answer" in answer.text


GROUPS = {
    "kurds.txt": (
        "Kurdish fighters push into Raqqa\n\n"
        "Kurdish fighters of the Syrian Democratic Forces said on Monday they were fighting the "
        "Islamic State group street by street in the north of Raqqa."
    ),
    "iraq.txt": (
        "Iraqi army retakes district of Mosul\n\n"
        "The Iraqi army said its Counter Terrorism Service had driven Islamic State fighters "
        "out of another district of western Mosul after a week of clashes."
    ),
    "turkey.txt": (
        "Turkish-backed rebels advance on al-Bab\n\n"
        "Rebels of the Free Syrian Army, backed by Turkish tanks, are fighting Islamic State "
        "militants on the edge of the town of al-Bab, a monitoring group said."
    ),
    "weather.txt": (
        "Heavy rain expected in Scotland\n\n"
        "Forecasters warned of heavy rain across Scotland this weekend, with flooding likely "
        "in low-lying areas near the river Tay."
    ),
}


def test_a_list_question_gets_one_cited_claim_per_article(make_assistant, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in GROUPS.items():
        (folder / name).write_text(text)
    bot = make_assistant()
    bot.ingest([folder])
    answer = bot.answer("Which groups do these articles say are fighting the Islamic State?")
    assert answer.answered
    sources = [c.source for c in answer.citations]
    assert len(set(sources)) >= 2 and len(sources) == len(set(sources))
    assert "weather.txt" not in sources
    assert {s.citation for s in answer.spans} <= {c.number for c in answer.citations}


def test_a_follow_up_does_not_repeat_what_an_earlier_answer_said(make_assistant, tmp_path: Path):
    folder = tmp_path / "articles"
    folder.mkdir()
    first = "Volunteers counted 412 otters on the river Tweed this year, the trust said on Tuesday."
    second = "In all, volunteers counted 412 otters on the Tweed, the most since 1990."
    (folder / "otters.txt").write_text(
        f"Otter numbers rise on the Tweed\n\n{first} {second} "
        "Otters were nearly extinct in England in the 1970s."
    )
    bot = make_assistant()
    bot.ingest([folder])
    question = "How many otters did volunteers count on the Tweed?"
    passages = bot.retrieve(question)
    fresh = bot.extractive.answer(question, passages)
    assert first in [c.quote for c in fresh.citations]
    again = bot.extractive.answer(question, passages, said=[f"412 — {first} [1]"])
    assert [c.quote for c in again.citations] == [second]
    # When nothing new reaches the threshold, the answer is repeated rather than refused.
    both = bot.extractive.answer(question, passages, said=[f"{first} {second}"])
    assert both.answered and first in [c.quote for c in both.citations]
