"""Property-based tests (hypothesis): the loader on arbitrary and mutated YAML, the typed-answer
grader, and every escaper on hostile text."""

from __future__ import annotations

import csv
import functools
import html
import io
import re
import shutil
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from snri_quiz.anki import cloze_field, escape_text
from snri_quiz.content import load_content
from snri_quiz.deckfile import load_deck
from snri_quiz.errors import InvalidContent
from snri_quiz.export import exam_data, make_forms, to_anki_text, to_html
from snri_quiz.facts import normalize
from snri_quiz.generate import Content
from snri_quiz.grading import Lexicon, allowed_typos, edit_distance, grade_typed, squash, tokens

HERE = Path(__file__).parent


@functools.cache
def bundled() -> Content:
    """Loaded once; hypothesis tests take no fixtures they would have to print."""
    return load_content()


TINY = HERE / "data" / "tiny-deck"
ALPHA = (TINY / "drugs" / "alpha.yaml").read_text()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LINE = re.compile(r"^[^\n]+?(:\d+)?: .+$")


def _load_with(tmp_path: Path, text: str, name: str = "alpha.yaml") -> None:
    deck = tmp_path / "deck"
    if deck.exists():
        shutil.rmtree(deck)
    shutil.copytree(TINY, deck)
    (deck / "drugs" / name).write_text(text, encoding="utf-8")
    try:
        load_deck(deck)
    except InvalidContent as exc:
        assert exc.problems
        for problem in exc.problems:
            assert LINE.match(str(problem)), str(problem)
            assert "\n" not in str(problem)


@SETTINGS
@given(st.text(max_size=400))
def test_loader_on_arbitrary_text(tmp_path: Path, text: str) -> None:
    _load_with(tmp_path, text)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(ALPHA)), st.integers(0, 12), st.text(max_size=8)), max_size=5))
def test_loader_on_mutated_yaml(tmp_path: Path, edits: list[tuple[int, int, str]]) -> None:
    text = ALPHA
    for position, length, insert in edits:
        text = text[:position] + insert + text[position + length :]
    _load_with(tmp_path, text)


@SETTINGS
@given(st.lists(st.sampled_from(ALPHA.splitlines()), max_size=25))
def test_loader_on_shuffled_lines(tmp_path: Path, lines: list[str]) -> None:
    _load_with(tmp_path, "\n".join(lines))


@given(st.text())
@example("m o")  # squash() is a key, not a text: "mo" read again is the unit, "months"
def test_normalisation_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)
    assert tokens(" ".join(tokens(text))) == tokens(text)
    assert squash(" ".join(tokens(text))) == squash(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_exact_answer_always_passes(data: st.DataObject) -> None:
    content = bundled()
    names = Lexicon(content.deck)
    typed = [q for q in content.bank if q.kind in ("typed", "cloze")]
    q = data.draw(st.sampled_from(typed))
    for answer in q.accepted:
        verdict = grade_typed(answer, q.accepted, names)
        assert verdict.correct and not verdict.typo
        decorated = data.draw(st.sampled_from([answer.upper(), f"  {answer}. ", answer.replace(" ", "  ")]))
        assert grade_typed(decorated, q.accepted, names).correct


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_another_drugs_name_never_passes(data: st.DataObject) -> None:
    content = bundled()
    names = Lexicon(content.deck)
    typed = [q for q in content.bank if q.kind in ("typed", "cloze")]
    q = data.draw(st.sampled_from(typed))
    accepted = {squash(a) for a in q.accepted}
    others = sorted(n for n in names.names if n not in accepted)
    other = data.draw(st.sampled_from(others))
    assert not grade_typed(other, q.accepted, names).correct


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.sampled_from(["venlafaxine", "duloxetine", "milnacipran", "hepatotoxicity", "SUI"]))
def test_accepted_answers_are_exact_or_small_typos(response: str, answer: str) -> None:
    verdict = grade_typed(response, [answer], Lexicon(bundled().deck))
    if verdict.correct:
        distance = edit_distance(squash(response), squash(answer))
        assert distance <= allowed_typos(squash(answer))
        assert verdict.typo == (distance > 0)


HOSTILE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1).map(
    lambda s: s + " <script>alert('x')</script> & < > \" ' ~ = # { } : ,\t;"
)


@given(HOSTILE)
def test_html_escaping_round_trips(text: str) -> None:
    escaped = escape_text(text)
    assert html.unescape(escaped) == text
    assert "<" not in escaped and ">" not in escaped


@given(HOSTILE, HOSTILE)
def test_cloze_field_escapes_around_the_marker(text: str, answer: str) -> None:
    """Whatever the fact and the answer hold (cloze syntax included), the field has one
    deletion, holding the whole answer, and no markup."""
    from snri_quiz.questions import BLANK, Question

    answer = answer.replace(BLANK, "") or "a<b"
    q = Question(
        "q1",
        "t",
        "cloze",
        "mechanism",
        "snri",
        f"{text} {BLANK} end",
        (),
        answer,
        None,
        (answer,),
        "",
        (),
        (),
        (),
        (),
        cloze=f"{text} {{{{c1::{answer}}}}} end",
    )
    field = cloze_field(q)
    assert field.count("{") == 2 and field.count("}") == 2  # the marker only
    assert "<script" not in field
    inner = field.split("{{c1::", 1)[1].split("}}", 1)[0]
    assert html.unescape(inner) == answer


@settings(max_examples=40, deadline=None)
@given(HOSTILE, HOSTILE, HOSTILE)
def test_csv_and_html_round_trip_hostile_text(prompt: str, answer: str, explanation: str) -> None:
    content = bundled()
    base = next(q for q in content.bank if q.kind == "typed")
    q = replace(base, prompt=prompt, answer=answer, accepted=(answer,), explanation=explanation)
    for separator in (",", "\t"):
        text = to_anki_text(content.deck, [q], separator)
        rows = list(csv.reader(io.StringIO(text.split("#tags column:4\n", 1)[1]), delimiter=separator))
        assert len(rows) == 1 and rows[0][0] == q.id
        assert html.unescape(rows[0][1]) == prompt
        assert html.unescape(rows[0][2]).startswith(f"<b>{answer}</b>")
    page = to_html(exam_data(content.deck, make_forms([q], 1, 0), "T"))
    body = page.split("<body>", 1)[1]
    assert "<script" not in body
    assert html.escape(prompt) in body
