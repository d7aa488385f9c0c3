"""Generating a deck's questions: every template over the facts, with one problem list.

The two makers are pure and seeded: `questions.fact_questions` (single-fact recall and
true/false) and `vignettes.vignette_questions` (patient cases with a proved answer). This
module runs them under the templates' time budget and gathers what `check` reports.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidContent, Problem
from .facts import Deck, Fact, fact_hash
from .kinds import QuestionKind
from .questions import Question, Truth, drug_labels, fact_questions
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
    made: tuple[Any, ...] = field(default=(), compare=False)
    """What the `then` given to `generate_with` made of each template's questions, in template
    order, None for a template whose questions came from the cache (never cached itself)."""
    parts: tuple[Part, ...] = field(default=(), compare=False)
    """The bank a template at a time, in template order (empty when it was not generated here
    or read from the cache)."""


@dataclass(frozen=True)
class Part:
    """One template's share of the bank."""

    key: str
    """A hash of everything its questions (and their notes) are made from (`part_keys`); empty
    when uncached."""
    count: int
    """How many questions it made."""
    template: str
    """The template's id."""
    cached: bool = False
    """Its questions came from the cache (else they were made now, and are to be cached)."""


@dataclass(frozen=True)
class Generated:
    """What `generate_with` made."""

    bank: tuple[Question, ...]
    made: list[Any]
    """What `then` made of each template's questions (None where they were `known`)."""
    parts: tuple[Part, ...]


def generate(deck: Deck, templates: Iterable[Template], seed: int = 0) -> tuple[Question, ...]:
    """Every question the templates make from the deck, in template then fact order.

    Raises InvalidContent with one problem per failing template (a render error, a budget
    exceeded, a duplicate question id), all templates tried.
    """
    return generate_with(deck, templates, seed).bank


def generate_with(
    deck: Deck,
    templates: Iterable[Template],
    seed: int = 0,
    then: Callable[[Deck, list[Question]], Any] | None = None,
    *,
    keys: Sequence[str] = (),
    known: Callable[[str, str], list[Question] | None] | None = None,
) -> Generated:
    """`generate`, and what `then(deck, questions)` makes of each template's questions, in
    template order, made in the process that made the questions (a build's notes: on two
    cores, the child makes the notes of its own questions and reads none of this process's).

    `keys`: each template's `part_keys`; `known(key, template id)` gives the questions that
    template made before from the same inputs (the cache), or None: only the others are made."""
    from . import parallel
    from .templates import render_budget

    templates = tuple(templates)
    earlier: list[list[Question] | None] = [None] * len(templates)
    if known is not None and keys:
        earlier = [known(key, template.id) for key, template in zip(keys, templates, strict=True)]
    todo = [i for i in range(len(templates)) if earlier[i] is None]
    if not todo:  # every template's part is known: no index of the facts is needed
        return _gathered(templates, keys, earlier, {i: _Made(qs or [], [], {}) for i, qs in enumerate(earlier)})
    truth = Truth(deck)

    def work(i: int, next_template: Callable[[], None]) -> _Made:
        made = _made(templates[i], deck, truth, seed, next_template)
        if then is None or made.problems:
            return made
        return dataclasses.replace(made, extra=then(deck, made.questions))

    made: dict[int, _Made] = {i: _Made(qs, [], {}) for i, qs in enumerate(earlier) if qs is not None}
    if parallel.worth_sharing(len(deck.facts)) and len(todo) > 1:  # the largest first: the cores finish together
        order = sorted(todo, key=lambda i: -_cost(templates[i], truth))
        made.update(zip(order, parallel.shared_map(work, order, around=render_budget), strict=True))
    else:
        with render_budget() as next_template:
            made.update((i, work(i, next_template)) for i in todo)
    return _gathered(templates, keys, earlier, made)


def _gathered(
    templates: Sequence[Template],
    keys: Sequence[str],
    earlier: Sequence[list[Question] | None],
    made: dict[int, _Made],
) -> Generated:
    """Every template's questions in template order (InvalidContent with every problem)."""
    out: list[Question] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    parts = []
    for i, template in enumerate(templates):
        mine = _checked(template, made[i], seen, problems)
        out += mine
        parts.append(Part(keys[i] if keys else "", len(mine), template.id, earlier[i] is not None))
    if problems:
        raise InvalidContent(problems)
    return Generated(tuple(out), [made[i].extra for i in range(len(templates))], tuple(parts))


def reads(template: Template, deck: Deck) -> tuple[str, ...]:
    """The attributes whose facts a template's questions (and their notes) are made from: those
    it asks about; for a vignette, also its clues' (and the attributes their rationales look
    in, `see`) and the condition's."""
    spec = template.vignette
    if spec is None:
        return tuple(dict.fromkeys(template.attributes))
    clues = [a for clue in (*spec.clues, *spec.extra) for a in (*clue.attributes, *clue.see)]
    condition = [spec.condition] if spec.condition else []
    return tuple(dict.fromkeys([*template.attributes, *clues, *condition]))


NAME_FIELDS = ("subject", "value", "aliases")
"""What a vignette reads of a brand fact it does not otherwise read: the names a stem must not
show (`vignettes._Names`)."""


def reads_names(template: Template, deck: Deck) -> tuple[str, ...]:
    """The brand attributes whose facts a vignette template reads only for their NAME_FIELDS."""
    if template.vignette is None:
        return ()
    return tuple(a for a in deck.brand_attributes if a not in reads(template, deck))


def part_keys(deck: Deck, templates: Sequence[Template], seed: int, inputs: str) -> list[str]:
    """A key for each template's questions and notes: a hash of everything they are made from.

    That is `inputs` (the caller's hash of snri-quiz's code and every template file), the seed,
    the deck but its facts (manifest, attribute table, sources, drugs), each drug's own label
    (`questions.drug_labels`, read from every fact's sources), the facts, in deck order, of
    the attributes the template reads (`reads`), and the names in the brand facts a vignette
    reads for them alone (`reads_names`). An edit of one fact then changes the keys of the
    templates that read it and no other (`tests/test_cache.py` checks that each template reads
    no other fact, and edits each attribute of a deck and compares the questions made from
    the cache with those made afresh)."""
    base = hashlib.sha256(
        "\x1f".join(
            (
                inputs,
                str(seed),
                repr(dataclasses.replace(deck, path=Path(), facts=())),
                repr(sorted(drug_labels(deck).items())),
            )
        ).encode()
    ).digest()
    hashes = {f.id: fact_hash(f) for f in deck.facts}
    by_attribute: dict[str, list[Fact]] = {}
    for fact in deck.facts:
        by_attribute.setdefault(fact.attribute, []).append(fact)
    order = {fact.id: i for i, fact in enumerate(deck.facts)}

    def in_order(attributes: Sequence[str]) -> list[Fact]:
        facts = [f for a in attributes for f in by_attribute.get(a, ())]
        if len(attributes) > 1:
            facts.sort(key=lambda f: order[f.id])
        return facts

    keys = []
    for template in templates:
        facts = "\x1e".join(f"{f.id}\x1d{hashes[f.id]}" for f in in_order(reads(template, deck)))
        names = "\x1e".join(repr([getattr(f, n) for n in NAME_FIELDS]) for f in in_order(reads_names(template, deck)))
        digest = hashlib.sha256(base)
        digest.update(f"\x1f{template.id}\x1f{facts}\x1f{names}".encode())
        keys.append(digest.hexdigest()[:40])
    return keys


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
