"""Question values -> an Anki package (.apkg). The only module that imports genanki.

What keeps re-imports clean (Anki matches notes by GUID, note types by id plus an
exact field/template match, decks by name, and updates a note only when the incoming
modification time is newer):

- note type ids, field ids and card-template ids are constants below;
- each note's GUID comes from the question's stable id, never its wording;
- each note's modification time is when its content last changed, kept with a content
  hash in `anki-lock.json` next to the deck, so unchanged input gives the same bytes;
- the lock keeps retired notes (questions no longer made) and a hash of every fact, so
  each full build can say what changed (`CHANGELOG.md` next to the deck, and the deck
  description) and a GUID is never handed to another question;
- the package is zipped with fixed timestamps and renamed into place when complete.
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import json
import os
import re
import sqlite3
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import genanki

from .cache import Pack
from .errors import OutputError, UsageError
from .facts import Deck, PartialDate, fact_hash
from .files import scratch_file, staged, write_atomic
from .generate import Content
from .jsontext import indented
from .kinds import QuestionKind
from .memory import paused_gc
from .questions import BLANK, Question, lettered_answer
from .selection import Selection

LOCK_NAME = "anki-lock.json"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAX_TIME = 253402300799
"""The last second of year 9999: the latest modification time a note may carry."""

CSS = """\
.card { --fg: #1f2328; --bg: #fbfbfa; --muted: #57606a; --line: #d0d7de; --accent: #0550ae;
  --right: #116329; --right-bg: #dafbe1; --wrong: #a40e26; --wrong-bg: #ffebe9;
  --warn: #6f4400; --warn-bg: #fff5cc; --note-bg: #f0f3f6;
  font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 20px; line-height: 1.45; text-align: left; color: var(--fg); background: var(--bg);
  max-width: 38em; margin: 0 auto; padding: 0.6em 0.8em; overflow-wrap: anywhere; }
.card.nightMode, .card.night_mode, .nightMode .card, .night_mode .card {
  --fg: #e6e6e6; --bg: #1f1f1f; --muted: #a8b1bb; --line: #484f58; --accent: #79c0ff;
  --right: #7ee787; --right-bg: #12361f; --wrong: #ffa198; --wrong-bg: #3d1418;
  --warn: #f2cc60; --warn-bg: #33290a; --note-bg: #2a2e33; }
.topic { font-size: 0.7em; letter-spacing: 0.06em; text-transform: uppercase; color: var(--muted); }
.prompt { margin: 0.4em 0 0.6em; }
hr#answer { border: 0; border-top: 1px solid var(--line); margin: 0.8em 0; }
ol.options { list-style: upper-alpha; padding-left: 1.7em; margin: 0.3em 0; }
ol.options li { margin: 0.25em 0; padding: 0.1em 0.3em; border-radius: 6px; }
ol.options li.right { color: var(--right); background: var(--right-bg); font-weight: 600; }
ol.options li.wrong { color: var(--muted); }
.mark { display: inline-block; min-width: 1.2em; font-weight: 700; }
li.right .mark { color: var(--right); }
li.wrong .mark { color: var(--wrong); }
.why { display: block; font-size: 0.85em; font-weight: 400; color: var(--fg); margin-left: 1.4em; }
.why .cite { color: var(--muted); }
.leadin { margin-top: 0.5em; font-weight: 600; }
.verdict { display: inline-block; font-weight: 700; padding: 0.1em 0.6em; border-radius: 6px; }
.verdict.is-True { color: var(--right); background: var(--right-bg); }
.verdict.is-True::before { content: "\\2713\\00a0"; }
.verdict.is-False { color: var(--wrong); background: var(--wrong-bg); }
.verdict.is-False::before { content: "\\2717\\00a0"; }
.answer { font-weight: 600; margin-top: 0.5em; }
.explanation { margin-top: 0.8em; font-size: 0.9em; }
.explanation > div { margin: 0.4em 0; }
.truefact { padding: 0.3em 0.6em; border-left: 4px solid var(--right); background: var(--right-bg); }
.label { font-weight: 700; }
b.key { font-weight: 700; color: var(--accent); }
.caveat { padding: 0.2em 0.6em; border-left: 4px solid var(--warn); background: var(--warn-bg); }
.caveat .label { color: var(--warn); }
.caveat summary { cursor: pointer; }
.accepted { color: var(--muted); }
details.sources { margin-top: 0.8em; font-size: 0.8em; color: var(--muted); }
details.sources summary { cursor: pointer; }
details.sources ol { padding-left: 1.4em; margin: 0.3em 0; }
details.sources li { margin: 0.2em 0; }
details.sources a { color: var(--accent); }
.cloze { font-weight: 700; color: var(--accent); }
input#typeans { font-size: 1em; width: 100%; box-sizing: border-box; padding: 0.3em 0.5em;
  color: var(--fg); background: var(--bg); border: 1px solid var(--muted); border-radius: 6px; }
