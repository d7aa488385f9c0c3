"""The learner's own Anki collection: push the deck into it, pull its reviews back.

The only module that imports `anki` (Anki's own engine, the optional extra
`snri-quiz[anki]`). Every collection access goes through it:

- the collection is opened with Anki's library, which refuses a collection that Anki
  (or a sync) has open: that becomes one line and nothing is changed;
- a push first makes a backup with Anki's own backup mechanism (into the profile's
  `backups` folder, where Anki's *Open Backup* finds it), then applies every change in
  one SQLite transaction: a push that fails or is killed leaves the collection as it was;
- notes are matched by GUID; only generated fields whose text changed are written;
  "My notes" (always the last field), the learner's own tags (anything outside the
  deck's tag prefix), suspensions, flags, deck moves and review history are never touched;
- new notes are imported from a package of just those notes (Anki's own importer, so a
  push into an empty collection gives what importing the .apkg gives);
- questions no longer made are tagged `<prefix>::retired` (and optionally suspended),
  never deleted;
- note types keep their ids and are brought up to date in place (fields added or
  renamed, templates and styling replaced), which Anki counts as a schema change.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Container, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .anki import NOTE_TYPES, deck_description, guid_of, note_spec, read_lock, write_package
from .errors import CollectionError, MissingDependency, UsageError
from .facts import fact_hash
from .generate import Content
from .kinds import AnswerSource
from .questions import Question

if TYPE_CHECKING:
    from anki.collection import Collection

    from .progress import ExternalReview

INSTALL_HINT = "the anki commands need Anki's own library: pip install 'snri-quiz[anki]'"
COLLECTION_NAME = "collection.anki2"
_CONFIG_KEY = "snriQuiz:{deck_id}"
_MY_NOTES = "My notes"
_MAX_FACTS_STORED = 400


def require_anki() -> None:
    """Raise MissingDependency (with the install command) when the `anki` package is missing."""
    try:
        import anki  # noqa: F401
    except ImportError:
        raise MissingDependency(INSTALL_HINT) from None


# -- where the collection is -----------------------------------------------------------------


def anki_base() -> Path:
    """Anki's data folder on this platform ($ANKI_BASE when set, as Anki itself honours)."""
    env = os.environ.get("ANKI_BASE")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "Anki2"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Anki2"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "Anki2"


def profiles(base: Path | None = None) -> list[tuple[str, Path]]:
    """(profile name, collection path) for every Anki profile with a collection."""
    base = base or anki_base()
    try:
        folders = sorted(p for p in base.iterdir() if p.is_dir())
    except OSError:
        return []
    return [(p.name, p / COLLECTION_NAME) for p in folders if (p / COLLECTION_NAME).is_file()]


def collection_path(collection: str | Path | None = None, profile: str | None = None) -> Path:
    """The collection file to use: --collection, else the --profile's, else the only profile's."""
    if collection is not None:
        path = Path(collection)
        if path.is_dir():
            path = path / COLLECTION_NAME
    else:
        base = anki_base()
        found = dict(profiles(base))
        if profile is not None:
            if profile not in found:
                known = ", ".join(found) or "none"
                raise UsageError(f"no Anki profile '{profile}' in {base} (profiles: {known})")
            path = found[profile]
        elif len(found) == 1:
            path = next(iter(found.values()))
        elif not found:
            raise UsageError(f"no Anki profile in {base}: open Anki once, or pass --collection PATH")
        else:
            raise UsageError(f"several Anki profiles in {base} ({', '.join(found)}): choose one with --profile NAME")
    if not path.is_file():
        raise UsageError(f"no Anki collection at {path}")
    return path


@contextmanager
def open_collection(path: Path) -> Iterator[Collection]:
    """Open the collection with Anki's library; an open (locked) collection becomes one CollectionError."""
    require_anki()
    from anki.collection import Collection
    from anki.errors import AnkiException

    try:
        col = Collection(str(path))
    except AnkiException as exc:
        detail = " ".join(str(exc).split())
        if "already open" in detail or "locked" in detail:
            raise CollectionError(
                f"{path} is open in Anki (or being synced): close Anki (or switch it to another profile) "
                "and run again; nothing was changed"
            ) from None
        if "NotADatabase" in detail or "not a database" in detail:
            detail = "it is not an Anki collection (not an SQLite database)"
        raise CollectionError(f"cannot open Anki collection {path}: {detail or type(exc).__name__}") from None
    try:
        yield col
    finally:
        col.close()


