"""The question cache (cache.py): plain JSON that cannot run code, in a folder only the
user can open, never trusted when foreign or damaged, bounded in size, and independent of
the folder a command was started from."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from snri_quiz import cache as content_module
from snri_quiz.content import load_content

from .conftest import ROOT

TINY = ROOT / "tests" / "data" / "tiny-deck"
TINY_TEMPLATES = ROOT / "tests" / "data" / "tiny-templates"


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SNRI_QUIZ_CACHE", str(folder))
    return folder


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    target = tmp_path / "tiny"
    shutil.copytree(TINY, target)
    return target


class _Planted:
    """Unpickling this creates a file: proof that a cache entry ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith("bank-"))


def _listed(bank: Path) -> list[tuple[str, int]]:
    """The parts a bank lists: (key, questions)."""
    return [(k, n) for k, n, _ in json.loads(bank.read_bytes().partition(b"\n")[0])["parts"]]


def _first_part(folder: Path) -> Path:
    """The questions entry that holds the bank's first question."""
    (bank,) = _entries(folder)
    key = next(k for k, n in _listed(bank) if n)
    return folder / f"qpart-{key}.json"


def test_cache_round_trips_the_whole_content(cache: Path) -> None:
    fresh = load_content()
    (entry,) = _entries(cache)
    assert entry.suffix == ".json"
    head, deck = entry.read_bytes().split(b"\n")  # plain data: a line listing the parts, the deck
    json.loads(deck)
    parts = _listed(entry)
    assert len(parts) == fresh.template_count and sum(n for _, n in parts) == len(fresh.bank)
    for key, _ in parts:
        json.loads((cache / f"qpart-{key}.json").read_bytes())
    assert load_content() == fresh


def test_cache_folder_is_user_only(cache: Path) -> None:
    load_content(TINY, TINY_TEMPLATES)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    cache.chmod(0o755)
    shutil.rmtree(cache)
    cache.mkdir(mode=0o755)
    cache.chmod(0o777)
    load_content(TINY, TINY_TEMPLATES)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_planted_entry_never_runs_code(cache: Path, tmp_path: Path) -> None:
    good = load_content(TINY, TINY_TEMPLATES)
    marker = tmp_path / "pwned"
    (entry,) = _entries(cache)
    payload = pickle.dumps(_Planted(marker))
    for name in (entry.name, entry.name.replace(".json", ".pickle"), _first_part(cache).name):
        (cache / name).write_bytes(payload)
    assert load_content(TINY, TINY_TEMPLATES) == good
    assert not marker.exists()


@pytest.mark.parametrize(
    "damage",
    [b"", b"{", b"null", b'{"format": 3}', b'{"format": 3, "deck": [], "templates": 1, "questions": []}', b"\xff\xfe"],
)
def test_damaged_entry_is_ignored_and_rebuilt(damage: bytes, cache: Path) -> None:
    good = load_content(TINY, TINY_TEMPLATES)
    (entry,) = _entries(cache)
    entry.write_bytes(damage)
    assert load_content(TINY, TINY_TEMPLATES) == good
    assert load_content(TINY, TINY_TEMPLATES) == good  # and the rebuilt entry is good


def test_a_damaged_part_is_made_again_and_rewritten(cache: Path) -> None:
    good = load_content(TINY, TINY_TEMPLATES)
    part = _first_part(cache)
    written = part.read_bytes()
    for damage in (b"", b"{", written[:-2], b'{"format": 5, "questions": []}'):
        part.write_bytes(damage)
        assert load_content(TINY, TINY_TEMPLATES) == good
        assert part.read_bytes() == written
    part.unlink()
    assert load_content(TINY, TINY_TEMPLATES) == good
    assert part.read_bytes() == written


def test_a_part_under_another_templates_key_is_not_used(cache: Path) -> None:
    good = load_content(TINY, TINY_TEMPLATES)
    (bank,) = _entries(cache)
    (first, n), (second, m) = [(k, n) for k, n in _listed(bank) if n][:2]
    (cache / f"qpart-{second}.json").write_bytes((cache / f"qpart-{first}.json").read_bytes())
    assert load_content(TINY, TINY_TEMPLATES) == good  # through the bank
    bank.unlink()
    (cache / f"qpart-{second}.json").write_bytes((cache / f"qpart-{first}.json").read_bytes())
    assert load_content(TINY, TINY_TEMPLATES) == good  # through the parts' keys
    assert json.loads((cache / f"qpart-{second}.json").read_bytes()) != json.loads(
        (cache / f"qpart-{first}.json").read_bytes()
    )