code#typeans { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.9em; }
code#typeans .typeGood { color: var(--right); background: var(--right-bg); }
code#typeans .typeBad { color: var(--wrong); background: var(--wrong-bg); }
code#typeans .typeMissed { color: var(--muted); background: var(--note-bg); }
.mynotes { margin-top: 0.8em; padding: 0.4em 0.6em; border-left: 4px solid var(--muted);
  background: var(--note-bg); white-space: pre-wrap; }
.mynotes::before { content: "My notes"; display: block; font-weight: 700; color: var(--muted); }
@media (max-width: 480px) {
  .card { font-size: 18px; padding: 0.4em; }
  .topic, .explanation, .why, details.sources, code#typeans { font-size: 16px; }
}
"""

_BACK_EXTRA = (
    '{{#Explanation}}<div class="explanation">{{Explanation}}</div>{{/Explanation}}'
    '{{#My notes}}<div class="mynotes">{{My notes}}</div>{{/My notes}}'
    "{{#Sources}}{{Sources}}{{/Sources}}"
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
            ("My notes", 176041830108),
        ),
        (
            (
                "Multiple choice",
                176041830151,
                _TOPIC + '<div class="prompt">{{Question}}</div>{{Options}}',
                _TOPIC + '<div class="prompt">{{Question}}</div>{{OptionsMarked}}<hr id="answer">' + _BACK_EXTRA,
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
            ("My notes", 176041830206),
        ),
        (
            (
                "True or false",
                176041830251,
                _TOPIC + '<div class="prompt">True or false? {{Statement}}</div>',
                '{{FrontSide}}<hr id="answer">'
                '<div class="answer"><span class="verdict is-{{Answer}}">{{Answer}}</span></div>' + _BACK_EXTRA,
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
            ("My notes", 176041830306),
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
        (
            ("Text", 176041830401),
            ("Explanation", 176041830402),
            ("Sources", 176041830403),
            ("Topic", 176041830404),
            ("My notes", 176041830405),
        ),
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
            ("My notes", 176041830508),
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


@dataclass(frozen=True, slots=True)  # slots: a large build holds hundreds of thousands
class NoteSpec:
    """One note as it will be written: what Anki sees, before timestamps."""

    guid: str
    note_type: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    deck_name: str
    cards: int
    digest: str
    """Hash of everything Anki stores for the note (fields, tags, deck and note type): the lock
    file's record of whether the note changed."""

    def content_hash(self) -> str:
        return self.digest

    def head(self) -> NoteHead:
        return NoteHead(self.guid, self.note_type, self.tags, self.deck_name, self.cards, self.digest)


@dataclass(frozen=True, slots=True)
class NoteHead:
    """A note as the lock file and the package's tables see it: everything but its fields' text."""

    guid: str
    note_type: str
    tags: tuple[str, ...]
    deck_name: str
    cards: int
    digest: str

    def __reduce__(self) -> tuple[type[NoteHead], tuple[str, str, tuple[str, ...], str, int, str]]:
        """Pickled as its values (ten times faster than a slotted dataclass's default): a large
        deck's notes come back from the second core."""
        return NoteHead, (self.guid, self.note_type, self.tags, self.deck_name, self.cards, self.digest)


@dataclass(frozen=True)
class _Notes:
    """The notes of a build: their heads, and their fields' text (UTF-8, joined by \\x1f as Anki
    stores them: a str holding one non-ASCII character takes two or four bytes for every
    character) a note at a time, in the same order, from a list or streamed from the cache."""

    heads: Sequence[NoteHead]
    texts: Callable[[], Iterable[bytes]]


def _joined(fields: Sequence[str]) -> bytes:
    """A note's fields as Anki stores them: joined by \\x1f (UTF-8)."""
    return "\x1f".join(fields).encode()


def _digest(note_type: str, fields: tuple[str, ...], tags: tuple[str, ...], deck_name: str) -> str:
    parts = (note_type, str(NOTE_TYPES[note_type].id), *fields, " ".join(tags), deck_name)
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class SubdeckCount:
    """Notes and cards in one subdeck."""

    name: str
    notes: int
    cards: int


@dataclass(frozen=True)
class Update:
    """A note whose content changed, and why."""

    question_id: str
    prompt: str
    facts: tuple[str, ...]
    """The question's facts that changed; empty when only wording, sources or tags did."""

    @property
    def reason(self) -> str:
        if self.facts:
            return ("facts " if len(self.facts) > 1 else "fact ") + ", ".join(self.facts) + " changed"
        return "wording, options, sources or tags changed"


