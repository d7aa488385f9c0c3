"""Built decks imported into the real Anki engine (the `anki` package from PyPI)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from click.testing import CliRunner

from snri_quiz.anki import LOCK_NAME, NOTE_TYPES, build_package, guid_of, note_spec, write_package
from snri_quiz.cli import cli
from snri_quiz.content import bundled_deck, load_content

from .conftest import ROOT, needs_current_lock, replace_in
from .samples import vignette

TINY = ROOT / "tests" / "data" / "tiny-deck"
TINY_TEMPLATES = ROOT / "tests" / "data" / "tiny-templates"
HOSTILE = ROOT / "tests" / "hostile" / "io"


def _strip(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<style.*?</style>|<[^>]+>", " ", html, flags=re.S)).strip()


def _import(col: Collection, apkg: Path):  # type: ignore[no-untyped-def]
    request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
    return col.import_anki_package(request).log


def _by_guid(col: Collection) -> dict[str, int]:
    return dict(col.db.all("select guid, id from notes"))


@pytest.fixture()
def collection(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "collection").mkdir()
    col = Collection(str(tmp_path / "collection" / "collection.anki2"))
    yield col
    col.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The bundled deck built once for the tests that only import and read it."""
    root = tmp_path_factory.mktemp("built")
    shutil.copytree(bundled_deck(), root / "deck")
    content = load_content(root / "deck")
    result = build_package(content, root / "dist")
    return content, result


