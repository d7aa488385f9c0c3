"""Where the bundled deck and templates live, and loading deck + templates + questions in one call.

Generating the questions of a large deck takes a while, so the validated deck and its
questions are cached, keyed by a hash of every input: the deck and template files, the
seed, and snri-quiz's own code. Any change to any of them is a cache miss; a damaged or
unreadable cache entry is ignored and rebuilt. The cache lives in the user's cache
directory (platformdirs), `$SNRI_QUIZ_HOME/cache` when that is set, or
`$SNRI_QUIZ_CACHE`; `SNRI_QUIZ_CACHE=off` turns it off.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .facts import Deck
from .questions import Question, Survey
from .yamlio import UnreadableFile, read_regular

_FORMAT = 2
_KEEP = 8


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


@dataclass(frozen=True)
class Content:
    """A validated deck and every question its templates make."""

    deck: Deck
    """The knowledge base."""
    bank: tuple[Question, ...]
    """Every question, in template then fact order."""
    template_count: int
    """How many templates made them."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Questions, facts and note specs hold no reference cycles, but the collector's full
    passes over a growing heap made large decks cost superlinear time (40% of a
    2,000-drug load). Reference counting still frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_content(deck: Path | str | None = None, templates: Path | str | None = None, seed: int = 0) -> Content:
    """Load and validate everything (or reuse the cached result); raise InvalidContent with every problem."""
    with paused_gc():
        return _load_content(deck, templates, seed)


def _load_content(deck: Path | str | None, templates: Path | str | None, seed: int) -> Content:
    deck_dir = Path(deck) if deck is not None else bundled_deck()
    template_dir = Path(templates) if templates is not None else bundled_templates()
    cache = _cache_dir()
    key = _fingerprint(deck_dir, template_dir, seed) if cache is not None else None
    if cache is not None and key is not None:
        hit = _read_cache(cache / f"bank-{key}.pickle")
        if hit is not None:
            return hit
    content = _generate(deck_dir, template_dir, seed)
    if cache is not None and key is not None:
        _write_cache(cache, f"bank-{key}.pickle", content)
    return content


def check_content(deck: Path | str | None = None, templates: Path | str | None = None) -> tuple[Deck, Survey, int]:
    """Validate everything, generating every question but keeping none: (deck, survey, template count).

    Memory stays that of the deck however many questions there are (check at 10,000 drugs
    held 1.2 million questions, 2 GB). Neither reads nor writes the question cache.
    """
    from .facts import load_deck
    from .questions import survey
    from .templates import load_templates

    with paused_gc():
        loaded = load_deck(Path(deck) if deck is not None else bundled_deck())
        loaded_templates = load_templates(Path(templates) if templates is not None else bundled_templates(), loaded)
        return loaded, survey(loaded, loaded_templates), len(loaded_templates)


def _generate(deck_dir: Path, template_dir: Path, seed: int) -> Content:
    from .facts import load_deck
    from .questions import generate
    from .templates import load_templates

    loaded = load_deck(deck_dir)
    loaded_templates = load_templates(template_dir, loaded)
    return Content(loaded, generate(loaded, loaded_templates, seed), len(loaded_templates))


def _cache_dir() -> Path | None:
    setting = os.environ.get("SNRI_QUIZ_CACHE")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    home = os.environ.get("SNRI_QUIZ_HOME")
    if home:
        return Path(home) / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("snri-quiz", appauthor=False))


def _fingerprint(deck_dir: Path, template_dir: Path, seed: int) -> str | None:
    """Hash of every input; None when an input cannot be read (then loading reports it)."""
    digest = hashlib.sha256(f"{_FORMAT}|{seed}|{deck_dir.resolve()}|{template_dir.resolve()}".encode())
    code = Path(__file__).parent
    try:
        for root, pattern in ((code, "*.py"), (code, "*.typ"), (deck_dir, "**/*.yaml"), (template_dir, "*.yaml")):
            if not root.is_dir():
                return None
            for path in sorted(root.glob(pattern)):
                digest.update(f"\0{path.relative_to(root)}\0".encode())
                digest.update(read_regular(path))  # never a FIFO or device: it could block or never end
    except (OSError, UnreadableFile):
        return None
    return digest.hexdigest()[:40]


def _read_cache(path: Path) -> Content | None:
    try:
        with path.open("rb") as handle:
            version, deck, count, rows = pickle.load(handle)  # noqa: S301 - our own cache, written by this code
        if version != _FORMAT or not isinstance(deck, Deck):
            return None
        # Questions travel as tuples of field values: much faster to unpickle than objects.
        return Content(deck, tuple(Question(*row) for row in rows), count)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt, never fatal
        return None


def astuple_shallow(question: Question) -> tuple[object, ...]:
    """The question's field values in declaration order (dataclasses.astuple would deep-copy)."""
    return tuple(getattr(question, name) for name in _QUESTION_FIELDS)


_QUESTION_FIELDS = tuple(Question.__dataclass_fields__)


def _write_cache(folder: Path, name: str, content: Content) -> None:
    from .errors import OutputError
    from .files import write_atomic

    try:
        rows = [astuple_shallow(q) for q in content.bank]
        payload = (_FORMAT, content.deck, content.template_count, rows)
        write_atomic(folder / name, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        entries = sorted(folder.glob("bank-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[_KEEP:]:
            stale.unlink(missing_ok=True)
    except (OutputError, OSError):
        pass  # a cache that cannot be written only costs time
