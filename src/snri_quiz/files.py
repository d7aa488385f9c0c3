"""Writing output files atomically: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import OutputError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to folder {folder}: permission denied")


def write_atomic(path: Path, data: bytes | str | None = None, *, writer: Callable[[Path], None] | None = None) -> Path:
    """Write `data` (or let `writer` fill a temp path) and rename it over `path`.

    An interrupted write leaves the previous file untouched.
    """
    path = Path(path)
    ensure_folder(path.parent)
    _remove_orphans(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if data is not None:
                handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        if writer is not None:
            writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _remove_orphans(path: Path) -> None:
    """Delete temporary files that a killed earlier write of `path` left behind.

    Their names carry the writer's process id; a file whose writer is gone is an orphan.
    """
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = leftover.name[len(path.name) + 2 :].split(".", 1)[0]
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
