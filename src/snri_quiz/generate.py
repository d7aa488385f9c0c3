"""Generating a deck's questions: every template over the facts, with one problem list.

The two makers are pure and seeded: `questions.fact_questions` (single-fact recall and
true/false) and `vignettes.vignette_questions` (patient cases with a proved answer). This
module runs them under the templates' time budget and gathers what `check` reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InvalidContent, Problem
from .facts import Deck
from .kinds import QuestionKind
from .questions import Question, Truth, fact_questions
from .vignettes import vignette_questions

if TYPE_CHECKING:
    from .templates import Template


@dataclass(frozen=True)
class Content:
    """A validated deck and every question its templates make."""

    deck: Deck
    """The knowledge base."""
    bank: tuple[Question, ...]
    """Every question, in template then fact order."""
    template_count: int
    """How many templates made them."""
    key: str = ""
    """The hash of every input it was made from (`cache.fingerprint`); empty when uncached."""
    made: tuple[Any, ...] = ()
    """What the `then` given to `generate_with` made of each template's questions, in template
    order (a fresh load only: never cached)."""


def generate(deck: Deck, templates: Iterable[Template], seed: int = 0) -> tuple[Question, ...]:
    """Every question the templates make from the deck, in template then fact order.

    Raises InvalidContent with one problem per failing template (a render error, a budget
    exceeded, a duplicate question id), all templates tried.
    """
    return generate_with(deck, templates, seed)[0]


def generate_with(
    deck: Deck,
    templates: Iterable[Template],
    seed: int = 0,
    then: Callable[[Deck, list[Question]], Any] | None = None,
) -> tuple[tuple[Question, ...], list[Any]]:
    """`generate`, and what `then(deck, questions)` makes of each template's questions, in
    template order, made in the process that made the questions (a build's notes: on two
    cores, the child makes the notes of its own questions and reads none of this process's)."""
    from . import parallel
    from .templates import render_budget

    templates = tuple(templates)
    truth = Truth(deck)

    def work(i: int, next_template: Callable[[], None]) -> _Made:
        made = _made(templates[i], deck, truth, seed, next_template)
        if then is None or made.problems:
            return made
        return dataclasses.replace(made, extra=then(deck, made.questions))

    if parallel.worth_sharing(len(deck.facts)):  # the largest templates first: the two cores finish together
        order = sorted(range(len(templates)), key=lambda i: -_cost(templates[i], truth))
        made: dict[int, _Made] = dict(zip(order, parallel.shared_map(work, order, around=render_budget), strict=True))
    else:
        with render_budget() as next_template:
            made = {i: work(i, next_template) for i in range(len(templates))}
    out: list[Question] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, template in enumerate(templates):
        out += _checked(template, made[i], seen, problems)
    if problems:
        raise InvalidContent(problems)
    return tuple(out), [made[i].extra for i in range(len(templates))] if then is not None else []


@dataclass(frozen=True)
class Survey:
    """What `check` reports about the questions, gathered without keeping them."""

    count: int
    """How many questions the templates make."""
    kinds: dict[str, int]
    """Questions per kind."""
    used: frozenset[str]
    """Ids of the facts some question is built from."""
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    """Vignette templates: combinations of clues that made no question, by template id and reason."""
    premises: frozenset[str] = frozenset()
    """Attributes vignette templates reason over: their facts prove options wrong even when no
    question shows them."""


def survey(deck: Deck, templates: Iterable[Template], seed: int = 0) -> Survey:
    """Validate by generating every question, keeping only counts: memory stays that of the deck."""
    kinds: dict[str, int] = dict.fromkeys(QuestionKind, 0)
    used: set[str] = set()
    skipped: dict[str, dict[str, int]] = {}

    def take(question: Question) -> None:
        kinds[question.kind] += 1
        used.update(question.facts)

    templates = tuple(templates)
    _each_question(deck, templates, seed, take, skipped)
    premises = frozenset(a for t in templates if t.vignette is not None for a in t.attributes)
    return Survey(sum(kinds.values()), {str(k): n for k, n in kinds.items() if n}, frozenset(used), skipped, premises)


def _each_question(
    deck: Deck,
    templates: Iterable[Template],
    seed: int,
    emit: Callable[[Question], Any],
    skipped: dict[str, dict[str, int]],
) -> None:
    """Every question, a template at a time (only one template's questions held at once)."""
    from .templates import render_budget

    truth = Truth(deck)
    problems: list[Problem] = []
    seen: set[str] = set()
    with render_budget() as next_template:
        for template in templates:
            made = _made(template, deck, truth, seed, next_template)
            skipped[template.id] = made.skipped
            for question in _checked(template, made, seen, problems):
                emit(question)
    if problems:
        raise InvalidContent(problems)


@dataclass(frozen=True)
class _Made:
    """What one template made: its questions, or the problems that stopped it."""

    questions: list[Question]
    problems: list[Problem]
    skipped: dict[str, int]
    extra: Any = None
    """What `generate_with`'s `then` made of the questions."""


def _made(template: Template, deck: Deck, truth: Truth, seed: int, next_template: Callable[[], None]) -> _Made:
    from .templates import TemplateLimit, describe_error

    skipped: dict[str, int] = {}
    next_template()
    try:
        if template.vignette is not None:
            questions = list(vignette_questions(template, deck, truth, seed, skipped))
        else:
            questions = list(fact_questions(template, deck, truth, seed))
    except InvalidContent as exc:
        return _Made([], list(exc.problems), skipped)
    except TemplateLimit as exc:  # the time budget ran out between two renders
        return _Made(
            [], [Problem(template.path, template.line, f"template {template.id}: {describe_error(exc)}")], skipped
        )
    return _Made(questions, [], skipped)


def _checked(template: Template, made: _Made, seen: set[str], problems: list[Problem]) -> list[Question]:
    """The template's questions up to the first whose id another already has (a problem)."""
    problems += made.problems
    for n, question in enumerate(made.questions):
        if question.id in seen:
            problems.append(
                Problem(
                    template.path, template.line, f"template {template.id}: makes two questions with id {question.id}"
                )
            )
            return made.questions[:n]
        seen.add(question.id)
    return made.questions


def _cost(template: Template, truth: Truth) -> int:
    """A rough measure of a template's work, to start the largest first: the facts it reads (a
    'which drug is NOT' template asks about every drug for every value)."""
    facts = sum(len(truth.by_attribute.get(a, ())) for a in template.attributes)
    return facts * (len(truth.deck.drugs) if template.ask == "not_subject" else 1)
