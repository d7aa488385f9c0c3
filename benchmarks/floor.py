"""The floor: the least any builder must spend writing these notes as an .apkg. The same
SQLite inserts snri-quiz's writer does (genanki's schema, one `executemany` batch for the
notes and one for the cards, journal off) and the same zip, of rows made beforehand from
the JSON-lines dump run.py makes (as for the genanki baseline).

    python benchmarks/floor.py notes.jsonl out.apkg seconds.txt

Writes the seconds spent on the inserts and the zip alone (no start-up, no reading) to
`seconds.txt`; run.py reads them, and takes the peak memory from its launcher.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import sys
import tempfile
import time
import zipfile

from genanki.apkg_schema import APKG_SCHEMA

from snri_quiz.anki import NOTE_TYPES


def main(dump: str, target: str, seconds_file: str) -> None:
    notes, cards = [], []
    decks: dict[str, int] = {}
    ids = itertools.count(1_700_000_000_000)
    with open(dump, encoding="utf-8") as handle:
        for position, line in enumerate(handle):
            note = json.loads(line)
            note_id = next(ids)
            deck_id = decks.setdefault(note["deck"], len(decks) + 1)
            fields = note["fields"]
            notes.append(
                (
                    note_id,
                    note["guid"],
                    NOTE_TYPES[note["type"]].id,
                    1_700_000_000,
                    -1,
                    " " + " ".join(note["tags"]) + " ",
                    "\x1f".join(fields),
                    fields[0],
                    0,
                    0,
                    "",
                )
            )
            for ordinal in range(note.get("cards", 1)):
                cards.append(
                    (
                        next(ids),
                        note_id,
                        deck_id,
                        ordinal,
                        1_700_000_000,
                        -1,
                        0,
                        0,
                        position,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        "",
                    )
                )
    folder = tempfile.mkdtemp(prefix="snri-floor-")
    db_path = os.path.join(folder, "collection.anki2")
    start = time.perf_counter()
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    cursor = connection.cursor()
    cursor.executescript(APKG_SCHEMA)
    cursor.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", notes)
    cursor.executemany("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)
    connection.commit()
    connection.close()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with open(db_path, "rb") as handle:
            archive.writestr("collection.anki2", handle.read())
        archive.writestr("media", "{}")
    elapsed = time.perf_counter() - start
    os.unlink(db_path)
    os.rmdir(folder)
    with open(seconds_file, "w", encoding="utf-8") as handle:
        handle.write(f"{elapsed}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
