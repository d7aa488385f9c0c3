"""Grading responses: letters, option text, true/false, typed answers, aliases, typos and near-miss names."""

from __future__ import annotations

import pytest

from snri_quiz.content import Content
from snri_quiz.grading import allowed_typos, edit_distance, grade, grade_typed, other_names, parse_choice
from snri_quiz.questions import Question


def _find(content: Content, template: str, answer: str | None = None, prompt_part: str = "") -> Question:
    return next(
        q
        for q in content.bank
        if q.template == template and (answer is None or q.answer == answer) and prompt_part in q.prompt
    )


@pytest.fixture(scope="module")
def names(content: Content) -> dict[str, str]:
    return other_names(content.deck)


def test_multiple_choice_by_letter_or_text(content: Content, names: dict[str, str]) -> None:
    q = _find(content, "brand-to-generic-mcq", prompt_part="Cymbalta")
    letter = "ABCD"[q.answer_index or 0]
    assert grade(q, letter, names).correct
    assert grade(q, letter.lower(), names).correct
    assert grade(q, f"  {q.answer.upper()}  ", names).correct
    wrong = next(i for i in range(4) if i != q.answer_index)
    assert not grade(q, "ABCD"[wrong], names).correct
    assert grade(q, "E", names) is None
    assert grade(q, "cymbal", names) is None
    assert parse_choice(q, q.options[wrong]) == wrong


def test_true_false_forms(content: Content, names: dict[str, str]) -> None:
    q = next(q for q in content.bank if q.kind == "tf" and q.answer == "True")
    for response in ("t", "T", "true", "True "):
        assert grade(q, response, names).correct
    for response in ("f", "false", "FALSE"):
        assert not grade(q, response, names).correct
    assert grade(q, "yes", names) is None


def test_typed_normalises_case_spaces_and_punctuation(content: Content, names: dict[str, str]) -> None:
    q = _find(content, "brand-to-generic-typed", "Venlafaxine", "Effexor XR")
    for response in ("venlafaxine", "  VENLAFAXINE. ", "Venla-faxine"):
        verdict = grade(q, response, names)
        assert verdict.correct and not verdict.typo, response


def test_typed_accepts_aliases(content: Content, names: dict[str, str]) -> None:
    q = _find(content, "brand-to-generic-typed", "Desvenlafaxine", "Pristiq")
    assert grade(q, "O-desmethylvenlafaxine", names).correct
    assert grade(q, "odv", names).correct
    brand = _find(content, "generic-to-brand-typed", prompt_part="duloxetine")
    for response in ("Cymbalta", "drizalma sprinkle", "Drizalma"):
        assert grade(brand, response, names).correct, response


def test_small_typos_are_accepted_and_flagged(content: Content, names: dict[str, str]) -> None:
    q = _find(content, "brand-to-generic-typed", "Venlafaxine", "Effexor XR")
    verdict = grade(q, "venlafaxin", names)
    assert verdict.correct and verdict.typo and verdict.matched == "Venlafaxine"
    assert grade(q, "venlafaixne", names).typo  # a swap counts as one edit
    assert not grade(q, "venfaxine-ish", names).correct


@pytest.mark.parametrize(
    ("brand", "expected", "other"),
    [
        ("Effexor XR", "Venlafaxine", "desvenlafaxine"),
        ("Pristiq", "Desvenlafaxine", "venlafaxine"),
        ("Savella", "Milnacipran", "levomilnacipran"),
        ("Fetzima", "Levomilnacipran", "milnacipran"),
    ],
)
def test_another_drugs_exact_name_is_never_a_typo(
    content: Content, names: dict[str, str], brand: str, expected: str, other: str
) -> None:
    q = _find(content, "brand-to-generic-typed", expected, brand)
    verdict = grade(q, other, names)
    assert not verdict.correct
    assert "different drug" in verdict.reason


def test_near_miss_closer_to_another_drug_is_refused(names: dict[str, str]) -> None:
    # one edit from desvenlafaxine, two from venlafaxine: not a typo of venlafaxine
    verdict = grade_typed("desvenlafaxin", ["venlafaxine"], names)
    assert not verdict.correct


def test_typo_budget_scales_with_length() -> None:
    assert allowed_typos("SUI") == 0
    assert allowed_typos("Savella") == 1
    assert allowed_typos("duloxetine") == 2
    assert not grade_typed("6", ["5"], {}).correct
    assert edit_distance("kitten", "sitting") == 3
