"""Closed sets of the model, each declared once and imported wherever it is used."""

from __future__ import annotations

from enum import StrEnum


class AnswerType(StrEnum):
    """What a typed answer is; decides how strictly the grader compares it."""

    NUMBER = "number"
    """A number with or without a unit (doses, days, hours, years, ratios): the number must be exact."""
    ENZYME = "enzyme"
    """Enzyme or gene names (CYP2D6): exact after case, spaces and hyphens."""
    CHEMICAL = "chemical"
    """A chemical name with a locant prefix (O-desmethylvenlafaxine): the prefix must be exact."""
    DRUG = "drug"
    """Drug or brand names: a typo of the right name passes, another drug's name never does."""
    TERM = "term"
    """Free terms: articles and 'about' ignored, small typos in ordinary words accepted."""


class AnswerSource(StrEnum):
    """Where an answer in the progress database was given."""

    PLAY = "play"
    """In `snri-quiz play` (the column's default)."""
    ANKI = "anki"
    """A review in Anki, merged by `snri-quiz anki pull`."""


class ExportFormat(StrEnum):
    """What `snri-quiz export --format` writes; `export.py` has a renderer for each."""

    PDF = "pdf"
    HTML = "html"
    MD = "md"
    CSV = "csv"
    TSV = "tsv"
    QUIZLET = "quizlet"
    GIFT = "gift"
    MOODLE = "moodle"
    JSON = "json"

    @property
    def printable(self) -> bool:
        """An exam on paper (forms, keys, points), not a file for another tool."""
        return self in (ExportFormat.PDF, ExportFormat.HTML, ExportFormat.MD)
