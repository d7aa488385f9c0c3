"""A non-editable install finds its bundled deck and templates from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # run by CI (pytest -m slow); left out of the default run

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_install_runs_from_an_unrelated_folder(tmp_path: Path) -> None:
    wheels, site, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    (wheel,) = wheels.glob("snri_quiz-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(site), "SNRI_QUIZ_HOME": str(tmp_path / "home")}

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "snri_quiz", *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    where = subprocess.run(
        [sys.executable, "-c", "import snri_quiz.content as c; print(c.bundled_deck())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(site)
    assert (Path(where) / "deck.yaml").is_file() and (site / "snri_quiz" / "templates" / "drugs.yaml").is_file()
    assert "valid" in run("check").splitlines()[0]
    out = run("build", "-o", "out")
    assert out.startswith("Wrote out/SNRIs.apkg")
    assert (elsewhere / "out" / "SNRIs.apkg").stat().st_size > 10_000
    run("export", "--format", "pdf", "--count", "5", "-o", "exam.pdf")  # the Typst template ships too
    assert (elsewhere / "exam.pdf").read_bytes().startswith(b"%PDF")