@dataclass(frozen=True)
class Changes:
    """What a full build changed since the previous one (from the lock file)."""

    added: tuple[tuple[str, str], ...] = ()
    """(question id, prompt) of new notes."""
    updated: tuple[Update, ...] = ()
    retired: tuple[tuple[str, str], ...] = ()
    """(question id, prompt or '') of notes whose question is no longer made."""

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.retired)

    @property
    def facts_changed(self) -> int:
        return len({f for u in self.updated for f in u.facts})

    def summary(self) -> str:
        n = self.facts_changed
        facts = f" ({n} fact{'s' if n != 1 else ''} changed)" if n else ""
        return f"{len(self.added)} added, {len(self.updated)} updated{facts}, {len(self.retired)} retired"

    def lines(self) -> list[str]:
        """One line per note: 'added q...  prompt', 'updated q...  prompt (fact x changed)', 'retired q...'."""
        out = [f"added    {qid}  {prompt}" for qid, prompt in self.added]
        out += [f"updated  {u.question_id}  {u.prompt} ({u.reason})" for u in self.updated]
        out += [f"retired  {qid}  {prompt}".rstrip() for qid, prompt in self.retired]
        return out


@dataclass(frozen=True)
class BuildResult:
    """What `build` wrote."""

    path: Path
    subdecks: tuple[SubdeckCount, ...]
    changed: int
    """Notes whose content changed since the lock file was last written (new ones included)."""
    warnings: tuple[str, ...] = field(default=())
    changes: Changes = field(default_factory=Changes)
    """What changed since the previous full build (empty for --topic/--drug builds)."""
    changelog: Path | None = None
    """The CHANGELOG.md this build added an entry to, if any."""

    @property
    def notes(self) -> int:
        return sum(s.notes for s in self.subdecks)

    @property
    def cards(self) -> int:
        return sum(s.cards for s in self.subdecks)


def escape_text(text: str) -> str:
    """Escape text for an HTML text node (quotes stay readable in Anki's editor)."""
    return html.escape(text, quote=False)


_e = escape_text  # the short name the many f-strings below use


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


@functools.lru_cache(maxsize=1 << 14)
def _source_item(title_text: str, url: str) -> str:
    title = _e(title_text)
    if url.startswith(("https:", "http:")):
        return f'<li><a href="{_attr(url)}">{title}</a></li>'
    if url.startswith("doi:"):
        return f'<li><a href="https://doi.org/{_attr(url[4:])}">{title}</a></li>'
    return f"<li>{title}</li>"


def _sources_html(deck: Deck, refs: Iterable[str]) -> str:
    """A collapsed "Sources (n)" list of readable titles with their section and site, linked;
    the loader admits only http(s) and doi: addresses."""
    items = [_source_item(deck.display(ref), deck.source(ref).url) for ref in refs]
    if not items:
        return ""
    return (
        f'<details class="sources"><summary>Sources ({len(items)})</summary><ol>' + "".join(items) + "</ol></details>"
    )


def _options_html(q: Question, marked: bool, reasons: Sequence[str] = ()) -> str:
    """The options; on the back each is marked right (check) or wrong (cross), with its
    one-line reason when the question has one (`reasons`, in option order)."""
    if not marked:
        return '<ol class="options">' + "".join(map(_plain_option, q.options)) + "</ol>"
    items = []
    for index, option in enumerate(q.options):
        why_html = _why_html(option, reasons[index]) if index < len(reasons) and reasons[index] else ""
        items.append(_marked_option(option, index == q.answer_index) + why_html + "</li>")
    return '<ol class="options">' + "".join(items) + "</ol>"


@functools.lru_cache(maxsize=1 << 16)
def _plain_option(option: str) -> str:
    """An option on a card's front (values and drug names recur across thousands of questions)."""
    return f"<li>{_e(option)}</li>"


@functools.lru_cache(maxsize=1 << 16)
def _marked_option(option: str, right: bool) -> str:
    """An option on a card's back, marked right (check) or wrong (cross), its item left open."""
    mark = '<span class="mark">\u2713</span>' if right else '<span class="mark">\u2717</span>'
    return f'<li class="{"right" if right else "wrong"}">{mark}{_e(option)}'


@functools.lru_cache(maxsize=1 << 16)
def _why_html(option: str, rationale: str) -> str:
    """The reason under an option on a card back (the same wrong option's reason recurs across questions)."""
    return f'<span class="why">{_reason_html(option_reason(option, rationale))}</span>'


def option_reason(option: str, rationale: str) -> str:
    """A rationale as shown under its option: without the leading "Option: " the card already shows."""
    head = option + ": "  # the rationale may capitalise an option written in lower case
    if rationale[: len(head)].casefold() == head.casefold() and len(rationale) > len(head):
        rest = rationale[len(head) :]
        return rest[0].upper() + rest[1:]
    return rationale


_CITATION = re.compile(r"\s*(\[[^\[\]]+\]\.?)$")


def _reason_html(reason: str) -> str:
    """A rationale, its closing citation ('[Savella label, Highlights].') set apart in muted text."""
    cite = _CITATION.search(reason)
    if cite is None or cite.start() == 0:
        return _e(reason)
    return f'{_e(reason[: cite.start()])} <span class="cite">{_e(cite.group(1))}</span>'


_LEAD_IN = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_NUMBER_UNIT = re.compile(r"(?<=\d) (?=(?:mg|mcg|g|kg|mL|L|mm|cm|mmol|mEq|years?|months?|weeks?|days?|hours?)\b)")


