"""A build or export killed with SIGKILL at any moment leaves the previous output intact
(or the new one complete): files are written to a temporary name and renamed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT, replace_in

sys.path.insert(0, str(ROOT / "benchmarks"))
from synth import make_deck  # noqa: E402

pytestmark = pytest.mark.slow  # run by CI (pytest -m slow); left out of the default run

FRACTIONS = (0.15, 0.35, 0.55, 0.7, 0.85, 0.95)


def _run(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snri_quiz", *argv], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def _kill_after(argv: list[str], delay: float, env: dict[str, str] | None = None) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "snri_quiz", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _notes_in(apkg: Path, tmp: Path) -> int:
    with zipfile.ZipFile(apkg) as archive:
        assert archive.testzip() is None
        archive.extract("collection.anki2", tmp)
    db = sqlite3.connect(tmp / "collection.anki2")
    try:
        return int(db.execute("select count() from notes").fetchone()[0])
    finally:
        db.close()
        (tmp / "collection.anki2").unlink()


@pytest.fixture(scope="module")
def big_deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_deck(tmp_path_factory.mktemp("big") / "deck", 120)


def test_killed_build_leaves_previous_deck_intact(big_deck: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    argv = ["build", "--deck", str(big_deck), "-o", str(out)]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "SNRI_QUIZ_CACHE": "off"}
    _run(argv)
    (target,) = out.glob("*.apkg")
    old = target.read_bytes()
    old_notes = _notes_in(target, tmp_path)
    drug = sorted((big_deck / "drugs").glob("*.yaml"))[0]
    replace_in(drug, "value: inhibits neuronal reuptake", "value: blocks neuronal reuptake")
    duration = _run([*argv, "-o", str(tmp_path / "reference")])
    new = (tmp_path / "reference" / target.name).read_bytes()
    assert new != old
    for fraction in FRACTIONS:
        _kill_after(argv, duration * fraction, env)
        assert list(scratch.iterdir()) == [], "a killed build left scratch files in the temp folder"
        now = target.read_bytes()
        assert now in (old, new), f"partial deck after a kill at {fraction:.0%} of a build"
        assert _notes_in(target, tmp_path) == old_notes
        if now == new:
            break
    _run(argv)  # a later build clears what the killed ones left behind
    assert [p.name for p in out.iterdir()] == [target.name]


def test_killed_export_leaves_previous_file_intact(big_deck: Path, tmp_path: Path) -> None:
    target = tmp_path / "all.md"
    argv = ["export", "--deck", str(big_deck), "--format", "md", "--forms", "3", "-o", str(target)]
    _run(argv)
    old = target.read_bytes()
    duration = _run([*argv[:-1], str(tmp_path / "reference.md"), "--seed", "1"])
    new = (tmp_path / "reference.md").read_bytes()
    assert new != old
    for fraction in FRACTIONS:
        _kill_after([*argv, "--seed", "1"], duration * fraction)
        assert target.read_bytes() in (old, new), f"partial file after a kill at {fraction:.0%} of an export"
    assert os.path.getsize(target) in (len(old), len(new))


def test_build_killed_while_writing_leaves_no_scratch_behind(big_deck: Path, tmp_path: Path) -> None:
    """Killed while the collection is being written: the next build removes every scratch
    file, and nothing was ever put in the temp folder (1.0 left a scratch folder there)."""
    out = tmp_path / "dist"
    out.mkdir()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "SNRI_QUIZ_CACHE": "off"}
    argv = [sys.executable, "-m", "snri_quiz", "build", "--deck", str(big_deck), "-o", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while not list(scratch.iterdir()) and not list(out.glob(".*.tmp")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    assert list(scratch.iterdir()) == []
    assert [p.suffix for p in out.iterdir()] == [".apkg"]
