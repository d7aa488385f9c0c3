"""The import graph of docs/architecture.md: layers, no private names across modules, click only in cli."""

from __future__ import annotations

import ast
from pathlib import Path

import snri_quiz

PACKAGE = Path(snri_quiz.__file__).parent
ROOT = Path(__file__).resolve().parents[1]

LAYERS = {
    "errors": 0,
    "kinds": 0,
    "text": 0,
    "files": 0,
    "memory": 0,
    "jsontext": 0,
    "parallel": 0,
    "yamlio": 1,
    "facts": 1,
    "deckfile": 1,
    "templates": 1,
    "questions": 2,
    "grading": 2,
    "selection": 2,
    "vignettes": 2,
    "generate": 2,
    "content": 3,
    "cache": 3,
    "anki": 4,
    "ankisync": 4,
    "export": 4,
    "dispatch": 4,
    "progress": 4,
    "play": 4,
    "cli": 5,
    "__main__": 5,
    "__init__": 0,
}
SAME_LAYER = {
    ("templates", "facts"),
    ("facts", "yamlio"),
    ("deckfile", "facts"),
    ("deckfile", "yamlio"),
    ("templates", "deckfile"),
    ("templates", "yamlio"),
    ("errors", "text"),
    ("files", "errors"),
}
SAME_LAYER |= {("questions", "templates"), ("grading", "questions"), ("selection", "questions")}
SAME_LAYER |= {("content", "cache")}
SAME_LAYER |= {("vignettes", "questions"), ("generate", "questions"), ("generate", "vignettes")}
SAME_LAYER |= {(a, b) for a in ("play", "ankisync") for b in ("progress",)}
SAME_LAYER |= {("ankisync", "anki"), ("dispatch", "export"), ("__main__", "cli")}


def imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    return [
        n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.ImportFrom | ast.Import)
    ]


def ours(node: ast.ImportFrom) -> str | None:
    """The module of the package this import names, or None."""
    if node.level == 1:
        return node.module
    if node.module and node.module.startswith("snri_quiz."):
        return node.module.split(".")[1]
    return None


def test_every_module_has_a_layer() -> None:
    assert {p.stem for p in PACKAGE.glob("*.py")} == set(LAYERS)


def test_imports_go_down_the_layers() -> None:
    checked = 0
    for path in PACKAGE.glob("*.py"):
        for node in imports(path):
            target = ours(node) if isinstance(node, ast.ImportFrom) else None
            if target is None or target not in LAYERS:
                continue
            checked += 1
            here, there = LAYERS[path.stem], LAYERS[target]
            assert there < here or (path.stem, target) in SAME_LAYER, f"{path.stem} imports {target}"
    assert checked > 60


def test_no_module_imports_another_modules_private_names() -> None:
    checked = 0
    for folder in ("src", "tests", "tools", "benchmarks", "examples"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in imports(path):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("snri_quiz")):
                    for alias in node.names:
                        checked += 1
                        assert not (alias.name.startswith("_") and not alias.name.startswith("__")), (
                            f"{path.relative_to(ROOT)} imports {alias.name} from {node.module}"
                        )
    assert checked > 200


def test_only_cli_imports_click() -> None:
    importers = {
        path.stem
        for path in PACKAGE.glob("*.py")
        for node in imports(path)
        if (isinstance(node, ast.Import) and any(a.name == "click" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and node.module == "click")
    }
    assert importers == {"cli"}
