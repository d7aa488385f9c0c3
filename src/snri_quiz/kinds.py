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


class QuestionKind(StrEnum):
    """How a question is asked and answered."""

    MCQ = "mcq"
    """Multiple choice: one right option among four."""
    TF = "tf"
    """True or false."""
    CLOZE = "cloze"
    """Fill in the blank of a statement (typed)."""
    TYPED = "typed"
    """A short typed answer."""
    VIGNETTE = "vignette"
    """A patient case with four or five options, exactly one provably right."""

    @property
    def has_options(self) -> bool:
        """Answered by choosing an option (letters, or True/False)."""
        return self in (QuestionKind.MCQ, QuestionKind.TF, QuestionKind.VIGNETTE)

    @property
    def lettered(self) -> bool:
        """Options are shown with letters A, B, C..."""
        return self in (QuestionKind.MCQ, QuestionKind.VIGNETTE)

    @property
    def typed(self) -> bool:
        """Answered by typing text, graded by `grading.grade`."""
        return self in (QuestionKind.CLOZE, QuestionKind.TYPED)


class Ask(StrEnum):
    """What a question template asks about its facts (a template's `ask`)."""

    VALUE = "value"
    """The fact's value (a name, a number, a list member)."""
    SUBJECT = "subject"
    """Which drug the fact is about."""
    NOT_SUBJECT = "not_subject"
    """Which drug the fact is not about."""
    EARLIEST = "earliest"
    """Which drug has the earliest date."""
    LATEST = "latest"
    """Which drug has the latest date."""
    STATEMENT = "statement"
    """Whether the fact's statement holds (or its blank, for a cloze)."""
    DATE = "date"
    """The year of the fact's date."""


class Level(StrEnum):
    """What a question asks of the learner (a revised Bloom level), for teachers' selections."""

    RECALL = "recall"
    """Remember a fact: a name, a number, a list member."""
    UNDERSTANDING = "understanding"
    """Judge or explain a statement: true/false, why, how."""
    APPLICATION = "application"
    """Apply facts to a patient: vignettes."""


class Mode(StrEnum):
    """Which kinds of question a quiz or export uses (`--mode`)."""

    MIXED = "mixed"
    MCQ = "mcq"
    TYPED = "typed"
    TF = "tf"
    VIGNETTE = "vignette"

    @property
    def kinds(self) -> frozenset[QuestionKind]:
        return _MODE_KINDS[self]


_MODE_KINDS = {
    Mode.MIXED: frozenset(QuestionKind),
    Mode.MCQ: frozenset({QuestionKind.MCQ, QuestionKind.VIGNETTE}),
    Mode.TYPED: frozenset({QuestionKind.TYPED, QuestionKind.CLOZE}),
    Mode.TF: frozenset({QuestionKind.TF}),
    Mode.VIGNETTE: frozenset({QuestionKind.VIGNETTE}),
}


class VignetteAsk(StrEnum):
    """What a vignette template asks, and so what its options are."""

    DRUG = "drug"
    """Which drug fits every clue (options: the deck's drugs)."""
    VALUE = "value"
    """A number or value the label gives for the patient's drug and situation (options: values)."""
    EFFECT = "effect"
    """Which adverse effect explains the findings (options: `signs_*`-style attributes)."""


DIFFICULTIES = range(1, 6)
"""An author's estimate of a template's difficulty: 1 (easiest) to 5."""


class KeyPlacement(StrEnum):
    """Where a printable export puts the answer key (`--key`)."""

    SEPARATE = "separate"
    """In its own file beside the exam (exam-key.pdf beside exam.pdf)."""
    APPENDED = "appended"
    """After the questions, in the same file."""
    NONE = "none"
    """Left out."""