# -- push ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteUpdate:
    """An existing note a push changes, and why."""

    question_id: str
    prompt: str
    fields: tuple[str, ...]
    """Generated fields whose text changed."""
    facts: tuple[str, ...]
    """The question's facts changed since the last push (empty when unknown or none)."""
    tags: bool = False
    """The deck's own tags changed."""
    unretired: bool = False
    """The question is made again: its retired tag goes."""

    @property
    def reason(self) -> str:
        parts = []
        if self.facts:
            parts.append(("facts " if len(self.facts) > 1 else "fact ") + ", ".join(self.facts) + " changed")
        if self.fields:
            parts.append(", ".join(self.fields))
        if self.tags:
            parts.append("tags")
        if self.unretired:
            parts.append("made again")
        return "; ".join(parts)


@dataclass(frozen=True)
class PushPlan:
    """What a push changes (a dry run prints it and stops)."""

    added: tuple[tuple[str, str], ...]
    """(question id, prompt) of new notes."""
    updated: tuple[NoteUpdate, ...]
    retired: tuple[tuple[str, str], ...]
    """(question id, the note's first field) of notes to tag as retired."""
    unchanged: int
    """Notes of questions still made that need no change."""
    skipped: tuple[tuple[str, str], ...] = ()
    """(question id, why) of notes a push cannot update (their GUID is used by another note type)."""
    note_types: tuple[str, ...] = ()
    """Note types to add or bring up to date, each with what changes ('snri-quiz cloze: field My notes added')."""
    schema_change: bool = False
    """Fields or templates are added or renamed: Anki will ask for a full sync."""
    description: bool = False
    """The deck's description (with the last build's change summary) is rewritten."""
    reviews: int = 0
    """Terminal answers to add to Anki's review log (--push-reviews)."""

    @property
    def facts_changed(self) -> int:
        return len({f for u in self.updated for f in u.facts})

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.retired or self.note_types or self.description or self.reviews)

    def summary(self) -> str:
        n = self.facts_changed
        facts = f" ({n} fact{'s' if n != 1 else ''} changed)" if n else ""
        text = (
            f"{len(self.updated)} notes updated{facts}, {len(self.added)} added, "
            f"{len(self.retired)} retired, {self.unchanged} unchanged"
        )
        text += f", {len(self.skipped)} skipped" if self.skipped else ""
        return text + (f"; {self.reviews} terminal answers added to Anki's review log" if self.reviews else "")

    def lines(self) -> list[str]:
        out = [f"updated  {u.question_id}  {u.prompt} ({u.reason})" for u in self.updated]
        out += [f"added    {qid}  {prompt}" for qid, prompt in self.added]
        out += [f"retired  {qid}  {text}".rstrip() for qid, text in self.retired]
        out += [f"skipped  {qid}  {why}" for qid, why in self.skipped]
        out += [f"note type  {text}" for text in self.note_types]
        out += ["deck description updated"] if self.description else []
        return [line if len(line) < 400 else line[:400] for line in out]


@dataclass(frozen=True)
class PushResult:
    """What `anki push` did."""

    plan: PushPlan
    collection: Path
    backup: Path | None
    """Anki's backup made before the push (None for a dry run or when nothing changed)."""
    dry_run: bool


@dataclass
class _Work:
    """The plan plus what applying it needs (note ids, new field values)."""

    plan: PushPlan
    updates: dict[int, tuple[dict[str, str], set[str], set[str]]]
    """note id -> (field name -> text, tags to add, tags to remove)."""
    new_specs: list[Any]
    retire: list[int]
    note_types: list[dict[str, Any]]
    fact_hashes: dict[str, str]
    description: str
    reviews: list[tuple[str, int, int]]
    """(GUID, rating, seconds since the epoch) of terminal answers to write into the review log."""


def push(
    content: Content,
    path: Path,
    *,
    dry_run: bool = False,
    suspend_retired: bool = False,
    answers: Sequence[tuple[str, int, datetime]] = (),
) -> PushResult:
    """Bring the deck in the collection at `path` up to date (or, with dry_run, say what that would change).

    `answers` (question id, rating, when) are terminal answers to add to the review log
    of the notes' first cards (`--push-reviews`); one already there is not added again."""
    with open_collection(path) as col:
        db = col.db
        assert db is not None  # open
        work = _plan(col, content, answers)
        if dry_run or not work.plan:
            return PushResult(work.plan, path, None, dry_run)
        backup = _backup(col, path)
        try:
            db.transact(lambda: _apply(col, content, work, suspend_retired))
        except Exception as exc:  # noqa: BLE001 - any failure is rolled back; say so in one line
            raise CollectionError(f"push into {path} failed and was rolled back: {exc}") from None
    return PushResult(work.plan, path, backup, dry_run)


