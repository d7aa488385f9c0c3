"""Question values -> an Anki package (.apkg). The only module that imports genanki.

What keeps re-imports clean (Anki matches notes by GUID, note types by id plus an
exact field/template match, decks by name, and updates a note only when the incoming
modification time is newer):

- note type ids, field ids and card-template ids are constants below;
- each note's GUID comes from the question's stable id, never its wording;
- each note's modification time is when its content last changed, kept with a content
  hash in `anki-lock.json` next to the deck, so unchanged input gives the same bytes;
- the package is zipped with fixed timestamps and renamed into place when complete.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import sqlite3
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import genanki

from .content import Content, paused_gc
from .errors import OutputError, UsageError
from .facts import Deck
from .files import scratch_file, staged
from .questions import BLANK, Question, filter_questions, lettered_answer

LOCK_NAME = "anki-lock.json"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAX_TIME = 253402300799
"""The last second of year 9999: the latest modification time a note may carry."""

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 20px; line-height: 1.45; text-align: left; color: #1f2328; background: #fbfbfa;
  max-width: 38em; margin: 0 auto; padding: 0.6em 0.8em; }
.card.nightMode, .nightMode .card, .night_mode .card { color: #e6e6e6; background: #1f1f1f; }
.topic { font-size: 0.68em; letter-spacing: 0.06em; text-transform: uppercase; color: #6e7781; }
.prompt { margin: 0.4em 0 0.6em; }
ol.options { list-style: upper-alpha; padding-left: 1.7em; margin: 0.3em 0; }
ol.options li { margin: 0.25em 0; }
li.correct { font-weight: 600; color: #1a7f37; }
li.correct::after { content: "  \\2714"; }
.nightMode li.correct, .night_mode li.correct { color: #56d364; }
.answer { font-weight: 600; margin-top: 0.5em; }
.explanation { margin-top: 0.8em; font-size: 0.88em; }
.sources { margin-top: 0.8em; font-size: 0.72em; color: #57606a; }
.nightMode .sources, .night_mode .sources { color: #9ea7b3; }
.sources ul { padding-left: 1.2em; margin: 0.2em 0; }
.sources a { color: inherit; word-break: break-word; }
.cloze { font-weight: 600; color: #0969da; }
.nightMode .cloze, .night_mode .cloze { color: #58a6ff; }
input#typeans { font-size: 1em; width: 100%; box-sizing: border-box; }
@media (max-width: 480px) { .card { font-size: 18px; padding: 0.4em; } }
"""

_BACK_EXTRA = (
    '<div class="explanation">{{Explanation}}</div>'
    '{{#Sources}}<div class="sources">Sources:{{Sources}}</div>{{/Sources}}'
)
_TOPIC = '<div class="topic">{{Topic}}</div>'


@dataclass(frozen=True)
class _NoteType:
    """An Anki note type with fixed ids."""

    key: str
    id: int
    name: str
    fields: tuple[tuple[str, int], ...]
    templates: tuple[tuple[str, int, str, str], ...]
    cloze: bool = False

    def model(self) -> genanki.Model:
        return genanki.Model(
            self.id,
            self.name,
            fields=[{"name": name, "id": fid} for name, fid in self.fields],
            templates=[{"name": name, "id": tid, "qfmt": q, "afmt": a} for name, tid, q, a in self.templates],
            css=CSS,
            model_type=genanki.Model.CLOZE if self.cloze else genanki.Model.FRONT_BACK,
        )


