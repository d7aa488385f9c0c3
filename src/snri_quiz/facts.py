"""The knowledge base: its model, loading and validation.

A deck folder holds `deck.yaml` (manifest and attribute table), `sources.yaml` (the
source registry), `drugs/*.yaml` (one file per drug) and `concepts.yaml` (class-level
facts). Everything is validated on load and every problem is reported in one pass.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import operator
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_MONTHS = ("January February March April May June July August September October November December").split()


@dataclass(frozen=True, order=True)
class PartialDate:
    """A date known to the year, the month or the day (`1993`, `2013-07`, `2008-02-29`)."""

    year: int
    """The year."""
    month: int | None = None
    """The month 1-12, or None when only the year is known."""
    day: int | None = None
    """The day of the month, or None when not known."""

    def iso(self) -> str:
        parts = [f"{self.year:04d}"]
        if self.month:
            parts.append(f"{self.month:02d}")
            if self.day:
                parts.append(f"{self.day:02d}")
        return "-".join(parts)

    def human(self) -> str:
        """`1993`, `July 2013` or `3 August 2004`."""
        if not self.month:
            return str(self.year)
        if not self.day:
            return f"{_MONTHS[self.month - 1]} {self.year}"
        return f"{self.day} {_MONTHS[self.month - 1]} {self.year}"

    def when(self) -> str:
        """The date with its preposition: `in 1993`, `in July 2013`, `on 3 August 2004`."""
        return f"{'on' if self.day else 'in'} {self.human()}"

    def surely_before(self, other: PartialDate) -> bool:
        """True only when the known precision proves self < other."""
        for mine, theirs in ((self.year, other.year), (self.month, other.month), (self.day, other.day)):
            if mine is None or theirs is None:
                return False
            if mine != theirs:
                return mine < theirs
        return False

    def __str__(self) -> str:
        return self.iso()


def parse_date(raw: object) -> PartialDate | None:
    """Parse `1993`, `2013-07` or `2008-02-29`; None when it is not a real date."""
    import datetime

    match = _DATE.match(str(raw).strip())
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        datetime.date(year, month or 1, day or 1)
    except ValueError:
        return None
    return PartialDate(year, month, day)


Value = str | int | PartialDate


class SourceKind(StrEnum):
    """What a source is. Only the primary kinds may carry a fact on their own."""

    LABEL = "label"
    """US prescribing information (DailyMed, or the Drugs@FDA label copy)."""
    FDA = "fda"
    """Regulators' records: Drugs@FDA, FDA safety communications and pediatric labeling, EMA EPARs."""
    GUIDELINE = "guideline"
    """A society's or panel's recommendations."""
    REVIEW = "review"
    """A systematic or narrative review in a journal (Cochrane included)."""
    TRIAL = "trial"
    """A report of a clinical or pharmacokinetic study."""
    PAPER = "paper"
    """Any other peer-reviewed paper."""
    COMPANY = "company"
    """A manufacturer's release or material (context only)."""
    NEWS = "news"
    """Trade or general news (context only)."""
    SECONDARY = "secondary"
    """Drug databases, consumer sites, label mirrors, AI answers (context only)."""
    SEED = "seed"
    """One of the documents the project started from; they contain errors (context only)."""


PRIMARY_KINDS = frozenset(
    {SourceKind.LABEL, SourceKind.FDA, SourceKind.GUIDELINE, SourceKind.REVIEW, SourceKind.TRIAL, SourceKind.PAPER}
)
_SECTION_NAMES = {"boxed": "boxed warning", "highlights": "Highlights", "hl": "Highlights"}
_HOST_NAMES = {
    "dailymed.nlm.nih.gov": "DailyMed",
    "www.accessdata.fda.gov": "FDA",
    "accessdata.fda.gov": "FDA",
    "www.fda.gov": "FDA",
    "fda.gov": "FDA",
    "www.ema.europa.eu": "EMA",
    "ema.europa.eu": "EMA",
    "pubmed.ncbi.nlm.nih.gov": "PubMed",
    "www.ncbi.nlm.nih.gov": "PubMed",
    "pmc.ncbi.nlm.nih.gov": "PubMed Central",
    "doi.org": "DOI",
    "dx.doi.org": "DOI",
    "www.cochranelibrary.com": "Cochrane Library",
    "cochranelibrary.com": "Cochrane Library",
    "www.sec.gov": "SEC",
    "investor.lilly.com": "Eli Lilly",
}


def split_ref(ref: str) -> tuple[str, str]:
    """`label-cymbalta#5.2` -> (`label-cymbalta`, `5.2`); a bare id has no section."""
    source_id, _, section = ref.partition("#")
    return source_id, section


def section_text(section: str) -> str:
    """How a cited section reads: `section 5.2`, `boxed warning`, `Highlights`."""
    if not section:
        return ""
    return _SECTION_NAMES.get(section.lower(), f"section {section}")


