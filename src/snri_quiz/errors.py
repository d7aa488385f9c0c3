"""The project's exception classes. No click here: cli.py maps them to exit codes."""

from __future__ import annotations

from typing import NamedTuple

from .text import visible


class Problem(NamedTuple):
    """One thing wrong with a user's file, located by path and line."""

    path: str
    """The file (or folder) the problem is in."""
    line: int | None
    """1-based line number, or None when the problem is about the whole file."""
    message: str
    """What is wrong, naming the field where there is one."""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {' '.join(self.message.split())}"  # always one line
        if len(text) > _LONGEST:  # a hostile file's megabyte value is not repeated in full
            text = f"{text[: _LONGEST - 40]} ... ({len(text) - _LONGEST + 40:,} characters left out)"
        return visible(text)  # never a raw escape sequence


_LONGEST = 1000


class SnriQuizError(Exception):
    """Base class of every error a user can cause."""


class InvalidContent(SnriQuizError):
    """The deck or templates are invalid; carries every problem found in one pass."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line or 0, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(SnriQuizError):
    """A command-line value that does not fit the content (unknown topic, count too large...)."""


class OutputError(SnriQuizError):
    """An output file or folder cannot be written where it was asked for (missing folder, a FIFO...)."""


class WriteFailed(OutputError):
    """Writing an output failed part-way (disk full, file too large, I/O error): a runtime failure."""


class ProgressError(SnriQuizError):
    """The learner's progress database cannot be opened or is damaged."""


class ProgressUnavailable(ProgressError):
    """The progress database is sound but cannot be written now (locked by another program, disk full)."""


class MissingDependency(SnriQuizError):
    """An optional package a command needs is not installed (the message says how to install it)."""


class CollectionError(SnriQuizError):
    """The learner's Anki collection cannot be used now (open in Anki, damaged, or a write failed)."""