NOTE_TYPES = {
    "mcq": _NoteType(
        "mcq",
        1760418301,
        "snri-quiz multiple choice",
        (
            ("Question", 176041830101),
            ("Options", 176041830102),
            ("Answer", 176041830103),
            ("OptionsMarked", 176041830104),
            ("Explanation", 176041830105),
            ("Sources", 176041830106),
            ("Topic", 176041830107),
        ),
        (
            (
                "Multiple choice",
                176041830151,
                _TOPIC + '<div class="prompt">{{Question}}</div>{{Options}}',
                _TOPIC + '<div class="prompt">{{Question}}</div>{{OptionsMarked}}'
                '<hr id="answer"><div class="answer">{{Answer}}</div>' + _BACK_EXTRA,
            ),
        ),
    ),
    "tf": _NoteType(
        "tf",
        1760418302,
        "snri-quiz true or false",
        (
            ("Statement", 176041830201),
            ("Answer", 176041830202),
            ("Explanation", 176041830203),
            ("Sources", 176041830204),
            ("Topic", 176041830205),
        ),
        (
            (
                "True or false",
                176041830251,
                _TOPIC + '<div class="prompt">True or false? {{Statement}}</div>',
                '{{FrontSide}}<hr id="answer"><div class="answer">{{Answer}}</div>' + _BACK_EXTRA,
            ),
        ),
    ),
    "typed": _NoteType(
        "typed",
        1760418303,
        "snri-quiz type the answer",
        (
            ("Question", 176041830301),
            ("Answer", 176041830302),
            ("Explanation", 176041830303),
            ("Sources", 176041830304),
            ("Topic", 176041830305),
        ),
        (
            (
                "Type the answer",
                176041830351,
                _TOPIC + '<div class="prompt">{{Question}}</div>{{type:Answer}}',
                _TOPIC + '<div class="prompt">{{Question}}</div>{{type:Answer}}'
                '<hr id="answer"><div class="answer">{{Answer}}</div>' + _BACK_EXTRA,
            ),
        ),
    ),
    "cloze": _NoteType(
        "cloze",
        1760418304,
        "snri-quiz cloze",
        (("Text", 176041830401), ("Explanation", 176041830402), ("Sources", 176041830403), ("Topic", 176041830404)),
        (
            (
                "Cloze",
                176041830451,
                _TOPIC + '<div class="prompt">{{cloze:Text}}</div>',
                _TOPIC + '<div class="prompt">{{cloze:Text}}</div><hr id="answer">' + _BACK_EXTRA,
            ),
        ),
        cloze=True,
    ),
    "reverse": _NoteType(
        "reverse",
        1760418305,
        "snri-quiz basic and reversed",
        (
            ("Front", 176041830501),
            ("Back", 176041830502),
            ("ReverseFront", 176041830503),
            ("ReverseBack", 176041830504),
            ("Explanation", 176041830505),
            ("Sources", 176041830506),
            ("Topic", 176041830507),
        ),
        (
            (
                "Forward",
                176041830551,
                _TOPIC + '<div class="prompt">{{Front}}</div>',
                '{{FrontSide}}<hr id="answer"><div class="answer">{{Back}}</div>' + _BACK_EXTRA,
            ),
            (
                "Reverse",
                176041830552,
                "{{#ReverseFront}}" + _TOPIC + '<div class="prompt">{{ReverseFront}}</div>{{/ReverseFront}}',
                '{{FrontSide}}<hr id="answer"><div class="answer">{{ReverseBack}}</div>' + _BACK_EXTRA,
            ),
        ),
    ),
}


@dataclass(frozen=True)
class NoteSpec:
    """One note as it will be written: what Anki sees, before timestamps."""

    guid: str
    note_type: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    deck_name: str
    cards: int

    def content_hash(self) -> str:
        """Hash of everything Anki stores for the note (fields, tags, deck and note type)."""
        parts = (self.note_type, str(NOTE_TYPES[self.note_type].id), *self.fields, " ".join(self.tags), self.deck_name)
        return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class SubdeckCount:
    """Notes and cards in one subdeck."""

    name: str
    notes: int
    cards: int


@dataclass(frozen=True)
class BuildResult:
    """What `build` wrote."""

    path: Path
    subdecks: tuple[SubdeckCount, ...]
    changed: int
    """Notes whose content changed since the lock file was last written (new ones included)."""
    warnings: tuple[str, ...] = field(default=())

    @property
    def notes(self) -> int:
        return sum(s.notes for s in self.subdecks)

    @property
    def cards(self) -> int:
        return sum(s.cards for s in self.subdecks)


def _e(text: str) -> str:
    """Escape text for an HTML text node (quotes stay readable in Anki's editor)."""
    return html.escape(text, quote=False)


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def _sources_html(deck: Deck, ids: Iterable[str]) -> str:
    items = []
    for source_id in ids:
        source = deck.sources[source_id]
        title = _e(source.title)
        if source.url:
            items.append(f'<li><a href="{_attr(source.url)}">{title}</a></li>')
        else:
            items.append(f"<li>{title} ({_e(source.file)})</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _options_html(q: Question, marked: bool) -> str:
    items = []
    for index, option in enumerate(q.options):
        cls = ' class="correct"' if marked and index == q.answer_index else ""
        items.append(f"<li{cls}>{_e(option)}</li>")
    return '<ol class="options">' + "".join(items) + "</ol>"


_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})
_BRACES_AND_COLONS = str.maketrans({"{": "&#123;", "}": "&#125;", ":": "&#58;"})