@dataclass(frozen=True)
class Source:
    """One entry of the source registry."""

    id: str
    """Registry id, cited by facts (`label-cymbalta`, or `label-cymbalta#5.2` with a section)."""
    title: str
    """Human-readable title (what a card shows), e.g. `Cymbalta (...) US prescribing information`."""
    kind: str
    """A SourceKind value."""
    url: str = ""
    """Public address (http, https or doi:), when there is one."""
    file: str = ""
    """For seed documents: the file name in shared/seeds/ (for maintainers; never shown to learners)."""
    note: str = ""
    """What to know about the source (for seeds: the errors it contains)."""
    product: str = ""
    """Labels: the product name the label is for (`Cymbalta`)."""
    drug: str = ""
    """Labels and FDA records: the drug (lowercase generic name) the document is about."""
    application: str = ""
    """Labels and FDA records: the US application number, `NDA021427` form."""
    revised: str = ""
    """Labels: the revision date printed on the label (`2023-08`), where known."""
    line: int = field(default=0, compare=False)
    """Line of the entry in sources.yaml (for messages)."""

    @property
    def primary(self) -> bool:
        """True for label, fda, guideline, review, trial and paper sources."""
        return self.kind in PRIMARY_KINDS

    @functools.cached_property
    def where(self) -> str:
        """A readable name for where the document lives: DailyMed, FDA, PubMed ... (or '')."""
        if self.url.startswith("doi:"):
            return "DOI"
        host = (urlsplit(self.url).hostname or "").lower()
        return _HOST_NAMES.get(host, host.removeprefix("www."))

    def display(self, section: str = "") -> str:
        """`Cymbalta (...) US prescribing information, section 5.2 (DailyMed)`."""
        text = self.title
        if section:
            text += f", {section_text(section)}"
        return f"{text} ({self.where})" if self.where else text

    def citation(self, section: str = "") -> str:
        """The display text and the address, for plain-text outputs."""
        return f"{self.display(section)} <{self.url}>" if self.url else self.display(section)

    def brief(self, section: str = "") -> str:
        """A bracket-sized citation: `Savella label, 1`, `Cymbalta label, Highlights`, or the title
        up to its first parenthesis or colon."""
        if self.kind == SourceKind.LABEL and self.product:
            text = f"{self.product} label"
        else:
            text = re.split(r" \(|: ", self.title, maxsplit=1)[0]
        if section:
            text += f", {_SECTION_NAMES.get(section.lower(), section)}"
        return text


@dataclass(frozen=True)
class Attribute:
    """A kind of fact a deck may hold (a row of the manifest's attribute table)."""

    name: str
    """snake_case name, e.g. `brand_names_us`."""
    type: str
    """text, date or integer."""
    closed: bool
    """True when the deck lists every true value, so a missing value is false."""
    topic: str
    """Topic of the questions asked about it."""
    label: str
    """How it reads in tables and explanations."""


@dataclass(frozen=True)
class Fact:
    """One sourced statement: `subject` has `value` for `attribute`."""

    id: str
    """Deck-wide unique id, `subject.local-id`; questions derive their ids from it."""
    subject: str
    """Lowercase generic name of the drug, or the deck's class subject."""
    attribute: str
    """Name of an attribute declared in deck.yaml."""
    value: Value
    """Text, integer or PartialDate (class facts: the whole statement)."""
    sources: tuple[str, ...]
    """Source registry ids."""
    path: str
    """File the fact was loaded from."""
    line: int
    """Line of the fact in that file."""
    topic: str
    """Topic (the attribute's unless the fact overrides it)."""
    aliases: tuple[str, ...] = ()
    """Other accepted wordings of the value."""
    uncertain: tuple[str, ...] = ()
    """Values sources dispute for this subject: never offered as wrong options."""
    note: str = ""
    """Extra teaching text, appended to explanations."""
    caveat: str = ""
    """Where sources disagree or the fact is uncertain; always shown with it."""
    confidence: str = "high"
    """high, medium or low (as graded in the reference)."""
    date: PartialDate | None = None
    """When this became true (e.g. the approval date of an indication)."""
    hint: str = ""
    """A clue that identifies the value without naming it."""
    scope: str = ""
    """What the fact holds for when that is narrower than the drug: a product (`extended-release
    (Effexor XR)`) or a named list (`the adult 'most common adverse reactions' list in the Cymbalta
    Highlights`). Templates put it in prompts."""
    answer: str = ""
    """Class facts: the key term within the statement that questions ask for."""
    question: str = ""
    """Class facts: a direct question whose answer is `answer`."""
    distractors: tuple[str, ...] = ()
    """Class facts: authored wrong options, each checked to be false."""
    false_statement: str = ""
    """Class facts: a plausible wrong statement for true/false questions."""
    erroneous: str = ""
    """Corrections: the wrong text as a seed document has it."""
    erroneous_source: str = ""
    """Corrections: the source id of the seed with the error."""
    answer_type: str = ""
    """How typed answers about it are graded (an AnswerType value); empty: inferred from the answer."""
    key_terms: tuple[str, ...] = ()
    """Essential words that suffice as a typed answer (`MAOI` for 'an MAOI')."""

    def __hash__(self) -> int:
        # the id is unique in a deck and part of equality: hashing every field cost a second
        # per 1.5 million hashes (vignettes gather the facts they cite in dicts)
        return hash(self.id)

    @property
    def text(self) -> str:
        """The value as display text."""
        return self.value.human() if isinstance(self.value, PartialDate) else str(self.value)

    def json_value(self) -> str | int:
        return self.value.iso() if isinstance(self.value, PartialDate) else self.value


