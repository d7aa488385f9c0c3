"""Grading responses: letters, option text, true/false, and typed answers graded by what they are.

The deck-wide tests run over every typed and cloze question of the bundled deck, so a new
question is covered the day it is written: its exact answer and harmless variants pass, and
the classic exam errors (a changed number, another CYP enzyme, a swapped O-/N- prefix,
another drug's name) never do.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from snri_quiz.generate import Content
from snri_quiz.grading import (
    MAX_RESPONSE,
    Lexicon,
    Name,
    allowed_typos,
    answer_type_of,
    edit_distance,
    grade,
    grade_typed,
    parse_choice,
    squash,
    tokens,
)
from snri_quiz.kinds import AnswerType
from snri_quiz.questions import Question

ENZYMES = ("CYP1A2", "CYP2B6", "CYP2C9", "CYP2C19", "CYP2D6", "CYP2E1", "CYP3A4", "CYP2D7")


def _find(content: Content, template: str, answer: str | None = None, prompt_part: str = "") -> Question:
    return next(
        q
        for q in content.bank
        if q.template == template and (answer is None or q.answer == answer) and prompt_part in q.prompt
    )


@pytest.fixture(scope="module")
def lexicon(content: Content) -> Lexicon:
    return Lexicon(content.deck)


@pytest.fixture(scope="module")
def typed(content: Content) -> list[Question]:
    found = [q for q in content.bank if q.kind in ("typed", "cloze")]
    assert len(found) > 100, "the deck-wide grading tests must see the deck's typed and cloze questions"
    return found


# ----------------------------------------------------------------- multiple choice
def test_multiple_choice_by_letter_or_text(content: Content, lexicon: Lexicon) -> None:
    q = _find(content, "brand-to-generic-mcq", prompt_part="Cymbalta")
    letter = "ABCD"[q.answer_index or 0]
    assert grade(q, letter, lexicon).correct
    assert grade(q, letter.lower(), lexicon).correct
    assert grade(q, f"  {q.answer.upper()}  ", lexicon).correct
    wrong = next(i for i in range(4) if i != q.answer_index)
    assert not grade(q, "ABCD"[wrong], lexicon).correct
    assert grade(q, "E", lexicon) is None
    assert grade(q, "cymbal", lexicon) is None
    assert parse_choice(q, q.options[wrong]) == wrong


def test_single_letter_option_texts_never_shadow_letters(content: Content) -> None:
    base = _find(content, "brand-to-generic-mcq")
    q = Question(**{**base.__dict__, "options": ("B", "C", "D", "A"), "answer": "B", "answer_index": 0})
    # "b" is the letter B (position 2), never the option whose text is "B"
    assert parse_choice(q, "b") == 1
    assert parse_choice(q, "A") == 0
    assert parse_choice(q, "E") is None


def test_true_false_forms(content: Content, lexicon: Lexicon) -> None:
    q = next(q for q in content.bank if q.kind == "tf" and q.answer == "True")
    for response in ("t", "T", "true", "True "):
        assert grade(q, response, lexicon).correct
    for response in ("f", "false", "FALSE"):
        assert not grade(q, response, lexicon).correct
    assert grade(q, "yes", lexicon) is None


# ------------------------------------------------------------- the review's cases
@pytest.mark.parametrize(
    ("response", "accepted", "right"),
    [
        # numbers are never typos
        ("5 days", ["7", "7 days", "seven", "seven days"], False),
        ("seven days", ["7 days"], True),
        ("7 weeks", ["7 days"], False),
        ("120 mg once daily", ["60 mg once daily"], False),
        ("60 mg twice daily", ["60 mg once daily"], False),
        ("60", ["60 mg once daily"], True),
        ("60mg daily", ["60 mg once daily"], True),
        ("15 days", ["14 days"], False),
        ("14", ["14 days"], True),
        ("fourteen", ["14 days"], True),
        ("week 4", ["week 1"], False),
        ("about 12 hours", ["about 11 hours"], False),
        ("11 hrs", ["about 11 hours"], True),
        ("10 to 12 hours", ["10-12 hours"], True),
        ("3.2", ["3.1"], False),
        ("1994", ["1993"], False),
        # enzymes and chemical prefixes are exact
        ("CYP2D7", ["CYP2D6"], False),
        ("cyp 2d6", ["CYP2D6"], True),
        ("CYP2D6 and CYP1A2", ["CYP1A2 and CYP2D6"], True),
        ("CYP2D6 and CYP3A4", ["CYP1A2 and CYP2D6"], False),
        ("N-desmethylvenlafaxine", ["O-desmethylvenlafaxine"], False),
        ("O desmethylvenlafaxine", ["O-desmethylvenlafaxine"], True),
        ("o-desmethylvenlafaxin", ["O-desmethylvenlafaxine"], True),
        # free terms: articles ignored, look-alike words are not typos
        ("MAOI", ["an MAOI"], True),
        ("MAOIs", ["an MAOI"], True),
        ("seizures", ["seizure"], True),
        ("synaptic cleft", ["the synaptic cleft"], True),
        ("seratonin syndrome", ["serotonin syndrome"], True),
        ("hypotension", ["hypertension"], False),
        ("hyponatremia", ["hypernatremia"], False),
        ("decreased blood pressure", ["increased blood pressure"], False),
        ("bradycardia", ["tachycardia"], False),
        # drug names
        ("venlafaxin", ["Venlafaxine"], True),
        ("desvenlafaxine", ["Venlafaxine"], False),
        ("desvenlafaxin", ["venlafaxine"], False),
        ("milnacipran and duloxetine", ["duloxetine and milnacipran"], True),
        ("duloxetine and levomilnacipran", ["duloxetine and milnacipran"], False),
    ],
)
def test_review_cases(lexicon: Lexicon, response: str, accepted: list[str], right: bool) -> None:
    assert grade_typed(response, accepted, lexicon).correct is right


def test_key_terms_suffice(lexicon: Lexicon) -> None:
    accepted = ["intravenous methylene blue"]
    assert not grade_typed("methylene blue", accepted, lexicon).correct
    assert grade_typed("methylene blue", accepted, lexicon, key_terms=["methylene blue"]).correct
    assert grade_typed("methylen blue", accepted, lexicon, key_terms=["methylene blue"]).correct


def test_a_brand_of_the_right_drug_is_named_as_such(content: Content, lexicon: Lexicon) -> None:
    q = _find(content, "brand-to-generic-typed", "Duloxetine", "Cymbalta")
    verdict = grade(q, "Drizalma", lexicon)
    assert verdict is not None and not verdict.correct
    assert "right drug" in verdict.reason and "generic" in verdict.reason
    brand = _find(content, "generic-to-brand-typed", prompt_part="name of venlafaxine")
    verdict = grade(brand, "venlafaxine", lexicon)
    assert verdict is not None and not verdict.correct and "brand name" in verdict.reason
    other = grade(q, "Savella", lexicon)
    assert other is not None and not other.correct and "milnacipran" in other.reason


def test_declared_answer_type_wins(lexicon: Lexicon) -> None:
    # "ODV" looks like a term; declared as a number it would need a number: nothing passes
    assert not grade_typed("ODV", ["12 hours"], lexicon, answer_type="number").correct
    assert grade_typed("12", ["12 hours"], lexicon, answer_type="number").correct


def test_typed_accepts_aliases(content: Content, lexicon: Lexicon) -> None:
    q = _find(content, "brand-to-generic-typed", "Desvenlafaxine", "Pristiq")
    assert grade(q, "O-desmethylvenlafaxine", lexicon).correct  # type: ignore[union-attr]
    assert grade(q, "odv", lexicon).correct  # type: ignore[union-attr]
    brand = _find(content, "generic-to-brand-typed", prompt_part="duloxetine")
    for response in ("Cymbalta", "drizalma sprinkle", "Drizalma"):
        assert grade(brand, response, lexicon).correct, response  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("14 days", AnswerType.NUMBER),
        ("60 mg once daily", AnswerType.NUMBER),
        ("CYP2D6", AnswerType.ENZYME),
        ("CYP1A2 and CYP2D6", AnswerType.ENZYME),
        ("O-desmethylvenlafaxine", AnswerType.CHEMICAL),
        ("Duloxetine", AnswerType.DRUG),
        ("Cymbalta", AnswerType.DRUG),
        ("duloxetine and milnacipran", AnswerType.DRUG),
        ("angle-closure glaucoma", AnswerType.TERM),
        ("an MAOI", AnswerType.TERM),
    ],
)
def test_answer_types_are_inferred(lexicon: Lexicon, answer: str, kind: AnswerType) -> None:
    assert answer_type_of(answer, lexicon) is kind


# ------------------------------------------------------- every question of the deck
def _numbers(text: str) -> list[str]:
    return [t for t in tokens(text) if re.fullmatch(r"\d+(?:\.\d+)?", t)]


def test_every_typed_answer_and_its_harmless_variants_pass(typed: list[Question], lexicon: Lexicon) -> None:
    checked = 0
    for q in typed:
        for answer in q.accepted:
            variants = {answer, answer.upper(), answer.lower(), answer.title(), f"  {answer}. "}
            stripped = re.sub(r"^(?:a|an|the|about)\s+", "", answer, flags=re.IGNORECASE)
            variants.add(stripped)
            if answer_type_of(answer, lexicon) is AnswerType.NUMBER:
                variants.add(" ".join(_numbers(answer)))  # the bare number: the unit is implied
            for variant in variants:
                verdict = grade(q, variant, lexicon)
                assert verdict is not None and verdict.correct, (q.id, q.prompt, answer, variant)
                checked += 1
    assert checked > 500


def test_a_changed_number_never_passes(typed: list[Question], lexicon: Lexicon) -> None:
    checked = 0
    for q in typed:
        answer = q.answer
        for number in _numbers(answer):
            value = float(number)
            for changed in {value + 1, value * 2, max(value - 1, 0.5)} - {value}:
                text = f"{changed:g}"
                wrong = re.sub(rf"(?<![\d.]){re.escape(number)}(?![\d.])", text, answer, count=1)
                verdict = grade(q, wrong, lexicon)
                assert verdict is not None and not verdict.correct, (q.id, answer, wrong)
                assert not grade(q, text, lexicon).correct, (q.id, answer, text)  # type: ignore[union-attr]
                checked += 1
    assert checked > 30


def test_another_enzyme_never_passes(typed: list[Question], lexicon: Lexicon) -> None:
    checked = 0
    for q in typed:
        found = re.findall(r"CYP\w+", q.answer)
        for enzyme in found:
            for other in ENZYMES:
                if other in found:
                    continue
                wrong = q.answer.replace(enzyme, other)
                assert not grade(q, wrong, lexicon).correct, (q.id, wrong)  # type: ignore[union-attr]
                checked += 1
    assert checked >= 7


def test_a_swapped_prefix_never_passes(typed: list[Question], lexicon: Lexicon) -> None:
    checked = 0
    for q in typed:
        for answer in q.accepted:
            match = re.match(r"^([ON])-(.+)$", answer)
            if match:
                swapped = {"O": "N", "N": "O"}[match.group(1)] + "-" + match.group(2)
                verdict = grade(q, swapped, lexicon)
                assert verdict is not None and not verdict.correct, (q.id, swapped)
                assert not grade(q, swapped.replace("-", ""), lexicon).correct  # type: ignore[union-attr]
                checked += 1
    assert checked >= 1


def test_every_other_drugs_name_never_passes(typed: list[Question], lexicon: Lexicon) -> None:
    checked = 0
    for q in typed:
        own = {lexicon.names[squash(a)].subject for a in q.accepted if squash(a) in lexicon.names}
        for name, info in lexicon.names.items():
            if info.subject in own:
                continue
            verdict = grade(q, name, lexicon)
            assert verdict is not None and not verdict.correct, (q.id, q.answer, name)
            checked += 1
    assert checked > 1000


# --------------------------------------------------------------- limits and typos
def test_small_typos_are_accepted_and_flagged(content: Content, lexicon: Lexicon) -> None:
    q = _find(content, "brand-to-generic-typed", "Venlafaxine", "Effexor XR")
    verdict = grade(q, "venlafaxin", lexicon)
    assert verdict is not None and verdict.correct and verdict.typo and verdict.matched == "Venlafaxine"
    assert grade(q, "venlafaixne", lexicon).typo  # type: ignore[union-attr]  # a swap counts as one edit
    assert not grade(q, "venfaxine-ish", lexicon).correct  # type: ignore[union-attr]


def test_typo_budget_scales_with_length() -> None:
    assert allowed_typos("SUI") == 0
    assert allowed_typos("Savella") == 1
    assert allowed_typos("duloxetine") == 2
    assert not grade_typed("6", ["5"], Lexicon()).correct
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("kitten", "sitting", 1) == 2  # above the cutoff: cutoff + 1


def test_long_answers_are_refused_fast(lexicon: Lexicon) -> None:
    start = time.perf_counter()
    verdict = grade_typed("x" * 1_000_000, ["venlafaxine"], lexicon)
    assert not verdict.correct and str(MAX_RESPONSE) in verdict.reason
    assert time.perf_counter() - start < 0.5
    limit = grade_typed("venlafaxine " + " " * (MAX_RESPONSE - 20), ["venlafaxine"], lexicon)
    assert limit.correct


def test_grading_a_near_miss_among_many_names_is_fast() -> None:
    from snri_quiz.grading import Name

    names = {f"drugname{i:05d}ine": Name(f"drug{i}", False) for i in range(40_000)}
    names["venlafaxine"] = Name("venlafaxine", False)
    lexicon = Lexicon(names=names)
    start = time.perf_counter()
    for _ in range(10):
        assert grade_typed("venlafaxin", ["venlafaxine"], lexicon).correct
    assert (time.perf_counter() - start) / 10 < 0.05


def test_brand_names_come_from_the_decks_brand_attributes(tmp_path: Path) -> None:
    import shutil

    from snri_quiz.deckfile import load_deck

    tiny = Path(__file__).parent / "data" / "tiny-deck"
    deck = load_deck(tiny)
    assert deck.brand_attributes == ("brand_names_us",)
    assert Lexicon(deck).names[squash("Alphax")] == Name("alpha", True)
    shutil.copytree(tiny, tmp_path / "deck")
    manifest = tmp_path / "deck" / "deck.yaml"
    manifest.write_text(manifest.read_text().replace("brand_attributes: [brand_names_us]\n", ""))
    plain = load_deck(tmp_path / "deck")
    assert plain.brand_attributes == ()
    assert squash("Alphax") not in Lexicon(plain).names


def test_a_grade_is_an_fsrs_rating() -> None:
    """Grading speaks the scheduler's language: wrong is Again, an accepted typo Hard, right Good."""
    from fsrs import Rating

    from snri_quiz.grading import Grade

    assert Grade(False).rating is Rating.Again
    assert Grade(True, typo=True).rating is Rating.Hard
    assert Grade(True).rating is Rating.Good
