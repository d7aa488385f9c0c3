"""Synthetic knowledge bases in snri-quiz's own schema, for benchmarks.

`make_deck(folder, n_drugs)` writes a deck folder with N invented drugs, each with about
as many facts of each attribute as the bundled SNRI deck has (about 40), the bundled
attribute table, class concepts and a source registry. Same N and seed, same files.

    python benchmarks/synth.py 500 /tmp/deck500
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import yaml

from snri_quiz.content import bundled_deck

SYLLABLES = "ve la fa xi du lo mil na ci pran zo ri ta bel mo ne so ga tor vi pe du ka lin fen dro".split()
SUFFIXES = ["xine", "pram", "zole", "tine", "lone", "mide", "pine", "fax"]
INDICATIONS = [f"condition {c}" for c in "abcdefghijklmnopqrstuvwxyz"] + [
    "major depressive disorder",
    "fibromyalgia",
    "generalized anxiety disorder",
    "panic disorder",
]
REACTIONS = [f"reaction {i}" for i in range(40)]
WARNINGS = [f"warning {i}" for i in range(30)]
SELECTIVITY = ["serotonin-preferring", "norepinephrine-preferring", "roughly balanced"]


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) + rng.choice(SUFFIXES)
        if name not in used:
            used.add(name)
            return name


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1960, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def drug_facts(
    rng: random.Random, subject: str, brands: list[str], others: list[str], sources: list[str]
) -> list[dict]:
    facts: list[dict] = []

    def add(local: str, attribute: str, value: object, **extra: object) -> None:
        facts.append(
            {
                "id": local,
                "attribute": attribute,
                "value": value,
                "sources": rng.sample(sources, rng.randint(1, 2)),
                **extra,
            }
        )

    for i, brand in enumerate(brands):
        add(f"brand-{i}", "brand_names_us", brand, note=f"Brand {i + 1} of {subject}.")
    for i in range(rng.randint(0, 2)):
        add(f"brand-other-{i}", "brand_names_non_us", f"{brands[0]}{'ix'[i]}", hint=f"Its brand in market {i}.")
    add("first-approval", "first_fda_approval", _date(rng))
    indications = rng.sample(INDICATIONS, rng.randint(1, 5))
    add("first-indication", "first_fda_indication", indications[0])
    for i, indication in enumerate(indications):
        add(f"ind-{i}", "indications_us", indication, date=_date(rng))
    if rng.random() < 0.7:
        add("not-approved", "not_approved_us", rng.choice([x for x in INDICATIONS if x not in indications]))
    for i in range(rng.randint(0, 2)):
        add(f"off-label-{i}", "off_label_uses", f"use {rng.randint(0, 50)}")
    if rng.random() < 0.3:
        add("outside", "approved_outside_us", f"use {rng.randint(51, 99)}")
    add("mechanism", "mechanism", "inhibits neuronal reuptake of serotonin and norepinephrine", answer="norepinephrine")
    add("selectivity", "selectivity", rng.choice(SELECTIVITY))
    add("metabolism", "metabolism", f"CYP{rng.randint(1, 3)}A{rng.randint(1, 9)}", hint="The enzyme that clears it.")
    hours = rng.randint(2, 40)
    add("half-life", "half_life", f"The half-life of {subject} is about {hours} hours.", answer=f"about {hours} hours")
    add("boxed-warning", "boxed_warning", "suicidal thoughts and behaviors")
    for i, reaction in enumerate(rng.sample(REACTIONS, rng.randint(6, 12))):
        add(f"ae-{i}", "common_adverse_reactions", reaction, scope=f"the most common adverse reactions of {brands[0]}")
    for i, warning in enumerate(rng.sample(WARNINGS, rng.randint(4, 10))):
        add(f"warn-{i}", "serious_warnings", warning, hint=f"A clue to {warning}.")
    add(
        "ci-maoi",
        "contraindications",
        f"an MAOI within {rng.choice([5, 7])} days of stopping {subject}",
        answer="an MAOI",
    )
    add(
        "ci-linezolid",
        "contraindications",
        f"starting {subject} with linezolid or intravenous methylene blue",
        answer="linezolid",
    )
    washout = rng.choice([5, 7])
    add("maoi-washout", "maoi_washout_days", washout, aliases=[f"{washout} days"])
    add("after-maoi", "days_after_maoi", 14, aliases=["14 days"])
    top = rng.randint(2, 30) * 10
    add(
        "dose",
        "dose_range",
        f"The maximum dose of {subject} is {top} mg/day.",
        answer=f"{top} mg/day",
        question=f"What is the maximum dose of {subject}?",
        distractors=[f"{top + 10 * k} mg/day" for k in (1, 2, 3)],
    )
    return facts


def make_deck(folder: Path, n_drugs: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "drugs").mkdir(parents=True)
    bundled = bundled_deck()
    manifest = yaml.safe_load((bundled / "deck.yaml").read_text())
    manifest.update(name=f"Synthetic {n_drugs}", id=1_000_000_000 + n_drugs)
    (folder / "deck.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    registry = yaml.safe_load((bundled / "sources.yaml").read_text())
    # the bundled labels and FDA records belong to the bundled drugs; keep only the others
    registry["sources"] = [s for s in registry["sources"] if "drug" not in s]
    registry["sources"] += [
        {
            "id": f"synthetic-{i}",
            "kind": "review",
            "title": f"Synthetic review {i}",
            "url": f"https://pubmed.ncbi.nlm.nih.gov/{10_000_000 + i}/",
        }
        for i in range(200)
    ]
    (folder / "sources.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    concepts = yaml.safe_load((bundled / "concepts.yaml").read_text())
    for fact in concepts["facts"]:
        fact["sources"] = ["synthetic-0"]
    (folder / "concepts.yaml").write_text(yaml.safe_dump(concepts, sort_keys=False, width=200))
    sources = [f"synthetic-{i}" for i in range(200)]
    used: set[str] = set()
    names = [_name(rng, used) for _ in range(n_drugs)]
    brand_used: set[str] = set()
    for index, subject in enumerate(names):
        brands = [_name(rng, brand_used).capitalize() + "ex" for _ in range(rng.randint(1, 3))]
        document = {
            "drug": subject,
            "name": subject.capitalize(),
            "facts": drug_facts(rng, subject, brands, names[:index], sources),
        }
        (folder / "drugs" / f"{subject}.yaml").write_text(yaml.safe_dump(document, sort_keys=False, width=200))
    return folder


def make_wide_deck(folder: Path, n_facts: int, n_drugs: int = 20, seed: int = 0) -> Path:
    """A small deck in which one drug has `n_facts` facts of one closed attribute.

    The many-values-per-drug shape (a long adverse-reaction list) that once made
    generation quadratic in the number of facts of one drug and attribute.
    """
    make_deck(folder, n_drugs, seed)
    first = sorted((folder / "drugs").glob("*.yaml"))[0]
    document = yaml.safe_load(first.read_text())
    document["facts"] += [
        {
            "id": f"wide-{i}",
            "attribute": "common_adverse_reactions",
            "value": f"wide reaction {i}",
            "sources": ["synthetic-0"],
        }
        for i in range(n_facts)
    ]
    first.write_text(yaml.safe_dump(document, sort_keys=False, width=200))
    return folder


if __name__ == "__main__":
    count, target = int(sys.argv[1]), Path(sys.argv[2])
    make_deck(target, count)
    print(f"wrote {count} drugs to {target}")
