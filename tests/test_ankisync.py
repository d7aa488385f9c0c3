"""`snri-quiz anki push/pull/profiles` against real collections (Anki's own `anki` package)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition
from anki.scheduler_pb2 import CardAnswer
from click.testing import CliRunner

from snri_quiz.anki import NOTE_TYPES, build_package, guid_of, note_spec
from snri_quiz.ankisync import push
from snri_quiz.cli import cli
from snri_quiz.content import load_content

from .conftest import ROOT, replace_in

OLD_RELEASE = ROOT / "tests" / "data" / "snri-1.0.0.apkg"  # `snri-quiz build` of release 1.0.0 (no "My notes")
MILNACIPRAN_OLD = "Titration: day 1 12.5 mg once;"  # in the note of fact milnacipran.dose
MILNACIPRAN_NEW = "Titration in adults: day 1 12.5 mg once;"
CHANGED_FACT = "milnacipran.dose"
RETIRED_TEMPLATE = "washout-not-mcq"  # makes two questions


def _drop_template(path: Path, template_id: str) -> None:
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {template_id}\n")
    end = text.index("\n  - id: ", start) + 1
    path.write_text(text[:start] + text[end:], encoding="utf-8")


def _new_collection(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "collection.anki2"
    Collection(str(path)).close()
    return path


def _import(path: Path, apkg: Path, **options: object):  # type: ignore[no-untyped-def]
    col = Collection(str(path))
    try:
        request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions(**options))
        return col.import_anki_package(request).log
    finally:
        col.close()


def _dump(path: Path) -> dict[str, object]:
    """Everything a learner cares about, by GUID: note type, fields, tags, cards (deck, queue, flags, schedule)."""
    col = Collection(str(path))
    try:
        assert col.db is not None
        notes = {
            guid: (mid, flds, " ".join(sorted(tags.split())))
            for guid, mid, flds, tags in col.db.execute("select guid, mid, flds, tags from notes")
        }
        cards = sorted(
            col.db.execute(
                "select n.guid, c.ord, d.name, c.type, c.queue, c.due, c.ivl, c.reps, c.flags from cards c"
                " join notes n on n.id = c.nid join decks d on d.id = c.did"
            )
        )
        revlog = col.db.scalar("select count() from revlog")
        types = sorted(
            (m["id"], m["name"], tuple(f["name"] for f in m["flds"])) for m in col.models.all() if "snri" in m["name"]
        )
        root = col.decks.by_name("SNRIs")
        desc = root["desc"] if root is not None else None
        return {"notes": notes, "cards": cards, "revlog": revlog, "types": types, "description": desc}
    finally:
        col.close()


def _env(tmp_path: Path) -> dict[str, str]:
    return {"SNRI_QUIZ_HOME": str(tmp_path / "home"), "ANKI_BASE": str(tmp_path / "no-anki")}


def _run(args: list[str], tmp_path: Path):  # type: ignore[no-untyped-def]
    return CliRunner(env=_env(tmp_path)).invoke(cli, args)


def _study(path: Path, deck_name: str, count: int, rating: CardAnswer.Rating.V = CardAnswer.GOOD) -> list[int]:
    """Answer `count` cards of a subdeck with Anki's own scheduler; returns the card ids."""
    col = Collection(str(path))
    try:
        col.decks.select(col.decks.id(deck_name))
        done = []
        for _ in range(count):
            card = col.sched.getCard()
            assert card is not None
            states = col._backend.get_scheduling_states(card.id)
            col.sched.answer_card(col.sched.build_answer(card=card, states=states, rating=rating))
            done.append(card.id)
        return done
    finally:
        col.close()


