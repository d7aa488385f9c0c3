"""The hostile corpus in tests/hostile/: decks and templates built to break `check`.

Every case must end in exit status 2, one located line per problem (`path:line: ...` or
`path: ...` for a whole file), the expected message, no traceback, nothing written, and
within a few seconds. Template cases (one template per file, run against the tiny deck)
include sandbox escapes, runtime errors and bombs; deck cases include FIFOs, devices,
huge and binary files and YAML tricks. Each file's first line says what it is.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import snri_quiz.templates
from snri_quiz.cli import cli

from .test_broken import apply_edits

HERE = Path(__file__).parent
TEMPLATES = sorted((HERE / "hostile" / "templates").glob("*.yaml"))
DECKS = sorted((HERE / "hostile" / "decks").glob("*.yaml"))
SECONDS = 10  # generous on a busy machine: the budgets themselves are a fraction of this
LOCATED = re.compile(r"^(deck|templates)/[^:]+(:\d+)?: \S")


def _tree(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.lstat().st_mtime_ns) for p in root.rglob("*"))


def _assert_clean_failure(code: int, stderr: str, output: str, expect: str, root: Path) -> list[str]:
    lines = [line.replace(f"{root}/", "") for line in stderr.splitlines()]
    assert code == 2, output
    assert "Traceback" not in output
    assert lines, "at least one message"
    for line in lines:
        assert LOCATED.match(line), line
        assert "\x1b" not in line and "\x9b" not in line
    assert expect in "\n".join(lines), lines
    assert len(lines) == len(set(lines)), "each problem once"
    return lines


@pytest.mark.parametrize("case", TEMPLATES, ids=[c.stem for c in TEMPLATES])
def test_hostile_template_is_refused_with_located_lines(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snri_quiz.templates, "RENDER_SECONDS", 0.25)
    expect = case.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    shutil.copytree(HERE / "data" / "tiny-deck", tmp_path / "deck")
    (tmp_path / "templates").mkdir()
    shutil.copy(case, tmp_path / "templates" / case.name)
    before = _tree(tmp_path)

    gc.collect()  # a full collection of the test run's heap inside a render would count against its budget
    gc.disable()
    try:
        start = time.monotonic()
        result = CliRunner().invoke(
            cli, ["check", "--deck", str(tmp_path / "deck"), "--templates", str(tmp_path / "templates")]
        )
        elapsed = time.monotonic() - start
    finally:
        gc.enable()

    lines = _assert_clean_failure(result.exit_code, result.stderr, result.output, expect, tmp_path)
    assert all(line.startswith(f"templates/{case.name}:") for line in lines), lines
    assert all(re.match(r"^\S+:\d+: ", line) for line in lines), lines  # a line number, always
    assert elapsed < SECONDS
    assert _tree(tmp_path) == before, "check must write nothing"


def _make_special(spec: dict, root: Path) -> None:
    rel = spec["file"]
    path = root / (rel if rel.startswith("templates/") else f"deck/{rel}")
    kind = spec["kind"]
    if kind != "replace" and (path.exists() or path.is_symlink()):
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        path.symlink_to(spec["target"])
    elif kind == "sparse":
        with path.open("wb") as handle:
            handle.truncate(spec["size"])
    elif kind == "folder":
        path.mkdir()
    elif kind == "bytes":
        path.write_bytes(bytes.fromhex(spec["hex"]))
    elif kind == "text":
        text = spec["text"]
        if "deep" in spec:
            text = text.replace("DEEP", "[" * spec["deep"] + "]" * spec["deep"])
        path.write_text(text, encoding="utf-8")
    elif kind == "replace":
        original = path.read_text(encoding="utf-8")
        path.write_text(original.replace(spec["old"], spec["new"] * spec["repeat"]), encoding="utf-8")
    else:  # pragma: no cover - a mistake in the corpus
        raise AssertionError(f"unknown special kind {kind}")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev are POSIX")
@pytest.mark.parametrize("case", DECKS, ids=[c.stem for c in DECKS])
def test_hostile_deck_is_refused_with_located_lines(case: Path, tmp_path: Path) -> None:
    """In a child process with a timeout: a FIFO or /dev/zero must not be able to hang the suite."""
    spec = yaml.safe_load(case.read_text(encoding="utf-8"))
    shutil.copytree(HERE / "data" / "tiny-deck", tmp_path / "deck")
    shutil.copytree(HERE / "data" / "tiny-templates", tmp_path / "templates")
    apply_edits(spec, tmp_path)
    for special in spec.get("special", []):
        _make_special(special, tmp_path)
    before = _tree(tmp_path)

    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "snri_quiz", "check", "--deck", "deck", "--templates", "templates"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SNRI_QUIZ_CACHE": "off"},
    )
    elapsed = time.monotonic() - start

    _assert_clean_failure(proc.returncode, proc.stderr, proc.stdout + proc.stderr, spec["expect"], tmp_path)
    assert elapsed < SECONDS
    assert _tree(tmp_path) == before, "check must write nothing"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_fifo_does_not_hang_commands_that_use_the_question_cache(tmp_path: Path) -> None:
    """The cache key hashes every deck file: that read, too, must refuse a FIFO instead of waiting."""
    shutil.copytree(HERE / "data" / "tiny-deck", tmp_path / "deck")
    shutil.copytree(HERE / "data" / "tiny-templates", tmp_path / "templates")
    os.mkfifo(tmp_path / "deck" / "drugs" / "epsilon.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "snri_quiz", "export", "--deck", "deck", "--templates", "templates", "--count", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SNRI_QUIZ_CACHE": str(tmp_path / "cache")},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "deck/drugs/epsilon.yaml: not a regular file (a FIFO, device or socket)\n"
