"""`snri-quiz export`: check the options, pick the questions, render them with the format's
renderer from `export.PRINTABLE` / `export.TEXT`, and write the file(s) or standard output."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from . import export as ex
from .errors import UsageError
from .files import STDOUT, output_target, staged
from .generate import Content
from .kinds import ExportFormat, KeyPlacement
from .selection import Selection
from .text import visible


@dataclass(frozen=True)
class ExportJob:
    """What to write and where; `checked` refuses impossible combinations before any work."""

    fmt: ExportFormat
    """The format (its renderer is in `export.PRINTABLE` or `export.TEXT`)."""
    output: Path | None = None
    """The file to write; None: standard output."""
    forms: int = 1
    """Printable formats: how many differently shuffled versions."""
    title: str | None = None
    """Printable formats: the title (default: '<deck> question set')."""
    points: float = 1
    """Printable formats: points per question."""
    key: KeyPlacement = KeyPlacement.SEPARATE
    """Printable formats: where the answer key goes."""

    @property
    def key_path(self) -> Path | None:
        """The answer key's own file, when it has one."""
        if self.output is None or self.key != KeyPlacement.SEPARATE or not self.fmt.printable:
            return None
        return self.output.with_name(f"{self.output.stem}-key{self.output.suffix}")

    @classmethod
    def checked(
        cls,
        fmt: ExportFormat,
        output: str | Path | None,
        *,
        forms: int = 1,
        title: str | None = None,
        points: float = 1,
        key: KeyPlacement | None = None,
    ) -> ExportJob:
        """The job for these options (key None: the default), or UsageError/OutputError saying why not."""
        if output is None and fmt == ExportFormat.PDF:
            raise UsageError("--format pdf needs -o FILE (or -o - for standard output)")
        path = Path(output) if output is not None and str(output) != STDOUT else None
        if forms < 1:
            raise UsageError("--forms must be at least 1")
        if forms > len(ex.FORM_LETTERS):
            raise UsageError(f"--forms {forms} is too many: forms are lettered A to Z, so at most 26")
        if forms > 1 and not fmt.printable:
            printable = [f.value for f in ExportFormat if f.printable]
            raise UsageError(f"--forms applies to {', '.join(printable[:-1])} and {printable[-1]} only")
        if path is None and fmt.printable and key in (None, KeyPlacement.SEPARATE):
            if key is not None:
                raise UsageError("--key separate needs -o FILE")
            key = KeyPlacement.APPENDED  # one stream: the key follows the questions
        if path is None and fmt == ExportFormat.PDF and sys.stdout.isatty():
            raise UsageError("-o - would print a PDF to the terminal; redirect it to a file")
        job = cls(fmt, path, forms, title, points, key or KeyPlacement.SEPARATE)
        for target in (job.output, job.key_path):
            if target is not None:
                output_target(target)  # a bad -o fails before the work, not after
        return job


Files = list[tuple[Path | None, str | bytes]]


def render(job: ExportJob, content: Content, selection: Selection) -> tuple[int, Files]:
    """How many questions, and the files of this export (path None: standard output) with their contents."""
    deck = content.deck
    chosen = selection.pick(content.bank, deck)
    if not job.fmt.printable:
        return len(chosen), [(job.output, ex.TEXT[job.fmt](deck, chosen))]
    seed = selection.seed or 0
    data = ex.exam_data(
        deck, ex.make_forms(chosen, job.forms, seed), job.title or f"{deck.name} question set", job.points
    )
    renderer = ex.PRINTABLE[job.fmt]
    files: Files = [(job.output, renderer(data, paper=True, key=job.key == KeyPlacement.APPENDED))]
    if job.key_path is not None:
        files.append((job.key_path, renderer(data, paper=False, key=True)))
    return len(chosen), files


def run(job: ExportJob, content: Content, selection: Selection) -> str | None:
    """Render and write the export; return the line saying what was written (None for standard output)."""
    count, files = render(job, content, selection)
    if job.output is None:
        payload = files[0][1]
        if isinstance(payload, bytes):
            sys.stdout.buffer.write(payload)
            sys.stdout.buffer.flush()
        else:  # a terminal gets no raw control characters; a pipe or file gets the exact text
            sys.stdout.write(visible(payload) if sys.stdout.isatty() else payload)
            sys.stdout.flush()
        return None
    with staged() as staging:  # the exam and its key: both files or neither
        for path, payload in files:
            assert path is not None
            staging.add(path, payload)
    names = " and ".join(str(p) for p, _ in files)
    return f"Wrote {count} questions" + (f" ({job.forms} forms)" if job.forms > 1 else "") + f" to {names}"