def test_push_into_an_empty_collection_equals_importing_the_apkg(deck_copy: Path, tmp_path: Path) -> None:
    content = load_content(deck_copy)
    apkg = build_package(content, tmp_path / "dist").path
    imported = _new_collection(tmp_path / "imported")
    _import(imported, apkg)
    pushed = _new_collection(tmp_path / "pushed")

    result = _run(["anki", "push", "--deck", str(deck_copy), "--collection", str(pushed)], tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Backup: {pushed.parent / 'backups'}") and Path(lines[0][8:]).is_file()
    assert lines[1] == f"Pushed into {pushed}: 0 notes updated, {len(content.bank)} added, 0 retired, 0 unchanged"
    assert _dump(pushed) == _dump(imported)
    assert len(_dump(pushed)["notes"]) == len(content.bank)  # type: ignore[arg-type]

    again = _run(["anki", "push", "--deck", str(deck_copy), "--collection", str(pushed)], tmp_path)
    assert (
        again.stdout == f"Up to date: {pushed} (0 notes updated, 0 added, 0 retired, {len(content.bank)} unchanged)\n"
    )
    # and a collection that imported the .apkg is already up to date for push
    assert push(content, imported, dry_run=True).plan.summary().endswith(f"{len(content.bank)} unchanged")


def test_push_updates_exactly_the_changed_notes_and_keeps_the_learners_work(
    deck_copy: Path, templates_copy: Path, tmp_path: Path
) -> None:
    content = load_content(deck_copy, templates_copy)
    path = _new_collection(tmp_path / "anki")
    push(content, path)
    changing = [q for q in content.bank if MILNACIPRAN_OLD in q.explanation]
    retiring = [q for q in content.bank if q.template == RETIRED_TEMPLATE]
    assert len(changing) >= 2 and len(retiring) == 2

    # the learner's work: "My notes", a tag, a suspension, a flag, a deck move and reviews
    reviewed = _study(path, "SNRIs::Brand names", 3)
    col = Collection(str(path))
    first, second = (col.get_note(_nid(col, q.id)) for q in changing[:2])
    first["My notes"] = "Savella: <b>fibromyalgia</b> only in the US"
    col.update_note(first)
    second.tags.append("exam-week-3")
    col.update_note(second)
    col.sched.suspend_cards(second.card_ids())
    col.set_user_flag_for_cards(2, first.card_ids())
    own_deck = col.decks.id("My hard cards")
    assert own_deck is not None
    col.set_deck(first.card_ids(), own_deck)
    retired_note = _nid(col, retiring[0].id)
    col.close()
    before = _dump(path)

    replace_in(deck_copy / "drugs" / "milnacipran.yaml", MILNACIPRAN_OLD, MILNACIPRAN_NEW)
    _drop_template(templates_copy / "drugs.yaml", RETIRED_TEMPLATE)
    edited = load_content(deck_copy, templates_copy)
    args = ["anki", "push", "--deck", str(deck_copy), "--templates", str(templates_copy), "--collection", str(path)]

    dry = _run([*args, "--dry-run"], tmp_path)
    assert dry.exit_code == 0, dry.output
    unchanged = len(content.bank) - len(changing) - len(retiring)
    summary = f"{len(changing)} notes updated (1 fact changed), 0 added, 2 retired, {unchanged} unchanged"
    assert dry.stdout.splitlines()[:2] == [f"Dry run, nothing written to {path}", f"Would change: {summary}"]
    for q in changing:
        assert f"  updated  {q.id}  " in dry.stdout
        assert f"(fact {CHANGED_FACT} changed; Explanation)" in dry.stdout
    for q in retiring:
        assert f"  retired  {q.id}  " in dry.stdout
    assert _dump(path) == before

    result = _run([*args, "--suspend-retired"], tmp_path)
    assert result.exit_code == 0, result.output
    assert f"Pushed into {path}: {summary}" in result.stdout
    after = _dump(path)
    notes_before, notes_after = before["notes"], after["notes"]
    assert isinstance(notes_before, dict) and isinstance(notes_after, dict)
    touched = {g for g in notes_after if notes_after[g] != notes_before[g]}
    assert touched == {guid_of(q.id) for q in changing + retiring}

    col = Collection(str(path))
    try:
        first, second = (col.get_note(n.id) for n in (first, second))
        assert first["My notes"] == "Savella: <b>fibromyalgia</b> only in the US"
        assert MILNACIPRAN_NEW in first["Explanation"] and MILNACIPRAN_NEW in second["Explanation"]
        assert "exam-week-3" in second.tags
        assert all(col.get_card(c).queue == -1 for c in second.card_ids())  # still suspended
        assert all(col.get_card(c).user_flag() == 2 for c in first.card_ids())
        assert all(col.get_card(c).did == own_deck for c in first.card_ids())
        assert "snri::retired" in col.get_note(retired_note).tags
        assert all(col.get_card(c).queue == -1 for c in col.card_ids_of_note(retired_note))
        assert col.note_count() == len(content.bank)  # nothing deleted
        spec = note_spec(edited.deck, next(q for q in edited.bank if q.id == changing[0].id))
        assert list(first.values())[:-1] == list(spec.fields[:-1])
    finally:
        col.close()
    assert after["revlog"] == before["revlog"] == 3
    retired_guids = {guid_of(q.id) for q in retiring}
    keep = [tuple(row) for row in before["cards"] if row[0] not in retired_guids]  # type: ignore[attr-defined]
    assert keep == [tuple(row) for row in after["cards"] if row[0] not in retired_guids]  # type: ignore[attr-defined]
    assert len(reviewed) == 3  # their schedule is in the card rows compared above


def _nid(col: Collection, question_id: str):  # type: ignore[no-untyped-def]
    assert col.db is not None
    return col.db.scalar("select id from notes where guid = ?", guid_of(question_id))


def test_pull_merges_reviews_once_and_play_knows_them(deck_copy: Path, tmp_path: Path) -> None:
    content = load_content(deck_copy)
    path = _new_collection(tmp_path / "anki")
    push(content, path)
    cards = _study(path, "SNRIs::Approval dates", 4, rating=CardAnswer.EASY)  # Easy: out of learning at once
    db = sqlite3.connect(path)
    db.execute("update revlog set id = id - 86400000")  # reviewed yesterday
    db.commit()
    db.close()

    result = _run(["anki", "pull", "--deck", str(deck_copy), "--collection", str(path)], tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Pulled 4 new reviews from {path} (4 in Anki for this deck)\n"
    stats = _run(["stats", "--json", "--deck", str(deck_copy)], tmp_path)
    data = json.loads(stats.stdout)
    assert data["answered"] == 4 and data["correct"] == 4
    assert data["by_source"] == {"play": 0, "anki": 4}

    again = _run(["stats", "--json", "--anki", "--deck", str(deck_copy), "--collection", str(path)], tmp_path)
    assert again.exit_code == 0, again.output
    assert again.stderr == f"Pulled 0 new reviews from {path} (4 in Anki for this deck)\n"
    assert json.loads(again.stdout)["by_source"] == {"play": 0, "anki": 4}
    text = _run(["stats", "--deck", str(deck_copy)], tmp_path)
    assert "\nAnswered:   4 (100% correct)\n            0 in snri-quiz, 4 in Anki\n" in text.stdout

    # the terminal scheduler: none of them is due today, so play asks other questions first
    from datetime import UTC, datetime

    from snri_quiz.progress import ProgressStore

    col = Collection(str(path))
    guids = {col.get_card(c).note().guid for c in cards}
    col.close()
    ids = {q.id for q in content.bank if guid_of(q.id) in guids}
    with ProgressStore.open(tmp_path / "home" / "progress.db") as store:
        due = store.due_dates()
    assert set(due) == ids
    assert all(when > datetime.now(UTC) for when in due.values())
    from snri_quiz.play import order_for_review
    from snri_quiz.selection import Selection

    topic = [q for q in content.bank if q.topic == "approval_dates"]
    first = order_for_review(
        content.bank,
        content.deck,
        due,
        datetime.now(UTC),
        Selection(count=len(topic) - 4, topics=("approval_dates",)),
    )
    assert not {q.id for q in first} & ids  # reviewed in Anki yesterday: asked after every new question


def test_an_open_collection_is_refused_and_left_unchanged(deck_copy: Path, tmp_path: Path) -> None:
    path = _new_collection(tmp_path / "anki")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from anki.collection import Collection; "
            f"c = Collection({str(path)!r}); print('open', flush=True); sys.stdin.readline(); c.close()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        for args in (["anki", "push"], ["anki", "push", "--dry-run"], ["anki", "pull"]):
            result = _run([*args, "--deck", str(deck_copy), "--collection", str(path)], tmp_path)
            assert result.exit_code == 1
            assert result.stderr == (
                f"Error: {path} is open in Anki (or being synced): close Anki (or switch it to another profile)"
                " and run again; nothing was changed\n"
            )
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert not (path.parent / "backups").exists()
    assert _dump(path)["notes"] == {}


# A child process that pushes, but stops for good right after Anki has written the note
# updates (note types already changed, nothing committed yet), so the kill lands mid-push.
_STALLED_PUSH = """
import sys, time
from anki.collection import Collection
from snri_quiz.ankisync import push
from snri_quiz.content import load_content

real = Collection.update_notes
def stalled(self, notes, **kwargs):
    real(self, notes, **kwargs)
    print("mid-push", flush=True)
    time.sleep(60)
Collection.update_notes = stalled
push(load_content(sys.argv[1]), __import__("pathlib").Path(sys.argv[2]))
"""


@pytest.mark.slow  # kills a child process mid-write
def test_a_killed_push_leaves_the_collection_as_it_was(deck_copy: Path, tmp_path: Path) -> None:
    path = _new_collection(tmp_path / "anki")
    _import(path, OLD_RELEASE)  # a 1.0.0 learner: the push also changes every note type
    _study(path, "SNRIs::Mechanism", 2)
    replace_in(deck_copy / "drugs" / "milnacipran.yaml", MILNACIPRAN_OLD, MILNACIPRAN_NEW)
    replace_in(deck_copy / "drugs" / "duloxetine.yaml", "value: 2004-08-03", "value: 2004-08-04")
    before = _dump(path)
    env = {**os.environ, **_env(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-c", _STALLED_PUSH, str(deck_copy), str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "mid-push\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    assert _dump(path) == before
    assert list((path.parent / "backups").glob("*.colpkg"))  # the backup was made before any change

    # the next push completes
    result = _run(["anki", "push", "--deck", str(deck_copy), "--collection", str(path)], tmp_path)
    assert result.exit_code == 0, result.output
    after = _dump(path)
    assert after != before and after["revlog"] == before["revlog"]


def test_a_release_1_0_0_collection_is_upgraded_in_place(deck_copy: Path, tmp_path: Path) -> None:
    """1.0.0's note types had no "My notes" field; push adds it in place (same ids, reviews kept)."""
    path = _new_collection(tmp_path / "anki")
    _import(path, OLD_RELEASE)
    reviewed = _study(path, "SNRIs::Dosing", 2)
    col = Collection(str(path))
    tagged = col.find_notes("")[0]
    note = col.get_note(tagged)
    note.tags.append("mine")
    col.update_note(note)
    col.close()
    before = _dump(path)
    assert all("My notes" not in fields for _, _, fields in before["types"])  # type: ignore[attr-defined]

    replace_in(deck_copy / "drugs" / "milnacipran.yaml", MILNACIPRAN_OLD, MILNACIPRAN_NEW)
    live = {guid_of(q.id) for q in load_content(deck_copy).bank}
    old = set(before["notes"])  # type: ignore[call-overload]
    result = _run(["anki", "push", "--deck", str(deck_copy), "--collection", str(path)], tmp_path)
    assert result.exit_code == 0, result.output
    # notes of questions 2.0 no longer makes are known from the lock's retired entries, and retired
    assert f", {len(live - old)} added, {len(old - live)} retired, " in result.stdout.splitlines()[1]
    assert old - live
    assert (
        "  note type  snri-quiz cloze: field My notes added, card type Cloze updated, styling updated"
        " (in place, same id)\n" in result.stdout
    )
    assert "Anki asks for a one-way (full) sync" in result.stdout
    after = _dump(path)
    assert after["types"] == sorted(
        (nt.id, nt.name, tuple(name for name, _ in nt.fields)) for nt in NOTE_TYPES.values()
    )  # same ids, no "+" copies
    assert after["revlog"] == before["revlog"] == 2
    col = Collection(str(path))
    try:
        for nt in NOTE_TYPES.values():  # field and card type ids as genanki writes them, "My notes" included
            model = col.models.get(nt.id)  # type: ignore[arg-type]
            assert model is not None
            assert [(f["name"], f["id"]) for f in model["flds"]] == list(nt.fields)
            assert [(t["name"], t["id"]) for t in model["tmpls"]] == [(n, i) for n, i, _, _ in nt.templates]
        assert "mine" in col.get_note(tagged).tags
        assert all(col.get_card(c).reps == 1 for c in reviewed)
        assert len(col.find_notes('"Explanation:*Titration in adults*"')) >= 2
    finally:
        col.close()

    # from now on the .apkg imports cleanly too: no conflicts, no "+" note types
    content = load_content(deck_copy)
    log = _import(path, build_package(content, tmp_path / "dist").path)
    assert not log.conflicting and not log.new
    assert _dump(path)["types"] == after["types"]


@pytest.mark.slow  # several full collections in Anki's engine
def test_release_1_0_0_collections_and_the_apkg(
    deck_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What importing the new .apkg over 1.0.0 does with each option (documented in the README)."""
    # A build made well before the learner's edit below, as in life. Notes whose content is
    # not in the lock get the build's time; stamped with the current second, Anki's "Always"
    # import was seen to skip them now and then (a timing-dependent failure).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) - 3600))
    content = load_content(deck_copy)
    apkg = build_package(content, tmp_path / "dist").path
    runs = {
        "default": {},
        "merge": {"merge_notetypes": True},
        "merge-always": {
            "merge_notetypes": True,
            "update_notes": ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_ALWAYS,
        },
    }
    logs = {}
    for name, options in runs.items():
        path = _new_collection(tmp_path / name)
        _import(path, OLD_RELEASE)
        col = Collection(str(path))
        tagged = col.get_note(col.find_notes("")[0])
        tagged.tags.append("mine")
        col.update_note(tagged)
        col.close()
        old_guids = set(_dump(path)["notes"])  # type: ignore[call-overload]
        logs[name] = (_import(path, apkg, **options), _dump(path))
        notes = logs[name][1]["notes"]
        assert isinstance(notes, dict)
        assert ("mine" in notes[tagged.guid][2]) == (name != "merge-always")  # Always replaces the learner's tags
    both = len(old_guids & {guid_of(q.id) for q in content.bank})  # notes 1.0.0 and this build share
    assert 0 < both < len(content.bank)
    log, dump = logs["default"]
    assert len(log.conflicting) == both and not log.updated
    plus = {i for i, name, _ in dump["types"] if name.endswith("+")}  # type: ignore[attr-defined]
    assert plus and len(log.new) == len(content.bank) - both
    assert sum(mid in plus for mid, _, _ in dump["notes"].values()) == len(log.new)  # type: ignore[attr-defined]
    log, dump = logs["merge"]
    assert not log.updated and len(log.duplicate) == both
    log, dump = logs["merge-always"]
    assert len(log.updated) == both
    assert not any(name.endswith("+") for _, name, _ in dump["types"])  # type: ignore[attr-defined]


def test_without_the_anki_package_the_commands_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _new_collection(tmp_path / "anki")
    monkeypatch.setitem(sys.modules, "anki", None)
    for args in (["anki", "push"], ["anki", "pull"], ["stats", "--anki"]):
        result = _run([*args, "--collection", str(path)], tmp_path)
        assert result.exit_code == 1, args
        assert result.stderr == "Error: the anki commands need Anki's own library: pip install 'snri-quiz[anki]'\n"


def test_profiles_and_the_default_collection(deck_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "Anki2"
    for name in ("User 1", "Pharmacology"):
        _new_collection(base / name)
    (base / "addons21").mkdir()
    runner = CliRunner(env={**_env(tmp_path), "ANKI_BASE": str(base)})
    listed = runner.invoke(cli, ["anki", "profiles"])
    assert listed.stdout == (
        f"Pharmacology  {base / 'Pharmacology' / 'collection.anki2'}\n"
        f"User 1        {base / 'User 1' / 'collection.anki2'}\n"
    )
    several = runner.invoke(cli, ["anki", "push", "--dry-run", "--deck", str(deck_copy)])
    assert several.exit_code == 2
    assert several.stderr == (
        f"Error: several Anki profiles in {base} (Pharmacology, User 1): choose one with --profile NAME\n"
    )
    unknown = runner.invoke(cli, ["anki", "pull", "--profile", "Nobody", "--deck", str(deck_copy)])
    assert unknown.exit_code == 2
    assert unknown.stderr == f"Error: no Anki profile 'Nobody' in {base} (profiles: Pharmacology, User 1)\n"
    chosen = runner.invoke(cli, ["anki", "push", "--profile", "User 1", "--deck", str(deck_copy)])
    assert chosen.exit_code == 0, chosen.output
    assert f"Pushed into {base / 'User 1' / 'collection.anki2'}" in chosen.stdout
    missing = runner.invoke(cli, ["anki", "push", "--collection", str(tmp_path / "nowhere.anki2")])
    assert missing.exit_code == 2 and missing.stderr == f"Error: no Anki collection at {tmp_path / 'nowhere.anki2'}\n"


@pytest.mark.slow  # several full collections in Anki's engine
def test_reimporting_the_apkg_replaces_my_notes_and_tags_of_updated_notes(
    deck_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why `anki push` exists (and what the README says of .apkg updates): Anki's importer replaces the whole note."""
    path = _new_collection(tmp_path / "anki")
    _import(path, build_package(load_content(deck_copy), tmp_path / "v1").path)
    col = Collection(str(path))
    nid = col.find_notes(f'"Explanation:*{MILNACIPRAN_OLD}*"')[0]
    note = col.get_note(nid)
    note["My notes"] = "mine"
    note.tags.append("mine")
    col.update_note(note)
    col.close()
    replace_in(deck_copy / "drugs" / "milnacipran.yaml", MILNACIPRAN_OLD, MILNACIPRAN_NEW)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) + 100))  # a build made after the learner's edit
    apkg = build_package(load_content(deck_copy), tmp_path / "v2").path
    assert _import(path, apkg).updated
    col = Collection(str(path))
    try:
        note = col.get_note(nid)
        assert note["My notes"] == "" and "mine" not in note.tags
    finally:
        col.close()


def test_push_reviews_writes_terminal_answers_into_the_review_log_once(deck_copy: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from snri_quiz.grading import Grade
    from snri_quiz.progress import ProgressStore

    content = load_content(deck_copy)
    path = _new_collection(tmp_path / "anki")
    push(content, path)
    before = _dump(path)
    answered = [q for q in content.bank if q.kind == "tf"][:2]
    when = datetime.now(UTC) - timedelta(hours=2)
    with ProgressStore.open(tmp_path / "home" / "progress.db") as store:
        session = store.start_session("mixed", False, when)
        store.record(session, answered[0], "t", Grade(True), when, cram=False)
        store.record(session, answered[1], "f", Grade(False), when + timedelta(seconds=5), cram=False)
        store.record(session, answered[1], "f", Grade(False), when, cram=True)  # cram: not scheduled, not pushed

    args = ["anki", "push", "--push-reviews", "--deck", str(deck_copy), "--collection", str(path)]
    dry = _run([*args, "--dry-run"], tmp_path)
    assert dry.stdout.splitlines()[1] == (
        f"Would change: 0 notes updated, 0 added, 0 retired, {len(content.bank)} unchanged;"
        " 2 terminal answers added to Anki's review log"
    )
    assert _run(args, tmp_path).exit_code == 0
    col = Collection(str(path))
    try:
        assert col.db is not None
        rows = col.db.all(
            "select r.ease, r.time, n.guid from revlog r join cards c on c.id = r.cid join notes n on n.id = c.nid"
        )
        assert sorted(rows) == sorted([[3, 0, guid_of(answered[0].id)], [1, 0, guid_of(answered[1].id)]])
    finally:
        col.close()
    after = _dump(path)
    assert after["cards"] == before["cards"]  # Anki's schedule untouched
    again = _run(args, tmp_path)
    assert again.stdout.startswith("Up to date: ")
    pulled = _run(["anki", "pull", "--deck", str(deck_copy), "--collection", str(path)], tmp_path)
    assert pulled.stdout == f"Pulled 0 new reviews from {path} (0 in Anki for this deck)\n"


def test_every_anki_command_has_help_with_an_example(tmp_path: Path) -> None:
    for command in (["anki"], ["anki", "push"], ["anki", "pull"], ["anki", "profiles"]):
        result = _run([*command, "--help"], tmp_path)
        assert result.exit_code == 0 and "\n  Example:\n    snri-quiz anki " in result.stdout, command
    alone = _run(["anki"], tmp_path)
    assert alone.exit_code == 0 and alone.stdout == _run(["anki", "--help"], tmp_path).stdout


def test_a_file_that_is_not_a_collection_is_one_line(deck_copy: Path, tmp_path: Path) -> None:
    path = tmp_path / "collection.anki2"
    path.write_bytes(b"not a database" * 100)
    result = _run(["anki", "push", "--deck", str(deck_copy), "--collection", str(path)], tmp_path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot open Anki collection {path}: it is not an Anki collection (not an SQLite database)\n"
    )
    assert path.read_bytes() == b"not a database" * 100
