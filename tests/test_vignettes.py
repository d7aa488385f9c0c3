"""Vignettes: every one is re-proved here from `facts --json` and deck.yaml, never trusted
from the engine: the key satisfies every clue, each other option contradicts one."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from snri_quiz.cli import cli
from snri_quiz.content import bundled_deck, bundled_templates
from snri_quiz.deckfile import load_deck
from snri_quiz.errors import InvalidContent
from snri_quiz.facts import normalize
from snri_quiz.generate import generate, survey
from snri_quiz.templates import load_templates

TINY = Path(__file__).parent / "data" / "tiny-deck"


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def vignettes_of(deck: Path, templates: Path) -> list[dict[str, Any]]:
    items = run("export", "--format", "json", "--deck", str(deck), "--templates", str(templates))
    return [q for q in items if q["kind"] == "vignette"]


class Knowledge:
    """What `facts --json` and deck.yaml say, read without the engine."""

    def __init__(self, deck: Path):
        self.records = run("facts", "--json", "--deck", str(deck))
        manifest = yaml.safe_load((deck / "deck.yaml").read_text())
        self.closed = {name for name, spec in manifest["attributes"].items() if spec.get("closed")}
        self.class_subject = manifest["class_subject"]
        self.by_id = {r["id"]: r for r in self.records}
        self.has: dict[tuple[str, str], set[str]] = {}
        self.maybe: dict[tuple[str, str], set[str]] = {}
        for r in self.records:
            forms = {normalize(str(r["value"])), *(normalize(a) for a in r.get("aliases", []))}
            self.has.setdefault((r["subject"], r["attribute"]), set()).update(forms)
            self.maybe.setdefault((r["subject"], r["attribute"]), set()).update(
                normalize(u) for u in r.get("uncertain", [])
            )
        self.drugs = {r["subject"] for r in self.records} - {self.class_subject}
        self.attributes = {r["attribute"] for r in self.records if r["subject"] == self.class_subject}

    def holds(self, subject: str, attribute: str, value: str) -> bool:
        return normalize(value) in self.has.get((subject, attribute), set())

    def provably_lacks(self, subject: str, attribute: str, value: str) -> bool:
        key, form = (subject, attribute), normalize(value)
        return attribute in self.closed and form not in self.has.get(key, set()) | self.maybe.get(key, set())


def prove(q: dict[str, Any], kb: Knowledge) -> str:
    """Re-derive the vignette's proof; returns its shape. Fails the test where it does not hold."""
    refs, key_index = q["option_refs"], q["answer_index"]
    key = refs[key_index]
    clues = [kb.by_id[c] for c in q["clues"]]
    assert clues, q["id"]
    assert all(c["attribute"] in kb.closed for c in clues), q["id"]
    assert len(q["options"]) == len(refs) == len(q["rationales"]) and 4 <= len(refs) <= 5
    others = [r for i, r in enumerate(refs) if i != key_index]
    if set(refs) <= kb.drugs:  # which drug: the key has what it must have and lacks what it must lack
        needs = [(c["attribute"], str(c["value"]), c["subject"] == key) for c in clues]
        assert any(must for _, _, must in needs), q["id"]
        for attribute, value, must in needs:
            assert kb.holds(key, attribute, value) if must else kb.provably_lacks(key, attribute, value), q["id"]
        for other in others:
            assert any(kb.provably_lacks(other, a, v) if must else kb.holds(other, a, v) for a, v, must in needs), (
                q["id"],
                other,
            )
        return "drug"
    if set(refs) <= kb.attributes:  # which effect: the key lists every finding, each other misses one
        assert all(c["subject"] == kb.class_subject and c["attribute"] == key for c in clues), q["id"]
        for other in others:
            assert any(kb.provably_lacks(kb.class_subject, other, str(c["value"])) for c in clues), (q["id"], other)
        return "effect"
    (clue,) = clues  # a value: the drug's one value of a closed attribute is the key, nothing else
    assert [r for r in kb.records if (r["subject"], r["attribute"]) == (clue["subject"], clue["attribute"])] == [clue]
    assert normalize(key) == normalize(str(clue["value"])), q["id"]
    assert all(normalize(o) != normalize(key) for o in others), q["id"]
    return "value"