def _kept_together(text: str) -> str:
    """Text escaped, a number and its unit joined by a no-break space ('24 mL/min' never parts)."""
    return _NUMBER_UNIT.sub("&nbsp;", _e(text))


def prompt_html(q: Question) -> str:
    """The prompt, escaped; a vignette's closing question (the lead-in) on a line of its own,
    set apart from the patient's story."""
    if q.kind == QuestionKind.VIGNETTE:
        pieces = _LEAD_IN.split(q.prompt.strip())
        if len(pieces) > 1 and pieces[-1].endswith("?"):
            stem, lead_in = " ".join(pieces[:-1]), pieces[-1]
            return _kept_together(stem) + f'<div class="leadin">{_kept_together(lead_in)}</div>'
        return _kept_together(q.prompt)
    return _e(q.prompt)


_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})
_BRACES_AND_COLONS = str.maketrans({"{": "&#123;", "}": "&#125;", ":": "&#58;"})


def _cloze_text(text: str, inside: bool = False) -> str:
    """Escape text for a cloze field: as HTML, and braces (inside the deletion also
    colons) as character references, so `{{c1::` in a fact cannot start a deletion and
    `}}` or `::` (a hint) in the answer cannot end it early or hide part of it."""
    return _e(text).translate(_BRACES_AND_COLONS if inside else _BRACES)


def cloze_field(q: Question) -> str:
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


_MONTHS = frozenset("january february march april may june july august september october november december".split())
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE = re.compile(rf"\b(?:\d{{1,2}} {_MONTH}|{_MONTH}(?: \d{{1,2}},)?) (\d{{4}})\b")
_FRAMING = frozenset("the and for its was has are is in of on to a an as by it".split())


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'s ", " "))


def _adds_nothing(reason: str, shown: str) -> bool:
    """True when `reason` only restates `shown` (the revealed sentence): no number or month
    that `shown` lacks, and most of its words already in it."""
    seen = set(_words(shown))
    words = [w for w in _words(reason) if w not in _FRAMING]
    new = [w for w in words if w not in seen]
    if any(w in _MONTHS or any(c.isdigit() for c in w) for w in new):
        return False
    return not words or len(new) <= len(words) * 0.4


@functools.lru_cache(maxsize=1 << 16)
def _whole_word(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)


def _emphasised(text: str, term: str) -> str:
    """`text` escaped, with the first whole-word occurrence of `term` in <b class="key">."""
    match = _whole_word(term).search(text) if term.strip() else None
    if match is None:
        return _e(text)
    start, end = match.span()
    return f'{_e(text[:start])}<b class="key">{_e(text[start:end])}</b>{_e(text[end:])}'


def _caveat_html(caveat: str) -> str:
    """One short line; a longer caveat shows its first clause and opens for the rest."""
    name, _, caveat = caveat.partition(": ")  # 'Caution' or 'Caution (venlafaxine)'
    label = f'<span class="label">{_e(name)}:</span> '
    cut = re.search(r"[;:.](?=\s)", caveat)
    if len(caveat) <= 90 or cut is None or cut.start() > 90:
        return f'<div class="caveat">{label}{_e(caveat)}</div>'
    head, rest = caveat[: cut.start()], caveat[cut.end() :].strip()
    return f'<details class="caveat"><summary>{label}{_e(head)} \u2026</summary>{_e(rest)}</details>'


def _key_term(deck: Deck, q: Question) -> str:
    if q.kind != QuestionKind.TF:
        return q.answer
    fact = deck.fact(q.facts[0])
    return fact.answer or (str(fact.value.year) if isinstance(fact.value, PartialDate) else fact.text)


def explanation_html(deck: Deck, q: Question) -> str:
    """The back's explanation: a false statement's true fact, the reason with its key term
    emphasised (left out when it only restates what the card already shows), the note, and
    each caveat on one line."""
    parts = []
    reason = q.reason
    if q.kind == QuestionKind.TF and q.answer == "False":
        parts.append(
            f'<div class="truefact"><span class="label">In fact:</span> {_emphasised(reason, _key_term(deck, q))}</div>'
        )
    elif reason:
        # the back shows the whole sentence: keep only what it lacks
        if q.kind in (QuestionKind.CLOZE, QuestionKind.TF):
            shown = q.prompt.replace(BLANK, q.answer)
            sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z'])", reason)
            reason = " ".join(s for s in sentences if not _adds_nothing(s, shown))
            date = _DATE.search(reason)
            if date and _adds_nothing(reason[: date.start()] + date.group(1) + reason[date.end() :], shown):
                # a restatement whose only news is the full date ("in 2008" -> "February 29, 2008")
                parts.append(f'<div class="reason"><span class="label">Full date:</span> {_e(date.group(0))}</div>')
                reason = ""
        if reason:
            parts.append(f'<div class="reason">{_emphasised(reason, _key_term(deck, q))}</div>')
    if q.note:
        parts.append(f'<div class="note">{_e(q.note)}</div>')
    parts.extend(_caveat_html(c) for c in q.caveats)
    return "".join(parts)