def _cloze_text(text: str, inside: bool = False) -> str:
    """Escape text for a cloze field: as HTML, and braces (inside the deletion also
    colons) as character references, so `{{c1::` in a fact cannot start a deletion and
    `}}` or `::` (a hint) in the answer cannot end it early or hide part of it."""
    return _e(text).translate(_BRACES_AND_COLONS if inside else _BRACES)


def _cloze_html(q: Question) -> str:
    """The cloze field: the prompt with the deletion where the blank is. The gaps are
    found by lining the prompt up with `q.cloze` (never by searching for `{{c1::`, which
    the fact text itself may contain)."""
    marker = "{{c1::" + q.answer + "}}"
    pieces = _gaps(q.prompt, q.cloze, marker)
    if pieces is None:
        raise OutputError(f"question {q.id}: the cloze text does not match its prompt")
    deletion = "{{c1::" + _cloze_text(q.answer, inside=True) + "}}"
    return deletion.join(_cloze_text(piece) for piece in pieces)


def _gaps(prompt: str, cloze: str, marker: str) -> list[str] | None:
    """Pieces such that prompt == BLANK.join(pieces) and cloze == marker.join(pieces)."""
    simple = prompt.split(BLANK)
    if marker.join(simple) == cloze:
        return simple
    failed: set[tuple[int, int]] = set()

    def walk(p: int, c: int) -> list[str] | None:
        if prompt[p:] == cloze[c:]:
            return [prompt[p:]]
        if (p, c) in failed:
            return None
        at = cloze.find(marker, c)
        while at != -1:
            piece = cloze[c:at]
            if prompt.startswith(piece + BLANK, p):
                rest = walk(p + len(piece) + len(BLANK), at + len(marker))
                if rest is not None:
                    return [piece, *rest]
            at = cloze.find(marker, at + 1)
        failed.add((p, c))
        return None

    return walk(0, 0)


def subdeck_name(deck: Deck, topic: str) -> str:
    return f"{deck.name}::{deck.topics[topic]}"


def note_spec(deck: Deck, q: Question, sources_cache: dict[tuple[str, ...], str] | None = None) -> NoteSpec:
    """The note for one question (field text escaped as HTML)."""
    topic = _e(deck.topics[q.topic])
    if sources_cache is None:
        sources = _sources_html(deck, q.sources)
    else:
        sources = sources_cache.get(q.sources) or sources_cache.setdefault(q.sources, _sources_html(deck, q.sources))
    explanation = _e(q.explanation)
    fields: tuple[str, ...]
    cards = 1
    if q.kind == "mcq":
        fields = (
            _e(q.prompt),
            _options_html(q, False),
            _e(lettered_answer(q)),
            _options_html(q, True),
            explanation,
            sources,
            topic,
        )
        note_type = "mcq"
    elif q.kind == "tf":
        fields = (_e(q.prompt), q.answer, explanation, sources, topic)
        note_type = "tf"
    elif q.kind == "cloze":
        fields = (_cloze_html(q), explanation, sources, topic)
        note_type = "cloze"
    elif q.reversible:
        fields = (_e(q.prompt), _e(q.answer), _e(q.reverse_prompt), _e(q.reverse_answer), explanation, sources, topic)
        note_type = "reverse"
        cards = 2 if q.reverse_prompt else 1
    else:
        fields = (_e(q.prompt), _e(q.answer), explanation, sources, topic)
        note_type = "typed"
    return NoteSpec(genanki.guid_for(q.id), note_type, fields, q.tags, subdeck_name(deck, q.topic), cards)


def subdeck_id(deck: Deck, name: str) -> int:
    if name == deck.name:
        return deck.id
    return int(hashlib.sha256(f"{deck.id}:{name}".encode()).hexdigest()[:12], 16)


def deck_description(deck: Deck, specs: Sequence[NoteSpec]) -> str:
    kinds: dict[str, int] = {}
    for source in deck.sources.values():
        kinds[source.kind] = kinds.get(source.kind, 0) + 1
    lines = [
        f"<p><b>{_e(deck.name)}</b>, version {_e(deck.version)}: {len(specs)} notes built by snri-quiz.</p>",
        f"<p>{_e(deck.description)}</p>",
        "<p>Subdecks: " + ", ".join(_e(t) for t in deck.topics.values()) + ".</p>",
        f"<p>Sources ({len(deck.sources)}): "
        + ", ".join(f"{n} {_e(k)}" for k, n in sorted(kinds.items()))
        + ". Every card cites its sources on the back. Not a substitute for the current prescribing information.</p>",
    ]
    return "".join(lines)


