"""The corpus of broken decks in tests/broken/: one file per kind of mistake, with the
exact messages `snri-quiz check` must print (exit 2, no traceback, nothing written).

Regenerate the expected messages after a deliberate wording change with:
    SNRI_QUIZ_REGENERATE=1 pytest tests/test_broken.py
then read the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from snri_quiz.cli import cli

HERE = Path(__file__).parent
CASES = sorted((HERE / "broken").glob("*.yaml"))


def apply_edits(case: dict, root: Path) -> None:
    for edit in case.get("edits", []):
        rel = edit["file"]
        path = root / (rel if rel.startswith("templates/") else f"deck/{rel}")
        if "replace_all" in edit:
            path.write_text(edit["replace_all"], encoding="utf-8")
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