@pytest.fixture(scope="module")
def bundled() -> tuple[list[dict[str, Any]], Knowledge]:
    return vignettes_of(bundled_deck(), bundled_templates()), Knowledge(bundled_deck())


def test_every_bundled_vignette_is_proved_from_the_facts(bundled: tuple[list[dict[str, Any]], Knowledge]) -> None:
    items, kb = bundled
    shapes = Counter(prove(q, kb) for q in items)
    assert len(items) >= 60 and set(shapes) == {"drug", "value", "effect"}, shapes


def test_bundled_vignettes_cover_the_clinical_areas(bundled: tuple[list[dict[str, Any]], Knowledge]) -> None:
    items, kb = bundled
    topics = Counter(q["topic"] for q in items)
    assert {"indications", "adverse_effects", "contraindications", "special_populations"} <= set(topics)
    attributes = Counter(kb.by_id[c]["attribute"] for q in items for c in q["clues"])
    for area in ("indications_us", "pediatric_indications_us", "avoid_in", "avoid_with", "maoi_washout_days"):
        assert attributes[area] >= 1, area
    assert any(a.startswith("max_dose_") and "renal" in a for a in attributes)
    assert any(a == "max_dose_hepatic_mg" for a in attributes)
    assert any("postpartum" in q["prompt"] for q in items), "pregnancy"
    assert all(q["level"] == "application" and 1 <= q["difficulty"] <= 5 for q in items)


def test_stems_do_not_give_the_answer_away(bundled: tuple[list[dict[str, Any]], Knowledge]) -> None:
    items, kb = bundled
    names = {r["subject"] for r in kb.records if r["subject"] in kb.drugs}
    names |= {str(r["value"]) for r in kb.records if r["attribute"] == "brand_names_us"}
    for q in items:
        if set(q["option_refs"]) <= kb.drugs:
            found = [n for n in names if re.search(rf"\b{re.escape(n)}\b", q["prompt"], re.I)]
            assert not found, (q["id"], found)
        else:
            answer = q["answer"].split(" (")[0]
            assert not re.search(rf"\b{re.escape(answer)}\b", q["prompt"], re.I), q["id"]
        assert "{{" not in q["prompt"] and "  " not in q["prompt"]


def test_each_option_has_a_cited_reason(bundled: tuple[list[dict[str, Any]], Knowledge]) -> None:
    items, _ = bundled
    for q in items:
        for i, (option, reason) in enumerate(zip(q["options"], q["rationales"], strict=True)):
            assert reason.startswith(f"{option}: "), (q["id"], reason)
            assert ("correct" in reason.split(";")[0]) == (i == q["answer_index"]), (q["id"], reason)
            assert re.search(r"\[[^\]]+\]\.?$", reason), (q["id"], reason)


def test_patients_follow_the_seed_and_options_stay_the_same_set() -> None:
    deck = load_deck(bundled_deck())
    templates = load_templates(bundled_templates(), deck)
    first, again, other = ([q for q in generate(deck, templates, seed) if q.kind == "vignette"] for seed in (0, 0, 5))
    assert [(q.prompt, q.options) for q in first] == [(q.prompt, q.options) for q in again]
    assert [q.id for q in first] == [q.id for q in other]
    assert sum(a.prompt != b.prompt for a, b in zip(first, other, strict=True)) > len(first) / 2
    assert all(set(a.options) == set(b.options) for a, b in zip(first, other, strict=True))


def test_check_reports_skipped_combinations() -> None:
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0
    assert re.search(r"vignette-choose-drug: skipped \d+ combinations", result.output)
    assert "no option fits every clue" in result.output and "several options fit every clue" in result.output


