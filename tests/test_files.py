"""Atomic writes: temp file + rename, and clean-up of what a killed writer left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snri_quiz.errors import OutputError
from snri_quiz.files import write_atomic


def test_write_atomic_replaces_and_removes_orphans(tmp_path: Path) -> None:
    target = tmp_path / "deck.apkg"
    target.write_bytes(b"old")
    orphan = tmp_path / ".deck.apkg.999999999.x1.tmp"  # no such process
    orphan.write_bytes(b"half")
    live = tmp_path / f".deck.apkg.{os.getpid()}.x2.tmp"  # a writer that is still running
    live.write_bytes(b"busy")
    other = tmp_path / ".other.apkg.999999999.x3.tmp"
    other.write_bytes(b"not ours")

    write_atomic(target, b"new")

    assert target.read_bytes() == b"new"
    assert not orphan.exists() and live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == sorted([live.name, other.name])


def test_a_failing_writer_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "exam.pdf"
    target.write_bytes(b"old")

    def boom(path: Path) -> None:
        path.write_bytes(b"partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_atomic(target, writer=boom)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["exam.pdf"]


def test_unwritable_folder_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create folder"):
        write_atomic(blocker / "sub" / "out.json", "{}")
