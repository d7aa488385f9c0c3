"""Clinical vignettes: patient cases built from clue facts, each with a proof that one option fits.

A vignette template (`vignettes:` in a template file) asks one of three things
(kinds.VignetteAsk), and the proof is of the same shape each time: the right option
satisfies every clue, and every other option contradicts at least one clue, both read
from closed attributes (where the deck lists every true value, so a value a subject lacks
is provably not its value):

- **drug**: the options are the deck's drugs. A clue is a value of a closed attribute the
  right drug must have (`holds: true`: an indication) or must not have (`holds: false`: a
  condition its label advises against). A combination of clue values becomes a question
  only when exactly one drug fits, every clue rules out a drug the others leave in, and at
  least three drugs contradict a clue.
- **value**: for each fact of a closed attribute with one value per drug (washout days, a
  dose cap), the options are that value and other `choices`; every other choice
  contradicts the fact.
- **effect**: the options are attributes listing an adverse effect's findings (class
  facts); a stem shows `clues_per_question` findings of one effect, asked only when no
  other listed effect has them all.

Combinations that make no question are counted by reason in `skipped`, which `check`
reports. Everything is pure and seeded: the question id hashes the template and clue fact
ids; the patient (age, sex, setting) and the option order follow the id and the seed.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .facts import Deck, Drug, Fact, normalize
from .kinds import QuestionKind, VignetteAsk
from .questions import NAMED, Question, Truth, capitalized, cite, display, joined, named, question_id, seeded

if TYPE_CHECKING:
    from .templates import Clue, Finding, Template, Vignette

_WORD = re.compile(r"\w+")
SKIP_NONE_FITS = "no option fits every clue"
SKIP_SEVERAL_FIT = "several options fit every clue"
SKIP_REDUNDANT = "an added clue rules out no option the others leave in"
SKIP_FEW = "fewer than 3 options contradict a clue"
SKIP_UNCERTAIN = "a source leaves an option's fit uncertain"
SKIP_NO_FINDING = "a clue value has no finding sentence"
SKIP_PATIENT = "the findings need patients of different sexes or ages"
SKIP_NO_DRUG = "no label names a drug for the story"
SKIP_LIMIT = "over the per-effect limit"
SKIP_MISSING = "leaves out a finding every stem about the effect shows"
SKIP_CONFIDENCE = "a clue rests on a fact of less than high confidence"
SKIP_NO_ANCHOR = "no finding specific to the effect"
SKIP_NOT_SPECIFIC = "a finding that other effects share (only specific signs and settings are shown)"


@dataclass(frozen=True)
class _Given:
    """One clue of a question: a clue kind with the attribute and value it uses."""

    clue: Clue | None
    """The template's clue (drug choice), or None (value and effect questions)."""
    attribute: str
    value: str
    holds: bool = True


def vignette_questions(
    template: Template, deck: Deck, truth: Truth, seed: int, skipped: dict[str, int]
) -> Iterator[Question]:
    """The vignettes of one template; combinations that make none are counted in `skipped`."""
    assert template.vignette is not None
    maker = _Maker(template, template.vignette, deck, truth, seed, skipped)
    if template.vignette.ask == VignetteAsk.DRUG:
        yield from maker.drug_choices()
    elif template.vignette.ask == VignetteAsk.VALUE:
        yield from maker.value_questions()
    else:
        yield from maker.effects()


class _Skip(Exception):
    """This combination makes no question, for the reason given."""


class _Names:
    """The drug names a vignette must not give away, and how to find them in a text."""

    def __init__(self, deck: Deck):
        self.named: dict[str, str] = {}
        """Every drug name, generic name, alias and brand (lowercase) -> the drug's subject."""
        for drug in deck.drugs:
            for name in (drug.name, drug.subject, *drug.aliases):
                self.named[name.lower()] = drug.subject
        for fact in deck.facts:
            if fact.attribute in deck.brand_attributes and fact.subject != deck.class_subject:
                for name in (display(fact), *fact.aliases):
                    self.named[name.lower()] = fact.subject
        self.ordered = sorted(self.named, key=len, reverse=True)
        # An alternation of thousands of names costs milliseconds a stem. When every name is ASCII
        # and starts with a word character, a name can match only where a word of the stem is the
        # name's first word: the names so found, in the same order, make the same matches.
        self.order = {name: index for index, name in enumerate(self.ordered)}
        self.by_first: dict[str, list[str]] | None = {}
        for name in self.ordered:
            first = _WORD.match(name)
            if first is None or not name.isascii():
                self.by_first = None
                break
            self.by_first.setdefault(first.group(), []).append(name)
        self.few_words: dict[tuple[str, ...], re.Pattern[str]] = {}

    @functools.cached_property
    def drug_words(self) -> re.Pattern[str]:
        """Every name, the longest first (compiled only when some name is not plain ASCII)."""
        return re.compile(r"\b(" + "|".join(re.escape(n) for n in self.ordered) + r")\b", re.I)


