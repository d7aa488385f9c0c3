"""Atomic writes: temp file + rename, and clean-up of what a killed writer left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from snri_quiz.errors import OutputError
from snri_quiz.files import Staged, staged, write_atomic


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
    with pytest.raises(OutputError, match=r"cannot write .*/file/sub/out.json: folder .*/file/sub does not exist"):
        write_atomic(blocker / "sub" / "out.json", "{}")


# -- issue 13's output-path rules ----------------------------------------------------------


def test_symlink_is_written_through(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o600, "the replaced file keeps its permissions"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


def test_fifo_is_refused_and_kept(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match=r"pipe is a FIFO; refusing to replace it"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_symlink_to_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "link").symlink_to(fifo)
    with pytest.raises(OutputError, match="is a FIFO"):
        write_atomic(tmp_path / "link", "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and (tmp_path / "link").is_symlink()


def test_device_is_refused_and_kept(tmp_path: Path) -> None:
    """As root, `-o /dev/null` once turned /dev/null into a regular file; a device node
    made here stands in for it, so a regression cannot damage the machine's own."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot create a device node here")
    with pytest.raises(OutputError, match="null is a character device; refusing to replace it"):
        write_atomic(node, "x")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputError, match="out is a folder; refusing"):
        write_atomic(tmp_path / "out", "x")


def test_missing_folder_is_an_error_not_created(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot write .*/missing/out.json: folder .*/missing does not exist$"):
        write_atomic(tmp_path / "missing" / "out.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_staged_files_are_written_together_or_not_at_all(tmp_path: Path) -> None:
    first, second = tmp_path / "exam.pdf", tmp_path / "exam-key.pdf"
    os.mkfifo(second)
    with pytest.raises(OutputError, match="exam-key.pdf is a FIFO"):
        with staged() as files:
            files.add(first, b"paper")
            files.add(second, b"key")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exam-key.pdf"]


def test_a_failed_commit_restores_the_files_already_renamed(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old a")
    files = Staged()
    files.add(first, "new a")
    files.add(second, "new b")
    os.mkfifo(second)  # appears between staging and commit
    with pytest.raises(OutputError, match="b.txt is a FIFO"):
        files.commit()
    assert first.read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert stat.S_ISFIFO(os.lstat(second).st_mode)


def test_output_folder_is_created_only_at_commit(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    with pytest.raises(RuntimeError):
        with staged() as files:
            files.add(out / "deck.apkg", b"zip", create_folder=True)
            raise RuntimeError("a later step failed")
    assert list(tmp_path.iterdir()) == []
    with staged() as files:
        files.add(out / "deck.apkg", b"zip", create_folder=True)
    assert (out / "deck.apkg").read_bytes() == b"zip"
    with pytest.raises(OutputError, match="folder .*/nowhere does not exist"):
        Staged().add(tmp_path / "nowhere" / "dist" / "deck.apkg", b"", create_folder=True)