@dataclass(frozen=True)
class Drug:
    """A drug: the subject of one file in drugs/."""

    subject: str
    """Lowercase generic name, e.g. `duloxetine`."""
    name: str
    """Display name, e.g. `Duloxetine`."""
    aliases: tuple[str, ...] = ()
    """Other names accepted for it (e.g. O-desmethylvenlafaxine)."""
    applications: tuple[str, ...] = ()
    """Its US application numbers (`NDA021427`); label sources must name one of them."""


@dataclass(frozen=True)
class Deck:
    """A loaded, validated knowledge base."""

    path: Path
    """The deck folder."""
    name: str
    """Display name, the Anki deck's root name."""
    id: int
    """Stable numeric id."""
    version: str
    """Content version, shown in the deck description."""
    description: str
    """What the deck covers."""
    class_subject: str
    """Subject name of class-level facts."""
    class_name: str
    """Display name of the class (e.g. SNRIs)."""
    tag_prefix: str
    """Root of hierarchical tags."""
    attributes: dict[str, Attribute]
    """Declared attributes by name."""
    topics: dict[str, str]
    """Topic name -> display title, in report order."""
    sources: dict[str, Source]
    """Source registry by id."""
    drugs: tuple[Drug, ...]
    """Drugs, sorted by subject."""
    facts: tuple[Fact, ...]
    """Every fact, in file order (drugs sorted by subject, then concepts)."""
    brand_attributes: tuple[str, ...] = ()
    """Text attributes whose values are brand names (the grader tells a brand from its generic)."""
    _by_id: dict[str, Fact] = field(default_factory=dict, repr=False, compare=False)
    _drugs: dict[str, Drug] = field(default_factory=dict, repr=False, compare=False)
    _displays: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _briefs: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    """A citation's display and brief text by reference, made once (a large bank cites the same
    few thousand references a million times)."""

    def fact(self, fact_id: str) -> Fact:
        return self._by_id[fact_id]

    def drug(self, subject: str) -> Drug:
        return self._drugs[subject]

    def subject_name(self, subject: str) -> str:
        if subject == self.class_subject:
            return self.class_name
        return self.drug(subject).name

    def source(self, ref: str) -> Source:
        """The source a citation (`label-cymbalta#5.2` or `label-cymbalta`) points to."""
        return self.sources[split_ref(ref)[0]]

    def display(self, ref: str) -> str:
        """A citation as a learner reads it: title, section and where it lives."""
        found = self._displays.get(ref)
        if found is None:
            found = self._displays[ref] = self.source(ref).display(split_ref(ref)[1])
        return found

    def citation(self, ref: str) -> str:
        """A citation with its address, for plain-text outputs."""
        return self.source(ref).citation(split_ref(ref)[1])

    def brief(self, ref: str) -> str:
        """A citation in brackets' size: `Savella label, 1`."""
        found = self._briefs.get(ref)
        if found is None:
            found = self._briefs[ref] = self.source(ref).brief(split_ref(ref)[1])
        return found


def answer_span(text: str, answer: str) -> tuple[int, int] | None:
    """Where `answer` first occurs in `text` as whole words (never inside a longer word), or None."""
    match = re.search(rf"(?<![\w-]){re.escape(answer)}(?![\w-])", text, flags=re.IGNORECASE)
    return match.span() if match else None


_PUNCTUATION = re.compile(r"[^\w\s]")


@functools.lru_cache(maxsize=1 << 16)
def normalize(text: str) -> str:
    """Case-, space- and punctuation-insensitive form used to compare answers."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower().replace("&", " and ")).split())


def facts_as_records(deck: Deck, subject: str | None = None) -> list[dict[str, Any]]:
    """The knowledge base as plain records (what `facts --json` prints)."""
    records = []
    for f in deck.facts:
        if subject is not None and f.subject != subject:
            continue
        record: dict[str, Any] = {"id": f.id, "subject": f.subject, "attribute": f.attribute, "value": f.json_value()}
        if f.aliases:
            record["aliases"] = list(f.aliases)
        if f.uncertain:
            record["uncertain"] = list(f.uncertain)
        if f.confidence != "high":
            record["confidence"] = f.confidence
        record["sources"] = list(f.sources)
        records.append(record)
    return records


@functools.lru_cache(maxsize=1 << 18)
def fact_hash(fact: Fact) -> str:
    """Hash of what a fact says (not where it sits in its file); once per fact (the cache's
    keys and the lock file both ask)."""
    return hashlib.sha256("\x1e".join(map(repr, _said(fact))).encode()).hexdigest()[:16]


_said = operator.attrgetter(*(f.name for f in dataclasses.fields(Fact) if f.name not in ("path", "line")))
"""A fact's values but its place in its file."""