class _Maker:
    def __init__(
        self, template: Template, spec: Vignette, deck: Deck, truth: Truth, seed: int, skipped: dict[str, int]
    ):
        self.t, self.spec, self.deck, self.truth, self.seed, self.skipped = template, spec, deck, truth, seed, skipped
        self._exact: dict[str, dict[str, set[str]]] = {}
        names = truth.once(_Names, lambda: _Names(deck))  # the same for every template: made once
        self.named, self._order, self._by_first = names.named, names.order, names.by_first
        self._few_words, self._names = names.few_words, names

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    # -- what the deck says ------------------------------------------------------------
    def fit(self, subject: str, given: _Given) -> bool | None:
        """True when the subject satisfies the clue, False when it provably does not, None when a
        source leaves it open (an `uncertain` value)."""
        facts = self.truth.of(subject, given.attribute)
        value = normalize(given.value)
        has = any(value in (normalize(display(f)), *map(normalize, f.aliases)) for f in facts)
        if not has and value in self.truth.not_false(subject, given.attribute):
            return None
        return has if given.holds else not has

    def holding(self, subject: str, given: _Given) -> list[Fact]:
        value = normalize(given.value)
        return [
            f
            for f in self.truth.of(subject, given.attribute)
            if value in (normalize(display(f)), *map(normalize, f.aliases))
        ]

    def clue_values(self, clue: Clue) -> list[tuple[str, str]]:
        """(attribute, value) of every distinct value the clue's attributes hold, in a stable order."""
        excluded = {normalize(x) for x in clue.excluded}
        return [(a, v) for a in clue.attributes for v in self.truth.values.get(a, []) if normalize(v) not in excluded]

    # -- the patient ----------------------------------------------------------------------
    def patient(self, qid: str, findings: list[Finding], ages: tuple[int, int]) -> dict[str, Any]:
        sexes = {f.sex for f in findings if f.sex}
        low, high = ages
        for finding in findings:
            if finding.ages:
                low, high = max(low, finding.ages[0]), min(high, finding.ages[1])
        if len(sexes) > 1 or low > high:
            raise _Skip(SKIP_PATIENT)
        rng = seeded(qid, 7919 + self.seed)
        sex = sexes.pop() if sexes else rng.choice(("female", "male"))
        age = rng.randint(low, high)
        from .templates import pronouns, render

        ctx: dict[str, Any] = {**pronouns(sex), "age": age}
        if age < 18:
            ctx["person"] = "girl" if sex == "female" else "boy"
        setting = render(rng.choice(self.spec.settings), ctx) if self.spec.settings else ""
        article = "An" if age in (8, 11, 18) or 80 <= age <= 89 else "A"
        ctx["opening"] = f"{article} {age}-year-old {ctx['person']}" + (f" {setting}" if setting else "") + "."
        return ctx

    def finding(self, value: str) -> Finding:
        found = self.spec.findings.get(" ".join(value.split()))
        if found is None:
            raise _Skip(SKIP_NO_FINDING)
        return found

    def sentences(self, findings: list[Finding], ctx: dict[str, Any]) -> list[str]:
        """The findings' sentences (a finding that only sets the age has none)."""
        return [text for f in findings if (text := self.render(f.text, ctx))]

    def render(self, text: Any, ctx: dict[str, Any]) -> str:
        from .templates import render

        return render(text, ctx)

    def question(
        self,
        qid: str,
        *,
        story: list[str],
        ctx: dict[str, Any],
        options: list[tuple[str, str, str]],
        clues: list[Fact],
        cited: list[Fact],
        subject: str,
        drugs: Sequence[str],
        refs: Sequence[str] = (),
    ) -> Question:
        """The question from its sentences and its (text, ref, rationale) options, the right one first."""
        if any(f.confidence != "high" for f in clues):
            raise _Skip(SKIP_CONFIDENCE)
        answer = options[0][0]
        order = list(options)
        seeded(qid, self.seed).shuffle(order)
        prompt = " ".join([*story, self.render(self.t.prompt, ctx)])
        self.check_stem(prompt, answer, named=set(drugs) if self.spec.ask != VignetteAsk.DRUG else set())
        facts = list(dict.fromkeys([*clues, *cited]))
        prefix = self.deck.tag_prefix
        drugs = tuple(dict.fromkeys(drugs))
        return Question(
            id=qid,
            template=self.t.id,
            kind=QuestionKind.VIGNETTE,
            topic=self.t.topic,
            subject=subject,
            prompt=prompt,
            options=tuple(o[0] for o in order),
            answer=answer,
            answer_index=[o[0] for o in order].index(answer),
            accepted=(),
            explanation=self.render(self.t.explanation, ctx),
            sources=self.truth.shared(
                tuple(
                    dict.fromkeys(
                        [*(s for f in clues for s in f.sources), *refs, *(s for f in facts for s in f.sources)]
                    )
                )
            ),
            facts=tuple(f.id for f in facts),
            drugs=self.truth.shared(drugs),
            tags=(
                f"{prefix}::topic::{self.t.topic}",
                f"{prefix}::kind::{QuestionKind.VIGNETTE}",
                *(f"{prefix}::drug::{d}" for d in drugs),
                *(f"{prefix}::{tag}" for tag in self.t.tags),
            ),
            level=self.t.level,
            difficulty=self.t.difficulty,
            rationales=tuple(o[2] for o in order),
            clues=tuple(f.id for f in clues),
            option_refs=tuple(o[1] for o in order),
        )

    def check_stem(self, prompt: str, answer: str, named: set[str]) -> None:
        """A stem never names the answer, and a drug-choice stem names no drug or brand at all."""
        from .templates import template_problem

        for found in self.names_in(prompt):
            if self.named[found.lower()] not in named:
                raise template_problem(self.t.prompt, f"the stem names '{found}', which may give the answer away")
        for form in {answer, answer.split(" (")[0]}:
            if self.spec.ask != VignetteAsk.DRUG and re.search(rf"\b{re.escape(form)}\b", prompt, re.I):
                raise template_problem(self.t.prompt, f"the stem names the answer '{form}'")

    def names_in(self, prompt: str) -> list[str]:
        """`drug_words.findall(prompt)`, with only the names whose first word the stem has."""
        by_first = self._by_first
        if by_first is None or not prompt.isascii():
            return self._names.drug_words.findall(prompt)
        words = by_first.keys() & set(_WORD.findall(prompt.lower()))
        if not words:
            return []
        names = tuple(sorted((n for w in words for n in by_first[w]), key=self._order.__getitem__))
        pattern = self._few_words.get(names)
        if pattern is None:
            pattern = self._few_words[names] = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b", re.I)
        return pattern.findall(prompt)

    # -- drug choice -------------------------------------------------------------------------
    def drug_choices(self) -> Iterator[Question]:
        spec = self.spec
        base = [[_Given(c, a, v, c.holds) for a, v in self.clue_values(c)] for c in spec.clues]
        for combo in itertools.product(*base):
            extras: list[_Given | None] = [None] if spec.alone else []
            for clue in spec.extra:
                if clue.same_value:
                    extras += [_Given(clue, a, combo[0].value, clue.holds) for a in clue.attributes]
                else:
                    extras += [_Given(clue, a, v, clue.holds) for a, v in self.clue_values(clue)]
            for extra in extras:
                givens = [*combo, extra] if extra is not None else list(combo)
                try:
                    yield self.drug_choice(givens)
                except _Skip as skip:
                    self.skip(str(skip))

    def exact(self, attribute: str, value: str) -> set[str]:
        """Subjects that have the value (or an alias of it) for the attribute."""
        index = self._exact.get(attribute)
        if index is None:
            index = self._exact[attribute] = {}
            for fact in self.truth.by_attribute.get(attribute, []):
                for form in (display(fact), *fact.aliases):
                    index.setdefault(normalize(form), set()).add(fact.subject)
        return index.get(normalize(value), set())

    def drug_choice(self, givens: list[_Given]) -> Question:
        right = {d.subject for d in self.deck.drugs}
        for g in givens:  # set algebra first: most combinations fail here, at no cost per drug
            if g.holds:
                right &= self.exact(g.attribute, g.value)
            else:
                right -= self.truth.holders.get((g.attribute, normalize(g.value)), set())
        if len(right) != 1:
            raise _Skip(SKIP_NONE_FITS if not right else SKIP_SEVERAL_FIT)
        drugs = self.deck.drugs
        fits = {d.subject: [self.fit(d.subject, g) for g in givens] for d in drugs}
        key = self.deck.drug(right.pop())
        if not all(x is True for x in fits[key.subject]):
            raise _Skip(SKIP_UNCERTAIN)
        wrong = [d for d in drugs if d is not key and False in fits[d.subject]]
        if any(None in fits[d.subject] and False not in fits[d.subject] for d in drugs if d is not key):
            raise _Skip(SKIP_UNCERTAIN)
        for i in range(len(self.spec.clues), len(givens)):  # an added clue must rule out a drug of its own
            if not any(fits[d.subject][i] is False and fits[d.subject].count(False) == 1 for d in wrong):
                raise _Skip(SKIP_REDUNDANT)
        if len(wrong) < 3:
            raise _Skip(SKIP_FEW)
        # clue facts: what the right drug has, and what the drugs it must differ from have
        clue_facts: list[Fact] = []
        for given in givens:
            holders = [key] if given.holds else wrong
            clue_facts += [f for d in holders for f in self.holding(d.subject, given)]
        qid = question_id(self.t.id, *(f.id for f in clue_facts))
        if len(wrong) > self.spec.options - 1:
            wrong = sorted(seeded(qid).sample(wrong, self.spec.options - 1), key=lambda d: d.subject)
        findings = [self.finding(g.value) for g in givens if not (g.clue and g.clue.ages)]
        ages = next((g.clue.ages for g in givens if g.clue and g.clue.ages), None) or self.spec.ages
        ctx = self.patient(qid, findings, ages)
        story = [ctx["opening"], *self.sentences(findings, ctx)]
        refs: list[str] = []
        options = [(key.name, key.subject, self.key_reason(key, givens, refs))]
        for drug in wrong:
            options.append((drug.name, drug.subject, self.wrong_reason(drug, givens, fits[drug.subject], refs)))
        reasons = [self.clause(key, g, True) for g in givens]
        reasons = [c for i, c in enumerate(reasons) if not any(o.startswith(c) for o in reasons[i + 1 :])]
        # what the label does instead of advising against the drug (the dose it gives), in full
        instead = [
            f.text
            for g in givens
            if not g.holds and g.clue and g.clue.see
            for f in self.nearest(key, g.clue.see, g.value)
        ]
        ctx = {**ctx, "answer": key.name, "drug": key.name, "reasons": joined(reasons), "value": givens[0].value}
        ctx["instead"] = " ".join(instead)
        return self.question(
            qid,
            story=story,
            ctx=ctx,
            options=options,
            clues=clue_facts,
            cited=[],
            refs=refs,
            subject=key.subject,
            drugs=[key.subject, *(d.subject for d in wrong)],
        )

    def clause(self, drug: Drug, given: _Given, satisfied: bool) -> str:
        """The clue's words for a drug that has (`has`) or lacks (`lacks`) its value."""
        assert given.clue is not None
        has = satisfied if given.holds else not satisfied
        text = self.render(given.clue.has if has else given.clue.lacks, {"value": given.value, "drug": drug.name})
        scope = next((f.scope for f in self.holding(drug.subject, given) if f.scope), "") if has else ""
        return f"{text}, for {scope} only" if scope else text

    def evidence(self, drug: Drug, given: _Given, refs: list[str]) -> str:
        """The citation showing the drug has, or lacks, the clue's value: its own facts of the
        attribute (the closed list), else its label at the clue's `section`; what it cites is
        added to `refs`."""
        facts = self.holding(drug.subject, given) or self.truth.of(drug.subject, given.attribute)[:1]
        if not facts and given.clue and given.clue.see:
            facts = self.nearest(drug, given.clue.see, given.value)
        if facts:
            refs += [r for f in facts for r in f.sources]
            return cite(self.deck, facts)
        label = self.truth.label(drug.subject)
        if label and given.clue and given.clue.section:
            ref = f"{label}#{given.clue.section}"
            refs.append(ref)
            return f" [{self.deck.brief(ref)}]"
        return ""

    def nearest(self, drug: Drug, attributes: Sequence[str], value: str) -> list[Fact]:
        """The drug's fact of these attributes that shares most words with the value (none: [])."""
        words = {w for w in re.findall(r"[a-z]+", value.lower()) if len(w) > 3}
        found = [f for a in attributes for f in self.truth.of(drug.subject, a)]
        scored = [(len(words & set(re.findall(r"[a-z]+", f.text.lower()))), -i, f) for i, f in enumerate(found)]
        best = max(scored, key=lambda item: item[:2], default=None)
        return [best[2]] if best and best[0] else []

    def key_reason(self, key: Drug, givens: list[_Given], refs: list[str]) -> str:
        clauses = [self.clause(key, g, True) for g in givens]
        clauses = [c for i, c in enumerate(clauses) if not any(o.startswith(c) for o in clauses[i + 1 :])]
        citation = self.evidence(key, givens[0], refs)
        for given in givens[1:]:
            self.evidence(key, given, refs)
        return f"{key.name}: correct; {joined(clauses)}{citation}."

    def wrong_reason(self, drug: Drug, givens: list[_Given], fits: list[bool | None], refs: list[str]) -> str:
        given = givens[fits.index(False)]
        return f"{drug.name}: {self.clause(drug, given, False)}{self.evidence(drug, given, refs)}."

    # -- a value the label gives -----------------------------------------------------------------
    def value_questions(self) -> Iterator[Question]:
        for attribute in self.t.attributes:
            for fact in self.truth.by_attribute.get(attribute, []):
                if fact.subject == self.deck.class_subject:
                    continue
                try:
                    yield self.value_question(fact)
                except _Skip as skip:
                    self.skip(str(skip))

    def shown(self, value: str) -> str:
        return f"{value} {self.spec.unit}" if self.spec.unit else value

    def value_question(self, fact: Fact) -> Question:
        if len(self.truth.of(fact.subject, fact.attribute)) != 1:
            raise _Skip(SKIP_SEVERAL_FIT)
        drug = self.deck.drug(fact.subject)
        value = display(fact)
        mine = self.truth.not_false(fact.subject, fact.attribute)
        choices = [c for c in self.spec.choices if normalize(c) not in mine]
        qid = question_id(self.t.id, fact.id)
        if len(choices) < 3:
            raise _Skip(SKIP_FEW)
        rng = seeded(qid)
        chosen = sorted(rng.sample(choices, min(len(choices), self.spec.options - 1)), key=self.spec.choices.index)
        condition = self.condition(drug, rng)
        ctx = self.patient(qid, [], self.spec.ages)
        ctx.update(drug=drug.name, condition=display(condition) if condition else "", value=self.shown(value))
        assert self.spec.stem is not None
        story = [ctx["opening"], self.render(self.spec.stem, ctx)]
        cited: list[Fact] = []
        options = [
            (
                self.shown(value),
                value,
                f"{self.shown(value)}: correct; the label's value for {drug.name.lower()}{cite(self.deck, [fact])}.",
            )
        ]
        for choice in chosen:
            others = [f for f in self.truth.with_value(fact.attribute, normalize(choice)) if f.subject != fact.subject]
            shown = others if len(others) <= NAMED else others[: NAMED - 1]  # the drugs named are cited
            cited += shown
            if others:
                whose = named([self.deck.subject_name(f.subject).lower() for f in others])
                reason = f"the label's value for {whose}, not for {drug.name.lower()}{cite(self.deck, shown)}"
            else:
                reason = f"the label gives {self.shown(value)} for {drug.name.lower()}{cite(self.deck, [fact])}"
            options.append((self.shown(choice), choice, f"{self.shown(choice)}: {reason}."))
        ctx["answer"] = self.shown(value)
        return self.question(
            qid,
            story=story,
            ctx=ctx,
            options=options,
            clues=[fact],
            cited=cited,  # the story's condition is context: not cited
            subject=drug.subject,
            drugs=[drug.subject],
        )

    def condition(self, drug: Drug, rng: Any) -> Fact | None:
        """One of the drug's approved indications, for the story (context, not a clue)."""
        found = self.truth.of(drug.subject, self.spec.condition) if self.spec.condition else []
        return rng.choice(found) if found else None

    # -- which adverse effect ----------------------------------------------------------------------
    def effects(self) -> Iterator[Question]:
        attributes = self.t.attributes
        subject = self.deck.class_subject
        for key in attributes:
            facts = self.truth.of(subject, key)
            combos = sorted(
                itertools.combinations(facts, self.spec.size),
                key=lambda combo: question_id(self.t.id, *(f.id for f in combo)),
            )
            made: list[Question] = []
            shown: set[str] = set()
            later: list[Question] = []
            for combo in combos:  # prefer stems that show a finding no earlier stem showed
                try:
                    question = self.effect(key, list(combo))
                except _Skip as skip:
                    self.skip(str(skip))
                    continue
                if len(made) < self.spec.per_effect and not shown.issuperset(f.id for f in combo):
                    made.append(question)
                    shown.update(f.id for f in combo)
                else:
                    later.append(question)
            fill = self.spec.per_effect - len(made)
            made += later[: max(fill, 0)]
            for _ in later[max(fill, 0) :]:
                self.skip(SKIP_LIMIT)
            yield from made

    def effect(self, key: str, combo: list[Fact]) -> Question:
        subject = self.deck.class_subject
        givens = [_Given(None, key, display(f)) for f in combo]
        findings = [self.finding(g.value) for g in givens]
        if not any(f.anchor for f in findings):
            raise _Skip(SKIP_NO_ANCHOR)
        if any(not (f.anchor or f.risk) or not f.effects for f in findings):
            raise _Skip(SKIP_NOT_SPECIFIC)
        for fact in self.truth.of(subject, key):
            found = self.spec.findings.get(display(fact))
            if found is not None and found.required and fact not in combo:
                raise _Skip(SKIP_MISSING)
        others = [a for a in self.t.attributes if a != key]
        fits = {a: [self.fit(subject, _Given(None, a, g.value)) for g in givens] for a in others}
        if any(all(x is True for x in v) for v in fits.values()):
            raise _Skip(SKIP_SEVERAL_FIT)
        # a wrong option explains none of the findings, so "the case shows none of its signs" is true
        clear = [a for a in others if all(x is False for x in fits[a])]
        qid = question_id(self.t.id, *(f.id for f in combo))
        rng = seeded(qid)
        if len(clear) < 3:
            raise _Skip(SKIP_FEW)
        wrong = sorted(rng.sample(clear, min(len(clear), self.spec.options - 1)), key=others.index)
        labelled = sorted(
            {self.deck.source(r).drug for f in combo for r in f.sources if self.deck.source(r).drug}
            & {d.subject for d in self.deck.drugs}
        )
        if not labelled:
            raise _Skip(SKIP_NO_DRUG)
        drug = self.deck.drug(rng.choice(labelled))
        condition = self.condition(drug, rng)
        ctx = self.patient(qid, findings, self.spec.ages)
        ctx.update(drug=drug.name, condition=display(condition) if condition else "")
        story = [ctx["opening"]]
        if self.spec.stem is not None:
            story.append(self.render(self.spec.stem, ctx))
        order = sorted(range(len(findings)), key=lambda i: not findings[i].risk)  # the setting, then the signs
        story += self.sentences([findings[i] for i in order], ctx)
        signs = [g.value for g, f in zip(givens, findings, strict=True) if f.anchor]
        risks = [g.value for g, f in zip(givens, findings, strict=True) if not f.anchor]
        name = self.effect_name(key)
        setting = f" in the setting of {joined(risks)}" if risks else ""
        options = [(name, key, f"{name}: correct; it explains {joined(signs)}{setting}{cite(self.deck, combo)}.")]
        cited: list[Fact] = []
        for other in wrong:
            theirs = self.truth.of(subject, other)
            cited += theirs[:1]
            examples = [display(f) for f in theirs if self.is_anchor(display(f))][:2]
            such = f" (such as {joined(examples, 'or')})" if examples else ""
            other_name = self.effect_name(other)
            options.append(
                (other_name, other, f"{other_name}: the case shows none of its signs{such}{cite(self.deck, theirs)}.")
            )
        ctx.update(answer=name, findings=joined(signs) + setting)
        return self.question(
            qid,
            story=story,
            ctx=ctx,
            options=options,
            clues=combo,
            cited=cited,  # the story's condition is context: not cited
            subject=drug.subject,
            drugs=[drug.subject],
        )

    def is_anchor(self, value: str) -> bool:
        found = self.spec.findings.get(value)
        return found is not None and found.anchor

    def effect_name(self, attribute: str) -> str:
        return capitalized(self.deck.attributes[attribute].label)
