"""Content rules on the generated bank: what the clinical review of release 1.0.0 flagged,
checked as rules (never as today's values): no internal jargon in learner-facing text,
no echoed answers, whole-word blanks, date grammar, no fact asked over and over, a capped
share of list-membership questions that name their list and its cut-off, and every
product- or list-specific fact naming its scope."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from snri_quiz.facts import PartialDate, normalize
from snri_quiz.generate import Content
from snri_quiz.kinds import QuestionKind
from snri_quiz.questions import BLANK, Question

_MONTH = "(January|February|March|April|May|June|July|August|September|October|November|December)"
LIST_ATTRIBUTES = {"common_adverse_reactions", "adverse_effect_lists"}


def learner_text(content: Content, q: Question) -> list[str]:
    """Everything a learner can read for this question: card faces, keys and citations."""
    return [
        q.prompt,
        q.answer,
        q.explanation,
        q.cloze,
        q.reverse_prompt,
        q.reverse_answer,
        *q.options,
        *q.accepted,
        *(content.deck.display(ref) for ref in q.sources),
    ]


def test_no_internal_jargon_reaches_learners(content: Content) -> None:
    jargon = [
        re.compile(r"\bseed\b", re.IGNORECASE),
        re.compile(r"pending (human )?review", re.IGNORECASE),
        re.compile(r"\b\d{3}_[0-9a-f]{16}\b"),  # seed file names
        re.compile(r"\.(txt|ya?ml|json)\b"),
        re.compile(r"\b[0-9a-f]{16,}\b"),  # hashes
        re.compile(r"context source", re.IGNORECASE),  # the registry's word for non-primary sources
        re.compile(r"gets this wrong", re.IGNORECASE),  # corrections never point at a source
    ]
    ids = [re.compile(rf"(?<![\w-]){re.escape(sid)}(?![\w-])") for sid in content.deck.sources if "-" in sid]
    for q in content.bank:
        for text in learner_text(content, q):
            for pattern in jargon + ids:
                assert not pattern.search(text), (q.id, pattern.pattern, text)


def test_answer_is_not_echoed_in_the_prompt(content: Content) -> None:
    for q in content.bank:
        if q.kind in ("tf",):
            continue
        answer = normalize(q.answer)
        if len(answer) <= 3:
            continue
        prompt = normalize(q.prompt.replace(BLANK, " "))
        assert not re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", prompt), (q.id, q.prompt, q.answer)


def test_no_accepted_answer_is_printed_in_its_prompt(content: Content) -> None:
    """A typed or fill-in-the-blank prompt (hints included) never shows a wording the grader
    accepts: "(hepatic impairment)" next to the blank, "SIADH" in a hyponatremia hint."""
    for q in content.bank:
        if q.kind not in ("typed", "cloze"):
            continue
        prompt = normalize(q.prompt.replace(BLANK, " "))
        for accepted in q.accepted:
            wording = normalize(accepted)
            if len(wording) <= 3:
                continue
            assert not re.search(rf"(?<!\w){re.escape(wording)}(?!\w)", prompt), (q.id, q.prompt, accepted)


def test_an_open_blank_accepts_more_than_one_answer(content: Content) -> None:
    """A blank that reads "such as _____" or "for example _____" has many right fillers, so its
    accepted list must hold more than the one example the fact names."""
    for q in content.bank:
        if q.kind != "cloze":
            continue
        before = q.prompt.split(BLANK)[0].rstrip().lower()
        if re.search(r"(such as|for example|e\.g\.,?|including)$", before):
            assert len(q.accepted) >= 4, (q.id, q.prompt, q.accepted)


def test_every_question_stands_alone(content: Content) -> None:
    """Each card is shown alone: no "the same review" pointing at another card, and no
    explanation that lists one item as if it were several."""
    for q in content.bank:
        for text in (q.prompt, q.explanation, *q.options):
            assert not re.search(r"\bthe same (review|study|trial|label|source)\b", text, re.IGNORECASE), (q.id, text)
        assert not re.search(r"indications are [^,;]+\.", q.explanation), (q.id, q.explanation)


def test_cloze_blanks_never_cut_a_word(content: Content) -> None:
    clozes = [q for q in content.bank if q.kind == "cloze"]
    assert clozes
    for q in clozes:
        assert q.prompt.count(BLANK) == 1, q.prompt
        before, after = q.prompt.split(BLANK)
        assert not re.search(r"[\w-]$", before) and not re.match(r"[\w-]", after), q.prompt
        assert q.cloze.count("{{c1::") == 1
        assert q.cloze.replace("{{c1::" + q.answer + "}}", BLANK) == q.prompt


def test_dates_read_naturally(content: Content) -> None:
    wrong = [
        re.compile(rf"\bin (\d{{1,2}} )?{_MONTH} \d{{1,2}},"),  # "in August 3, 2004"
        re.compile(rf"\bin \d{{1,2}} {_MONTH} \d{{4}}"),  # "in 3 August 2004"
        re.compile(rf"\bon {_MONTH} \d{{4}}"),  # "on August 2004"
        re.compile(r"\bon \d{4}\b"),  # "on 2004"
        re.compile(rf"{_MONTH} \d{{1,2}}, \d{{4}}"),  # US order: the deck writes 3 August 2004
    ]
    dated = 0
    for q in content.bank:
        for text in (q.prompt, q.explanation):
            for pattern in wrong:
                assert not pattern.search(text), (q.id, text)
            dated += bool(re.search(rf"\bon \d{{1,2}} {_MONTH} \d{{4}}", text))
    assert dated, "some explanation gives a full date, so the rule above was exercised"


def test_no_question_is_asked_twice(content: Content) -> None:
    seen = Counter(
        (normalize(q.prompt), tuple(sorted(normalize(o) for o in q.options)), q.answer) for q in content.bank
    )
    assert max(seen.values()) == 1


def test_no_fact_is_asked_more_than_three_times(content: Content) -> None:
    """Questions built on one fact alone: at most three. A true/false item stating another
    value of a text attribute ("X is approved for fibromyalgia") tests a different claim and is
    not counted; a false year or number for the same fact is."""
    deck = content.deck
    asked: Counter[str] = Counter()
    for q in content.bank:
        if len(q.facts) != 1 or q.kind == QuestionKind.VIGNETTE:  # a vignette uses facts as clues, not asks them
            continue
        fact = deck.fact(q.facts[0])
        is_text = fact.attribute in deck.attributes and deck.attributes[fact.attribute].type == "text"
        other_value = q.kind == "tf" and q.answer == "False" and is_text and not fact.false_statement
        if not other_value:
            asked[fact.id] += 1
    worst = asked.most_common(3)
    assert worst and worst[0][1] <= 3, worst


def test_list_membership_questions_are_few_and_name_their_list(content: Content) -> None:
    deck = content.deck
    listed = [q for q in content.bank if any(deck.fact(f).attribute in LIST_ATTRIBUTES for f in q.facts)]
    assert listed
    assert len(listed) / len(content.bank) <= 0.15, (len(listed), len(content.bank))
    for q in listed:
        assert "Highlights" in q.prompt, q.prompt  # the named list, never "the US label of X"
        assert "less often" not in q.explanation
        assert re.search(r"at least 5%|adult list|pediatric", q.explanation), q.explanation


def test_scoped_facts_name_their_scope(content: Content) -> None:
    """IR versus ER and adult versus pediatric: a fact that holds for one product or one list
    says which wherever it is asked."""
    deck = content.deck
    scoped = [q for q in content.bank if len(q.facts) == 1 and deck.fact(q.facts[0]).scope]
    assert scoped
    for q in scoped:
        fact = deck.fact(q.facts[0])
        shown = fact.scope in q.prompt or fact.scope in q.explanation or fact.note in q.explanation
        assert shown, (q.id, q.prompt)
    # a vignette whose key rests on a scoped clue names the scope in the key's rationale and explanation
    vignettes = [q for q in content.bank if q.kind == QuestionKind.VIGNETTE]
    scoped_clues = 0
    for q in vignettes:
        for fact in (deck.fact(f) for f in q.clues):
            if fact.scope and fact.subject == q.subject:
                scoped_clues += 1
                assert fact.scope in q.rationales[q.answer_index] and fact.scope in q.explanation, q.id
    assert scoped_clues >= 2


def test_every_mcq_distractor_is_a_different_answer(content: Content) -> None:
    """Authored distractors are never the answer or one of its accepted wordings."""
    deck = content.deck
    for q in content.bank:
        if q.kind != "mcq" or len(q.facts) != 1:
            continue
        fact = deck.fact(q.facts[0])
        if not fact.distractors:
            continue
        right = {normalize(x) for x in (fact.answer, *fact.aliases)}
        for option in q.options:
            if option != q.answer:
                assert normalize(option) not in right, (q.id, option)


@pytest.mark.parametrize(
    "topic",
    ["dosing", "special_populations", "adverse_effects", "contraindications", "pharmacokinetics"],
)
def test_high_yield_topics_are_asked_in_at_least_two_ways(content: Content, topic: str) -> None:
    kinds = {q.kind for q in content.bank if q.topic == topic}
    assert len(kinds) >= 2, (topic, kinds)


def test_every_drug_has_renal_dosing_dose_range_and_half_life(content: Content) -> None:
    deck = content.deck
    for attribute in ("renal_dosing", "dose_range", "half_life"):
        covered = {f.subject for f in deck.facts if f.attribute == attribute}
        assert covered >= {d.subject for d in deck.drugs}, attribute
        kinds = {q.kind for q in content.bank if any(deck.fact(f).attribute == attribute for f in q.facts)}
        assert len(kinds) >= 2, (attribute, kinds)


def test_false_statements_are_explained_with_the_true_fact(content: Content) -> None:
    """A true/false item whose answer is False says what is true instead (issue 12)."""
    deck = content.deck
    false_items = [q for q in content.bank if q.kind == "tf" and q.answer == "False"]
    assert len(false_items) > 40
    for q in false_items:
        fact = deck.fact(q.facts[0])
        said = normalize(q.explanation)
        if isinstance(fact.value, PartialDate):
            assert normalize(fact.value.human()) in said or str(fact.value.year) in said, (q.id, q.explanation)
        else:
            assert normalize(fact.text) in said, (q.id, q.explanation)


def test_every_bundled_template_declares_level_and_difficulty() -> None:
    """Level and difficulty are an author's estimate per template, never a silent default."""
    import yaml

    from snri_quiz.content import bundled_templates

    entries = [
        entry
        for path in sorted(bundled_templates().glob("*.yaml"))
        for key in ("templates", "vignettes")
        for entry in (yaml.safe_load(path.read_text()) or {}).get(key) or []
    ]
    assert len(entries) > 40
    for entry in entries:
        assert entry.get("difficulty") in range(1, 6), entry["id"]
        assert entry.get("level") in ("recall", "understanding", "application"), entry["id"]
