"""Check that cleaning removes nothing from clean articles: the 2,225 BBC articles.

Run: .venv/bin/python benchmarks/cleaning_bbc.py [../shared/data/bbc]
Prints how many articles lost any line or got a title other than their first line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ingest.clean import clean_article, normalize, split_units
from ingest.loaders import read_text


def main(corpus: Path) -> int:
    files = sorted(corpus.glob("*/*.txt"))
    changed = []
    for path in files:
        raw = read_text(path, 10**8)
        units = split_units(normalize(raw))
        cleaned = clean_article(raw)
        if cleaned.removed or cleaned.text != "\n\n".join(units) or cleaned.title != units[0]:
            changed.append((path, cleaned.removed))
    print(f"{len(files)} articles, {len(changed)} changed by cleaning")
    for path, removed in changed[:20]:
        print(f"  {path}: removed {removed!r}")
    return 1 if changed or not files else 0


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc"
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