def test_import_counts_render_decks_and_tags(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    log = _import(collection, result.path)
    assert len(log.new) == len(content.bank) and not log.conflicting and not log.duplicate
    assert collection.note_count() == len(content.bank) == result.notes
    assert collection.card_count() == result.cards == sum(note_spec(content.deck, q).cards for q in content.bank)
    assert result.cards > result.notes  # reverse cards exist where a drug has one US brand

    for card_id in collection.find_cards(""):
        card = collection.get_card(card_id)
        question, answer = card.question(), card.answer()
        assert _strip(question) and _strip(answer), card_id
        assert "{{" not in question + answer and "}}" not in question + answer, _strip(question)

    names = {d.name for d in collection.decks.all_names_and_ids()}
    for title in content.deck.topics.values():
        assert f"SNRIs::{title}" in names
    per_deck = {s.name: s.cards for s in result.subdecks}
    for name, cards in per_deck.items():
        assert len(collection.find_cards(f'"deck:{name}"')) == cards

    tags = set(collection.tags.all())
    assert {"snri::drug::duloxetine", "snri::topic::adverse_effects", "snri::kind::mcq"} <= tags
    assert {"snri::level::recall", "snri::level::understanding", "snri::difficulty::2"} <= tags
    q = next(q for q in content.bank if q.kind == "tf")
    note = collection.get_note(collection.find_notes(f'"Statement:{q.prompt}"')[0])
    assert {f"snri::level::{q.level}", f"snri::difficulty::{q.difficulty}"} <= set(note.tags)
    assert all(" " not in t for t in tags)
    duloxetine = collection.find_notes("tag:snri::drug::duloxetine")
    assert len(duloxetine) == sum("duloxetine" in q.drugs for q in content.bank)


def test_mcq_card_marks_the_answer_and_cites_sources(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)
    q = next(q for q in content.bank if q.kind == "mcq" and q.template == "brand-to-generic-mcq")
    note = collection.get_note(collection.find_notes(f'"Question:{q.prompt}"')[0])
    card = note.cards()[0]
    front, back = card.question(), card.answer()
    for option in q.options:
        assert option in _strip(front)
    assert "\u2713" not in front and "\u2717" not in front and 'class="right"' not in front
    marked = re.findall(r'<li class="(right|wrong)"><span class="mark">(.)</span>([^<]*)', back)
    assert marked == [
        ("right", "\u2713", o) if i == q.answer_index else ("wrong", "\u2717", o) for i, o in enumerate(q.options)
    ]
    source = content.deck.source(q.sources[0])
    toggle = re.search(r'<details class="sources"><summary>Sources \((\d+)\)</summary>(.*?)</details>', back)
    assert toggle and int(toggle.group(1)) == len(q.sources) == toggle.group(2).count("<li>")
    title = html.escape(content.deck.display(q.sources[0]), quote=False)
    assert f'<a href="{source.url}">{title}</a>' in toggle.group(2)
    assert re.search('<b class="key">' + re.escape(html.escape(q.answer, quote=False)) + "</b>", back, re.I)


_MARKED_WHY = r'<li class="(right|wrong)"><span class="mark">(.)</span>([^<]*)<span class="why">(.*?)</span></li>'


def test_mcq_back_gives_every_options_rationale(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)
    notes = _by_guid(collection)
    mcqs = [q for q in content.bank if q.kind == "mcq"]
    assert mcqs and all(len(q.rationales) == len(q.options) for q in mcqs)
    for q in mcqs:
        card = collection.get_note(notes[guid_of(q.id)]).cards()[0]
        front, back = card.question(), card.answer()
        assert 'class="why"' not in front
        whys = re.findall(
            r'<li class="(?:right|wrong)"><span class="mark">.</span>([^<]*)<span class="why">(.*?)</span></li>', back
        )
        assert [html.unescape(option) for option, _ in whys] == list(q.options), q.id
        for (_, why), option, rationale in zip(whys, q.options, q.rationales, strict=True):
            # shown under its option, the rationale does not repeat the option's name; its citation stays
            assert rationale.casefold().startswith(option.casefold() + ": ")
            rest = rationale[len(option) + 2 :]
            cite = re.search(r' <span class="cite">(\[[^\]]+\]\.?)</span>$', why)
            assert cite, rationale  # the citation stays, set apart
            assert html.unescape(re.sub(r"<[^>]+>", "", why)) == rest[0].upper() + rest[1:]


def _vignette_card(deck_copy: Path, tmp_path: Path, collection: Collection, **changes: object):  # type: ignore[no-untyped-def]
    deck = load_content(deck_copy).deck
    q = vignette(**changes)
    spec = note_spec(deck, q)
    path = write_package(deck, [spec], [1_700_000_000], tmp_path / "v.apkg", 1_700_000_000)
    _import(collection, path)
    note = collection.get_note(collection.find_notes("")[0])
    return q, note


def test_vignettes_use_the_multiple_choice_note_type(deck_copy: Path, tmp_path: Path, collection: Collection) -> None:
    q, note = _vignette_card(deck_copy, tmp_path, collection)
    assert note.note_type()["name"] == NOTE_TYPES["mcq"].name  # type: ignore[index]
    assert {"snri::level::application", "snri::difficulty::4", "snri::kind::vignette"} <= set(note.tags)
    card = note.cards()[0]
    front, back = card.question(), card.answer()
    assert q.prompt in html.unescape(_strip(front)).replace("\u00a0", " ")
    assert re.findall(r"<li>([^<]*)</li>", front) == list(q.options)
    marked = re.findall(
        r'<li class="(right|wrong)"><span class="mark">(.)</span>([^<]*)<span class="why">(.*?)</span></li>', back
    )
    assert [m[:3] for m in marked] == [
        ("right", "\u2713", o) if i == q.answer_index else ("wrong", "\u2717", o) for i, o in enumerate(q.options)
    ]
    assert marked[2][3] == (
        "Correct; avoid when creatinine clearance is below 30 mL/min "
        '<span class="cite">[Cymbalta label, section 2.6].</span>'
    )
    lead_in = "Which SNRI's US label says to avoid it in this patient?"
    assert (
        "her creatinine clearance is 24&nbsp;mL/min and she is not on dialysis. She takes metformin and lisinopril, "
        "and her blood pressure is 132/84&nbsp;mm Hg. Her physician considers an SNRI for both conditions."
        f'<div class="leadin">{lead_in}</div>'
    ) in front
    assert "{{" not in front + back


def test_rationales_and_vignette_text_are_escaped(deck_copy: Path, tmp_path: Path, collection: Collection) -> None:
    bad = "<img src=x onerror=alert(1)> & {{c1::x}}"
    q, note = _vignette_card(
        deck_copy,
        tmp_path,
        collection,
        prompt="A patient <script>alert(1)</script> asks. Which?",
        options=("A<b>", "B & C", "Duloxetine", "D", "E"),
        rationales=(f"A<b>: {bad} [x].", "B & C: fine [y].", f"Duloxetine: right {bad} [z].", "D [w].", "E [v]."),
    )
    back = note.cards()[0].answer()
    assert "<script>alert" not in back and "<img" not in back and "<b>" not in back
    assert "A patient &lt;script&gt;alert(1)&lt;/script&gt; asks." in back
    assert '<span class="why">&lt;img src=x onerror=alert(1)&gt; &amp; {{c1::x}} <span class="cite">[x].</span>' in back
    assert "B &amp; C" in back


def test_true_false_backs_give_a_verdict_and_the_true_fact(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)
    for answer in ("True", "False"):
        q = next(q for q in content.bank if q.kind == "tf" and q.answer == answer and q.reason)
        note = collection.get_note(collection.find_notes(f'"Statement:{q.prompt}" Answer:{answer}')[0])
        back = note.cards()[0].answer()
        assert f'<span class="verdict is-{answer}">{answer}</span>' in back
        assert (answer == "False") == ('<div class="truefact"><span class="label">In fact:</span> ' in back)
    q = next(q for q in content.bank if q.template == "washout-tf" and q.answer == "False")
    note = collection.get_note(collection.find_notes(f'"Statement:{q.prompt}" Answer:False')[0])
    fact = content.deck.fact(q.facts[0])
    truefact = re.search(r'<div class="truefact">(.*?)</div>', note.cards()[0].answer())
    assert truefact and f'<b class="key">{fact.text}</b>' in truefact.group(1)
    assert ".verdict.is-True::before" in note.cards()[0].answer()  # a symbol besides the colour


def test_backs_never_repeat_what_the_card_shows(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)

    def words(text: str) -> str:
        return " ".join(re.findall(r"[a-z0-9]+", text.lower()))

    by_guid = _by_guid(collection)

    cloze = [q for q in content.bank if q.kind == "cloze"]
    assert len(cloze) > 20
    echoes = 0
    for q in cloze:
        filled = q.prompt.replace("_____", q.answer)
        echoes += words(filled) in words(q.explanation)  # the engine's text (play, exports) restates it
        note = collection.get_note(by_guid[note_spec(content.deck, q).guid])
        explanation = _strip(note["Explanation"])
        assert words(filled) not in words(explanation), q.id
        back = note.cards()[0].answer()
        assert re.search(r'<span class="cloze"[^>]*>' + re.escape(html.escape(q.answer, quote=False)) + "</span>", back)
    assert echoes > 20  # the cards leave out what most cloze explanations restate
    dated = [q for q in cloze if q.template in ("first-approval-cloze", "indication-year-cloze")]
    assert len(dated) > 4
    for q in dated:  # a restatement whose only news is the full date keeps just the date
        explanation = _strip(collection.get_note(by_guid[note_spec(content.deck, q).guid])["Explanation"])
        date = re.search(r"(\d{1,2} )?[A-Z][a-z]+( \d{1,2},)? \d{4}(?=\.$)", q.reason)
        if date:
            assert explanation.startswith(f"Full date: {date.group(0)}"), (q.id, explanation)
        else:
            assert "Full date" not in explanation and words(q.reason) not in words(explanation), q.id
    for q in (q for q in content.bank if q.kind == "tf" and q.answer == "True"):
        note = collection.get_note(by_guid[note_spec(content.deck, q).guid])
        assert words(q.prompt) not in words(_strip(note["Explanation"])), q.id


def test_caveats_are_one_short_line(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)
    long = next(q for q in content.bank if len(q.caveats) == 1 and len(q.caveats[0]) > 120)
    back = collection.get_note(_by_guid(collection)[note_spec(content.deck, long).guid]).cards()[0]
    summary = re.search(r'<details class="caveat"><summary>(.*?)</summary>(.*?)</details>', back.answer())
    assert summary and len(_strip(summary.group(1))) <= 100 and _strip(summary.group(2))
    assert len(re.findall(r'<span class="label">Caution[^<]*:</span>', back.answer())) == 1


def test_basic_and_reversed_cards_do_not_ask_for_typing(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)
    notes = collection.find_notes('"note:snri-quiz basic and reversed"')
    assert notes
    for note_id in notes:
        for card in collection.get_note(note_id).cards():
            assert "type" not in _strip(card.question()).lower() and "[[type:" not in card.question()


def test_type_in_cards_show_what_else_is_accepted(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)
    typed = [q for q in content.bank if q.kind == "typed" and not q.reversible and len(q.accepted) > 1]
    assert len(typed) > 10
    for q in typed:
        note = collection.get_note(collection.find_notes(f'"Question:{q.prompt}"')[0])
        back = _strip(note.cards()[0].answer())
        assert "Also accepted: " + "; ".join(q.accepted[1:]) in back, q.id
    single = next(q for q in content.bank if q.kind == "typed" and not q.reversible and len(q.accepted) == 1)
    note = collection.get_note(collection.find_notes(f'"Question:{single.prompt}"')[0])
    assert "Also accepted" not in note.cards()[0].answer()


def test_two_builds_are_byte_identical(deck_copy: Path, tmp_path: Path) -> None:
    content = load_content(deck_copy)
    first = build_package(content, tmp_path / "a").path.read_bytes()
    second = build_package(load_content(deck_copy), tmp_path / "b").path.read_bytes()
    assert first == second


@needs_current_lock
def test_committed_lock_matches_the_bundled_content(deck_copy: Path, tmp_path: Path) -> None:
    """The lock shipped with the deck is current, so a newcomer's build changes nothing."""
    before = (deck_copy / LOCK_NAME).read_text()
    result = build_package(load_content(deck_copy), tmp_path / "dist")
    assert result.changed == 0
    assert (deck_copy / LOCK_NAME).read_text() == before == (bundled_deck() / LOCK_NAME).read_text()


def test_update_round_trip_keeps_history(deck_copy: Path, tmp_path: Path, collection: Collection) -> None:
    old = load_content(deck_copy)
    first = build_package(old, tmp_path / "v1")
    _import(collection, first.path)

    # study a few cards so there is review history to keep
    collection.decks.select(collection.decks.id("SNRIs::Approval dates"))
    reviewed = []
    for _ in range(3):
        card = collection.sched.getCard()
        states = collection._backend.get_scheduling_states(card.id)
        collection.sched.answer_card(collection.sched.build_answer(card=card, states=states, rating=3))
        reviewed.append(collection.get_card(card.id))
    revlog = collection.db.scalar("select count() from revlog")
    assert revlog == 3

    # edit one fact: its note text appears in the questions built from it alone
    replace_in(
        deck_copy / "drugs" / "milnacipran.yaml",
        "Titration: day 1 12.5 mg once;",
        "Titration in adults: day 1 12.5 mg once;",
    )
    new = load_content(deck_copy)
    old_specs = {note_spec(old.deck, q).guid: note_spec(old.deck, q) for q in old.bank}
    affected = [s.guid for s in (note_spec(new.deck, q) for q in new.bank) if s != old_specs[s.guid]]
    assert 1 <= len(affected) < 10

    second = build_package(new, tmp_path / "v2")
    assert second.changed == len(affected)
    log = _import(collection, second.path)
    assert len(log.updated) == len(affected)
    assert {collection.get_note(n.id.nid).guid for n in log.updated} == set(affected)
    assert not log.new and not log.conflicting
    assert len(log.duplicate) == len(new.bank) - len(affected)  # Anki's word for "already there, unchanged"
    assert collection.note_count() == len(new.bank)
    assert collection.db.scalar("select count() from revlog") == revlog
    for card in reviewed:
        again = collection.get_card(card.id)
        assert (again.type, again.ivl, again.due, again.reps) == (card.type, card.ivl, card.due, card.reps)
    updated = collection.get_note(collection.find_notes('"Explanation:*Titration in adults*"')[0])
    assert "Titration in adults" in updated["Explanation"]


def test_new_cards_keep_the_authored_order(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)
    guid_order = [note_spec(content.deck, q).guid for q in content.bank]
    cards = [collection.get_card(c) for c in collection.find_cards("is:new")]
    first_cards = {}
    for card in sorted(cards, key=lambda c: (c.due, c.ord)):
        first_cards.setdefault(card.note().guid, card.due)
    imported_order = sorted(first_cards, key=first_cards.__getitem__)
    assert imported_order == guid_order


def test_field_text_is_escaped(deck_copy: Path, tmp_path: Path, collection: Collection) -> None:
    replace_in(
        deck_copy / "drugs" / "duloxetine.yaml",
        "    note: Adults.\n",
        "    note: 'Adults <script>alert(1)</script> and a < b & c.'\n",
    )
    result = build_package(load_content(deck_copy), tmp_path / "dist")
    _import(collection, result.path)
    notes = collection.find_notes('"Explanation:*alert(1)*"')
    assert notes
    for note_id in notes:
        card = collection.get_note(note_id).cards()[0]
        answer = card.answer()
        assert "<script>alert" not in answer
        assert "&lt;script&gt;alert(1)&lt;/script&gt; and a &lt; b &amp; c." in answer


def test_invalid_deck_writes_nothing(deck_copy: Path, tmp_path: Path) -> None:
    replace_in(deck_copy / "drugs" / "duloxetine.yaml", "value: 2004-08-03", "value: 2004-13-03")
    out = tmp_path / "dist"
    result = CliRunner().invoke(cli, ["build", "--deck", str(deck_copy), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "facts[first-approval].value: '2004-13-03' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)"
    )
    assert not out.exists()


def test_unwritable_output_folder(deck_copy: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = CliRunner().invoke(cli, ["build", "--deck", str(deck_copy), "-o", str(blocker / "dist")])
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot write {blocker / 'dist'}: {blocker} is not a folder\n"


def test_build_command_prints_path_and_counts(deck_copy: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--deck",
            str(deck_copy),
            "-o",
            str(tmp_path / "out"),
            "--topic",
            "brand_names",
            "--drug",
            "duloxetine",
        ],
    )
    assert result.exit_code == 0, result.output
    first, *rest = result.stdout.splitlines()
    assert re.fullmatch(rf"Wrote {re.escape(str(tmp_path / 'out' / 'SNRIs.apkg'))} \(\d+ notes, \d+ cards\)", first)
    assert rest and all(line.strip().startswith("SNRIs::Brand names") for line in rest)


def _contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_card_colours_meet_wcag_aa_by_day_and_by_night() -> None:
    from snri_quiz.anki import CSS

    day_block, night_block = re.findall(r"\{([^{}]*--fg:[^{}]*)\}", CSS)
    pairs = [
        ("fg", "bg"), ("muted", "bg"), ("accent", "bg"), ("right", "right-bg"), ("accent", "right-bg"),
        ("fg", "right-bg"), ("wrong", "bg"), ("wrong", "wrong-bg"), ("warn", "warn-bg"), ("fg", "warn-bg"),
        ("muted", "note-bg"), ("fg", "note-bg"), ("muted", "right-bg"),
    ]  # fmt: skip
    for block in (day_block, night_block):
        colours = dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6})", block))
        for fg, bg in pairs:
            assert _contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg, colours[fg], colours[bg])
    phone = CSS.split("@media (max-width: 480px)", 1)[1]
    assert re.search(r"\.card \{ font-size: 18px", phone)
    for small in (".topic", ".explanation", ".why", "details.sources"):  # set below 1em elsewhere
        assert re.search(re.escape(small) + r"[^{]*\{ font-size: 16px", phone), small


