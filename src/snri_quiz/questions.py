"""The question engine: facts + templates -> Question values. Pure and seeded.

Wrong options come only from closed attributes (where the deck lists every true
value), and a candidate is dropped when the deck says - or a source suggests - that
it is also true for the subject. Question ids hash the template id and the fact ids
a question is built from, never its wording.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .facts import Deck, Fact, PartialDate, SourceKind, answer_span, normalize
from .kinds import Level, QuestionKind

if TYPE_CHECKING:
    from .templates import Template

T = TypeVar("T")

_RENDERER: list[Callable[[Any, dict[str, Any]], str]] = []


def render(template: Any, context: dict[str, Any]) -> str:
    """templates.render, imported on first use so that loading cached questions skips Jinja2
    (once: an import statement here cost 4% of a cold build)."""
    if not _RENDERER:
        from .templates import render as render_template

        _RENDERER.append(render_template)
    return _RENDERER[0](template, context)


BLANK = "_____"
TF_OPTIONS = ("True", "False")
LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Question:
    """One question, ready to ask, print or turn into an Anki note."""

    id: str
    """Stable id from the template id and fact ids (never the wording)."""
    template: str
    """Id of the template that made it."""
    kind: str
    """mcq, tf, cloze or typed."""
    topic: str
    """Topic name (a key of the deck's topics)."""
    subject: str
    """The drug (lowercase generic name) or the class subject it is about."""
    prompt: str
    """The question text (for cloze, with a blank)."""
    options: tuple[str, ...]
    """Options in display order; empty for typed and cloze."""
    answer: str
    """The correct answer as text."""
    answer_index: int | None
    """Index of the answer in options, or None for typed and cloze."""
    accepted: tuple[str, ...]
    """Answers accepted when typed (the answer and its aliases)."""
    explanation: str
    """Why the answer is right, with the fact's note and any caveat."""
    sources: tuple[str, ...]
    """Source ids backing the answer."""
    facts: tuple[str, ...]
    """Ids of the facts it is built from."""
    drugs: tuple[str, ...]
    """Drugs the question involves (for filters and tags)."""
    tags: tuple[str, ...]
    """Hierarchical tags without spaces."""
    cloze: str = ""
    """For cloze questions: the text with Anki's {{c1::...}} marker."""
    reversible: bool = False
    """True when the template defines a reverse card (an Anki basic-and-reverse note)."""
    reverse_prompt: str = ""
    """The reverse card's prompt, when the reverse direction has a single answer."""
    reverse_answer: str = ""
    """The reverse card's answer."""
    answer_type: str = ""
    """Typed and cloze: how the answer is graded (an AnswerType value), when the fact declares it."""
    key_terms: tuple[str, ...] = ()
    """Typed and cloze: essential words that suffice as an answer."""
    note: str = ""
    """The fact's note, as appended to `explanation` (single-fact questions)."""
    caveats: tuple[str, ...] = ()
    """The facts' caveats as appended to `explanation` ('Caution: ...' or 'Caution (drug): ...')."""
    level: str = Level.RECALL
    """What it asks of the learner (a kinds.Level value), from its template."""
    difficulty: int = 2
    """The template author's estimate, 1 (easiest) to 5."""
    rationales: tuple[str, ...] = ()
    """Multiple choice, true/false and vignettes: one sentence per option (parallel to `options`)
    saying why it is right or wrong, with its citation."""
    clues: tuple[str, ...] = ()
    """Vignettes: ids of the facts the stem's clues come from (the proof's premises)."""
    option_refs: tuple[str, ...] = ()
    """Vignettes: what each option is in the knowledge base (a drug's subject, an attribute name,
    or a value), parallel to `options`, so a proof can be re-derived from the facts."""

    @property
    def reason(self) -> str:
        """The template's explanation alone: `explanation` without the note and caveats
        (derived, so a large bank does not hold the text twice)."""
        tail = " ".join(p for p in (self.note, *self.caveats) if p)
        if tail and self.explanation.endswith(tail):
            return self.explanation[: len(self.explanation) - len(tail)].rstrip()
        return self.explanation


def lettered_answer(q: Question, separator: str = ". ") -> str:
    """The answer as shown to people: 'B. Cymbalta' for multiple choice, else the answer itself."""
    if QuestionKind(q.kind).lettered and q.answer_index is not None:
        return f"{LETTERS[q.answer_index]}{separator}{q.answer}"
    return q.answer


def question_id(template_id: str, *parts: str) -> str:
    digest = hashlib.sha256("|".join((template_id, *parts)).encode()).hexdigest()
    return f"q{digest[:15]}"


class Truth:
    """What the deck says is (or may be) true, indexed for the distractor checks."""

    def __init__(self, deck: Deck):
        self.deck = deck
        self.facts: dict[tuple[str, str], list[Fact]] = {}
        self.by_attribute: dict[str, list[Fact]] = {}
        self.order = {fact.id: index for index, fact in enumerate(deck.facts)}
        for fact in deck.facts:
            self.facts.setdefault((fact.subject, fact.attribute), []).append(fact)
            self.by_attribute.setdefault(fact.attribute, []).append(fact)
        self._not_false: dict[tuple[str, str], frozenset[str]] = {}
        self._holding: dict[tuple[str, str, tuple[str, ...]], frozenset[str]] = {}
        self._texts: dict[tuple[str, str], list[str]] = {}
        self._candidates: dict[tuple[str, str], list[str]] = {}
        self._shared: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._labels: dict[str, str] | None = None
        self._with_value: dict[str, dict[str, list[Fact]]] = {}
        self._whose: dict[tuple[str, str, tuple[str, ...]], str] = {}
        self._once: dict[Any, Any] = {}
        self.tag_sets: dict[tuple[str, ...], tuple[str, ...]] = {}
        """Tags by (template id, topic, drugs...), made once."""
        self.holders: dict[tuple[str, str], set[str]] = {}
        self.values: dict[str, list[str]] = {}
        first_seen: dict[str, dict[str, str]] = {}
        self.value_fact: dict[tuple[str, str], Fact] = {}
        for subject, attribute in self.facts:
            for form in self.not_false(subject, attribute):
                self.holders.setdefault((attribute, form), set()).add(subject)
        for fact in deck.facts:
            first_seen.setdefault(fact.attribute, {}).setdefault(normalize(display(fact)), display(fact))
            self.value_fact.setdefault((fact.attribute, normalize(display(fact))), fact)
        for attribute, seen in first_seen.items():
            self.values[attribute] = [seen[k] for k in sorted(seen)]

    def once(self, key: Any, make: Callable[[], T]) -> T:
        """What `make()` gives, made once for the deck: an index every template of a kind shares."""
        if key not in self._once:
            self._once[key] = make()
        return typing.cast(T, self._once[key])

    def of(self, subject: str, attribute: str) -> list[Fact]:
        return self.facts.get((subject, attribute), [])

    def label(self, subject: str) -> str:
        """The id of the drug's own label that its facts cite most (ties: the first cited), or ''.
        Made for every drug in one pass, the first time it is asked."""
        if self._labels is None:
            self._labels = drug_labels(self.deck)
        return self._labels.get(subject, "")

    def not_false(self, subject: str, attribute: str) -> frozenset[str]:
        """Normalized forms the deck does not let us call false for this subject."""
        key = (subject, attribute)
        if key not in self._not_false:
            forms: set[str] = set()
            for fact in self.of(subject, attribute):
                forms.add(normalize(display(fact)))
                forms.update(normalize(x) for x in (*fact.aliases, *fact.uncertain))
            self._not_false[key] = frozenset(forms)
        return self._not_false[key]

    def texts(self, subject: str, attribute: str) -> list[str]:
        """The subject's values as text, built once per (subject, attribute) and shared (the sandbox
        forbids templates to modify a list)."""
        key = (subject, attribute)
        found = self._texts.get(key)
        if found is None:
            found = self._texts[key] = [f.text for f in self.of(subject, attribute)]
        return found

    def candidates(self, subject: str, attribute: str) -> list[str]:
        """The attribute's values that may be called false for the subject, in `values` order, once
        per (subject, attribute): the full scan when sampling finds too few, never once per fact."""
        key = (subject, attribute)
        found = self._candidates.get(key)
        if found is None:
            mine = self.not_false(subject, attribute)
            found = self._candidates[key] = [v for v in self.values.get(attribute, []) if normalize(v) not in mine]
        return found

    def shared(self, items: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple object for equal tuples (tags, drugs, sources): a million questions repeat a few
        thousand of them, and each copy costs memory (and cache space) for nothing."""
        return self._shared.setdefault(items, items)

    def with_value(self, attribute: str, form: str) -> list[Fact]:
        """The attribute's facts whose value (as displayed) normalizes to `form`, in deck order: an
        index built once per attribute, so a question does not scan every drug's facts."""
        index = self._with_value.get(attribute)
        if index is None:
            index = self._with_value[attribute] = {}
            for fact in self.by_attribute.get(attribute, []):
                index.setdefault(normalize(display(fact)), []).append(fact)
        return index.get(form, [])

    def whose(self, fact: Fact) -> str:
        """` of a, b and c`: the drugs (lowercase, sorted) for which the fact's value may be true,
        the class excepted; empty when there are none. Once per value, not once per question."""
        key = (fact.attribute, display(fact), fact.aliases)
        found = self._whose.get(key)
        if found is None:
            holders = sorted(
                self.deck.subject_name(s).lower() for s in self.holding(fact) if s != self.deck.class_subject
            )
            found = self._whose[key] = f" of {named(holders)}" if holders else ""
        return found

    def holding(self, fact: Fact) -> frozenset[str]:
        """Subjects for which the fact's value (or an alias of it) may be true."""
        key = (fact.attribute, display(fact), fact.aliases)
        found = self._holding.get(key)
        if found is None:
            out: set[str] = set()
            for form in (display(fact), *fact.aliases):
                out |= self.holders.get((fact.attribute, normalize(form)), set())
            found = self._holding[key] = frozenset(out)
        return found


def drug_labels(deck: Deck) -> dict[str, str]:
    """Each drug's own label: the label source for that drug its facts cite most (ties: the first
    cited). The one thing a question reads from the facts of attributes it does not ask about."""
    counts: dict[str, dict[str, int]] = {}
    for fact in deck.facts:
        for ref in fact.sources:
            source = deck.source(ref)
            if source.kind == SourceKind.LABEL and source.drug == fact.subject:
                mine = counts.setdefault(fact.subject, {})
                mine[source.id] = mine.get(source.id, 0) + 1
    return {s: max(c, key=lambda k: c[k]) for s, c in counts.items()}


def seeded(question: str, salt: int = 0) -> random.Random:
    """A generator seeded from a question id (hex after the 'q') and a salt: cheap and stable."""
    return random.Random(int(question[1:], 16) * 1_000_003 + salt)


def pick(
    key: str,
    pool: Sequence[str],
    ok: Callable[[str], bool],
    n: int,
    candidates: Callable[[], Sequence[str]] | None = None,
) -> list[str] | None:
    """n distinct (after normalising) members of `pool` that satisfy `ok`, chosen by `key`.

    Deterministic for a given key and pool order. Large pools are sampled rather than
    filtered whole, so choosing stays cheap when a deck has thousands of drugs. When
    sampling finds too few, the whole pool is filtered, or `candidates()` when given: the
    pool's members that can pass `ok` (same order), computed once and shared by many calls.
    """
    rng = seeded(key)
    if len(pool) > 64:
        chosen: dict[str, str] = {}
        for _ in range(40 * n):
            candidate = pool[rng.randrange(len(pool))]
            if normalize(candidate) not in chosen and ok(candidate):
                chosen[normalize(candidate)] = candidate
                if len(chosen) == n:
                    return list(chosen.values())
    unique: dict[str, str] = {}
    for candidate in pool if candidates is None else candidates():
        if ok(candidate):
            unique.setdefault(normalize(candidate), candidate)
    if len(unique) < n:
        return None
    return rng.sample(list(unique.values()), n)


def display(fact: Fact) -> str:
    """The value as it appears in options: years for dates, else the text."""
    if isinstance(fact.value, PartialDate):
        return str(fact.value.year)
    return fact.text


def _facts_for(template: Template, truth: Truth) -> list[Fact]:
    facts = [f for a in template.attributes for f in truth.by_attribute.get(a, [])]
    if len(template.attributes) > 1:
        facts.sort(key=lambda f: truth.order[f.id])
    for field in template.requires:
        facts = [f for f in facts if getattr(f, field)]
    if template.ask == "statement":
        facts = [f for f in facts if f.answer]
    return facts


def fact_questions(template: Template, deck: Deck, truth: Truth, seed: int) -> Iterator[Question]:
    """The questions of one (non-vignette) template, in fact order."""
    facts = _facts_for(template, truth)
    maker = _Maker(template, deck, truth, seed)
    if template.ask in ("earliest", "latest"):
        yield from maker.extremes(facts)
    elif template.ask == "not_subject":
        yield from maker.not_subject(facts)
    elif template.per == "subject":
        by_subject: dict[str, list[Fact]] = {}
        for fact in facts:
            by_subject.setdefault(fact.subject, []).append(fact)
        for group in by_subject.values():
            yield from maker.group(group)
    else:
        for fact in facts:
            yield from maker.single(fact)


class _Maker:
    """Builds the questions of one template."""

    def __init__(self, template: Template, deck: Deck, truth: Truth, seed: int):
        self.t, self.deck, self.truth, self.seed = template, deck, truth, seed
        self.false_used: set[tuple[str, str, str]] = set()
        self.by_name = {d.name: d.subject for d in deck.drugs}
        self.names = list(self.by_name)

    # -- shared pieces ---------------------------------------------------------------
    def context(self, fact: Fact, **extra: Any) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "drug": self.deck.subject_name(fact.subject),
            "value": display(fact),
            "true_value": fact.text,
            "answer": display(fact),
            "label": self.deck.attributes[fact.attribute].label,
            "blank": BLANK,
            "statement": "",
            "fact_date": fact.value.human() if isinstance(fact.value, PartialDate) else fact.text,
            "fact_when": fact.value.when() if isinstance(fact.value, PartialDate) else "",
            "date": fact.date.human() if fact.date else "",
            "when": fact.date.when() if fact.date else "",
            "all_values": self.truth.texts(fact.subject, fact.attribute),
            "class_name": self.deck.class_name,
            "timeline": "",
            "fact": {
                "note": fact.note,
                "hint": fact.hint,
                "scope": fact.scope,
                "caveat": fact.caveat,
                "answer": fact.answer,
                "question": fact.question,
                "false_statement": fact.false_statement,
                "erroneous": fact.erroneous,
                "erroneous_source": (self.deck.sources[fact.erroneous_source].title if fact.erroneous_source else ""),
                "date": fact.date.human() if fact.date else "",
                "confidence": fact.confidence,
            },
        }
        ctx.update(extra)
        return ctx

    def explanation(
        self, facts: list[Fact], ctx: dict[str, Any], *, note: bool = True
    ) -> tuple[str, str, tuple[str, ...]]:
        """(explanation, note, caveats): the whole text, and the parts appended to the template's."""
        reason = render(self.t.explanation, ctx)
        kept_note = facts[0].note if note and len(facts) == 1 else ""
        several = len({f.subject for f in facts}) > 1
        caveats = []
        for f in facts:
            if f.caveat:  # with several drugs, say which one the caveat is about
                whom = f" ({self.deck.subject_name(f.subject).lower()})" if several else ""
                caveats.append(f"Caution{whom}: {f.caveat}")
        parts = [reason, kept_note, *caveats]
        return " ".join(p for p in parts if p), kept_note, tuple(caveats)

    def build(
        self,
        qid: str,
        facts: list[Fact],
        ctx: dict[str, Any],
        answer: str,
        *,
        wrong: list[str] | None = None,
        accepted: Iterable[str] = (),
        prompt: str | None = None,
        cloze: str = "",
        subject: str | None = None,
        drugs: Iterable[str] | None = None,
        note: bool = True,
        reasons: dict[str, str] | None = None,
        refs: Iterable[str] = (),
    ) -> Question:
        kind = self.t.kind
        options: tuple[str, ...] = ()
        index: int | None = None
        rationales: tuple[str, ...] = ()
        if kind == "mcq":
            assert wrong is not None
            shuffled = [answer, *wrong]
            seeded(qid, self.seed).shuffle(shuffled)
            options, index = tuple(shuffled), shuffled.index(answer)
            if reasons is not None:
                rationales = tuple(reasons[o] for o in options)
        elif kind == "tf":
            options, index = TF_OPTIONS, TF_OPTIONS.index(answer)
        subject = subject or facts[0].subject
        if drugs is None:
            drugs = [f.subject for f in facts if f.subject != self.deck.class_subject]
        shared = self.truth.shared
        drugs = shared(tuple(dict.fromkeys(drugs)))
        topic = self.t.topic or facts[0].topic
        tag_key = (self.t.id, topic, *drugs)
        tags = self.truth.tag_sets.get(tag_key)
        if tags is None:
            prefix = self.deck.tag_prefix
            tags = self.truth.tag_sets[tag_key] = (
                f"{prefix}::topic::{topic}",
                f"{prefix}::kind::{kind}",
                *(f"{prefix}::drug::{d}" for d in drugs),
                *(f"{prefix}::{tag}" for tag in self.t.tags),
            )
        sources = shared(tuple(dict.fromkeys([*(s for f in facts for s in f.sources), *refs])))
        typed = kind in ("typed", "cloze")
        if prompt is None:
            prompt = render(self.t.prompt, ctx)
        if not prompt:
            from .templates import template_problem

            raise template_problem(self.t.prompt, "renders to nothing")
        reverse_prompt = reverse_answer = ""
        if self.t.reverse is not None and len(facts) == 1:
            fact = facts[0]
            if len(self.truth.of(fact.subject, fact.attribute)) == 1:
                reverse_prompt, reverse_answer = render(self.t.reverse, ctx), display(fact)
        explanation, kept_note, caveats = self.explanation(facts, ctx, note=note)
        return Question(
            id=qid,
            template=self.t.id,
            kind=kind,
            topic=topic,
            subject=subject,
            prompt=prompt,
            options=options,
            answer=answer,
            answer_index=index,
            accepted=_unique(answer, *accepted) if typed else (),
            explanation=explanation,
            sources=sources,
            facts=tuple(f.id for f in facts),
            drugs=drugs,
            tags=tags,
            cloze=cloze,
            reversible=self.t.reverse is not None,
            reverse_prompt=reverse_prompt,
            reverse_answer=reverse_answer,
            answer_type=facts[0].answer_type if typed and len(facts) == 1 else "",
            key_terms=_unique(*facts[0].key_terms) if typed and len(facts) == 1 else (),
            note=kept_note,
            caveats=caveats,
            level=self.t.level,
            difficulty=self.t.difficulty,
            rationales=rationales,
        )

    # -- why each option is right or wrong ------------------------------------------------
    def cite(self, facts: Iterable[Fact], cited: list[str] | None = None) -> str:
        return cite(self.deck, facts, cited)

    def label(self, attribute: str) -> str:
        """The attribute's label without a parenthetical note for authors."""
        return self.deck.attributes[attribute].label.split(" (")[0]

    def value_reasons(self, fact: Fact, answer: str, wrong: list[str]) -> tuple[dict[str, str], list[str]]:
        """Options that are values: each wrong one is another subject's value (the deck says whose);
        with the references the reasons cite."""
        refs: list[str] = []
        label = self.label(fact.attribute)
        own = self.deck.subject_name(fact.subject)
        reasons = {answer: f"{capitalized(answer)}: correct; the {label} of {own.lower()}{self.cite([fact])}."}
        for option in wrong:
            other = self.truth.value_fact.get((fact.attribute, normalize(option)))
            if other is None:  # a drug's name offered as the value (pool: subjects)
                other = self.truth.value_fact.get((fact.attribute, normalize(self.by_name.get(option, option))))
            if other is None:
                reasons[option] = f"{capitalized(option)}: not the {label} of {own.lower()}{self.cite([fact])}."
                continue
            whose = self.truth.whose(other)
            reasons[option] = (
                f"{capitalized(option)}: the {label}{whose}, not of {own.lower()}{self.cite([other], refs)}."
            )
        return reasons, refs

    def subject_reasons(self, fact: Fact, answer: str, wrong: list[str]) -> tuple[dict[str, str], list[str]]:
        """Options that are drugs: the right one holds the value, each wrong one's own values differ;
        with the references cited beyond the facts."""
        label = self.label(fact.attribute)
        value = display(fact)
        reasons = {answer: f"{answer}: correct; {value} is its {label}{self.cite([fact])}."}
        refs: list[str] = []
        for name in wrong:
            subject = self.by_name[name]
            own = self.truth.of(subject, fact.attribute)
            values = joined([display(f) for f in own])
            if own:
                reasons[name] = f"{name}: not {value}; its {label}: {values}{self.cite(own, refs)}."
            else:
                reasons[name] = f"{name}: {value} is not its {label}{self.label_cite(subject, refs)}."
        return reasons, refs

    def label_cite(self, subject: str, refs: list[str]) -> str:
        """` [Cymbalta label]`: the drug's own label, which shows what the drug does not have (its
        closed lists); the reference is added to `refs`."""
        label = self.truth.label(subject)
        if not label:
            return ""
        refs.append(label)
        return f" [{self.deck.brief(label)}]"

    def statement_reasons(self, fact: Fact, answer: str, wrong: list[str]) -> dict[str, str]:
        """Authored distractors: each is wrong because the fact says otherwise."""
        cite = self.cite([fact])
        reasons = {answer: f"{capitalized(answer)}: correct. {fact.text}{cite}"}
        for option in wrong:
            reasons[option] = f"{capitalized(option)}: incorrect; the source gives {answer}{cite}."
        return reasons

    def wrong_values(
        self, fact: Fact, key: str, n: int, exclude: Callable[[str], bool] | None = None
    ) -> list[str] | None:
        """n values of the same attribute, held by other subjects and false for this one."""
        # not_false holds the fact's own value: the subject's facts are all in it
        subject, attribute = fact.subject, fact.attribute
        mine = self.truth.not_false(subject, attribute)

        def ok(value: str) -> bool:
            return normalize(value) not in mine and not (exclude and exclude(value))

        return pick(key, self.truth.values.get(attribute, []), ok, n, lambda: self.truth.candidates(subject, attribute))

    def wrong_subjects(self, fact: Fact, key: str, n: int = 3) -> list[str] | None:
        """n drugs for which the fact's value is false."""
        holding, own, by_name = self.truth.holding(fact), fact.subject, self.by_name
        return pick(key, self.names, lambda name: by_name[name] != own and by_name[name] not in holding, n)

    def cloze_pair(self, text: str, answer: str, ctx: dict[str, Any]) -> tuple[str, str]:
        """(prompt with a blank, Anki cloze text) from a template whose `blank` marks the gap."""
        marker = "\ue000BLANK\ue001"  # private-use characters: no control character in any render
        with_marker = render(self.t.prompt, {**ctx, "blank": marker, "statement": text.replace(BLANK, marker)})
        if marker not in with_marker:
            from .templates import template_problem

            raise template_problem(self.t.prompt, "a cloze prompt must show the blank ({{ blank }} or {{ statement }})")
        return with_marker.replace(marker, BLANK), with_marker.replace(marker, "{{c1::" + answer + "}}")

    # -- one question per fact ----------------------------------------------------------
    def single(self, fact: Fact) -> Iterator[Question]:
        t = self.t
        if t.ask == "statement":
            yield from self.statement(fact)
            return
        if t.ask == "subject":
            yield from self.about_subject(fact)
            return
        answer = str(fact.date.year) if t.ask == "date" and fact.date else display(fact)
        ctx = self.context(fact, answer=answer)
        qid = question_id(t.id, fact.id)
        if t.kind == "mcq":
            if t.pool == "subjects":
                subjects = {d.subject for d in self.deck.drugs}
                answer = self.deck.subject_name(fact.text) if fact.text in subjects else answer
                excluded = self.truth.not_false(fact.subject, fact.attribute)
                by_name = self.by_name
                wrong = pick(
                    qid,
                    self.names,
                    lambda name: (
                        by_name[name] != fact.subject
                        and normalize(by_name[name]) not in excluded
                        and normalize(name) != normalize(answer)
                    ),
                    3,
                )
            else:
                wrong = self.wrong_values(fact, qid, 3)
            if wrong is not None:
                ctx = {**ctx, "answer": answer}
                reasons, refs = self.value_reasons(fact, answer, wrong)
                yield self.build(qid, [fact], ctx, answer, wrong=wrong, reasons=reasons, refs=refs)
        elif t.kind == "tf":
            yield self.build(question_id(t.id, fact.id, "true"), [fact], ctx, "True")
            # one false variant per fact, never the same false statement twice
            used = self.false_used
            chosen = self.wrong_values(
                fact, qid, 1, exclude=lambda v: (fact.subject, fact.attribute, normalize(v)) in used
            )
            if chosen:
                text = chosen[0]
                used.add((fact.subject, fact.attribute, normalize(text)))
                other = self.truth.value_fact[(fact.attribute, normalize(text))]
                false_id = question_id(t.id, fact.id, "false", other.id)
                # a text fact's note is about its own value, not the false one: leave it out
                same_value = self.deck.attributes[fact.attribute].type != "text"
                yield self.build(false_id, [fact], {**ctx, "value": text}, "False", note=same_value)
        else:
            accepted = fact.aliases if t.ask == "value" else ()
            prompt, cloze = self.cloze_pair("", answer, ctx) if t.kind == "cloze" else (None, "")
            yield self.build(qid, [fact], ctx, answer, accepted=accepted, prompt=prompt, cloze=cloze)

    def about_subject(self, fact: Fact) -> Iterator[Question]:
        drug = self.deck.drug(fact.subject)
        answer = drug.name
        ctx = self.context(fact, answer=answer)
        qid = question_id(self.t.id, fact.id)
        if self.t.kind == "mcq":
            wrong = self.wrong_subjects(fact, qid)
            if wrong is not None:
                reasons, refs = self.subject_reasons(fact, answer, wrong)
                yield self.build(qid, [fact], ctx, answer, wrong=wrong, reasons=reasons, refs=refs)
        else:
            yield self.build(qid, [fact], ctx, answer, accepted=(drug.subject, *drug.aliases))

    def statement(self, fact: Fact) -> Iterator[Question]:
        t = self.t
        value = fact.text
        span = answer_span(value, fact.answer)
        assert span is not None, "the loader checks that the answer is in the value as whole words"
        statement = value[: span[0]] + BLANK + value[span[1] :]
        ctx = self.context(fact, answer=fact.answer, statement=statement, value=value)
        qid = question_id(t.id, fact.id)
        if t.kind == "mcq":
            wrong = pick(
                qid, sorted(fact.distractors, key=normalize), lambda d: normalize(d) != normalize(fact.answer), 3
            )
            if wrong is not None:
                reasons = self.statement_reasons(fact, fact.answer, wrong)
                yield self.build(qid, [fact], ctx, fact.answer, wrong=wrong, reasons=reasons)
        elif t.kind == "tf":
            # one statement per fact: its authored false statement when it has one (the true
            # statement is already what the multiple-choice and cloze questions ask), else the fact
            if fact.false_statement:
                false_ctx = {**ctx, "value": fact.false_statement}
                yield self.build(question_id(t.id, fact.id, "false"), [fact], false_ctx, "False")
            else:
                yield self.build(question_id(t.id, fact.id, "true"), [fact], ctx, "True")
        elif t.kind == "cloze":
            prompt, cloze = self.cloze_pair(statement, fact.answer, ctx)
            yield self.build(qid, [fact], ctx, fact.answer, accepted=fact.aliases, prompt=prompt, cloze=cloze)
        else:
            yield self.build(qid, [fact], ctx, fact.answer, accepted=fact.aliases)

    # -- one question per subject: any of its values is accepted -------------------------
    def group(self, facts: list[Fact]) -> Iterator[Question]:
        first = facts[0]
        ctx = self.context(first)
        accepted = [x for f in facts for x in (display(f), *f.aliases)]
        qid = question_id(self.t.id, *(f.id for f in facts))
        yield self.build(qid, facts, ctx, display(first), accepted=accepted)

    # -- across subjects -------------------------------------------------------------------
    def not_subject(self, facts: list[Fact]) -> Iterator[Question]:
        groups: dict[str, list[Fact]] = {}
        for fact in facts:
            groups.setdefault(normalize(display(fact)), []).append(fact)
        for group in groups.values():
            holders = {f.subject: f for f in group}
            possibly = self.truth.holding(group[0])
            confirmed = [d for d in self.deck.drugs if d.subject in holders]
            if len(confirmed) < 3:
                continue
            confirmed_names = [d.name for d in confirmed]
            chosen = {d.name: d.subject for d in confirmed}
            for drug in self.deck.drugs:
                if drug.subject in possibly or drug.subject in holders:
                    continue
                qid = question_id(self.t.id, normalize(display(group[0])), "not", drug.subject)
                wrong = pick(qid, confirmed_names, lambda _: True, 3)
                assert wrong is not None
                # the answer's own list of values (closed) backs the "NOT", the others' facts the rest
                used = [holders[chosen[w]] for w in wrong] + self.truth.of(drug.subject, group[0].attribute)
                own = [display(f) for f in self.truth.of(drug.subject, group[0].attribute)]
                ctx = self.context(group[0], drug=drug.name, answer=drug.name, own_values=own)
                label, value = self.label(group[0].attribute), display(group[0])
                mine = self.truth.of(drug.subject, group[0].attribute)
                refs: list[str] = []
                reasons = {
                    drug.name: f"{drug.name}: correct; {value} is not its {label}"
                    + (f" (its {label}: {joined(own)})" if own else "")
                    + (self.cite(mine) if mine else self.label_cite(drug.subject, refs))
                    + ".",
                    **{w: f"{w}: {value} is its {label}{self.cite([holders[chosen[w]]])}." for w in wrong},
                }
                yield self.build(
                    qid,
                    used,
                    ctx,
                    drug.name,
                    wrong=wrong,
                    subject=drug.subject,
                    drugs=[drug.subject, *(chosen[w] for w in wrong)],
                    reasons=reasons,
                    refs=refs,
                )

    def extremes(self, facts: list[Fact]) -> Iterator[Question]:
        by_subject: dict[str, list[Fact]] = {}
        for fact in facts:
            by_subject.setdefault(fact.subject, []).append(fact)
        single = sorted(
            (fs[0] for fs in by_subject.values() if len(fs) == 1 and isinstance(fs[0].value, PartialDate)),
            key=lambda f: f.subject,
        )
        earliest = self.t.ask == "earliest"

        def beats(a: Fact, b: Fact) -> bool:
            first, second = (a.value, b.value) if earliest else (b.value, a.value)
            assert isinstance(first, PartialDate) and isinstance(second, PartialDate)
            return first.surely_before(second)

        asked: set[str] = set()  # one question per winner: the others would ask the same thing again
        for combo in _groups_of_four(single):
            winners = [f for f in combo if all(beats(f, o) for o in combo if o is not f)]
            if len(winners) != 1 or winners[0].id in asked:
                continue
            winner = winners[0]
            asked.add(winner.id)
            qid = question_id(self.t.id, *(f.id for f in combo))
            timeline = "; ".join(f"{self.deck.subject_name(f.subject)} {display(f)}" for f in sorted(combo, key=_when))
            name = self.deck.subject_name(winner.subject)
            ctx = self.context(winner, answer=name, timeline=timeline)
            wrong = [self.deck.subject_name(f.subject) for f in combo if f is not winner]
            label = self.label(winner.attribute)
            which = "earliest" if earliest else "latest"
            reasons = {
                self.deck.subject_name(f.subject): f"{self.deck.subject_name(f.subject)}: "
                + ("correct, the " + which + "; " if f is winner else "")
                + f"{label} {f.text}{self.cite([f])}."
                for f in combo
            }
            yield self.build(qid, list(combo), ctx, name, wrong=wrong, subject=winner.subject, reasons=reasons)


def _when(fact: Fact) -> tuple[int, int, int]:
    value = fact.value
    assert isinstance(value, PartialDate)
    return (value.year, value.month or 0, value.day or 0)


def _groups_of_four(facts: list[Fact]) -> Iterator[tuple[Fact, ...]]:
    """Every set of four when there are few; a sliding window when there are many (bounded)."""
    if len(facts) <= 8:
        yield from itertools.combinations(facts, 4)
    elif len(facts) >= 4:
        for start in range(len(facts)):
            yield tuple(facts[(start + k) % len(facts)] for k in range(4))


def cite(deck: Deck, facts: Iterable[Fact], cited: list[str] | None = None) -> str:
    """` [Savella label, 1]`: the first primary source of the facts (else the first source);
    the reference is added to `cited` when given (so the card's sources list it too)."""
    refs = [r for f in facts for r in f.sources]
    if not refs:
        return ""
    first = next((r for r in refs if deck.source(r).primary), refs[0])
    if cited is not None:
        cited.append(first)
    return f" [{deck.brief(first)}]"


def capitalized(text: str) -> str:
    """The text with a capital first letter (for an option that starts a sentence)."""
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def joined(items: Sequence[str], conjunction: str = "and") -> str:
    """`a`, `a and b`, `a, b and c`."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {conjunction} " + items[-1] if items else ""


NAMED = 5
"""A rationale names at most this many drugs (every drug of the bundled deck); past it, the
first few and how many others, so a card's text does not grow with the size of the deck."""


def named(names: Sequence[str], limit: int = NAMED) -> str:
    """`a, b and c`; more than `limit` names read `a, b, c, d and 7 other drugs`."""
    if len(names) <= limit:
        return joined(names)
    return joined([*names[: limit - 1], f"{len(names) - limit + 1} other drugs"])


def _unique(*texts: str) -> tuple[str, ...]:
    """Texts without repeats that differ only in case, spacing or punctuation."""
    seen: dict[str, str] = {}
    for text in texts:
        seen.setdefault(normalize(text), text)
    return tuple(seen.values())


def unused_facts(deck: Deck, bank: Iterable[Question]) -> list[Fact]:
    used = {fid for q in bank for fid in q.facts}
    return [f for f in deck.facts if f.id not in used]


def source_usage(deck: Deck, bank: Iterable[Question]) -> list[dict[str, Any]]:
    """Per source, in registry order: what it is and how much of the deck rests on it.

    `facts` and `questions` count those citing it; `sole_facts` and `sole_questions` those
    for which it is the only primary source (so removing it would leave them unsupported).
    """
    from .facts import split_ref

    def primaries(refs: Iterable[str]) -> set[str]:
        return {split_ref(r)[0] for r in refs if deck.source(r).primary}

    usage = {sid: {"facts": 0, "sole_facts": 0, "questions": 0, "sole_questions": 0} for sid in deck.sources}
    for items, key in (((f.sources for f in deck.facts), "facts"), ((q.sources for q in bank), "questions")):
        for refs in items:
            cited = {split_ref(r)[0] for r in refs}
            sole = primaries(refs)
            for sid in cited:
                usage[sid][key] += 1
                if len(sole) == 1 and sid in sole:
                    usage[sid][f"sole_{key}"] += 1
    return [
        {
            "id": source.id,
            "kind": source.kind,
            "primary": source.primary,
            "title": source.title,
            "url": source.url,
            "application": source.application,
            "product": source.product,
            "revised": source.revised,
            **usage[source.id],
        }
        for source in deck.sources.values()
    ]
