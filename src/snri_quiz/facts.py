"""The knowledge base: its model, loading and validation.

A deck folder holds `deck.yaml` (manifest and attribute table), `sources.yaml` (the
source registry), `drugs/*.yaml` (one file per drug) and `concepts.yaml` (class-level
facts). Everything is validated on load and every problem is reported in one pass.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidContent, Problem
from .yamlio import LineMap, load_yaml

ATTRIBUTE_TYPES = ("text", "date", "integer")
CONFIDENCE = ("high", "medium", "low")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
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
        if not self.month:
            return str(self.year)
        if not self.day:
            return f"{_MONTHS[self.month - 1]} {self.year}"
        return f"{_MONTHS[self.month - 1]} {self.day}, {self.year}"

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


@dataclass(frozen=True)
class Source:
    """One entry of the source registry."""

    id: str
    """Registry id, cited by facts."""
    title: str
    """Human-readable title (what the citation shows)."""
    kind: str
    """seed, label, fda, company, review, trial, guideline, news or secondary."""
    url: str = ""
    """Public address, when there is one."""
    file: str = ""
    """For seed documents: the file name in shared/seeds/."""
    note: str = ""
    """What to know about the source (for seeds: the errors it contains)."""

    def citation(self) -> str:
        where = self.url or self.file
        return f"{self.title} <{where}>" if where else self.title


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
    _by_id: dict[str, Fact] = field(default_factory=dict, repr=False, compare=False)
    _drugs: dict[str, Drug] = field(default_factory=dict, repr=False, compare=False)

    def fact(self, fact_id: str) -> Fact:
        return self._by_id[fact_id]

    def drug(self, subject: str) -> Drug:
        return self._drugs[subject]

    def subject_name(self, subject: str) -> str:
        if subject == self.class_subject:
            return self.class_name
        return self.drug(subject).name


class _Reader:
    """Reads one YAML mapping field by field, collecting problems instead of raising."""

    def __init__(self, mapping: LineMap, path: str, where: str, problems: list[Problem]):
        self.mapping, self.path, self.where, self.problems = mapping, path, where, problems
        self.seen: set[str] = set()

    def problem(self, key: str | None, message: str) -> None:
        line = self.mapping.line_of(key) if key else self.mapping.line
        label = f"{self.where}.{key}" if self.where and key else (key or self.where)
        self.problems.append(Problem(self.path, line, f"{label}: {message}" if label else message))

    def get(self, key: str, kind: type | tuple[type, ...], required: bool = False, default: Any = None) -> Any:
        self.seen.add(key)
        if key not in self.mapping or self.mapping[key] is None:
            if required:
                self.problem(None, f"missing required field '{key}'")
            return default
        value = self.mapping[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.problem(key, f"expected {_type_name(kind)}, got {value!r}")
            return default
        if not isinstance(value, kind):
            self.problem(key, f"expected {_type_name(kind)}, got {_describe(value)}")
            return default
        return value

    def text(self, key: str, required: bool = False) -> str:
        value = self.get(key, (str, int, float), required, "")
        return " ".join(str(value).split()) if value != "" else ""

    def texts(self, key: str) -> tuple[str, ...]:
        items = self.get(key, list, False, [])
        out = []
        for item in items:
            if isinstance(item, (str, int, float)) and not isinstance(item, bool) and str(item).strip():
                out.append(" ".join(str(item).split()))
            else:
                self.problem(key, f"expected a list of text, found {_describe(item)}")
        return tuple(out)

    def finish(self) -> None:
        for key in self.mapping:
            if key not in self.seen:
                self.problem(str(key), "unknown field (misspelt?)")


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        str: "text",
        int: "a whole number",
        float: "a number",
        list: "a list",
        LineMap: "a mapping",
        dict: "a mapping",
        bool: "true or false",
    }
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _mapping(data: Any, path: str, problems: list[Problem], line: int | None = None) -> LineMap | None:
    if not isinstance(data, LineMap):
        problems.append(
            Problem(path, line, f"expected a mapping, found {_describe(data) if data is not None else 'nothing'}")
        )
        return None
    return data


def load_deck(path: Path | str) -> Deck:
    """Load and validate a deck folder; raise InvalidContent listing every problem."""
    root = Path(path)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "deck folder not found"
        raise InvalidContent([Problem(str(root), None, what)])
    problems: list[Problem] = []
    manifest = _load_manifest(root / "deck.yaml", problems)
    sources = _load_sources(root / "sources.yaml", problems)
    attributes = manifest.get("attributes", {})
    drugs: list[Drug] = []
    facts: list[Fact] = []
    drug_dir = root / "drugs"
    if not drug_dir.is_dir():
        problems.append(Problem(str(drug_dir), None, "drugs folder not found"))
        drug_files: list[Path] = []
    else:
        drug_files = sorted(drug_dir.glob("*.yaml"))
        if not drug_files:
            problems.append(Problem(str(drug_dir), None, "no drug files (*.yaml)"))
    for file in drug_files:
        _load_fact_file(file, manifest, attributes, sources, drugs, facts, problems, is_class=False)
    concepts = root / "concepts.yaml"
    if concepts.exists():
        _load_fact_file(concepts, manifest, attributes, sources, drugs, facts, problems, is_class=True)
    _check_unique(facts, problems)
    if problems:
        raise InvalidContent(problems)
    deck = Deck(
        path=root,
        name=manifest["name"],
        id=manifest["id"],
        version=manifest["version"],
        description=manifest["description"],
        class_subject=manifest["class_subject"],
        class_name=manifest["class_name"],
        tag_prefix=manifest["tag_prefix"],
        attributes=attributes,
        topics=manifest["topics"],
        sources=sources or {},
        drugs=tuple(sorted(drugs, key=lambda d: d.subject)),
        facts=tuple(facts),
    )
    deck._by_id.update((f.id, f) for f in facts)
    deck._drugs.update((d.subject, d) for d in deck.drugs)
    return deck


DECK_NAME_MAX = 100


def deck_name_problem(name: str) -> str | None:
    """What makes `name` unfit as a deck name (it also names the .apkg file), or None."""
    if not name.strip():
        return "must not be empty"
    if len(name) > DECK_NAME_MAX:
        return f"is {len(name)} characters long (at most {DECK_NAME_MAX})"
    for char in name:
        if char in "/\\":
            return f"must not contain a path separator ({char!r})"
        if unicodedata.category(char) == "Cc":
            return f"must not contain a control character (U+{ord(char):04X})"
    return None


def _load_manifest(path: Path, problems: list[Problem]) -> dict[str, Any]:
    data, problem = load_yaml(path)
    if problem:
        problems.append(problem)
        return {"attributes": {}, "topics": {}}
    mapping = _mapping(data, str(path), problems)
    if mapping is None:
        return {"attributes": {}, "topics": {}}
    r = _Reader(mapping, str(path), "", problems)
    out: dict[str, Any] = {
        "name": r.text("name", required=True),
        "id": r.get("id", int, required=True, default=0),
        "version": r.text("version", required=True),
        "description": r.text("description", required=True),
        "class_subject": r.text("class_subject", required=True),
        "class_name": r.text("class_name", required=True),
        "tag_prefix": r.text("tag_prefix", required=True),
    }
    raw_name = mapping.get("name")
    if isinstance(raw_name, (str, int, float)) and not isinstance(raw_name, bool):
        if name_problem := deck_name_problem(str(raw_name)):
            r.problem("name", name_problem)
    if out["id"] and not 0 < out["id"] < 2**63:
        r.problem("id", "must be a positive 64-bit number")
    if out["tag_prefix"] and not _NAME.match(out["tag_prefix"]):
        r.problem("tag_prefix", "must be lowercase letters, digits and underscores")
    topics_map = r.get("topics", LineMap, required=True, default=LineMap())
    topics: dict[str, str] = {}
    for name, title in topics_map.items():
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(Problem(str(path), topics_map.line_of(name), f"topics: '{name}' is not a snake_case name"))
        elif not isinstance(title, str):
            problems.append(Problem(str(path), topics_map.line_of(name), f"topics.{name}: expected text"))
        else:
            topics[name] = title
    out["topics"] = topics
    attrs_map = r.get("attributes", LineMap, required=True, default=LineMap())
    attributes: dict[str, Attribute] = {}
    for name, spec in attrs_map.items():
        line = attrs_map.line_of(name)
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(Problem(str(path), line, f"attributes: '{name}' is not a snake_case name"))
            continue
        spec_map = _mapping(spec, str(path), problems, line)
        if spec_map is None:
            continue
        a = _Reader(spec_map, str(path), f"attributes.{name}", problems)
        kind = a.text("type", required=True)
        closed = a.get("closed", bool, default=False)
        topic = a.text("topic", required=True)
        label = a.text("label") or name.replace("_", " ")
        a.finish()
        if kind and kind not in ATTRIBUTE_TYPES:
            a.problem("type", f"'{kind}' is not one of {', '.join(ATTRIBUTE_TYPES)}")
        if topic and topic not in topics:
            a.problem("topic", f"unknown topic '{topic}' (declare it under topics)")
        attributes[name] = Attribute(name, kind, closed, topic, label)
    out["attributes"] = attributes
    r.finish()
    return out


def _load_sources(path: Path, problems: list[Problem]) -> dict[str, Source] | None:
    """The registry, or None when the file itself is unusable (then citations go unchecked)."""
    data, problem = load_yaml(path)
    if problem:
        problems.append(problem)
        return None
    mapping = _mapping(data, str(path), problems)
    if mapping is None:
        return None
    r = _Reader(mapping, str(path), "", problems)
    entries = r.get("sources", list, required=True, default=[])
    r.finish()
    sources: dict[str, Source] = {}
    for index, entry in enumerate(entries):
        item = _mapping(entry, str(path), problems, mapping.line_of("sources"))
        if item is None:
            continue
        s = _Reader(item, str(path), f"sources[{index}]", problems)
        source = Source(
            id=s.text("id", required=True),
            title=s.text("title", required=True),
            kind=s.text("kind", required=True),
            url=s.text("url"),
            file=s.text("file"),
            note=s.text("note"),
        )
        s.finish()
        if source.id in sources:
            s.problem("id", f"duplicate source id '{source.id}'")
        elif source.id:
            sources[source.id] = source
    return sources


_FACT_FIELDS_TEXT = (
    "note",
    "caveat",
    "hint",
    "answer",
    "question",
    "false_statement",
    "erroneous",
    "erroneous_source",
    "topic",
)


def _load_fact_file(
    path: Path,
    manifest: dict[str, Any],
    attributes: dict[str, Attribute],
    sources: dict[str, Source] | None,
    drugs: list[Drug],
    facts: list[Fact],
    problems: list[Problem],
    *,
    is_class: bool,
) -> None:
    data, problem = load_yaml(path)
    if problem:
        problems.append(problem)
        return
    mapping = _mapping(data, str(path), problems)
    if mapping is None:
        return
    r = _Reader(mapping, str(path), "", problems)
    if is_class:
        subject = r.text("subject", required=True)
        if subject and manifest.get("class_subject") and subject != manifest["class_subject"]:
            r.problem("subject", f"must be the deck's class_subject '{manifest['class_subject']}'")
    else:
        subject = r.text("drug", required=True)
        name = r.text("name", required=True)
        aliases = r.texts("aliases")
        if subject and not _NAME.match(subject):
            r.problem("drug", f"'{subject}' must be the lowercase generic name")
        elif subject and subject != path.stem:
            r.problem("drug", f"'{subject}' does not match the file name '{path.name}'")
        elif subject:
            drugs.append(Drug(subject, name or subject.capitalize(), aliases))
    entries = r.get("facts", list, required=True, default=[])
    r.finish()
    for index, entry in enumerate(entries):
        item = _mapping(entry, str(path), problems, mapping.line_of("facts"))
        if item is None:
            continue
        fact = _read_fact(
            item,
            str(path),
            index,
            subject,
            attributes,
            sources,
            problems,
            is_class=is_class,
            topics=manifest.get("topics", {}),
        )
        if fact is not None:
            facts.append(fact)


def _read_fact(
    item: LineMap,
    path: str,
    index: int,
    subject: str,
    attributes: dict[str, Attribute],
    sources: dict[str, Source] | None,
    problems: list[Problem],
    *,
    is_class: bool,
    topics: dict[str, str],
) -> Fact | None:
    local_id = item.get("id") if isinstance(item.get("id"), str) else None
    f = _Reader(item, path, f"facts[{local_id or index}]", problems)
    before = len(problems)
    local = f.text("id", required=True)
    if local and not _ID.match(local):
        f.problem("id", f"'{local}' must be lowercase letters, digits and hyphens")
    attr_name = f.text("attribute", required=True)
    attribute = attributes.get(attr_name)
    if attr_name and attribute is None:
        f.problem("attribute", f"unknown attribute '{attr_name}' (declare it in deck.yaml)")
    raw_value = f.get("value", (str, int), required=True)
    cited = f.texts("sources")
    if "sources" in item and not cited:
        f.problem("sources", "cite at least one source")
    elif "sources" not in item:
        f.problem(None, "missing required field 'sources'")
    for source_id in cited:
        if sources is not None and source_id not in sources:
            f.problem("sources", f"unknown source id '{source_id}' (not in sources.yaml)")
    extra = {name: f.text(name) for name in _FACT_FIELDS_TEXT}
    aliases = f.texts("aliases")
    uncertain = f.texts("uncertain")
    distractors = f.texts("distractors")
    confidence = f.text("confidence") or "high"
    if confidence not in CONFIDENCE:
        f.problem("confidence", f"'{confidence}' is not one of {', '.join(CONFIDENCE)}")
    date = None
    if "date" in item:
        raw_date = f.get("date", (str, int))
        date = parse_date(raw_date) if raw_date is not None else None
        if raw_date is not None and date is None:
            f.problem("date", f"'{raw_date}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)")
    f.finish()
    value: Value | None = None
    if attribute is not None and raw_value is not None:
        value = _typed_value(attribute, raw_value, lambda m: f.problem("value", m))
    if extra["topic"] and extra["topic"] not in topics:
        f.problem("topic", f"unknown topic '{extra['topic']}'")
    if extra["erroneous_source"] and sources is not None and extra["erroneous_source"] not in sources:
        f.problem("erroneous_source", f"unknown source id '{extra['erroneous_source']}'")
    if is_class:
        for needed in ("answer", "question"):
            if not extra[needed]:
                f.problem(None, f"missing required field '{needed}' (class facts need it)")
        for wrong in distractors:
            if extra["answer"] and _same(wrong, extra["answer"]):
                f.problem("distractors", f"'{wrong}' is the answer itself")
    if extra["answer"] and isinstance(value, str) and extra["answer"].lower() not in value.lower():
        f.problem("answer", f"'{extra['answer']}' does not appear in the value")
    if len(problems) > before or value is None or attribute is None:
        return None
    return Fact(
        id=f"{subject}.{local}",
        subject=subject,
        attribute=attr_name,
        value=value,
        sources=cited,
        path=path,
        line=item.line,
        topic=extra.pop("topic") or attribute.topic,
        aliases=aliases,
        uncertain=uncertain,
        confidence=confidence,
        date=date,
        distractors=distractors,
        **extra,
    )


def _typed_value(attribute: Attribute, raw: str | int, report: Callable[[str], None]) -> Value | None:
    if attribute.type == "date":
        parsed = parse_date(raw)
        if parsed is None:
            report(f"'{raw}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)")
        return parsed
    if attribute.type == "integer":
        if isinstance(raw, int):
            return raw
        report(f"expected a whole number, got {raw!r}")
        return None
    text = " ".join(str(raw).split())
    if not text:
        report("must not be empty")
        return None
    return text


def _check_unique(facts: list[Fact], problems: list[Problem]) -> None:
    seen: dict[str, Fact] = {}
    for fact in facts:
        if fact.id in seen:
            first = seen[fact.id]
            problems.append(
                Problem(fact.path, fact.line, f"duplicate fact id '{fact.id}' (first at line {first.line})")
            )
        else:
            seen[fact.id] = fact


_PUNCTUATION = re.compile(r"[^\w\s]")


@functools.lru_cache(maxsize=1 << 16)
def normalize(text: str) -> str:
    """Case-, space- and punctuation-insensitive form used to compare answers."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower().replace("&", " and ")).split())


def _same(a: str, b: str) -> bool:
    return normalize(a) == normalize(b)


def facts_as_records(deck: Deck, subject: str | None = None) -> list[dict[str, Any]]:
    """The knowledge base as plain records (what `facts --json` prints)."""
    return [
        {
            "id": f.id,
            "subject": f.subject,
            "attribute": f.attribute,
            "value": f.json_value(),
            "sources": list(f.sources),
        }
        for f in deck.facts
        if subject is None or f.subject == subject
    ]