def _plan(col: Collection, content: Content, answers: Sequence[tuple[str, int, datetime]] = ()) -> _Work:
    deck = content.deck
    prefix = f"{deck.tag_prefix}::"
    retired_tag = f"{deck.tag_prefix}::retired"
    sources: dict[tuple[str, ...], str] = {}
    live = {}
    for q in content.bank:
        spec = note_spec(deck, q, sources)
        live[spec.guid] = (q, spec)
    lock = read_lock(deck)
    known = {g: str(v.get("id", g)) for g, v in lock["notes"].items() if isinstance(v, dict)}
    ours = {nt.id: nt for nt in NOTE_TYPES.values()}

    stored = col.get_config(_CONFIG_KEY.format(deck_id=deck.id), default=None)
    old_facts = stored.get("facts") if isinstance(stored, dict) and isinstance(stored.get("facts"), dict) else None
    if old_facts is None and isinstance(lock.get("facts"), dict):  # first push: compare with the last build
        old_facts = {f: str(h)[:8] for f, h in lock["facts"].items()}
    fact_hashes = {f.id: fact_hash(f)[:8] for f in deck.facts}
    changed_facts = (
        set() if old_facts is None else {f for f, h in fact_hashes.items() if old_facts.get(f) not in (None, h)}
    )

    note_types: list[dict[str, Any]] = []
    type_names: list[str] = []
    schema = False
    columns: dict[int, dict[str, int]] = {}
    for nt in ours.values():
        existing = col.models.get(nt.id)  # type: ignore[arg-type]
        if existing is None:
            if any(spec.note_type == nt.key for _, spec in live.values()):
                type_names.append(f"{nt.name}: added")
            continue
        updated, what, added_schema = _updated_notetype(col, existing, nt)
        if updated is not None:
            note_types.append(updated)
            type_names.append(f"{existing['name']}: {', '.join(what)} (in place, same id)")
            schema = schema or added_schema
        by_id = {f.get("id"): i for i, f in enumerate(existing["flds"])}
        by_name = {f["name"]: i for i, f in enumerate(existing["flds"])}
        columns[nt.id] = {}
        for name, fid in nt.fields:
            index = by_id.get(fid, by_name.get(name))
            if index is not None:
                columns[nt.id][name] = index

    present: set[str] = set()
    updates: dict[int, tuple[dict[str, str], set[str], set[str]]] = {}
    plan_updates: list[NoteUpdate] = []
    retire: list[int] = []
    retired: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    unchanged = 0
    assert col.db is not None  # open
    for nid, guid, mid, flds, tags in col.db.execute("select id, guid, mid, flds, tags from notes"):
        if guid not in live and guid not in known:
            continue
        present.add(guid)
        tag_list = str(tags).split()
        if guid not in live:  # a question no longer made (notes retired before are not counted)
            if mid in ours and retired_tag not in tag_list:
                retire.append(nid)
                retired.append((known[guid], str(flds).split("\x1f", 1)[0][:80]))
            continue
        q, spec = live[guid]
        nt = NOTE_TYPES[spec.note_type]
        if mid != nt.id:
            skipped.append((q.id, "its GUID belongs to a note of another note type in this collection"))
            continue
        values = str(flds).split("\x1f")
        where = columns.get(nt.id, {})
        changed_fields: dict[str, str] = {}
        for (name, _), text in zip(nt.fields, spec.fields, strict=True):
            if name == _MY_NOTES:
                continue
            index = where.get(name)
            current = values[index] if index is not None and index < len(values) else None
            if current != text:
                changed_fields[name] = text
        owned = {t for t in tag_list if t.startswith(prefix) and t != retired_tag}
        wanted = set(spec.tags)
        add_tags, remove_tags = wanted - owned, owned - wanted
        unretire = retired_tag in tag_list
        if unretire:
            remove_tags.add(retired_tag)
        if changed_fields or add_tags or remove_tags:
            updates[nid] = (changed_fields, add_tags, remove_tags)
            facts = tuple(f for f in q.facts if f in changed_facts)
            plan_updates.append(
                NoteUpdate(
                    q.id,
                    q.prompt,
                    tuple(changed_fields),
                    facts,
                    tags=bool(add_tags or remove_tags - {retired_tag}),
                    unretired=unretire,
                )
            )
        else:
            unchanged += 1
    new_specs = [spec for guid, (_, spec) in live.items() if guid not in present]
    added = tuple((q.id, q.prompt) for guid, (q, _) in live.items() if guid not in present)
    last = lock.get("changes")
    summary = f"{last['date']}, version {last['version']}: {last['summary']}" if isinstance(last, dict) else ""
    description = deck_description(deck, [spec for _, spec in live.values()], summary)
    root = col.decks.by_name(deck.name)
    guids = {q.id: guid for guid, (q, _) in live.items()}
    reviews = [
        (guids[qid], rating, int(at.timestamp()))
        for qid, rating, at in answers
        if qid in guids and 1 <= rating <= 4 and not _review_written(col, guids[qid], rating, int(at.timestamp()))
    ]
    plan = PushPlan(
        description=root is not None and root.get("desc") != description,
        reviews=len(reviews),
        added=added,
        updated=tuple(plan_updates),
        retired=tuple(retired),
        unchanged=unchanged,
        skipped=tuple(skipped),
        note_types=tuple(type_names),
        schema_change=schema,
    )
    return _Work(plan, updates, new_specs, retire, note_types, fact_hashes, description, reviews)


