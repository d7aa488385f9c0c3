"""Generating a deck's questions: every template over the facts, with one problem list.

The two makers are pure and seeded: `questions.fact_questions` (single-fact recall and
true/false) and `vignettes.vignette_questions` (patient cases with a proved answer). This
module runs them under the templates' time budget and gathers what `check` reports.
"""

from __future__ import annotations

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


def generate(deck: Deck, templates: Iterable[Template], seed: int = 0) -> tuple[Question, ...]:
    """Every question the templates make from the deck, in template then fact order.

    Raises InvalidContent with one problem per failing template (a render error, a budget
    exceeded, a duplicate question id), all templates tried.
    """
    out: list[Question] = []
    _each_question(deck, templates, seed, out.append, {})
    return tuple(out)


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
    from .templates import TemplateLimit, describe_error, render_budget

    truth = Truth(deck)
    problems: list[Problem] = []
    seen: set[str] = set()
    with render_budget() as next_template:
        for template in templates:
            next_template()
            try:
                if template.vignette is not None:
                    made = vignette_questions(template, deck, truth, seed, skipped.setdefault(template.id, {}))
                else:
                    made = fact_questions(template, deck, truth, seed)
                for question in made:
                    if question.id in seen:
                        raise InvalidContent(
                            [
                                Problem(
                                    template.path,
                                    template.line,
                                    f"template {template.id}: makes two questions with id {question.id}",
                                )
                            ]
                        )
                    seen.add(question.id)
                    emit(question)
            except InvalidContent as exc:
                problems.extend(exc.problems)
            except TemplateLimit as exc:  # the time budget ran out between two renders
                problems.append(Problem(template.path, template.line, f"template {template.id}: {describe_error(exc)}"))
    if problems:
        raise InvalidContent(problems)