def test_wrong_types_in_an_entry_are_ignored(cache: Path) -> None:
    good = load_content(TINY, TINY_TEMPLATES)
    entry = _first_part(cache)
    data = json.loads(entry.read_bytes())
    for column, damage in [
        (5, lambda c: c.__setitem__(0, 5)),  # prompt: a number where text belongs
        (6, lambda c: (c["values"] if isinstance(c, dict) else c).__setitem__(0, "A")),  # options: text, not a list
        (2, lambda c: c["index"].__setitem__(0, 99)),  # kind: an index past the table
        (2, lambda c: c["index"].__setitem__(0, -1)),
        (2, lambda c: c["index"].__setitem__(0, "0")),
        (2, lambda c: c["index"].__setitem__(0, 0.5)),
        (2, lambda c: c.__setitem__("index", c["index"][1:])),  # a column too short
    ]:
        data = json.loads(entry.read_bytes())
        assert column == 6 or isinstance(data["questions"][column], dict) == (column == 2)
        damage(data["questions"][column])
        entry.write_text(json.dumps(data))
        assert load_content(TINY, TINY_TEMPLATES) == good


def test_entry_owned_by_someone_else_is_not_read(cache: Path) -> None:
    load_content(TINY, TINY_TEMPLATES)
    entry = _first_part(cache)
    data = json.loads(entry.read_bytes())
    data["questions"][5][0] = "PLANTED prompt"
    entry.write_text(json.dumps(data))
    assert load_content(TINY, TINY_TEMPLATES).bank[0].prompt == "PLANTED prompt"  # ours: read
    if os.getuid() != 0:
        pytest.skip("needs root to give the file to another user")
    os.chown(entry, 12345, 12345)
    assert load_content(TINY, TINY_TEMPLATES).bank[0].prompt != "PLANTED prompt"
    os.chown(entry, 0, 0)
    os.chown(cache, 12345, 12345)  # a folder that is not ours: not used at all
    assert load_content(TINY, TINY_TEMPLATES).bank[0].prompt != "PLANTED prompt"


