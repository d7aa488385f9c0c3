"""Where the bundled deck and templates live, and loading deck + templates + questions in one call."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .facts import Deck, load_deck
from .questions import Question, generate
from .templates import Template, load_templates


def _bundled(name: str) -> Path:
    """Inside an installed wheel the data sits in the package; in a checkout, at the repo root."""
    packaged = Path(str(resources.files("snri_quiz"))) / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / name


def bundled_deck() -> Path:
    return _bundled("decks") / "snri"


def bundled_templates() -> Path:
    return _bundled("templates")


@dataclass(frozen=True)
class Content:
    """A validated deck, its templates and every question they make."""

    deck: Deck
    """The knowledge base."""
    templates: tuple[Template, ...]
    """The question templates."""
    bank: tuple[Question, ...]
    """Every question, in template then fact order."""


def load_content(deck: Path | str | None = None, templates: Path | str | None = None, seed: int = 0) -> Content:
    """Load and validate everything; raise InvalidContent with every problem found."""
    loaded = load_deck(deck or bundled_deck())
    loaded_templates = load_templates(templates or bundled_templates(), loaded)
    return Content(loaded, loaded_templates, generate(loaded, loaded_templates, seed))