def _updated_notetype(
    col: Collection, existing: dict[str, Any], nt: Any
) -> tuple[dict[str, Any] | None, list[str], bool]:
    """The note type brought up to date in place (same id; the learner's extra fields kept), or None if
    current; what changed; whether that is a schema change (fields or card types added or renamed)."""
    import copy

    from .anki import CSS

    model = copy.deepcopy(existing)
    what: list[str] = []
    schema = False
    for name, fid in nt.fields:
        field = next((f for f in model["flds"] if f.get("id") == fid), None) or next(
            (f for f in model["flds"] if f["name"] == name), None
        )
        if field is None:
            field = col.models.new_field(name)
            field["id"] = fid
            col.models.add_field(model, field)
            what.append(f"field {name} added")
            schema = True
        elif field["name"] != name:
            what.append(f"field {field['name']} renamed {name}")
            schema = True
            col.models.rename_field(model, field, name)
    for name, tid, qfmt, afmt in nt.templates:
        template = next((t for t in model["tmpls"] if t.get("id") == tid), None) or next(
            (t for t in model["tmpls"] if t["name"] == name), None
        )
        if template is None:
            template = col.models.new_template(name)
            template["id"] = tid
            template["qfmt"], template["afmt"] = qfmt, afmt
            col.models.add_template(model, template)
            what.append(f"card type {name} added")
            schema = True
            continue
        if (template["name"], template["qfmt"], template["afmt"]) != (name, qfmt, afmt):
            template["name"], template["qfmt"], template["afmt"] = name, qfmt, afmt
            what.append(f"card type {name} updated")
    if model["css"] != CSS:
        model["css"] = CSS
        what.append("styling updated")
    return (model if what else None), what, schema


def _backup(col: Collection, path: Path) -> Path:
    """Anki's own backup (a .colpkg in the profile's backups folder); the newest one if nothing changed since."""
    folder = path.parent / "backups"
    try:
        folder.mkdir(exist_ok=True)
        col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True)
    except Exception as exc:  # noqa: BLE001 - no backup, no push
        raise CollectionError(f"cannot back up {path} into {folder} ({exc}); nothing was changed") from None
    backups = sorted(folder.glob("*.colpkg"), key=lambda p: p.stat().st_mtime)
    if not backups:  # Anki made none and has none: no push without a way back
        raise CollectionError(f"Anki made no backup of {path} in {folder}; nothing was changed")
    return backups[-1]


def _apply(col: Collection, content: Content, work: _Work, suspend_retired: bool) -> None:
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    deck = content.deck
    for model in work.note_types:
        col.models.update_dict(model)
    if work.new_specs:
        lock_notes = read_lock(deck)["notes"]
        now = int(datetime.now(UTC).timestamp())
        mods = [int((lock_notes.get(s.guid) or {}).get("mod", now)) for s in work.new_specs]
        with tempfile.TemporaryDirectory(prefix="snri-quiz-push-") as tmp:
            package = write_package(deck, work.new_specs, mods, Path(tmp) / "new.apkg", max(mods))
            options = ImportAnkiPackageOptions(merge_notetypes=True)
            col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=options))
    notes = []
    for nid, (fields, add_tags, remove_tags) in work.updates.items():
        note = col.get_note(nid)  # type: ignore[arg-type]
        for name, text in fields.items():
            note[name] = text
        note.tags = [t for t in note.tags if t not in remove_tags] + sorted(add_tags)
        notes.append(note)
    if notes:
        col.update_notes(notes)
    if work.retire:
        col.tags.bulk_add(work.retire, f"{deck.tag_prefix}::retired")  # type: ignore[arg-type]
        if suspend_retired:
            cards = [cid for nid in work.retire for cid in col.card_ids_of_note(nid)]  # type: ignore[arg-type]
            col.sched.suspend_cards(cards)
    for guid, rating, seconds in work.reviews:
        _write_review(col, guid, rating, seconds)
    # Anki sends its config on every sync and asks for a few kilobytes at most: short hashes, big decks skip it.
    if len(work.fact_hashes) <= _MAX_FACTS_STORED:
        col.set_config(_CONFIG_KEY.format(deck_id=deck.id), {"facts": work.fact_hashes, "version": deck.version})
    root = col.decks.by_name(deck.name)
    if root is not None and root.get("desc") != work.description:
        root["desc"] = work.description
        col.decks.save(root)