def test_cached_deck_keeps_the_path_as_given_now(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11.14: the deck path is resolved for the key, and given back as typed this time."""
    one = tmp_path / "one"
    shutil.copytree(TINY, one / "deck")
    monkeypatch.chdir(one)
    first = load_content("deck", TINY_TEMPLATES)
    assert first.deck.path == Path("deck")
    monkeypatch.chdir(tmp_path)
    again = load_content("one/deck", TINY_TEMPLATES)
    assert len(_entries(cache)) == 1, "the same deck: a cache hit"
    assert again.deck.path == Path("one/deck")
    assert all(f.path.startswith("one/deck/") for f in again.deck.facts)
    assert again.deck.fact(first.deck.facts[0].id).path == os.path.join("one", first.deck.facts[0].path)


def test_built_lock_file_lands_beside_the_deck_from_any_folder(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snri_quiz.anki import LOCK_NAME, build_package

    one = tmp_path / "one"
    shutil.copytree(TINY, one / "deck")
    (tmp_path / "deck").mkdir()  # a decoy where the 1.0 cache would have put the lock
    monkeypatch.chdir(one)
    load_content("deck", TINY_TEMPLATES)
    monkeypatch.chdir(tmp_path)
    build_package(load_content("one/deck", TINY_TEMPLATES), tmp_path / "dist")
    assert (one / "deck" / LOCK_NAME).exists()
    assert list((tmp_path / "deck").iterdir()) == []


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def _consistent(folder: Path) -> None:
    """Every part on disk is listed by a bank on disk, and every bank's parts are there."""
    listed = {k for bank in _entries(folder) for k, _ in _listed(bank)}
    parts = {p.name.split("-", 1)[1].split(".")[0] for p in folder.glob("?part-*")}
    assert parts <= listed
    assert all((folder / f"qpart-{k}.json").exists() for k in listed)


def test_cache_size_is_bounded(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_content(TINY, TINY_TEMPLATES, seed=0)
    size = _size(cache)
    monkeypatch.setattr(content_module, "_MAX_BYTES", int(size * 2.5))
    for seed in range(1, 6):
        load_content(TINY, TINY_TEMPLATES, seed=seed)
        assert _size(cache) <= size * 2.5
        _consistent(cache)
    assert 2 <= len(_entries(cache)) < 5
    monkeypatch.setattr(content_module, "_MAX_BYTES", size // 2)
    load_content(TINY, TINY_TEMPLATES, seed=9)  # bigger than the whole budget: not kept
    assert _size(cache) <= size // 2
    _consistent(cache)
    monkeypatch.setattr(content_module, "_MAX_BYTES", 1000)  # the questions alone are over it: not even encoded
    monkeypatch.setattr(content_module, "_encoded_part", lambda _: pytest.fail("encoded"))
    load_content(TINY, TINY_TEMPLATES, seed=10)


def test_cache_keeps_at_most_eight_banks_and_only_their_parts(cache: Path) -> None:
    for seed in range(11):
        load_content(TINY, TINY_TEMPLATES, seed=seed)
    assert len(_entries(cache)) == 8
    _consistent(cache)
    assert len(list(cache.glob("qpart-*.json"))) == 8 * load_content(TINY, TINY_TEMPLATES).template_count


def test_deck_given_as_the_current_folder(cache: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tiny)
    fresh = load_content(".", TINY_TEMPLATES)
    assert load_content(".", TINY_TEMPLATES) == fresh
    assert load_content(".", TINY_TEMPLATES).deck.facts[0].path == fresh.deck.facts[0].path == "drugs/alpha.yaml"


def test_fifo_or_symlink_at_an_entry_name_is_never_read_and_never_replaced(cache: Path, tmp_path: Path) -> None:
    good = load_content(TINY, TINY_TEMPLATES)
    (entry,) = _entries(cache)
    entry.unlink()
    os.mkfifo(entry)  # a read would block, a write would replace it
    assert load_content(TINY, TINY_TEMPLATES) == good
    assert stat.S_ISFIFO(os.lstat(entry).st_mode)
    entry.unlink()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    entry.symlink_to(elsewhere)  # a link is not followed when reading
    assert load_content(TINY, TINY_TEMPLATES) == good


def _build_bytes(content, out: Path, selection=None) -> bytes:  # type: ignore[no-untyped-def]
    from snri_quiz.anki import build_package

    result = build_package(content, out, selection=selection)
    return result.path.read_bytes()


def _largest_notes(folder: Path) -> Path:
    return max(folder.glob("npart-*.bin"), key=lambda p: p.stat().st_size)


def test_a_rebuild_of_unchanged_content_reads_its_notes(
    cache: Path, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each template's notes are cached beside its questions: a warm rebuild, whole or in part,
    makes none and writes the same bytes; a damaged notes entry is made again."""
    import snri_quiz.anki as anki
    from snri_quiz.kinds import Mode
    from snri_quiz.selection import Selection

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = _build_bytes(load_content(tiny, TINY_TEMPLATES), tmp_path / "a")
    content = load_content(tiny, TINY_TEMPLATES)
    assert len(list(cache.glob("npart-*.bin"))) == sum(1 for p in content.parts if p.count)
    notes = _largest_notes(cache)
    rows = json.loads(notes.read_bytes().partition(b"\n")[0])["rows"]
    made: list[str] = []
    real = anki.note_spec
    monkeypatch.setattr(anki, "note_spec", lambda deck, q, *rest: made.append(q.id) or real(deck, q, *rest))
    assert _build_bytes(load_content(tiny, TINY_TEMPLATES), tmp_path / "b") == first
    part = Selection(mode=Mode.TF)
    assert made == []
    warm_part = _build_bytes(load_content(tiny, TINY_TEMPLATES), tmp_path / "c", part)
    assert made == []
    bank = len(content.bank)
    good = notes.read_bytes()
    notes.write_bytes(good[:-40])  # damaged in the texts, found while streaming: all made again, rewritten
    assert _build_bytes(load_content(tiny, TINY_TEMPLATES), tmp_path / "d") == first
    assert len(made) == bank > 5 and notes.read_bytes() == good
    head, _, rest = good.partition(b"\n")
    notes.write_bytes(head + b"\n[1,2]" + rest[rest.index(b"\n") :])  # damaged heads: that part missed
    made.clear()
    assert _build_bytes(load_content(tiny, TINY_TEMPLATES), tmp_path / "f") == first
    assert len(made) == rows > 1 and notes.read_bytes() == good
    monkeypatch.setenv("SNRI_QUIZ_CACHE", "off")
    assert _build_bytes(load_content(tiny, TINY_TEMPLATES), tmp_path / "e", part) == warm_part


def test_notes_entries_count_in_the_size_bound(cache: Path, tiny: Path, tmp_path: Path) -> None:
    from snri_quiz.anki import build_package

    for seed in range(10):
        build_package(load_content(tiny, TINY_TEMPLATES, seed=seed), tmp_path / "dist")
    assert len(_entries(cache)) == 8
    _consistent(cache)
    assert len(list(cache.glob("npart-*.bin"))) == 8 * sum(
        1 for p in load_content(tiny, TINY_TEMPLATES, seed=9).parts if p.count
    )


def _edit(path: Path, index: int, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["facts"][index])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _noted(fact: dict[str, Any]) -> None:
    fact["note"] = fact.get("note", "") + " Edited."


def _valued(fact: dict[str, Any]) -> None:
    value = fact["value"]
    fact["value"] = value + 1 if isinstance(value, int) else f"{value} edited"


def _moved(fact: dict[str, Any]) -> None:
    fact["id"] = fact["id"] + "-moved"


def _edits_match_fresh_loads(
    deck: Path, templates: Path | None, targets: list[tuple[Path, int]], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """Edit each (file, fact) in turn (its note, its value, its id), loading after every edit with
    the cache and without: the same questions. Returns (edits checked, templates not run again)."""
    from snri_quiz.errors import InvalidContent

    load_content(deck, templates)
    checked = reused = 0
    for path, index in targets:
        for change in (_noted, _valued, _moved):
            before = path.read_text(encoding="utf-8")
            _edit(path, index, change)
            with monkeypatch.context() as off:
                off.setenv("SNRI_QUIZ_CACHE", "off")
                try:
                    fresh = load_content(deck, templates)
                except InvalidContent:  # an edit the deck does not allow (a value out of its list)
                    path.write_text(before, encoding="utf-8")
                    continue
            cached = load_content(deck, templates)
            assert cached.bank == fresh.bank, f"{path.name}, fact {index}: {change.__name__}"
            assert cached.deck == fresh.deck
            checked += 1
            reused += sum(p.cached for p in cached.parts)
    return checked, reused


def test_after_an_edit_only_the_templates_reading_it_run_again_and_make_what_a_fresh_load_makes(
    cache: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every fact of the tiny deck edited in turn: each template's questions come from the cache
    unless the template reads what changed (`generate.part_keys`), and the bank is the one a
    load without the cache makes."""
    files = [*sorted((tiny / "drugs").glob("*.yaml")), tiny / "concepts.yaml"]
    targets = [(p, i) for p in files for i in range(len(yaml.safe_load(p.read_text(encoding="utf-8"))["facts"]))]
    checked, reused = _edits_match_fresh_loads(tiny, TINY_TEMPLATES, targets, monkeypatch)
    assert checked > 2 * len(targets) > 20
    assert reused > checked  # most templates do not read the fact an edit changed


@pytest.mark.slow
def test_edits_of_every_attribute_of_the_snri_deck_match_fresh_loads(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with the bundled templates (vignettes too, which read every fact): the first fact
    of each attribute of the SNRI deck edited in turn."""
    from snri_quiz.content import bundled_deck

    deck = tmp_path / "snri"
    shutil.copytree(bundled_deck(), deck)
    seen: set[str] = set()
    targets = []
    for path in [*sorted((deck / "drugs").glob("*.yaml")), deck / "concepts.yaml"]:
        for i, fact in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))["facts"]):
            if fact["attribute"] not in seen:
                seen.add(fact["attribute"])
                targets.append((path, i))
    checked, reused = _edits_match_fresh_loads(deck, None, targets, monkeypatch)
    assert len(targets) > 15 and checked > 2 * len(targets)
    assert reused > checked


def test_fact_files_unchanged_since_the_last_load_are_not_read_again(
    cache: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an edit, only the edited fact file is read and checked again (facts-<key>.json);
    an edit of deck.yaml or sources.yaml (what files are checked against) reads them all."""
    import snri_quiz.deckfile as deckfile

    first = load_content(tiny, TINY_TEMPLATES)
    (memo,) = cache.glob("facts-*.json")
    read: list[str] = []
    real = deckfile._load_fact_file
    spy = lambda path, *a, **k: read.append(path.name) or real(path, *a, **k)  # noqa: E731
    monkeypatch.setattr(deckfile, "_load_fact_file", spy)
    alpha = tiny / "drugs" / "alpha.yaml"
    alpha.write_text(alpha.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    edited = load_content(tiny, TINY_TEMPLATES)
    assert read == ["alpha.yaml"]
    assert edited.bank == first.bank and edited.deck.facts == first.deck.facts
    read.clear()
    manifest = tiny / "deck.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    load_content(tiny, TINY_TEMPLATES)
    assert sorted(read) == sorted(p.name for p in [*(tiny / "drugs").glob("*.yaml"), tiny / "concepts.yaml"])
    assert len(list(cache.glob("facts-*.json"))) == 2 and memo.exists()


@pytest.mark.parametrize("damage", [b"", b"{}", b'{"format": 5, "files": [["drugs/alpha.yaml", "x", -1, 0, null]]}'])
def test_a_damaged_fact_memo_is_ignored(cache: Path, tiny: Path, damage: bytes) -> None:
    first = load_content(tiny, TINY_TEMPLATES)
    (memo,) = cache.glob("facts-*.json")
    memo.write_bytes(damage)
    for entry in cache.glob("bank-*.json"):
        entry.unlink()
    again = load_content(tiny, TINY_TEMPLATES)
    assert again.bank == first.bank and again.deck.facts == first.deck.facts
    assert memo.read_bytes() != damage  # written again, whole


def test_a_fact_file_that_changes_while_read_is_not_remembered(cache: Path, tiny: Path) -> None:
    from snri_quiz.cache import FactMemo

    memo = FactMemo.of(cache, tiny)
    assert memo is not None
    alpha = tiny / "drugs" / "alpha.yaml"
    assert memo.known(alpha) is None
    alpha.write_text(alpha.read_text(encoding="utf-8") + "\n# changed meanwhile\n", encoding="utf-8")
    from snri_quiz.deckfile import Loaded

    memo.learn(alpha, Loaded([], [], [], None))
    assert memo.now == {}


def test_packs_give_back_their_texts_and_refuse_anything_else() -> None:
    import zlib

    from snri_quiz.cache import Damaged, Pack

    texts = [b"alpha", "\u2713 caf\u00e9".encode(), b"", b"x" * 100_000]
    pack = Pack.of(texts)
    assert list(pack.texts()) == texts and len(pack.data) < pack.size
    bomb = zlib.compress(b"\0" * 10_000_000)
    broken = [
        Pack(pack.data, pack.count, pack.size - 1),  # says less than it holds
        Pack(pack.data, pack.count, pack.size + 1),  # says more
        Pack(pack.data, pack.count + 1, pack.size),  # one text too many
        Pack(pack.data, pack.count - 1, pack.size),  # bytes left over
        Pack(pack.data[:-5], pack.count, pack.size),  # cut short
        Pack(b"not zlib", 1, 10),
        Pack(bomb, 1, 100),  # never unpacked past what it says
    ]
    for bad in broken:
        with pytest.raises(Damaged):
            list(bad.texts())


def test_a_notes_entry_with_text_that_is_not_utf8_is_made_again(
    cache: Path, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zlib

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = _build_bytes(load_content(tiny, TINY_TEMPLATES), tmp_path / "a")
    notes = _largest_notes(cache)
    good = notes.read_bytes()
    head, heads, packed = good.split(b"\n", 2)
    body = bytearray(zlib.decompress(packed))
    body[8] = 0xFF  # inside the first text: no longer UTF-8, same sizes
    meta = json.loads(head)
    meta["packs"][0][1] = len(zlib.compress(bytes(body), 1))
    notes.write_bytes(json.dumps(meta).encode() + b"\n" + heads + b"\n" + zlib.compress(bytes(body), 1))
    assert _build_bytes(load_content(tiny, TINY_TEMPLATES), tmp_path / "b") == first
    assert notes.read_bytes() == good  # found while streaming, made again and cached again


_READ: set[tuple[str, str]] = set()
"""(attribute, field) of every fact field read while `_Watched` records."""


class _Watched:
    """Makes a deck's facts record every field read (but the attribute, which any scan reads),
    with the fact's attribute."""

    @staticmethod
    def deck(deck):  # type: ignore[no-untyped-def]
        import dataclasses

        from snri_quiz.facts import Fact

        class Watched(Fact):
            __hash__ = Fact.__hash__

            def __getattribute__(self, name: str) -> Any:
                # equality reads every field, but two facts of a deck differ in their ids
                if name != "attribute" and not name.startswith("__") and sys._getframe(1).f_code.co_name != "__eq__":
                    _READ.add((object.__getattribute__(self, "attribute"), name))
                return object.__getattribute__(self, name)

        fields = [f.name for f in dataclasses.fields(Fact)]
        facts = tuple(Watched(**{name: getattr(fact, name) for name in fields}) for fact in deck.facts)
        watched = dataclasses.replace(deck, facts=facts)
        watched._by_id.update((f.id, f) for f in facts)
        watched._drugs.update(deck._drugs)
        _READ.clear()
        return watched


def test_each_template_reads_only_the_facts_its_key_covers(monkeypatch: pytest.MonkeyPatch) -> None:
    """`generate.part_keys` covers, besides the deck's other parts, the facts of the attributes
    `generate.reads` names, and the names in those `generate.reads_names` names: a template
    (and the notes of its questions) must read no other fact, and no other field of those.
    Every bundled template is run over the SNRI deck with facts that record what is read."""
    from snri_quiz import anki
    from snri_quiz.content import bundled_deck, bundled_templates
    from snri_quiz.deckfile import load_deck
    from snri_quiz.generate import NAME_FIELDS, generate_with, reads, reads_names
    from snri_quiz.questions import Truth, drug_labels
    from snri_quiz.templates import load_templates

    plain = load_deck(bundled_deck())
    labels = drug_labels(plain)  # each drug's own label, read from every fact: in the key's base
    monkeypatch.setattr(Truth, "label", lambda self, subject: labels.get(subject, ""))
    indexed = Truth.__init__

    def index_then_watch(self: Truth, deck: Any) -> None:  # indexing reads every fact: not a use of it
        indexed(self, deck)
        _READ.clear()

    monkeypatch.setattr(Truth, "__init__", index_then_watch)
    deck = _Watched.deck(plain)
    templates = load_templates(bundled_templates(), deck)
    names_read = 0
    for template in templates:
        _READ.clear()
        made = generate_with(deck, [template], 0, then=anki.make_notes)
        assert made.bank and made.made[0][0]
        assert not {name for _, name in _READ} & {"path", "line"}, f"{template.id}: outside every key"
        whole, names = set(reads(template, deck)), set(reads_names(template, deck))
        beyond = {(a, name) for a, name in _READ if a not in whole}
        assert beyond <= {(a, name) for a in names for name in (*NAME_FIELDS, "text")}, f"{template.id}: {beyond}"
        assert {a for a, _ in _READ} & whole
        names_read += bool(beyond)
    assert len(templates) > 40 and names_read >= 10  # every vignette template reads the brand names


def test_build_writes_its_caches_beside_the_package_before_it_ends(tmp_path: Path, tiny: Path) -> None:
    """`build` hands the cache writes to a second core while it writes the package, and waits
    for them: when the command returns, the bank, its parts and their notes are all there."""
    import subprocess

    folder = tmp_path / "cache"
    env = {**os.environ, "SNRI_QUIZ_CACHE": str(folder), "SOURCE_DATE_EPOCH": "1700000000"}
    command = [sys.executable, "-m", "snri_quiz", "build", "--deck", str(tiny), "--templates", str(TINY_TEMPLATES)]
    first = subprocess.run([*command, "-o", str(tmp_path / "a")], env=env, capture_output=True, check=True)
    (bank,) = _entries(folder)
    _consistent(folder)
    assert list(folder.glob("facts-*.json")), sorted(p.name for p in folder.iterdir())
    assert {p.name for p in folder.glob("npart-*.bin")} == {f"npart-{k}.bin" for k, n in _listed(bank) if n}
    again = subprocess.run([*command, "-o", str(tmp_path / "b")], env=env, capture_output=True, check=True)
    assert again.stderr == first.stderr and not list(folder.glob(".*"))  # no scratch file left
    assert (tmp_path / "a" / "Tiny.apkg").read_bytes() == (tmp_path / "b" / "Tiny.apkg").read_bytes()