# -- the lock file: content hash and last-change time per note -----------------------------


def _read_lock(path: Path) -> dict[str, Any]:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read
            raise OutputError(f"{path}: the lock file is not a regular file; refusing to read or replace it")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": 1, "models": {}, "notes": {}}
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: unreadable lock file ({exc}); delete it to start fresh") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("notes"), dict)
        or not isinstance(data.get("models"), dict)
    ):
        raise OutputError(f"{path}: not an snri-quiz lock file; delete it to start fresh")
    for section in ("models", "notes"):
        for key, entry in data[section].items():
            mod = entry.get("mod") if isinstance(entry, dict) else None
            if isinstance(mod, int) and not 0 <= mod <= MAX_TIME:
                raise OutputError(
                    f"{path}: {section}[{key!r}].mod: {mod} is not a time between 0 and {MAX_TIME}; "
                    "delete the lock file to start fresh"
                )
    return data


def _stamp(entries: dict[str, Any], key: str, digest: str, now: int) -> tuple[int, bool]:
    """The modification time for `key`: kept while its hash is unchanged, else moved forward."""
    old = entries.get(key)
    if isinstance(old, dict) and old.get("hash") == digest and isinstance(old.get("mod"), int):
        return old["mod"], False
    previous = old.get("mod", 0) if isinstance(old, dict) and isinstance(old.get("mod"), int) else 0
    mod = min(max(now, previous + 1), MAX_TIME)  # never a time the next build would refuse
    entries[key] = {"hash": digest, "mod": mod}
    return mod, True


def _model_hash(note_type: _NoteType) -> str:
    return hashlib.sha256(
        json.dumps([note_type.name, note_type.fields, note_type.templates, CSS, note_type.cloze]).encode()
    ).hexdigest()[:20]