def subdeck_name(deck: Deck, topic: str) -> str:
    return _subdeck_name(deck.name, deck.topics[topic])


@functools.lru_cache(maxsize=256)
def _subdeck_name(deck_name: str, title: str) -> str:
    """One string per subdeck, however many notes name it."""
    return f"{deck_name}::{title}"


@functools.lru_cache(maxsize=256)
def _topic_field(title: str) -> str:
    return _e(title)


def note_spec(deck: Deck, q: Question, sources_cache: dict[tuple[str, ...], str] | None = None) -> NoteSpec:
    """The note for one question (field text escaped as HTML)."""
    topic = _topic_field(deck.topics[q.topic])
    if sources_cache is None:
        sources = _sources_html(deck, q.sources)
    else:
        sources = sources_cache.get(q.sources) or sources_cache.setdefault(q.sources, _sources_html(deck, q.sources))
    explanation = explanation_html(deck, q)
    fields: tuple[str, ...]
    cards = 1
    kind = QuestionKind(q.kind)
    if kind.lettered:  # multiple choice and vignettes share the note type
        fields = (
            prompt_html(q),
            _options_html(q, False),
            _e(lettered_answer(q)),
            _options_html(q, True, q.rationales),
            explanation,
            sources,
            topic,
        )
        note_type = "mcq"
    elif kind is QuestionKind.TF:
        fields = (_e(q.prompt), q.answer, explanation, sources, topic)
        note_type = "tf"
    elif kind is QuestionKind.CLOZE:
        fields = (cloze_field(q), explanation, sources, topic)
        note_type = "cloze"
    elif q.reversible:
        fields = (
            _e(q.prompt),
            _e(q.answer),
            _e(q.reverse_prompt),
            _e(q.reverse_answer),
            explanation,
            sources,
            topic,
        )
        note_type = "reverse"
        cards = 2 if q.reverse_prompt else 1
    else:
        also = q.accepted[1:]
        if also:  # the type-in comparison is strict: say what else the quiz accepts
            accepted = '<div class="accepted">Also accepted: ' + "; ".join(_e(a) for a in also) + "</div>"
            explanation = accepted + explanation
        fields = (_e(q.prompt), _e(q.answer), explanation, sources, topic)
        note_type = "typed"
    fields += ("",)  # "My notes": the learner's own, never filled by a build
    tags, deck_name = note_tags(deck, q), _subdeck_name(deck.name, deck.topics[q.topic])
    digest = _digest(note_type, fields, tags, deck_name)
    return NoteSpec(guid_of(q.id), note_type, fields, tags, deck_name, cards, digest)


def note_tags(deck: Deck, q: Question) -> tuple[str, ...]:
    """The question's tags plus `<prefix>::level::<level>` and `<prefix>::difficulty::<n>`."""
    return _tags_with(q.tags, deck.tag_prefix, str(q.level), q.difficulty)


@functools.lru_cache(maxsize=1 << 14)
def _tags_with(tags: tuple[str, ...], prefix: str, level: str, difficulty: int) -> tuple[str, ...]:
    """One tuple for equal tag sets (a large bank repeats a few thousand of them)."""
    return (*tags, f"{prefix}::level::{level}", f"{prefix}::difficulty::{difficulty}")


def guid_of(question_id: str) -> str:
    """The Anki GUID of a question's note (what the .apkg and `anki push` use)."""
    return str(genanki.guid_for(question_id))


def subdeck_id(deck: Deck, name: str) -> int:
    if name == deck.name:
        return deck.id
    return int(hashlib.sha256(f"{deck.id}:{name}".encode()).hexdigest()[:12], 16)


def deck_description(deck: Deck, notes: Sized, last_changes: str = "") -> str:
    kinds: dict[str, int] = {}
    for source in deck.sources.values():
        kinds[source.kind] = kinds.get(source.kind, 0) + 1
    lines = [
        f"<p><b>{_e(deck.name)}</b>, version {_e(deck.version)}: {len(notes)} notes built by snri-quiz.</p>",
        f"<p>{_e(deck.description)}</p>",
        "<p>Subdecks: " + ", ".join(_e(t) for t in deck.topics.values()) + ".</p>",
        f"<p>Sources ({len(deck.sources)}): "
        + ", ".join(f"{n} {_e(k)}" for k, n in sorted(kinds.items()))
        + ". Every card cites its sources on the back. Not a substitute for the current prescribing information.</p>",
    ]
    if last_changes:
        lines.append(f"<p>Last update: {_e(last_changes)}. Details in CHANGELOG.md next to the deck.</p>")
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


def read_lock(deck: Deck) -> dict[str, Any]:
    """The deck's lock file (empty when there is none yet)."""
    return _read_lock(deck.path / LOCK_NAME)


