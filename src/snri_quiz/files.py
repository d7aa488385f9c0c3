"""Writing output files: every rule about where output may go, in one place.

- A file is written to a temporary name in its own folder and renamed into place, so
  an interrupted run leaves the previous file intact.
- Several files (an exam and its key, a deck and its lock file) are staged together and
  committed together: all of them are written or none is.
- An existing regular file is replaced; a symlink is written through to its target (the
  link stays a link); a FIFO, device, socket or folder is refused, never replaced.
- A missing folder is an error, never created silently (the one exception, a build's
  output folder, is created at commit time when its parent exists).
- Temporary files carry their writer's process id; those of a writer that is gone
  (killed) are deleted by the next write to the same place.
"""

from __future__ import annotations

import glob
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError, WriteFailed

STDOUT = "-"
"""The `-o` value that means standard output."""


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def output_target(path: Path | str) -> tuple[Path, int | None]:
    """Where writing `path` really goes (symlinks followed) and the mode of the file it
    replaces (None when there is none yet). Raise OutputError for anything that must not
    be written: a non-regular file, a missing or non-folder parent."""
    path = Path(path)
    real = Path(os.path.realpath(path)) if os.path.islink(path) else path
    try:
        info = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        check_folder(real.parent, path)
        return real, None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{path} is {_kind(info.st_mode)}; refusing to replace it (give a regular file)")
    check_folder(real.parent, path)
    return real, stat.S_IMODE(info.st_mode)


def ensure_folder(folder: Path) -> None:
    """Create a folder snri-quiz owns (the progress file's data directory) when missing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteFailed(f"cannot create folder {folder}: {_reason(exc)}") from None
    if not os.access(folder, os.W_OK):
        raise WriteFailed(f"cannot write to folder {folder}: permission denied")


def check_folder(folder: Path, for_path: Path | None = None) -> None:
    """`folder` exists, is a folder and is writable; else OutputError naming it."""
    what = f"cannot write {for_path}: " if for_path is not None else ""
    try:
        info = os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        raise OutputError(f"{what}folder {folder} does not exist") from None
    except OSError as exc:
        raise OutputError(f"{what}{folder}: {_reason(exc)}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{what}{folder} is not a folder")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{what}folder {folder}: permission denied")


def output_folder(folder: Path | str) -> bool:
    """Check a folder that output goes into (a build's `-o DIR`); True when it exists.

    A missing folder is allowed when its parent exists: the caller creates it when it
    commits (`Staged.add(..., create_folder=True)`), so a failed run creates nothing.
    """
    folder = Path(folder)
    try:
        info = os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        check_folder(folder.parent, folder)
        return False
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {_reason(exc)}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{folder} is {_kind(info.st_mode)}, not a folder")
    check_folder(folder)
    return True


@dataclass
class _Item:
    final: Path
    tmp: Path
    folder: Path | None  # a folder to create before the rename
    backup: Path | None = None
    done: bool = False
    made_folder: bool = False


class Staged:
    """Files written to temporary names, then renamed into place together by `commit`.

    When one rename fails, those already made are undone (the previous files come back),
    so a set of outputs is written completely or not at all.
    """

    def __init__(self) -> None:
        self._items: list[_Item] = []

    def add(
        self,
        path: Path | str,
        data: bytes | str | None = None,
        *,
        writer: Callable[[Path], None] | None = None,
        create_folder: bool = False,
    ) -> Path:
        """Stage `path` with `data` (or let `writer` fill the temporary file); return `path`.

        `create_folder`: the parent folder may be missing (its own parent must exist) and
        is created at commit time.
        """
        path = Path(path)
        folder: Path | None = None
        if create_folder and not output_folder(path.parent):
            folder = path.parent
            final, mode = path, None
            stage_in = folder.parent
        else:
            final, mode = output_target(path)
            stage_in = final.parent
        tmp = scratch_file(stage_in, final.name, path)
        self._items.append(_Item(final, tmp, folder))
        try:
            if data is not None:
                tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
            if writer is not None:
                writer(tmp)
            os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        except OSError as exc:
            self.discard()
            raise WriteFailed(f"cannot write {path}: {_reason(exc)}") from None
        except BaseException:
            self.discard()
            raise
        return path

    def commit(self) -> None:
        """Rename every staged file into place; on failure restore what was there."""
        try:
            for item in self._items:
                if item.folder is not None:
                    if not item.folder.is_dir():
                        item.folder.mkdir()
                        item.made_folder = True
                    os.replace(item.tmp, item.folder / item.final.name)
                    item.done = True
                    continue
                _, mode = output_target(item.final)  # refuse what appeared since staging
                if mode is not None:
                    item.backup = item.tmp.with_name(item.tmp.name[: -len(".tmp")] + ".bak.tmp")
                    try:
                        os.link(item.final, item.backup)
                    except OSError:
                        item.backup = None
                os.replace(item.tmp, item.final)
                item.done = True
        except OSError as exc:
            self._undo()
            raise WriteFailed(f"cannot write {item.final}: {_reason(exc)}") from None
        except BaseException:
            self._undo()
            raise
        for item in self._items:
            if item.backup is not None:
                item.backup.unlink(missing_ok=True)
        self._items = []

    def _undo(self) -> None:
        for item in self._items:
            if item.done:
                final = item.folder / item.final.name if item.folder is not None else item.final
                try:
                    if item.backup is not None:
                        os.replace(item.backup, final)
                    else:
                        final.unlink(missing_ok=True)
                except OSError:
                    pass
            if item.made_folder and item.folder is not None:
                try:
                    item.folder.rmdir()
                except OSError:
                    pass
        self.discard()

    def discard(self) -> None:
        """Delete every temporary file; nothing is renamed."""
        for item in self._items:
            item.tmp.unlink(missing_ok=True)
            if item.backup is not None:
                item.backup.unlink(missing_ok=True)
        self._items = []


@contextmanager
def staged() -> Iterator[Staged]:
    """A `Staged` set committed when the block ends normally, discarded on any exception."""
    files = Staged()
    try:
        yield files
    except BaseException:
        files.discard()
        raise
    files.commit()


def write_atomic(path: Path, data: bytes | str | None = None, *, writer: Callable[[Path], None] | None = None) -> Path:
    """Write `data` (or let `writer` fill a temp path) and rename it over `path`.

    An interrupted write leaves the previous file untouched.
    """
    with staged() as files:
        files.add(path, data, writer=writer)
    return Path(path)


def scratch_file(folder: Path, name: str, for_path: Path | None = None) -> Path:
    """A new empty temporary file in `folder` for output named `name`, after deleting the
    temporary files that killed earlier writers of `name` left there."""
    _remove_orphans(folder, name)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WriteFailed(f"cannot write {for_path or folder / name}: {_reason(exc)}") from None
    os.close(fd)
    return Path(tmp_name)


def _remove_orphans(folder: Path, name: str) -> None:
    """Delete temporary files that a killed earlier write of `name` left behind.

    Their names carry the writer's process id; a file whose writer is gone is an orphan.
    """
    for leftover in folder.glob(f".{glob.escape(name)}.*.tmp"):
        pid = leftover.name[len(name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