# -- the tiny deck: four drugs, four effects, one integer attribute ---------------------------------
TINY_ATTRIBUTES = """
  avoid_in: {type: text, closed: true, topic: indications, label: condition its label advises against}
  washout_days: {type: integer, closed: true, topic: indications, label: washout days}
  signs_rashy: {type: text, closed: true, topic: mechanism, label: rashy syndrome}
  signs_feverish: {type: text, closed: true, topic: mechanism, label: feverish syndrome}
  signs_coughy: {type: text, closed: true, topic: mechanism, label: coughy syndrome}
  signs_achy: {type: text, closed: true, topic: mechanism, label: achy syndrome}
  signs_itchy: {type: text, closed: true, topic: mechanism, label: itchy syndrome}
"""
TINY_DRUG_FACTS = {
    "alpha": "  - {id: washout, attribute: washout_days, value: 5, sources: [label]}\n",
    "beta": "  - {id: washout, attribute: washout_days, value: 7, sources: [label]}\n",
    "gamma": "  - {id: avoid-kidney, attribute: avoid_in, value: kidney failure, sources: [label]}\n"
    "  - {id: washout, attribute: washout_days, value: 14, sources: [label]}\n",
}
SIGNS = {
    "rashy": ["rash", "fever"],
    "feverish": ["fever", "chills"],
    "coughy": ["cough", "wheeze"],
    "achy": ["ache", "stiffness"],
    "itchy": ["itch"],
}
TINY_VIGNETTES = """
findings:
  depression: "{{ They }} has depression."
  fibromyalgia: "{{ They }} has fibromyalgia."
  anxiety: "{{ They }} has anxiety."
  kidney failure: "{{ Their }} kidneys have failed."
  rash: {text: "{{ They }} has a rash.", anchor: true}
  fever: {text: "{{ They }} has a fever.", anchor: true}
  chills: {text: "{{ They }} has chills.", anchor: true}
  cough: {text: "{{ They }} coughs.", anchor: true}
  wheeze: {text: "{{ They }} wheezes.", anchor: true}
  ache: {text: "{{ They }} aches.", anchor: true}
  stiffness: {text: "{{ They }} is stiff.", anchor: true}
  itch: {text: "{{ They }} itches.", anchor: true}
vignettes:
  - id: v-drug
    ask: drug
    topic: indications
    clues:
      - {attribute: indications_us, has: "approved for {{ value }}", lacks: "not approved for {{ value }}"}
    extra:
      - {attribute: avoid_in, holds: false, has: "avoid in {{ value }}", lacks: "no advice against {{ value }}"}
    prompt: "Which drug fits {{ them }}?"
    explanation: "{{ answer }}: {{ reasons }}."
  - id: v-value
    ask: value
    attribute: washout_days
    condition: indications_us
    topic: indications
    unit: days
    choices: ["2", "5", "7", "14", "21"]
    options: 4
    stem: "{{ They }} takes {{ drug }} for {{ condition }}."
    prompt: "How many days?"
    explanation: "{{ answer }}."
  - id: v-effect
    ask: effect
    attribute: [signs_rashy, signs_feverish, signs_coughy, signs_achy, signs_itchy]
    topic: mechanism
    clues_per_question: 2
    options: 4
    prompt: "Which syndrome?"
    explanation: "{{ answer }} explains {{ findings }}."
"""


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    deck = tmp_path / "deck"
    shutil.copytree(TINY, deck)
    manifest = deck / "deck.yaml"
    manifest.write_text(manifest.read_text().replace("attributes:\n", "attributes:\n" + TINY_ATTRIBUTES, 1))
    for drug, facts in TINY_DRUG_FACTS.items():
        path = deck / "drugs" / f"{drug}.yaml"
        path.write_text(path.read_text().rstrip("\n") + "\n" + facts)
    concepts = deck / "concepts.yaml"
    extra = "".join(
        f"  - {{id: {name}-{sign}, attribute: signs_{name}, value: {sign}, answer: {sign},"
        f" question: 'A sign of {name}?', sources: [label-alphax#5]}}\n"
        for name, signs in SIGNS.items()
        for sign in signs
    )
    concepts.write_text(concepts.read_text().rstrip("\n") + "\n" + extra)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "vignettes.yaml").write_text(TINY_VIGNETTES)
    return deck, templates