def _stamp(entries: dict[str, Any], key: str, digest: str, now: int) -> tuple[int, bool]:
    """The modification time for `key`: kept while its hash is unchanged, else moved forward."""
    old = entries.get(key)
    if isinstance(old, dict) and "retired" in old:  # a question made again: it comes back as changed
        old.pop("retired")
        old["hash"] = ""
    if isinstance(old, dict) and old.get("hash") == digest and isinstance(old.get("mod"), int):
        return old["mod"], False
    previous = old.get("mod", 0) if isinstance(old, dict) and isinstance(old.get("mod"), int) else 0
    mod = min(max(now, previous + 1), MAX_TIME)  # never a time the next build would refuse
    entries[key] = {**(old if isinstance(old, dict) else {}), "hash": digest, "mod": mod}
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
    selection: Selection | None = None,
    stream: IO[bytes] | None = None,
) -> BuildResult:
    """Write `<out_dir>/<deck name>.apkg` (or, when `out_dir` is None, the package to
    `stream`) and update the deck's lock file, all or nothing; return counts. A `selection`
    (mode, topics, drugs, levels) builds part of the deck; only a full build retires notes.

    `out_dir` may be missing if its parent exists: it is created when the build succeeds.
    """
    with paused_gc():
        return _build_package(content, out_dir, selection=selection or Selection(), stream=stream)


def _build_package(
    content: Content,
    out_dir: Path | None,
    *,
    selection: Selection,
    stream: IO[bytes] | None = None,
) -> BuildResult:
    from .cache import Damaged

    questions = selection.matching(content.bank, content.deck)
    full = selection == Selection()
    try:
        return _build(content, questions, _notes(content, questions), out_dir, full=full, stream=stream)
    except Damaged:
        pass  # a cached part was damaged past its first lines: nothing was written; make every note
    return _build(content, questions, _notes(content, questions, fresh=True), out_dir, full=full, stream=stream)


def _build(
    content: Content,
    questions: Sequence[Question],
    notes: _Notes,
    out_dir: Path | None,
    *,
    full: bool,
    stream: IO[bytes] | None,
) -> BuildResult:
    deck = content.deck
    now = _now()
    heads = notes.heads
    file_name = package_file_name(deck.name)
    target = out_dir / file_name if out_dir is not None else Path(file_name)

    lock_path = deck.path / LOCK_NAME
    lock = _read_lock(lock_path)
    entries = lock["notes"]
    old_facts = lock.get("facts") if isinstance(lock.get("facts"), dict) else None
    changed = 0
    renamed = False  # a note's question id differs from the lock file's
    mods: list[int] = []
    added: list[tuple[str, str]] = []
    updated: list[Update] = []
    hash_of = functools.cache(functools.partial(_hash_of, deck))  # once per fact, not per question citing it
    for q, head in zip(questions, heads, strict=True):
        before = entries.get(head.guid)
        new = not isinstance(before, dict) or "retired" in before  # before _stamp, which revives it
        mod, was_changed = _stamp(entries, head.guid, head.digest, now)
        entry = entries[head.guid]
        if entry.get("id") != q.id:
            entry["id"] = q.id
            renamed = True
        changed += was_changed
        mods.append(mod)
        if new:
            added.append((q.id, q.prompt))
        elif was_changed:
            facts = () if old_facts is None else tuple(f for f in q.facts if old_facts.get(f) != hash_of(f))
            updated.append(Update(q.id, q.prompt, facts))
    used_types = sorted({h.note_type for h in heads})
    stamped = [_stamp(lock["models"], str(NOTE_TYPES[k].id), _model_hash(NOTE_TYPES[k]), now) for k in used_types]
    model_mods = [mod for mod, _ in stamped]
    before_lock = json.dumps(lock.get("facts"), sort_keys=True), lock.get("changes")
    changes = Changes()
    if full:  # a full build retires notes that no longer exist, keeping their entries
        live = {h.guid for h in heads}
        retired = []
        for guid, entry in entries.items():
            if guid not in live and isinstance(entry, dict) and "retired" not in entry:
                entry["retired"] = now
                retired.append((str(entry.get("id", guid)), ""))
        lock["facts"] = {f.id: fact_hash(f) for f in deck.facts}
        if lock_path.exists():  # the very first build has nothing to compare with
            changes = Changes(tuple(added), tuple(updated), tuple(sorted(retired)))
        if changes:
            lock["changes"] = {"date": _day(now), "version": deck.version, "summary": changes.summary()}
    dirty = (
        bool(changed)
        or bool(changes)
        or any(was for _, was in stamped)
        or not lock_path.exists()
        or renamed
        or (json.dumps(lock.get("facts"), sort_keys=True), lock.get("changes")) != before_lock
    )
    warnings: list[str] = []
    package_time = max([*mods, *model_mods, 0])
    last = lock.get("changes")
    summary = f"{last['date']}, version {last['version']}: {last['summary']}" if isinstance(last, dict) else ""
    write = _package_writer(deck, heads, notes.texts, mods, package_time, deck_description(deck, heads, summary))
    changelog = None
    # The package, the lock file and the changelog are committed together: a failed build changes none.
    with staged() as files:
        if dirty:
            try:
                if changes:
                    changelog = files.add(deck.path / CHANGELOG_NAME, _changelog_text(deck, changes, now))
                files.add(lock_path, indented(lock) + "\n")  # json.dumps(lock, indent=1, sort_keys=True)
            except OutputError as exc:
                changelog = None
                warnings.append(f"{exc}; modification times will not persist between builds")
        if out_dir is not None:
            files.add(target, writer=write, create_folder=True)
        else:
            assert stream is not None
            _stream_package(write, stream, package_file_name(deck.name))
    notes_in: dict[str, int] = {}
    cards_in: dict[str, int] = {}
    for h in heads:
        notes_in[h.deck_name] = notes_in.get(h.deck_name, 0) + 1
        cards_in[h.deck_name] = cards_in.get(h.deck_name, 0) + h.cards
    names = [subdeck_name(deck, topic) for topic in deck.topics]
    counts = tuple(SubdeckCount(name, notes_in[name], cards_in[name]) for name in names if name in notes_in)
    return BuildResult(target, counts, changed, tuple(warnings), changes, changelog)


