"""The bundled deck and templates, and loading them: validated, generated, and cached.

`load_content` gives a `Content` (the deck, every question, the template count), reusing the
question cache (`cache.py`) when every input is unchanged; `check_content` validates and
surveys without keeping questions or touching the cache.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import cache
from .facts import Deck
from .generate import Content, Survey
from .memory import paused_gc
from .questions import Question


def _bundled(name: str) -> Path:
    """Inside an installed wheel the data sits in the package; in a checkout, at the repo root."""
    packaged = Path(__file__).resolve().parent / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / name


def bundled_deck() -> Path:
    return _bundled("decks") / "snri"


def bundled_templates() -> Path:
    return _bundled("templates")


def load_content(
    deck: Path | str | None = None,
    templates: Path | str | None = None,
    seed: int = 0,
    *,
    then: Callable[[Deck, list[Question]], Any] | None = None,
    later: Callable[[Callable[[], object]], None] | None = None,
) -> Content:
    """Load and validate everything (or reuse the cached result); raise InvalidContent with every problem.

    `then`: when the questions are made (not read from the cache), what it makes of each
    template's questions, made beside them (`generate.generate_with`), is `Content.made`.
    `later`: given the cache writes instead of running them (`parallel.Beside.add`: `build`
    writes them on the second core while it writes the package).
    """
    with paused_gc():
        return _load_content(deck, templates, seed, then, later or _now)


def _now(job: Callable[[], object]) -> None:
    job()


def _load_content(
    deck: Path | str | None,
    templates: Path | str | None,
    seed: int,
    then: Callable[[Deck, list[Question]], Any] | None,
    later: Callable[[Callable[[], object]], None],
) -> Content:
    deck_dir = Path(deck) if deck is not None else bundled_deck()
    template_dir = Path(templates) if templates is not None else bundled_templates()
    folder = cache.cache_dir()
    key = cache.fingerprint(deck_dir, template_dir, seed) if folder is not None else None
    if folder is not None and key is not None:
        hit = cache.read_entry(folder, key, deck_dir)
        if hit is not None:
            return dataclasses.replace(hit, key=key)
    content = _generate(deck_dir, template_dir, seed, folder, then, later)
    if folder is not None and key is not None:
        later(functools.partial(cache.write_entry, folder, key, content))
        return dataclasses.replace(content, key=key)
    return content


def check_content(deck: Path | str | None = None, templates: Path | str | None = None) -> tuple[Deck, Survey, int]:
    """Validate everything, generating every question but keeping none: (deck, survey, template count).

    Memory stays that of the deck however many questions there are (check at 10,000 drugs
    held 1.2 million questions, 2 GB). Neither reads nor writes the question cache.
    """
    from .deckfile import load_deck
    from .generate import survey
    from .templates import load_templates

    with paused_gc():
        loaded = load_deck(Path(deck) if deck is not None else bundled_deck())
        loaded_templates = load_templates(Path(templates) if templates is not None else bundled_templates(), loaded)
        return loaded, survey(loaded, loaded_templates), len(loaded_templates)


def _generate(
    deck_dir: Path,
    template_dir: Path,
    seed: int,
    folder: Path | None = None,
    then: Callable[[Deck, list[Question]], Any] | None = None,
    later: Callable[[Callable[[], object]], None] = _now,
) -> Content:
    """Load, validate and generate. With a cache `folder`, fact files unchanged since they were
    last read are not read again (`cache.FactMemo`), and a template whose inputs are unchanged
    since it last made questions is not run again (`generate.part_keys`)."""
    from .deckfile import load_deck
    from .generate import generate_with, part_keys
    from .templates import load_templates

    memo = cache.FactMemo.of(folder, deck_dir) if folder is not None else None
    loaded = load_deck(deck_dir, memo)
    if memo is not None:
        later(memo.save)
    loaded_templates = load_templates(template_dir, loaded)
    inputs = cache.template_inputs(template_dir) if folder is not None else None
    if folder is None or inputs is None:
        made = generate_with(loaded, loaded_templates, seed, then)
    else:
        keys = part_keys(loaded, loaded_templates, seed, inputs)
        made = generate_with(
            loaded, loaded_templates, seed, then, keys=keys, known=functools.partial(cache.read_part, folder)
        )
    return Content(loaded, made.bank, len(loaded_templates), made=tuple(made.made), parts=made.parts)
