"""The architecture, enforced: every import points down the floors (see ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Package -> floor. A module may import its own package and packages on lower floors;
# the two parts on floor 2 do not import each other.
FLOORS = {
    "core": 0,  # ground: types, errors, stream, protocols, text, chat, settings
    "vectorstore": 1,  # parts: embeddings, Chroma, keyword index
    "ingest": 2,  # parts: files -> articles -> chunks, sync, doctor
    "answerers": 2,  # parts: grounding, extractive, generative, LLM backends
    "assistant": 3,  # service: Assistant, retrieval, uploads
    "ui": 4,  # front ends: the web app and the `dossier` command
}
# Settings are read from the environment in one place, core/settings.py, at the entry points;
# these modules touch other libraries' variables, for the reasons given.
ENVIRONMENT_READERS = {
    "core/settings.py": "XDG_CACHE_HOME, the desktop convention for the cache folder",
    "ui/app.py": "sets GRADIO_ANALYTICS_ENABLED before gradio is imported",
    "ui/cli.py": "points GRADIO_TEMP_DIR at the app's private upload cache before gradio loads",
    "vectorstore/embeddings.py": "sets TOKENIZERS_PARALLELISM before the model loads",
}


def modules() -> list[Path]:
    return sorted(p for package in FLOORS for p in (ROOT / package).rglob("*.py"))


def dossier_imports(path: Path) -> set[str]:
    """The Dossier packages a module imports, anywhere in it (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in FLOORS}
    return found


def test_every_package_is_on_a_floor():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "benchmarks", "training"} == set(FLOORS)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path):
    package = path.relative_to(ROOT).parts[0]
    for imported in dossier_imports(path) - {package}:
        assert FLOORS[imported] < FLOORS[package], (
            f"{path.relative_to(ROOT)} (floor {FLOORS[package]}, {package}) imports "
            f"{imported} (floor {FLOORS[imported]}): imports must point down"
        )


def test_only_the_entry_points_read_the_environment():
    readers = set()
    for path in modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in ("environ", "getenv")
            ):
                readers.add(str(path.relative_to(ROOT)))
    assert readers == set(ENVIRONMENT_READERS)


def test_the_walk_catches_an_upward_import(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from assistant.service import Assistant\n")
    assert dossier_imports(bad) == {"assistant"}