def _picked(items: Iterable[bytes], positions: Sequence[int]) -> Iterator[bytes]:
    """The items at these (increasing) positions."""
    wanted = iter(positions)
    next_one = next(wanted, None)
    for i, item in enumerate(items):
        if i == next_one:
            yield item
            next_one = next(wanted, None)


_PART = 8192
"""Notes whose texts are packed together."""


def make_notes(deck: Deck, questions: Sequence[Question]) -> tuple[list[NoteHead], list[Pack]]:
    """The notes of these questions: their heads, and their texts packed a part at a time (each
    spec goes once they are made). `build` gives this to `load_content`, so that a fresh load
    makes each template's notes beside its questions, on whichever core made them."""
    sources: dict[tuple[str, ...], str] = {}
    heads: list[NoteHead] = []
    packs: list[Pack] = []
    for start in range(0, len(questions), _PART):
        texts: list[bytes] = []
        for q in questions[start : start + _PART]:
            spec = note_spec(deck, q, sources)
            heads.append(spec.head())
            texts.append(_joined(spec.fields))
        packs.append(Pack.of(texts))
    return heads, packs


def _notes(content: Content, questions: Sequence[Question], *, fresh: bool = False) -> _Notes:
    """The notes of these questions, a template's part at a time: made beside its questions when
    they were made (`make_notes`), else read from the cache (their text streamed into the
    package, never held), else made now (all of them when `fresh`); with a cache, those made
    are cached for the next build. Without one, only the notes of the questions asked for are
    made."""
    from . import cache

    folder = cache.cache_dir() if content.key else None
    parts = content.parts
    made: Sequence[Any] = content.made if len(content.made) == len(parts) and not fresh else (None,) * len(parts)
    streams: list[Callable[[], Iterable[bytes]]]
    every: list[NoteHead]
    if folder is None or sum(p.count for p in parts) != len(content.bank) or not all(p.key for p in parts):
        if not (made and None not in made and sum(len(heads) for heads, _ in made) == len(content.bank)):
            heads, packs = make_notes(content.deck, questions)
            return _Notes(heads, lambda: _unpacked(packs))
        every = [h for heads, _ in made for h in heads]
        streams = [functools.partial(_unpacked, packs) for _, packs in made]
    else:
        every, streams = [], []
        start = 0
        for part, mine in zip(parts, made, strict=True):
            found = None if mine is not None or fresh else cache.read_notes(folder, part.key, NoteHead, part.count)
            if found is None:
                heads, packs = (
                    mine if mine is not None else make_notes(content.deck, content.bank[start : start + part.count])
                )
                cache.write_notes(folder, part.key, heads, packs)  # trimmed when the next bank is written
                found = heads, functools.partial(_unpacked, packs)
            every += found[0]
            streams.append(found[1])
            start += part.count

    def texts() -> Iterator[bytes]:
        return itertools.chain.from_iterable(stream() for stream in streams)

    if len(questions) == len(content.bank):
        return _Notes(every, texts)
    position = {q.id: i for i, q in enumerate(content.bank)}
    wanted = [position[q.id] for q in questions]
    if wanted == sorted(wanted):  # a selection keeps the bank's order
        return _Notes([every[i] for i in wanted], lambda: _picked(texts(), wanted))
    held = list(texts())
    return _Notes([every[i] for i in wanted], lambda: [held[i] for i in wanted])


def _unpacked(packs: Iterable[Pack]) -> Iterator[bytes]:
    return (text for pack in packs for text in pack.texts())


def _hash_of(deck: Deck, fact_id: str) -> str:
    try:
        return fact_hash(deck.fact(fact_id))
    except KeyError:
        return ""


def _day(moment: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(moment))


CHANGELOG_NAME = "CHANGELOG.md"


