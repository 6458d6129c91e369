"""A Dossier data directory holding every SQuAD paragraph as an article (a retrieval pool)."""

from __future__ import annotations

from pathlib import Path

from assistant import Assistant
from training.squad_split import Article


def pool_assistant(
    articles: dict[str, Article], folder: Path
) -> tuple[Assistant, dict[str, tuple[str, int]]]:
    """An Assistant over every paragraph, and each file's (article, paragraph index)."""
    files = folder / "articles"
    files.mkdir(parents=True, exist_ok=True)
    paragraph_of: dict[str, tuple[str, int]] = {}
    for number, (title, index, text) in enumerate(
        (a.title, i, p) for a in articles.values() for i, p in enumerate(a.paragraphs)
    ):
        name = f"p{number:04d}.txt"
        (files / name).write_text(text, encoding="utf-8")
        paragraph_of[name] = (title, index)
    bot = Assistant(data_dir=folder / "data")
    bot.ingest([files])
    return bot, paragraph_of