def _now() -> int:
    """SOURCE_DATE_EPOCH when set (reproducible builds), else the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return int(time.time())
    if not (epoch.isascii() and epoch.isdigit()) or int(epoch) > MAX_TIME:
        shown = epoch if len(epoch) <= 30 else epoch[:30] + "..."
        raise UsageError(f"SOURCE_DATE_EPOCH: {shown!r} is not a time (whole seconds since 1970, at most {MAX_TIME})")
    return int(epoch)


def package_file_name(deck_name: str) -> str:
    """The .apkg file name for a deck: never a path, never hidden, never empty
    (`check` refuses such deck names; this is the second line of defence)."""
    safe = re.sub(r'[\x00-\x1f\x7f/\\<>:"|?*]', "_", deck_name).strip(" .")[:100]
    return f"{safe or 'deck'}.apkg"


def build_package(
    content: Content,
    out_dir: Path | None,
    *,
    topics: Iterable[str] = (),
    drugs: Iterable[str] = (),
    stream: IO[bytes] | None = None,
) -> BuildResult:
    """Write `<out_dir>/<deck name>.apkg` (or, when `out_dir` is None, the package to
    `stream`) and update the deck's lock file, all or nothing; return counts.

    `out_dir` may be missing if its parent exists: it is created when the build succeeds.
    """
    with paused_gc():
        return _build_package(content, out_dir, topics=topics, drugs=drugs, stream=stream)


def _build_package(
    content: Content,
    out_dir: Path | None,
    *,
    topics: Iterable[str] = (),
    drugs: Iterable[str] = (),
    stream: IO[bytes] | None = None,
) -> BuildResult:
    deck = content.deck
    topics, drugs = tuple(topics), tuple(drugs)
    now = _now()
    questions = filter_questions(content.bank, deck, topics=topics, drugs=drugs)
    sources_cache: dict[tuple[str, ...], str] = {}
    specs = [note_spec(deck, q, sources_cache) for q in questions]
    file_name = package_file_name(deck.name)
    target = out_dir / file_name if out_dir is not None else Path(file_name)

    lock_path = deck.path / LOCK_NAME
    lock = _read_lock(lock_path)
    changed = 0
    mods: list[int] = []
    for spec in specs:
        mod, was_changed = _stamp(lock["notes"], spec.guid, spec.content_hash(), now)
        changed += was_changed
        mods.append(mod)
    used_types = sorted({s.note_type for s in specs})
    stamped = [_stamp(lock["models"], str(NOTE_TYPES[k].id), _model_hash(NOTE_TYPES[k]), now) for k in used_types]
    model_mods = [mod for mod, _ in stamped]
    dirty = bool(changed) or any(was for _, was in stamped) or not lock_path.exists()
    if not topics and not drugs:  # a full build forgets notes that no longer exist
        live = {s.guid for s in specs}
        kept = {g: v for g, v in lock["notes"].items() if g in live}
        dirty = dirty or len(kept) != len(lock["notes"])
        lock["notes"] = kept
    warnings: list[str] = []
    package_time = max([*mods, *model_mods, 0])
    root = genanki.Deck(deck.id, deck.name, description=deck_description(deck, specs))
    for key in used_types:
        root.add_model(NOTE_TYPES[key].model())
    names = [subdeck_name(deck, topic) for topic in deck.topics]
    used = [name for name in names if any(s.deck_name == name for s in specs)]
    decks = [root, *(genanki.Deck(subdeck_id(deck, name), name) for name in used)]

    def write(tmp: Path) -> None:
        _write_apkg(decks, specs, mods, deck, package_time, tmp, scratch=file_name)

    # The package and the lock file are committed together: a failed build changes neither.
    with staged() as files:
        if dirty:
            try:
                files.add(lock_path, json.dumps(lock, indent=1, sort_keys=True) + "\n")
            except OutputError as exc:
                warnings.append(f"{exc}; modification times will not persist between builds")
        if out_dir is not None:
            files.add(target, writer=write, create_folder=True)
        else:
            assert stream is not None
            _stream_package(write, stream, file_name)
    counts = tuple(
        SubdeckCount(name, sum(s.deck_name == name for s in specs), sum(s.cards for s in specs if s.deck_name == name))
        for name in used
    )
    return BuildResult(target, counts, changed, tuple(warnings))


def _stream_package(write: Callable[[Path], None], stream: IO[bytes], file_name: str) -> None:
    """Build the package in a scratch file (cleaned up like every temporary file) and copy it out."""
    import shutil

    scratch = scratch_file(Path(tempfile.gettempdir()), f"snri-quiz-{file_name}")
    try:
        write(scratch)
        with scratch.open("rb") as handle:
            shutil.copyfileobj(handle, stream)
        stream.flush()
    except OSError as exc:
        raise OutputError(f"cannot write the package to standard output: {exc.strerror or exc}") from None
    finally:
        scratch.unlink(missing_ok=True)


def _write_apkg(
    decks: list[genanki.Deck],
    specs: Sequence[NoteSpec],
    mods: Sequence[int],
    deck: Deck,
    timestamp: int,
    path: Path,
    *,
    scratch: str,
) -> None:
    """genanki writes the collection, note types and decks; the notes and cards are inserted
    in two batches (genanki's per-note path is the slow part of large builds), and the zip
    gets fixed dates so the bytes are reproducible. The collection is built in a scratch
    file beside `path`, named like every temporary file of the output `scratch`, so a
    killed build's scratch file is deleted by the next build."""
    import itertools

    db_path = scratch_file(path.parent, scratch)
    try:
        connection = sqlite3.connect(db_path)
        try:
            connection.execute("PRAGMA journal_mode = OFF")  # a scratch file, renamed only when complete
            connection.execute("PRAGMA synchronous = OFF")
            cursor = connection.cursor()
            genanki.Package(decks).write_to_db(cursor, timestamp, itertools.count(timestamp * 1000))
            ids = itertools.count(timestamp * 1000)
            deck_ids = {name: subdeck_id(deck, name) for name in {s.deck_name for s in specs}}
            notes, cards = [], []
            for position, (spec, mod) in enumerate(zip(specs, mods, strict=True)):
                note_id = next(ids)
                notes.append(
                    (
                        note_id,
                        spec.guid,
                        NOTE_TYPES[spec.note_type].id,
                        mod,
                        -1,
                        " " + " ".join(spec.tags) + " ",
                        "\x1f".join(spec.fields),
                        spec.fields[0],
                        0,
                        0,
                        "",
                    )
                )
                deck_id = deck_ids[spec.deck_name]
                for ordinal in range(spec.cards):
                    cards.append(
                        (next(ids), note_id, deck_id, ordinal, mod, -1, 0, 0, position, 0, 0, 0, 0, 0, 0, 0, 0, "")
                    )
            cursor.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", notes)
            cursor.executemany("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)
            connection.commit()
        finally:
            connection.close()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, data in (("collection.anki2", db_path.read_bytes()), ("media", b"{}")):
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data, compresslevel=1)
    finally:
        db_path.unlink(missing_ok=True)