# Terminal answers written into Anki's review log (--push-reviews) are recognisable: their id
# (milliseconds) falls in the second of the answer, with its rating, and their "time taken" is
# 0 (Anki times every review it records). `pull` leaves them out; a second push does not repeat them.


def _first_card(col: Collection, guid: str) -> int | None:
    assert col.db is not None
    cid = col.db.scalar(
        "select c.id from cards c join notes n on n.id = c.nid where n.guid = ? order by c.ord limit 1", guid
    )
    return int(cid) if cid is not None else None


def _review_written(col: Collection, guid: str, rating: int, seconds: int) -> bool:
    assert col.db is not None
    cid = _first_card(col, guid)
    return cid is not None and bool(
        col.db.scalar(
            "select count() from revlog where cid = ? and id between ? and ? and time = 0 and ease = ?",
            cid,
            seconds * 1000,
            seconds * 1000 + 999,
            rating,
        )
    )


def _write_review(col: Collection, guid: str, rating: int, seconds: int) -> None:
    assert col.db is not None
    cid = _first_card(col, guid)
    if cid is None or _review_written(col, guid, rating, seconds):
        return
    review_id = seconds * 1000
    while col.db.scalar("select count() from revlog where id = ?", review_id) and review_id < seconds * 1000 + 999:
        review_id += 1
    col.db.execute(
        "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) values (?, ?, ?, ?, 0, 0, 0, 0, 1)",
        review_id,
        cid,
        col.usn(),
        rating,
    )


# -- pull ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullResult:
    """What `anki pull` found and merged."""

    collection: Path
    found: int
    """Reviews of this deck's notes in the collection."""
    added: int
    """Of those, new to the progress database."""
    not_in_deck: int
    """Reviews of notes whose question the knowledge base no longer makes (not merged)."""


def read_reviews(
    content: Content,
    path: Path,
    pushed: Container[tuple[str, int, int]] = (),
) -> tuple[list[ExternalReview], int]:
    """This deck's reviews in the collection's review log, and how many belong to retired questions.

    `pushed` holds (question id, second, rating) of terminal answers, whose copies in the
    review log (written by --push-reviews) are left out."""
    from .progress import ExternalReview

    by_guid: dict[str, Question] = {guid_of(q.id): q for q in content.bank}
    known = {g for g, v in read_lock(content.deck).get("notes", {}).items() if isinstance(v, dict)}
    ours = tuple(nt.id for nt in NOTE_TYPES.values())
    reviews: list[ExternalReview] = []
    retired = 0
    with open_collection(path) as col:
        assert col.db is not None  # open
        rows = col.db.all(
            "select r.id, r.ease, n.guid, r.time from revlog r"
            " join cards c on c.id = r.cid join notes n on n.id = c.nid"
            f" where r.ease between 1 and 4 and n.mid in ({','.join(str(i) for i in ours)}) order by r.id"
        )
    for review_id, ease, guid, taken in rows:
        question = by_guid.get(str(guid))
        if question is None:
            retired += str(guid) in known
            continue
        if taken == 0 and (question.id, int(review_id) // 1000, int(ease)) in pushed:
            continue  # a terminal answer written by --push-reviews
        at = datetime.fromtimestamp(int(review_id) / 1000, UTC)
        reviews.append(ExternalReview(int(review_id), question, int(ease), at))
    return reviews, retired


def pull(content: Content, path: Path, progress: Path | None = None) -> PullResult:
    """Merge this deck's Anki reviews into the progress database (source 'anki'); pulling twice adds nothing."""
    from .progress import ProgressStore

    with ProgressStore.open(progress) as store:
        pushed = {(q, int(at.timestamp()), r) for q, r, at in store.rated_answers(AnswerSource.PLAY)}
        reviews, retired = read_reviews(content, path, pushed)
        added = store.merge_reviews(reviews, source=AnswerSource.ANKI)
    return PullResult(path, len(reviews), added, retired)
