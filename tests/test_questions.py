"""The question engine on the bundled content: size, coverage, determinism, stable ids,
distractor correctness and the absence of giveaways."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from snri_quiz.content import bundled_templates, load_content
from snri_quiz.errors import UsageError
from snri_quiz.facts import normalize, split_ref
from snri_quiz.generate import Content, generate
from snri_quiz.questions import unused_facts
from snri_quiz.selection import select
from snri_quiz.templates import load_templates

from .conftest import replace_in


def test_bank_has_at_least_400_distinct_questions(content: Content) -> None:
    assert len(content.bank) >= 400
    assert len({q.id for q in content.bank}) == len(content.bank)
    assert len({(q.prompt, q.options, q.answer) for q in content.bank}) == len(content.bank)


def test_every_fact_is_used(content: Content) -> None:
    """Every fact is asked, or belongs to a closed list a vignette reasons over (its facts rule
    options out even when no stem shows them)."""
    premises = {a for t in load_templates(bundled_templates(), content.deck) if t.vignette for a in t.attributes}
    unused = unused_facts(content.deck, content.bank)
    assert [f.id for f in unused if f.attribute not in premises] == []
    assert len(unused) < len(content.deck.facts) / 4


def test_every_kind_and_topic_is_covered(content: Content) -> None:
    kinds = Counter(q.kind for q in content.bank)
    assert set(kinds) == {"mcq", "tf", "cloze", "typed", "vignette"}
    topics = {q.topic for q in content.bank}
    for wanted in (
        "mechanism",
        "brand_names",
        "approval_dates",
        "adverse_effects",
        "indications",
        "contraindications",
        "pharmacokinetics",
    ):
        assert wanted in topics
    templates = {q.template for q in content.bank}
    assert {"brand-to-generic-typed", "generic-to-brand-typed", "approved-first-mcq", "indication-not-mcq"} <= templates


def test_same_seed_same_questions_and_option_order(content: Content) -> None:
    again = load_content()
    assert again.bank == content.bank
    a = select(content.bank, content.deck, seed=5, count=30)
    b = select(again.bank, again.deck, seed=5, count=30)
    assert [(q.id, q.options) for q in a] == [(q.id, q.options) for q in b]
    c = select(content.bank, content.deck, seed=6, count=30)
    assert [q.id for q in a] != [q.id for q in c]


def test_seed_changes_option_order_but_not_options(content: Content) -> None:
    other = generate(content.deck, load_templates(bundled_templates(), content.deck), seed=99)
    pairs = list(zip(content.bank, other, strict=True))
    assert all(a.id == b.id and sorted(a.options) == sorted(b.options) for a, b in pairs)
    assert any(a.options != b.options for a, b in pairs if a.kind == "mcq")


def test_ids_survive_wording_edits(templates_copy: Path, content: Content) -> None:
    replace_in(
        templates_copy / "drugs.yaml",
        '"{{ value }} is a US brand name of which SNRI?"',
        '"Which SNRI is marketed in the United States as {{ value }}?"',
    )
    edited = load_content(templates=templates_copy)
    assert [q.id for q in edited.bank] == [q.id for q in content.bank]
    changed = [q for q, old in zip(edited.bank, content.bank, strict=True) if q.prompt != old.prompt]
    expected = [q.id for q in content.bank if q.template == "brand-to-generic-mcq"]
    assert expected and [q.id for q in changed] == expected
    assert all("marketed in the United States" in q.prompt for q in changed)


def test_mcq_has_four_unique_options_and_exactly_one_answer(content: Content) -> None:
    for q in content.bank:
        if q.kind == "mcq":
            assert len(q.options) == 4, q
            assert len({normalize(o) for o in q.options}) == 4, q
            assert q.options[q.answer_index] == q.answer
            assert sum(normalize(o) == normalize(q.answer) for o in q.options) == 1
        elif q.kind == "tf":
            assert q.options == ("True", "False") and q.answer in q.options
        elif q.kind == "vignette":
            assert 4 <= len(q.options) <= 5 and len({normalize(o) for o in q.options}) == len(q.options), q
            assert q.options[q.answer_index] == q.answer and len(q.rationales) == len(q.options)
        else:
            assert q.options == () and q.answer_index is None and q.answer in q.accepted


def _truth(content: Content, subject: str, attribute: str) -> set[str]:
    out = set()
    for f in content.deck.facts:
        if f.subject == subject and f.attribute == attribute:
            out |= {normalize(str(f.value.year if hasattr(f.value, "year") else f.text))}
            out |= {normalize(a) for a in (*f.aliases, *f.uncertain)}
    return out


def test_no_wrong_option_is_also_true(content: Content) -> None:
    """Independent re-check: for 'which drug' questions no wrong drug holds the value, and for
    'which value' questions no wrong value is held (or possibly held) by the drug."""
    deck = content.deck
    names = {d.name: d.subject for d in deck.drugs}
    checked = 0
    for q in content.bank:
        if q.kind != "mcq" or q.template.startswith(("concept", "approved")):
            continue
        fact = deck.fact(q.facts[0])
        if q.template.endswith("-not-mcq"):
            # every wrong option holds the value, the answer does not
            value = normalize(fact.text)
            assert value not in _truth(content, names[q.answer], fact.attribute), q
            for option in q.options:
                if option != q.answer:
                    assert value in _truth(content, names[option], fact.attribute), q
        elif all(o in names for o in q.options) and fact.attribute != "derived_from":
            forms = {normalize(fact.text), *(normalize(a) for a in fact.aliases)}
            for option in q.options:
                if option != q.answer:
                    assert not forms & _truth(content, names[option], fact.attribute), (q.prompt, option)
        else:
            truth = _truth(content, fact.subject, fact.attribute)
            for option in q.options:
                if option != q.answer:
                    assert normalize(option) not in truth, (q.prompt, option)
        checked += 1
    assert checked > 80


def test_fibromyalgia_questions_never_call_duloxetine_or_milnacipran_wrong(content: Content) -> None:
    found = 0
    for q in content.bank:
        if "fibromyalgia" in q.prompt.lower() and q.kind == "mcq" and "approved" in q.prompt:
            found += 1
            negative = " NOT " in q.prompt
            for option in q.options:
                if option in ("Duloxetine", "Milnacipran"):
                    assert (option == q.answer) != negative, q
    assert found >= 2


def test_tf_false_statements_are_false(content: Content) -> None:
    for q in content.bank:
        if q.kind == "tf" and q.answer == "False" and not q.template.startswith("concept"):
            fact = content.deck.fact(q.facts[0])
            if q.prompt == fact.false_statement:  # authored false statements are checked by hand
                continue
            truth = _truth(content, fact.subject, fact.attribute)
            assert not any(
                t and re.search(rf"\b{re.escape(t)}\b", normalize(q.prompt))
                for t in truth
                if len(t) > 3 and t not in normalize(fact.subject)
            ), q.prompt


def test_tf_answers_are_balanced(content: Content) -> None:
    answers = Counter(q.answer for q in content.bank if q.kind == "tf")
    assert abs(answers["True"] - answers["False"]) <= 0.2 * sum(answers.values())


def test_correct_position_is_spread_evenly(content: Content) -> None:
    positions = Counter(q.answer_index for q in content.bank if q.kind == "mcq")
    total = sum(positions.values())
    assert set(positions) == {0, 1, 2, 3}
    tolerance = 3 * (0.25 * 0.75 / total) ** 0.5  # three standard deviations of a fair shuffle
    for count in positions.values():
        assert abs(count / total - 0.25) < tolerance, positions


def test_correct_option_is_not_betrayed_by_length_or_echo(content: Content) -> None:
    mcqs = [q for q in content.bank if q.kind == "mcq"]
    longest = sum(1 for q in mcqs if len(q.answer) > max(len(o) for o in q.options if o != q.answer))
    assert longest / len(mcqs) < 0.35, longest

    def words(text: str) -> set[str]:
        return {w for w in normalize(text).split() if len(w) > 3}

    echo = 0
    for q in mcqs:
        prompt = words(q.prompt)
        if words(q.answer) & prompt and not any(words(o) & prompt for o in q.options if o != q.answer):
            echo += 1
    assert echo / len(mcqs) < 0.1, echo


def test_only_one_of_its_form(content: Content) -> None:
    """The answer is not the only option with digits, in parentheses, or capitalised."""

    def shape(text: str) -> tuple[bool, bool, bool]:
        return bool(re.search(r"\d", text)), "(" in text, text[:1].isupper()

    lonely = 0
    mcqs = [q for q in content.bank if q.kind == "mcq"]
    for q in mcqs:
        mine = shape(q.answer)
        others = [shape(o) for o in q.options if o != q.answer]
        if all(o != mine for o in others):
            lonely += 1
    assert lonely / len(mcqs) < 0.1, lonely


def test_uncertain_facts_say_so(content: Content) -> None:
    for q in content.bank:
        for fid in q.facts:
            fact = content.deck.fact(fid)
            if fact.caveat and len(q.facts) == 1:
                assert fact.caveat in q.explanation


def test_every_question_cites_registered_sources(content: Content) -> None:
    for q in content.bank:
        assert q.sources and all(split_ref(s)[0] in content.deck.sources for s in q.sources)
        assert any(content.deck.source(s).primary for s in q.sources), q


def test_seed_error_is_never_taught(content: Content) -> None:
    for q in content.bank:
        text = f"{q.prompt} {q.answer} {q.explanation}".lower()
        if "serotonin and epinephrine" in text:
            assert (
                q.answer == "False" or "not epinephrine" in text or "has it wrong" in text or "wrongly says" in text
            ), q


def test_selection_filters_and_count(content: Content) -> None:
    chosen = select(
        content.bank, content.deck, seed=1, count=5, mode="mcq", topics=["adverse_effects"], drugs=["duloxetine"]
    )
    assert len(chosen) == 5
    assert all(
        q.kind in ("mcq", "vignette") and q.topic == "adverse_effects" and "duloxetine" in q.drugs for q in chosen
    )
    with pytest.raises(UsageError, match="more than the"):
        select(content.bank, content.deck, count=10_000)
    with pytest.raises(UsageError, match="unknown topic 'brands'"):
        select(content.bank, content.deck, topics=["brands"])
    with pytest.raises(UsageError, match="unknown drug 'prozac'"):
        select(content.bank, content.deck, drugs=["prozac"])


def test_cache_is_keyed_by_every_input(deck_copy: Path, private_cache: Path) -> None:
    first = load_content(deck_copy)
    entries = set(private_cache.glob("bank-*.json"))
    assert entries, "a successful load is cached"
    assert load_content(deck_copy) == first
    assert set(private_cache.glob("bank-*.json")) == entries, "the second load is a cache hit"
    replace_in(deck_copy / "drugs" / "milnacipran.yaml", "Titration: day 1", "Titration in adults: day 1")
    edited = load_content(deck_copy)
    assert edited != first and any("Titration in adults" in q.explanation for q in edited.bank)
    assert load_content(deck_copy, seed=4) != edited, "the seed is part of the key"


def test_damaged_cache_entry_is_rebuilt(deck_copy: Path, private_cache: Path) -> None:
    good = load_content(deck_copy)
    for entry in private_cache.glob("bank-*.json"):
        entry.write_bytes(b"not json")
    assert load_content(deck_copy) == good


def wide_tiny_deck(root: Path, n_facts: int) -> Path:
    """The tiny deck, with `n_facts` more indications (a closed attribute) for one drug."""
    import shutil

    deck = root / f"wide{n_facts}"
    shutil.copytree(Path(__file__).parent / "data" / "tiny-deck", deck)
    extra = "".join(
        f"  - id: wide-{i}\n    attribute: indications_us\n    value: condition {i}\n    sources: [label]\n"
        for i in range(n_facts)
    )
    alpha = deck / "drugs" / "alpha.yaml"
    alpha.write_text(alpha.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return deck


def test_many_facts_of_one_drug_and_attribute_cost_linear_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Distractor checks once scanned every value of the attribute for every fact: quadratic."""
    import snri_quiz.questions as questions
    from snri_quiz.deckfile import load_deck

    templates = Path(__file__).parent / "data" / "tiny-templates"
    calls = []
    for n in (300, 600):
        deck = load_deck(wide_tiny_deck(tmp_path, n))
        loaded = load_templates(templates, deck)
        count = 0

        def counting(text: str) -> str:
            nonlocal count
            count += 1
            return normalize(text)

        monkeypatch.setattr(questions, "normalize", counting)
        generate(deck, loaded)
        monkeypatch.setattr(questions, "normalize", normalize)
        calls.append(count)
    assert calls[1] < 2.5 * calls[0], calls


