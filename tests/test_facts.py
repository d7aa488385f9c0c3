"""The fact model and its loader: every optional field of `Fact` is read from YAML."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from snri_quiz.deckfile import FACT_LIST_FIELDS, FACT_TEXT_FIELDS, load_deck
from snri_quiz.facts import Fact

TINY = Path(__file__).parent / "data" / "tiny-deck"


def test_every_optional_field_of_the_model_is_read(tmp_path: Path) -> None:
    optional = {f.name for f in dataclasses.fields(Fact) if f.default in ("", ())}
    assert set(FACT_TEXT_FIELDS) | set(FACT_LIST_FIELDS) == optional - {"answer_type"}
    assert len(FACT_TEXT_FIELDS) >= 9 and len(FACT_LIST_FIELDS) >= 4
    values: dict[str, object] = {name: f"the {name.replace('_', ' ')}" for name in FACT_TEXT_FIELDS}
    values |= {"answer": "Alphax", "erroneous_source": "seed"}
    values |= {name: [f"first {name}", f"second {name}"] for name in FACT_LIST_FIELDS}
    shutil.copytree(TINY, tmp_path / "deck")
    path = tmp_path / "deck" / "drugs" / "alpha.yaml"
    lines = "".join(f"    {name}: {value!r}\n".replace("'", '"') for name, value in values.items())
    path.write_text(path.read_text().replace("    value: Alphax\n", "    value: Alphax\n" + lines, 1))
    fact = load_deck(tmp_path / "deck").fact("alpha.brand")
    for name, value in values.items():
        assert getattr(fact, name) == (tuple(value) if isinstance(value, list) else value), name
