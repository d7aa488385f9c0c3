"""The baseline: write the same notes (same note types, fields, tags, GUIDs, count) with
plain genanki and nothing else. Reads the notes from a JSON-lines dump that run.py makes
from snri-quiz's own note specs beforehand (not timed as part of `build`).

    python benchmarks/baseline_genanki.py notes.jsonl out.apkg
"""

from __future__ import annotations

import json
import sys

import genanki

from snri_quiz.anki import NOTE_TYPES


def main(dump: str, target: str) -> None:
    models = {key: spec.model() for key, spec in NOTE_TYPES.items()}
    decks: dict[str, genanki.Deck] = {}
    with open(dump, encoding="utf-8") as handle:
        for position, line in enumerate(handle):
            note = json.loads(line)
            deck = decks.get(note["deck"])
            if deck is None:
                deck = decks[note["deck"]] = genanki.Deck(len(decks) + 1, note["deck"])
            deck.add_note(
                genanki.Note(
                    model=models[note["type"]],
                    fields=note["fields"],
                    tags=note["tags"],
                    guid=note["guid"],
                    due=position,
                )
            )
    genanki.Package(list(decks.values())).write_to_file(target, timestamp=1_700_000_000)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
