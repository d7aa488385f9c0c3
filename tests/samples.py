"""Hand-made question values for output tests (and tools/render_cards.py) while the
vignette engine is not on this branch: a patient case built as the engine will build it."""

from __future__ import annotations

from dataclasses import replace

from snri_quiz.kinds import Level
from snri_quiz.questions import Question

VIGNETTE_OPTIONS = ("Venlafaxine", "Desvenlafaxine", "Duloxetine", "Levomilnacipran", "Milnacipran")


def vignette(**changes: object) -> Question:
    """A five-option patient case on renal dosing (answer C, duloxetine), with a rationale per option."""
    q = Question(
        id="q0f1e7e77e0000a",
        template="renal-avoid-vignette",
        kind="vignette",
        topic="special_populations",
        subject="duloxetine",
        prompt=(
            "A 67-year-old woman with major depressive disorder and diabetic peripheral neuropathic pain "
            "has chronic kidney disease; her creatinine clearance is 24 mL/min and she is not on dialysis. "
            "She takes metformin and lisinopril, and her blood pressure is 132/84 mm Hg. Her physician "
            "considers an SNRI for both conditions. Which SNRI's US label says to avoid it in this patient?"
        ),
        options=VIGNETTE_OPTIONS,
        answer="Duloxetine",
        answer_index=2,
        accepted=(),
        explanation="Duloxetine should be avoided when creatinine clearance is below 30 mL/min.",
        sources=("label-cymbalta",),
        facts=("duloxetine.renal",),
        drugs=("duloxetine",),
        tags=("snri::topic::special_populations", "snri::kind::vignette", "snri::drug::duloxetine"),
        level=Level.APPLICATION,
        difficulty=4,
        rationales=(
            "Venlafaxine: usable with a reduced total daily dose (by 50% or more) in severe renal impairment "
            "[Effexor XR label, section 2.6].",
            "Desvenlafaxine: usable at 25 mg daily or 50 mg every other day in severe renal impairment "
            "[Pristiq label, section 2.3].",
            "Duloxetine: correct; avoid when creatinine clearance is below 30 mL/min [Cymbalta label, section 2.6].",
            "Levomilnacipran: usable at up to 40 mg once daily in severe renal impairment "
            "[Fetzima label, section 2.3].",
            "Milnacipran: usable with caution at up to 25 mg twice daily in severe renal impairment "
            "[Savella label, section 2.2].",
        ),
        clues=("duloxetine.renal", "duloxetine.indication-dpnp"),
        option_refs=VIGNETTE_OPTIONS,
    )
    return replace(q, **changes)  # type: ignore[arg-type]