def _changelog_text(deck: Deck, changes: Changes, now: int) -> str:
    """The deck's CHANGELOG.md with this build's entry added at the top (newest first)."""
    path = deck.path / CHANGELOG_NAME
    title = f"# Changes to {deck.name}\n"
    try:
        previous = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        previous = title
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from None
    rest = previous[len(title) :] if previous.startswith(title) else "\n" + previous
    entry = [f"\n## {deck.version}, built {_day(now)}", "", changes.summary(), ""]
    entry += [f"- {' '.join(line.split())}" for line in changes.lines()]
    return title + "\n".join(entry) + "\n" + rest


def write_package(
    deck: Deck,
    specs: Sequence[NoteSpec],
    mods: Sequence[int],
    target: Path,
    package_time: int,
    *,
    description: str | None = None,
) -> Path:
    """Write an .apkg of these notes (with their modification times) and the note types and decks they use."""
    heads = [s.head() for s in specs]
    texts = lambda: (_joined(s.fields) for s in specs)  # noqa: E731
    return write_atomic(target, writer=_package_writer(deck, heads, texts, mods, package_time, description))


def _package_writer(
    deck: Deck,
    heads: Sequence[NoteHead],
    texts: Callable[[], Iterable[bytes]],
    mods: Sequence[int],
    package_time: int,
    description: str | None = None,
) -> Callable[[Path], None]:
    """A function that writes the .apkg of these notes to the path it is given."""
    used_types = sorted({h.note_type for h in heads})
    root = genanki.Deck(deck.id, deck.name, description=description or deck_description(deck, heads))
    for key in used_types:
        root.add_model(NOTE_TYPES[key].model())
    names = [subdeck_name(deck, topic) for topic in deck.topics]
    present = {h.deck_name for h in heads}
    used = [name for name in names if name in present]
    decks = [root, *(genanki.Deck(subdeck_id(deck, name), name) for name in used)]
    scratch = package_file_name(deck.name)

    def write(tmp: Path) -> None:
        _write_apkg(decks, heads, texts(), mods, deck, package_time, tmp, scratch=scratch)

    return write


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
    heads: Sequence[NoteHead],
    texts: Iterable[bytes],
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
    import shutil

    db_path = scratch_file(path.parent, scratch)
    try:
        connection = sqlite3.connect(db_path)
        try:
            connection.execute("PRAGMA journal_mode = OFF")  # a scratch file, renamed only when complete
            connection.execute("PRAGMA synchronous = OFF")
            cursor = connection.cursor()
            genanki.Package(decks).write_to_db(cursor, timestamp, itertools.count(timestamp * 1000))
            indexes = cursor.execute(
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'index' AND tbl_name IN ('notes', 'cards') ORDER BY name"
            ).fetchall()
            for name, _ in indexes:  # built once after the inserts: far faster than kept up row by row
                cursor.execute(f"DROP INDEX {name}")
            deck_ids = {name: subdeck_id(deck, name) for name in {h.deck_name for h in heads}}

            def numbered() -> Iterator[tuple[int, int, NoteHead, int]]:
                """(position, note id, head, mod); a note's cards take the ids after its own."""
                ids = itertools.count(timestamp * 1000)
                for position, (head, mod) in enumerate(zip(heads, mods, strict=True)):
                    yield position, next(ids), head, mod
                    for _ in range(head.cards):
                        next(ids)

            # rows are made as they are inserted: a list of them would hold a second copy of every note
            notes = (
                (
                    note_id,
                    head.guid,
                    NOTE_TYPES[head.note_type].id,
                    mod,
                    -1,
                    " " + " ".join(head.tags) + " ",
                    text,
                    text.partition(b"\x1f")[0],  # the sort field: the first
                    0,
                    0,
                    "",
                )
                for (_, note_id, head, mod), text in zip(numbered(), texts, strict=True)
            )
            cards = (
                (note_id + 1 + o, note_id, deck_ids[head.deck_name], o, mod, -1, 0, 0, p, 0, 0, 0, 0, 0, 0, 0, 0, "")
                for p, note_id, head, mod in numbered()
                for o in range(head.cards)
            )
            # UTF-8 given as text: the bytes SQLite would have stored for the same str
            cursor.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,CAST(? AS TEXT),CAST(? AS TEXT),?,?,?)", notes)
            cursor.executemany("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)
            for _, sql in indexes:
                cursor.execute(sql)
            connection.commit()
        finally:
            connection.close()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name in ("collection.anki2", "media"):
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                if name == "media":
                    archive.writestr(info, b"{}", compresslevel=1)
                    continue
                # streamed from the file, which can be hundreds of MB: what writestr does, a chunk at a time
                info.file_size = db_path.stat().st_size
                info._compresslevel = 1  # type: ignore[attr-defined]  # as writestr(..., compresslevel=1) sets it
                with db_path.open("rb") as source, archive.open(info, "w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
    finally:
        db_path.unlink(missing_ok=True)
