"""Grading a learner's response. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .facts import Deck, normalize
from .questions import LETTERS, Question


@dataclass(frozen=True)
class Grade:
    """The verdict on one response."""

    correct: bool
    """True when the response is accepted (a tolerated typo included)."""
    typo: bool = False
    """True when it was accepted only as a near miss."""
    matched: str = ""
    """The accepted answer it matched."""
    reason: str = ""
    """Why a near miss was refused, when it was (e.g. it is another drug's name)."""


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    if a == b:
        return 0
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def allowed_typos(answer: str) -> int:
    """How many edits a typed answer may be off by, scaled to its length."""
    length = len(answer.replace(" ", ""))
    if length <= 4:
        return 0
    if length <= 8:
        return 1
    return 2


def squash(text: str) -> str:
    """The comparison form of a typed answer: normalized, without spaces ('Venla-faxine' = 'venlafaxine')."""
    return normalize(text).replace(" ", "")


def other_names(deck: Deck) -> dict[str, str]:
    """Normalized drug names (generic, aliases, brands) -> the drug they name."""
    names: dict[str, str] = {}
    for drug in deck.drugs:
        for name in (drug.subject, drug.name, *drug.aliases):
            names[squash(name)] = drug.subject
    for fact in deck.facts:
        if fact.attribute in ("brand_names_us", "brand_names_non_us"):
            for name in (fact.text, *fact.aliases):
                names.setdefault(squash(name), fact.subject)
    return names


def grade_typed(response: str, accepted: Iterable[str], names: dict[str, str]) -> Grade:
    """Grade a typed answer: exact after normalising, or a small typo that is not another drug."""
    given = squash(response)
    accepted = [a for a in accepted if squash(a)]
    if not given:
        return Grade(False)
    for answer in accepted:
        if given == squash(answer):
            return Grade(True, matched=answer)
    accepted_forms = {squash(a) for a in accepted}
    if given in names and given not in accepted_forms:
        return Grade(False, reason=f"'{response.strip()}' is a different drug")
    best = min(accepted, key=lambda a: edit_distance(given, squash(a)), default=None)
    if best is None:
        return Grade(False)
    distance = edit_distance(given, squash(best))
    if distance > allowed_typos(squash(best)):
        return Grade(False)
    # a near miss that is nearer (or as near) to another drug's name is not a typo of ours
    for name in names:
        if name not in accepted_forms and edit_distance(given, name) <= distance:
            return Grade(False, reason=f"'{response.strip()}' is closer to {name}")
    return Grade(True, typo=True, matched=best)


def parse_choice(question: Question, response: str) -> int | None:
    """The option index a multiple-choice or true/false response names, or None."""
    text = response.strip()
    given = normalize(text)
    if question.kind == "tf":
        if given in ("t", "true"):
            return 0
        if given in ("f", "false"):
            return 1
        return None
    letters = LETTERS[: len(question.options)]
    if len(text) == 1 and text.upper() in letters:
        return letters.index(text.upper())
    for index, option in enumerate(question.options):
        if given and given == normalize(option):
            return index
    return None


def grade(question: Question, response: str, names: dict[str, str]) -> Grade | None:
    """Grade a response, or None when it is not a valid answer form (ask again)."""
    if question.kind in ("mcq", "tf"):
        index = parse_choice(question, response)
        if index is None:
            return None
        return Grade(index == question.answer_index, matched=question.options[index])
    if not response.strip():
        return None
    return grade_typed(response, question.accepted, names)