def test_tiny_deck_vignettes_are_proved_and_skips_counted(tiny: tuple[Path, Path]) -> None:
    deck_dir, templates_dir = tiny
    items = vignettes_of(deck_dir, templates_dir)
    kb = Knowledge(deck_dir)
    shapes = [prove(q, kb) for q in items]
    # fibromyalgia -> beta, anxiety -> delta alone; depression + kidney failure -> alpha
    drug_answers = sorted(q["answer"] for q, shape in zip(items, shapes, strict=True) if shape == "drug")
    assert drug_answers == ["Alpha", "Beta", "Delta"]
    assert shapes.count("value") == 3  # alpha, beta, gamma; delta has no washout fact
    # each pair of an effect's signs is that effect's alone; itchy has one sign, so no pair
    assert sorted(q["answer"] for q, shape in zip(items, shapes, strict=True) if shape == "effect") == [
        "Achy syndrome",
        "Coughy syndrome",
        "Feverish syndrome",
        "Rashy syndrome",
    ]
    deck = load_deck(deck_dir)
    found = survey(deck, load_templates(templates_dir, deck))
    skipped = found.skipped["v-drug"]
    assert skipped["several options fit every clue"] >= 1  # depression alone: alpha and gamma
    assert skipped["an added clue rules out no option the others leave in"] >= 1


def test_a_stem_that_names_a_drug_is_a_template_problem(tiny: tuple[Path, Path]) -> None:
    deck_dir, templates_dir = tiny
    source = templates_dir / "vignettes.yaml"
    source.write_text(source.read_text().replace("{{ They }} has fibromyalgia.", "{{ They }} tried Betax for it."))
    deck = load_deck(deck_dir)
    with pytest.raises(InvalidContent, match="the stem names 'Betax'"):
        generate(deck, load_templates(templates_dir, deck))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("ask: drug", "ask: patient", "'patient' is not one of drug, value, effect"),
        ("attribute: indications_us, has", "attribute: nosuch, has", "unknown attribute 'nosuch'"),
        ("options: 4\n    stem", "options: 7\n    stem", "7: a vignette offers 4 or 5 options"),
        ('choices: ["2", "5", "7", "14", "21"]', 'choices: ["2"]', "needs at least 3 choices"),
        ("clues_per_question: 2", "clues_per_question: 9", "9: a stem shows 1 to 4 findings"),
        (
            '  fever: {text: "{{ They }} has a fever.", anchor: true}',
            "  fever: [1]",
            "findings.fever: expected a sentence or a mapping",
        ),
    ],
)
def test_broken_vignette_templates_are_located(tiny: tuple[Path, Path], old: str, new: str, message: str) -> None:
    deck_dir, templates_dir = tiny
    source = templates_dir / "vignettes.yaml"
    assert old in source.read_text()
    source.write_text(source.read_text().replace(old, new, 1))
    deck = load_deck(deck_dir)
    with pytest.raises(InvalidContent) as caught:
        load_templates(templates_dir, deck)
    assert any(message in str(p) and str(source) in str(p) for p in caught.value.problems), caught.value.problems


def test_an_open_attribute_cannot_rule_options_out(tiny: tuple[Path, Path]) -> None:
    deck_dir, templates_dir = tiny
    manifest = deck_dir / "deck.yaml"
    manifest.write_text(
        manifest.read_text().replace("avoid_in: {type: text, closed: true", "avoid_in: {type: text, closed: false")
    )
    deck = load_deck(deck_dir)
    with pytest.raises(InvalidContent, match="'avoid_in' is open"):
        load_templates(templates_dir, deck)