def test_source_titles_are_escaped(deck_copy: Path, tmp_path: Path, collection: Collection) -> None:
    replace_in(
        deck_copy / "sources.yaml",
        "title: Fetzima (levomilnacipran extended-release capsules) US prescribing information\n",
        "title: 'Fetzima <img src=x onerror=alert(1)> & co US prescribing information'\n",
    )
    result = build_package(load_content(deck_copy), tmp_path / "dist")
    _import(collection, result.path)
    notes = collection.find_notes('"Sources:*onerror*"')
    assert notes
    for note_id in notes:
        back = collection.get_note(note_id).cards()[0].answer()
        assert "<img" not in back and "Fetzima &lt;img src=x onerror=alert(1)&gt; &amp; co US" in back


def test_my_notes_show_on_the_back_only_when_filled(built, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    content, result = built
    _import(collection, result.path)
    for name in ("multiple choice", "true or false", "cloze", "type the answer", "basic and reversed"):
        note = collection.get_note(sorted(collection.find_notes(f'"note:snri-quiz {name}"'))[0])
        assert note.keys()[-1] == "My notes" and note["My notes"] == ""
        assert "mynotes" not in note.cards()[0].answer().split("</style>", 1)[1]
        note["My notes"] = "my own mnemonic"
        collection.update_note(note)
        back = note.cards()[0].answer()
        assert '<div class="mynotes">my own mnemonic</div>' in back, name


@needs_current_lock
def test_build_prints_and_records_what_changed(deck_copy: Path, templates_copy: Path, tmp_path: Path) -> None:
    import json
    import zipfile

    from snri_quiz.anki import CHANGELOG_NAME

    template = templates_copy / "drugs.yaml"
    original = template.read_text(encoding="utf-8")
    start = original.index("  - id: washout-not-mcq\n")
    end = original.index("\n  - id: ", start) + 1
    args = ["build", "--deck", str(deck_copy), "--templates", str(templates_copy), "-o", str(tmp_path / "dist")]
    history = (deck_copy / CHANGELOG_NAME).read_text(encoding="utf-8")  # the bundled deck's own
    quiet = CliRunner().invoke(cli, args)
    assert quiet.exit_code == 0 and "Since the last build" not in quiet.stdout
    assert (deck_copy / CHANGELOG_NAME).read_text(encoding="utf-8") == history  # nothing changed, nothing added

    before = load_content(deck_copy, templates_copy)
    retired = sorted(q.id for q in before.bank if q.template == "washout-not-mcq")
    changed = [q for q in before.bank if "Titration: day 1 12.5 mg once;" in q.explanation]
    replace_in(deck_copy / "drugs" / "milnacipran.yaml", "Titration: day 1", "Titration in adults: day 1")
    template.write_text(original[:start] + original[end:], encoding="utf-8")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    changelog = deck_copy / CHANGELOG_NAME
    summary = f"0 added, {len(changed)} updated (1 fact changed), 2 retired"
    assert f"Since the last build: {summary} (recorded in {changelog})" in result.stdout
    for q in changed:
        assert f"  updated  {q.id}  {q.prompt} (fact milnacipran.dose changed)" in result.stdout
    for qid in retired:
        assert f"  retired  {qid}\n" in result.stdout
    text = changelog.read_text(encoding="utf-8")
    version = load_content(deck_copy, templates_copy).deck.version
    assert text.startswith(f"# Changes to SNRIs\n\n## {version}, built ") and f"\n{summary}\n" in text
    assert f"- retired {retired[0]}" in text
    assert text.endswith(history.removeprefix("# Changes to SNRIs\n")), "earlier entries are kept below the new one"

    lock = json.loads((deck_copy / LOCK_NAME).read_text())
    kept = {entry["id"]: entry for entry in lock["notes"].values()}
    assert all("retired" in kept[qid] for qid in retired)  # kept, so the GUID is never handed out again
    with zipfile.ZipFile(tmp_path / "dist" / "SNRIs.apkg") as archive:
        assert "Last update: " in archive.read("collection.anki2").decode("latin-1")
    first = (tmp_path / "dist" / "SNRIs.apkg").read_bytes()
    again = CliRunner().invoke(cli, args)
    assert "Since the last build" not in again.stdout
    assert (tmp_path / "dist" / "SNRIs.apkg").read_bytes() == first and changelog.read_text() == text

    template.write_text(original, encoding="utf-8")  # the questions come back: added again, same ids
    back = CliRunner().invoke(cli, args)
    assert "Since the last build: 2 added, 0 updated, 0 retired" in back.stdout
    lock = json.loads((deck_copy / LOCK_NAME).read_text())
    back_in = {entry["id"]: entry for entry in lock["notes"].values()}
    assert not any("retired" in back_in[qid] for qid in retired)
    assert changelog.read_text().count("\n## ") == history.count("\n## ") + 2


def test_the_first_build_of_a_deck_reports_no_changes(deck_copy: Path, tmp_path: Path) -> None:
    (deck_copy / LOCK_NAME).unlink()
    (deck_copy / "CHANGELOG.md").unlink()
    result = build_package(load_content(deck_copy), tmp_path / "dist")
    assert not result.changes and result.changelog is None
    assert (deck_copy / LOCK_NAME).exists() and not (deck_copy / "CHANGELOG.md").exists()


# -- hardening (issue 11) -------------------------------------------------------------------


def test_cloze_syntax_in_facts_makes_no_extra_deletion(tmp_path: Path, collection: Collection) -> None:
    """`{{c1::`, `{{c2::`, `::` and `}}` inside facts and answers, rendered by Anki itself."""
    deck = tmp_path / "deck"
    shutil.copytree(TINY, deck)
    shutil.copy(HOSTILE / "cloze-concepts.yaml", deck / "concepts.yaml")
    content = load_content(deck, TINY_TEMPLATES)
    clozes = [q for q in content.bank if q.kind == "cloze"]
    assert len(clozes) == 4
    result = build_package(content, tmp_path / "dist")
    _import(collection, result.path)
    by_guid = {collection.get_note(n).guid: n for n in collection.find_notes("")}
    for q in clozes:
        cards = collection.get_note(by_guid[note_spec(content.deck, q).guid]).cards()
        assert len(cards) == 1, f"{q.answer!r}: {len(cards)} cards"
        front, back = _strip(cards[0].question()), _strip(cards[0].answer())
        assert front.count("[...]") == 1, front
        assert q.answer not in front, f"answer leaked on the front: {front}"
        statement = q.prompt.replace("_____", q.answer)
        assert " ".join(statement.split()) in html.unescape(back), back  # as the browser shows it


def test_deck_name_never_escapes_the_output_folder() -> None:
    from snri_quiz.anki import package_file_name

    assert package_file_name("SNRIs") == "SNRIs.apkg"
    for name, expected in [
        ("../escaped", "_escaped.apkg"),
        ("/abs/path", "_abs_path.apkg"),
        ("Ti\0ny", "Ti_ny.apkg"),
        ("", "deck.apkg"),
        ("..", "deck.apkg"),
        ("a:b?", "a_b_.apkg"),
    ]:
        assert package_file_name(name) == expected
        assert "/" not in package_file_name(name)


@pytest.mark.parametrize(
    "epoch",
    ["99999999999999999999999", "-1", "1e9", "253402300800", "12\u0663"],
    ids=["huge", "neg", "e", "y10k", "digit"],
)
def test_bad_source_date_epoch_is_one_line_exit_2(
    epoch: str, deck_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = (deck_copy / LOCK_NAME).read_bytes()
    (deck_copy / LOCK_NAME).unlink()  # a build that would write a new lock
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    result = CliRunner().invoke(cli, ["build", "--deck", str(deck_copy), "-o", str(tmp_path / "dist")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: SOURCE_DATE_EPOCH: ") and result.stderr.count("\n") == 1
    assert "is not a time" in result.stderr
    assert not (deck_copy / LOCK_NAME).exists() and not (tmp_path / "dist").exists()
    assert lock


def test_huge_mod_in_the_lock_file_is_refused(deck_copy: Path, tmp_path: Path) -> None:
    lock_path = deck_copy / LOCK_NAME
    data = json.loads(lock_path.read_text())
    guid = next(iter(data["notes"]))
    data["notes"][guid]["mod"] = 10**30
    data["notes"][guid]["hash"] = "changed"
    lock_path.write_text(json.dumps(data))
    before = lock_path.read_bytes()
    result = CliRunner().invoke(cli, ["build", "--deck", str(deck_copy), "-o", str(tmp_path / "dist")])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"Error: {lock_path}: notes[{guid!r}].mod: {10**30} is not a time between 0 and 253402300799; "
        "delete the lock file to start fresh\n"
    )
    assert lock_path.read_bytes() == before and not (tmp_path / "dist").exists()


def test_failed_build_writes_neither_lock_nor_folder(deck_copy: Path, tmp_path: Path) -> None:
    """The package cannot be written (a FIFO stands at its name): the lock file must not move on."""
    replace_in(
        deck_copy / "drugs" / "milnacipran.yaml",
        "Titration: day 1",
        "Titration in adults: day 1",
    )
    lock_before = (deck_copy / LOCK_NAME).read_bytes()
    out = tmp_path / "dist"
    out.mkdir()
    os.mkfifo(out / "SNRIs.apkg")
    result = CliRunner().invoke(cli, ["build", "--deck", str(deck_copy), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {out / 'SNRIs.apkg'} is a FIFO; refusing to replace it (give a regular file)\n"
    assert (deck_copy / LOCK_NAME).read_bytes() == lock_before
    assert stat.S_ISFIFO(os.lstat(out / "SNRIs.apkg").st_mode)
    assert [p.name for p in out.iterdir()] == ["SNRIs.apkg"]
    assert sorted(p.name for p in deck_copy.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("missing-parent", "Error: cannot write {out}: folder {parent} does not exist\n"),
        ("file", "Error: {out} is a file, not a folder\n"),
        ("fifo", "Error: {out} is a FIFO, not a folder\n"),
    ],
)
def test_bad_output_folder_is_refused_before_work(make: str, message: str, deck_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    if make == "missing-parent":
        out = tmp_path / "nowhere" / "dist"
    elif make == "file":
        out.write_text("keep")
    else:
        os.mkfifo(out)
    before = sorted(tmp_path.iterdir())
    result = CliRunner().invoke(cli, ["build", "--deck", str(deck_copy), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr == message.format(out=out, parent=out.parent)
    assert sorted(tmp_path.iterdir()) == before


def test_output_folder_symlink_and_package_symlink_are_written_through(deck_copy: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "linked").symlink_to(real)
    elsewhere = tmp_path / "elsewhere.apkg"
    elsewhere.write_bytes(b"old")
    (real / "SNRIs.apkg").symlink_to(elsewhere)
    result = CliRunner().invoke(cli, ["build", "--deck", str(deck_copy), "-o", str(tmp_path / "linked")])
    assert result.exit_code == 0, result.output
    assert (real / "SNRIs.apkg").is_symlink()
    assert elsewhere.read_bytes()[:2] == b"PK"
    assert [p.name for p in real.iterdir()] == ["SNRIs.apkg"]


def test_build_to_standard_output(deck_copy: Path, tmp_path: Path) -> None:
    reference = build_package(load_content(deck_copy), tmp_path / "dist").path.read_bytes()
    (tmp_path / "tmp").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "snri_quiz", "build", "--deck", str(deck_copy), "-o", "-"],
        capture_output=True,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
        check=True,
    )
    assert done.stdout == reference
    assert done.stderr.decode().startswith("Wrote standard output (")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck", "dist", "tmp"]


def test_lock_file_fifo_is_refused(deck_copy: Path, tmp_path: Path) -> None:
    (deck_copy / LOCK_NAME).unlink()
    os.mkfifo(deck_copy / LOCK_NAME)
    result = CliRunner().invoke(cli, ["build", "--deck", str(deck_copy), "-o", str(tmp_path / "dist")])
    assert result.exit_code == 2
    assert "the lock file is not a regular file" in result.stderr
    assert stat.S_ISFIFO(os.lstat(deck_copy / LOCK_NAME).st_mode)


def test_lock_file_symlink_is_written_through(deck_copy: Path, tmp_path: Path) -> None:
    real = tmp_path / "real-lock.json"
    shutil.move(deck_copy / LOCK_NAME, real)
    (deck_copy / LOCK_NAME).symlink_to(real)
    replace_in(
        deck_copy / "drugs" / "milnacipran.yaml",
        "Titration: day 1",
        "Titration in adults: day 1",
    )
    before = real.read_text()
    assert build_package(load_content(deck_copy), tmp_path / "dist").changed > 0
    assert (deck_copy / LOCK_NAME).is_symlink() and real.read_text() != before
