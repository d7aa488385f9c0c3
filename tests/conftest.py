"""Shared fixtures: the bundled content, and writable copies of the deck for edits."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from snri_quiz.content import bundled_deck, bundled_templates, load_content
from snri_quiz.generate import Content

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests (and the commands they start) use their own question cache, never the user's."""
    folder = tmp_path_factory.mktemp("cache")
    before = os.environ.get("SNRI_QUIZ_CACHE")
    os.environ["SNRI_QUIZ_CACHE"] = str(folder)
    yield folder
    if before is None:
        del os.environ["SNRI_QUIZ_CACHE"]
    else:
        os.environ["SNRI_QUIZ_CACHE"] = before


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content()


@pytest.fixture()
def deck_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled deck (lock file included)."""
    target = tmp_path / "deck"
    shutil.copytree(bundled_deck(), target)
    return target


@pytest.fixture()
def templates_copy(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(bundled_templates(), target)
    return target


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def committed_lock_is_stale() -> bool:
    """True when a build of the bundled content would change notes in the committed lock file
    (card markup or tags changed in code, and the lead has not yet rebuilt the lock)."""
    from snri_quiz.anki import note_spec, read_lock

    content = load_content()
    notes = read_lock(content.deck)["notes"]
    cache: dict[tuple[str, ...], str] = {}
    for q in content.bank:
        spec = note_spec(content.deck, q, cache)
        entry = notes.get(spec.guid)
        if not isinstance(entry, dict) or entry.get("hash") != spec.content_hash():
            return True
    return False


STALE_LOCK = committed_lock_is_stale()
needs_current_lock = pytest.mark.xfail(
    STALE_LOCK,
    reason="decks/snri/anki-lock.json predates the cards' rationales and level/difficulty tags: "
    "rebuild the lock (snri-quiz build) and these pass",
    strict=True,
)
"""For tests that build the bundled deck over its committed lock and expect no changes; a no-op
once the lock is current (strict: a pass while the lock is stale is an error)."""