def test_check_surveys_the_bank_without_keeping_it(content: Content, private_cache: Path) -> None:
    """`check` counts what generate makes (kinds, facts used) but holds no questions and no cache."""
    from snri_quiz.content import check_content

    before = set(private_cache.iterdir())
    deck, found, template_count = check_content()
    assert set(private_cache.iterdir()) == before
    assert template_count == content.template_count
    assert found.count == len(content.bank)
    assert found.kinds == dict(Counter(q.kind for q in content.bank))
    assert found.used == {fid for q in content.bank for fid in q.facts}
    assert [f.id for f in unused_facts(deck, content.bank)] == [f.id for f in deck.facts if f.id not in found.used]


def test_a_wrong_drug_without_the_attribute_is_answered_by_its_label(tmp_path: Path) -> None:
    """A drug with no value of the asked attribute at all: its rationale cites its own label (its
    closed lists live there), and the card's sources list that label."""
    import shutil

    from snri_quiz.deckfile import load_deck

    deck_dir = tmp_path / "deck"
    shutil.copytree(Path(__file__).parent / "data" / "tiny-deck", deck_dir)
    alpha = deck_dir / "drugs" / "alpha.yaml"
    text = alpha.read_text(encoding="utf-8")
    text = text.replace(
        "  - id: brand\n    attribute: brand_names_us\n    value: Alphax\n    sources: [label-alphax#highlights]\n", ""
    )
    alpha.write_text(text.replace("sources: [label, seed]", "sources: [label-alphax#1, seed]"), encoding="utf-8")
    deck = load_deck(deck_dir)
    bank = generate(deck, load_templates(Path(__file__).parent / "data" / "tiny-templates", deck))
    asked = [q for q in bank if q.template == "brand-mcq" and "Alpha" in q.options]
    assert asked
    for q in asked:
        reason = q.rationales[q.options.index("Alpha")]
        assert reason.endswith("is not its US brand name [Alphax label].") and "label-alphax" in q.sources, reason


@pytest.mark.slow
def test_rationales_name_a_bounded_number_of_drugs(tmp_path: Path) -> None:
    """A value many drugs share names the first few and counts the rest, so a card's text (and
    its source list) does not grow with the size of the deck (issue 14)."""
    import sys

    from snri_quiz.questions import NAMED, named

    assert named(["a", "b"]) == "a and b"
    assert named(list("abcde")) == "a, b, c, d and e"
    assert named(list("abcdefg")) == "a, b, c, d and 3 other drugs"

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from synth import make_deck

    content = load_content(make_deck(tmp_path / "deck", 40))
    names = [d.name.lower() for d in content.deck.drugs]
    word = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    counted = 0
    for q in content.bank:
        for reason in q.rationales:
            assert len(set(word.findall(reason))) <= NAMED + 1, reason  # the named few and the drug asked about
            counted += "other drugs" in reason
        if q.kind == "vignette":
            assert len(q.sources) <= 2 * NAMED, q.prompt
    assert counted > 100
