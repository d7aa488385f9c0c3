"""The corpus of broken decks in tests/broken/: one file per kind of mistake, with the
exact messages `snri-quiz check` must print (exit 2, no traceback, nothing written).

Regenerate the expected messages after a deliberate wording change with:
    SNRI_QUIZ_REGENERATE=1 pytest tests/test_broken.py
then read the diff.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import snri_quiz
from snri_quiz.cli import cli

HERE = Path(__file__).parent
CASES = sorted((HERE / "broken").glob("*.yaml"))


def apply_edits(case: dict, root: Path) -> None:
    """Each edit replaces `old` by `new` in `file`, replaces the whole file (`replace_all`, in
    `encoding`, UTF-8 by default) or removes a file or folder (`remove`)."""
    for edit in case.get("edits", []):
        rel = edit.get("file") or edit["remove"]
        path = root / (rel if rel.startswith("templates/") else f"deck/{rel}")
        if "remove" in edit:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            continue
        if "replace_all" in edit:
            path.write_text(edit["replace_all"], encoding=edit.get("encoding", "utf-8"))
            continue
        text = path.read_text(encoding="utf-8")
        assert edit["old"] in text, f"{edit['old']!r} not found in {rel}"
        path.write_text(text.replace(edit["old"], edit["new"], 1), encoding="utf-8")


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_broken_deck_gives_exact_messages(case_file: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    shutil.copytree(HERE / "data" / "tiny-deck", tmp_path / "deck")
    shutil.copytree(HERE / "data" / "tiny-templates", tmp_path / "templates")
    apply_edits(case, tmp_path)
    deck = tmp_path / case.get("deck", "deck")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    result = CliRunner().invoke(cli, ["check", "--deck", str(deck), "--templates", str(tmp_path / "templates")])

    lines = [line.replace(f"{tmp_path}/", "") for line in result.stderr.splitlines()]
    if os.environ.get("SNRI_QUIZ_REGENERATE"):
        comment = case_file.read_text(encoding="utf-8").splitlines()[0]
        case["expected"] = lines
        case_file.write_text(comment + "\n" + yaml.safe_dump(case, sort_keys=False, width=200), encoding="utf-8")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert lines == case["expected"]
    assert lines, "a broken deck must produce at least one message"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, "check must write nothing"


SOURCES = [Path(snri_quiz.__file__).parent / f"{name}.py" for name in ("facts", "deckfile", "templates", "yamlio")]
UNREACHABLE = {
    re.escape("malformed YAML: nested too deeply"): "PyYAML refuses deep nesting itself ('exceeded maximum"
    " nesting depth', yaml-nested-too-deeply.yaml) before Python's recursion limit; the guard stays for other versions",
}


def _pattern(node: ast.expr) -> str | None:
    """A regular expression for the text a message expression makes (placeholders match anything)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(re.escape(part.value) if isinstance(part, ast.Constant) else ".+?" for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _pattern(node.left), _pattern(node.right)
        return None if left is None and right is None else f"{left or '.+?'}{right or '.+?'}"
    if isinstance(node, ast.Call):  # ", ".join(...) and the like
        return ".+?"
    return None


def _messages() -> list[tuple[str, int, str]]:
    """(file, line, pattern) of every validation message the loaders can produce: the text passed to
    `problem(...)`, `Problem(...)` and `report(...)`, and the text `*_problem` helpers return."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef) and func.name.endswith("_problem"):
                for node in ast.walk(func):
                    if isinstance(node, ast.Return) and node.value is not None:
                        pattern = _pattern(node.value)
                        if pattern is not None and pattern != ".+?":
                            found.append((path.name, node.lineno, pattern))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("problem", "Problem", "report"):
                continue
            patterns = [
                _pattern(arg)
                for arg in node.args
                if not (isinstance(arg, ast.Constant) and re.fullmatch(r"[a-z_]*", str(arg.value)))
            ]
            patterns = [p for p in patterns if p is not None and p != ".+?"]
            if patterns:
                found.append((path.name, node.lineno, max(patterns, key=len)))
    return found


def test_every_validation_message_has_a_broken_case() -> None:
    """Each message a loader can produce is the expected output of at least one case in tests/broken/."""
    produced = [line for case in CASES for line in yaml.safe_load(case.read_text(encoding="utf-8"))["expected"]]
    messages = _messages()
    assert len(messages) > 80
    assert set(UNREACHABLE) <= {pattern for _, _, pattern in messages}
    missing = [
        f"{name}:{line}: {pattern}"
        for name, line, pattern in messages
        if pattern not in UNREACHABLE and not any(re.search(pattern, text) for text in produced)
    ]
    assert not missing, "messages no case in tests/broken/ produces:\n" + "\n".join(missing)


def test_the_corpus_has_a_case_per_message() -> None:
    assert len(CASES) > 80
