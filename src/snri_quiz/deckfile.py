"""Reading a deck folder: every file parsed, every field checked, every problem reported in one pass.

`load_deck` reads `deck.yaml` (manifest and attribute table), `sources.yaml` (the source
registry), `drugs/*.yaml` (one file per drug) and `concepts.yaml` (class-level facts) into the
model of `facts.py`; `FieldReader` is the field-by-field reader templates use too.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from . import parallel
from .errors import InvalidContent, Problem
from .facts import Attribute, Deck, Drug, Fact, Source, SourceKind, Value, answer_span, normalize, parse_date, split_ref
from .kinds import AnswerType
from .yamlio import LineMap, load_yaml

ATTRIBUTE_TYPES = ("text", "date", "integer")
CONFIDENCE = ("high", "medium", "low")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")

_LITERATURE = (
    "pubmed.ncbi.nlm.nih.gov",
    "pmc.ncbi.nlm.nih.gov",
    "www.ncbi.nlm.nih.gov",
    "doi.org",
    "dx.doi.org",
    "www.cochranelibrary.com",
    "cochranelibrary.com",
    # journal publishers' own article pages
    "www.dovepress.com",
    "jnnp.bmj.com",
    "healthpsychologyresearch.openmedicalpublishing.org",
    "onlinelibrary.wiley.com",
)
ALLOWED_HOSTS: dict[SourceKind, tuple[str, ...]] = {
    SourceKind.LABEL: ("dailymed.nlm.nih.gov", "www.accessdata.fda.gov", "accessdata.fda.gov"),
    SourceKind.FDA: (
        "www.fda.gov",
        "fda.gov",
        "www.accessdata.fda.gov",
        "accessdata.fda.gov",
        "www.ema.europa.eu",
        "ema.europa.eu",
    ),
    SourceKind.GUIDELINE: _LITERATURE,
    SourceKind.REVIEW: _LITERATURE,
    SourceKind.TRIAL: _LITERATURE,
    SourceKind.PAPER: _LITERATURE,
}
"""Hosts a primary source's URL may use; context kinds (company, news, secondary, seed) may use any web host."""
URL_SCHEMES = ("https", "http", "doi")
_APPLICATION = re.compile(r"^(NDA|ANDA|BLA)\d{6}$")
_SECTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.]*$")


def url_problem(url: str, kind: str) -> str:
    """Why `url` may not be a `kind` source's address, or '' when it may."""
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "must not contain spaces or control characters"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        return f"scheme '{scheme or url}' is not allowed (use https, http or doi)"
    if scheme == "doi":
        if not parts.path.startswith("10."):
            return "a doi: address must look like doi:10.xxxx/..."
        if kind in (SourceKind.LABEL, SourceKind.FDA):
            return f"a {kind} source needs a web address (https)"
        return ""
    host = (parts.hostname or "").lower()
    if not host:
        return "has no host"
    allowed = ALLOWED_HOSTS.get(SourceKind(kind)) if kind in SourceKind._value2member_map_ else None
    if allowed is not None and host not in allowed:
        return f"host '{host}' is not allowed for a {kind} source (allowed: {', '.join(allowed)})"
    return ""


class FieldReader:
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

    def text(self, key: str, required: bool = False, *, empty_ok: bool = False) -> str:
        """Text with spaces folded; a required field present but blank is a problem unless `empty_ok`."""
        value = self.get(key, (str, int, float), required, "")
        text = " ".join(str(value).split()) if value != "" else ""
        if required and not text and not empty_ok and self.mapping.get(key) is not None:
            self.problem(key, "must not be empty")
        return text

    def texts(self, key: str) -> tuple[str, ...]:
        items = self.get(key, list, False, [])
        out, bad = [], []
        for item in items:
            if isinstance(item, (str, int, float)) and not isinstance(item, bool) and str(item).strip():
                out.append(" ".join(str(item).split()))
            else:
                bad.append(item)
        if bad:  # one problem per field, however many bad items
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            self.problem(key, f"expected a list of text, found {_describe(bad[0])}{more}")
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


class FileMemo(Protocol):
    """What a deck's fact files held when last read, by file: `load_deck` reads again only the
    files it does not know (their content and everything they are checked against unchanged)."""

    def known(self, path: Path) -> Loaded | None: ...

    def learn(self, path: Path, loaded: Loaded) -> None: ...


def load_deck(path: Path | str, memo: FileMemo | None = None) -> Deck:
    """Load and validate a deck folder; raise InvalidContent listing every problem. With a
    `memo`, fact files it knows are not read again, and what the others hold is taught to it."""
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
    concepts = root / "concepts.yaml"
    files = [*drug_files, *([concepts] if concepts.exists() else [])]

    def load(file: Path, _: object) -> Loaded:
        return _load_fact_file(file, manifest, attributes, sources, is_class=file == concepts)

    found: dict[Path, Loaded] = {}
    if memo is not None and not problems:  # what a file holds is checked against deck.yaml and sources.yaml
        found = {f: known for f in files if (known := memo.known(f)) is not None}
    unknown = [f for f in files if f not in found]
    share = parallel.worth_sharing(len(unknown) * 50)  # a drug file holds some 50 facts
    read = parallel.shared_map(load, unknown) if share else [load(f, None) for f in unknown]
    for file, loaded in zip(unknown, read, strict=True):
        found[file] = loaded
        if memo is not None and not problems and not loaded.problems:
            memo.learn(file, loaded)
    names: dict[str, str] = {}
    for loaded in (found[f] for f in files):
        drugs += loaded.drugs
        facts += loaded.facts
        problems += loaded.problems
        if loaded.name is not None:  # two drugs of one name: their questions could not tell them apart
            key, name, file_name, line = loaded.name
            if key in names:
                what = f"name: '{name}' is also the name of the drug in {names[key]}"
                problems.append(Problem(str(drug_dir / file_name), line, what))
            else:
                names[key] = file_name
    _check_unique(facts, problems)
    if sources:
        _check_label_drugs(root, sources, drugs, problems)
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
        brand_attributes=manifest["brand_attributes"],
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
    data, problem = load_yaml(path, problems)
    if problem:
        problems.append(problem)
        return {"attributes": {}, "topics": {}}
    mapping = _mapping(data, str(path), problems)
    if mapping is None:
        return {"attributes": {}, "topics": {}, "brand_attributes": ()}
    r = FieldReader(mapping, str(path), "", problems)
    out: dict[str, Any] = {
        "name": r.text("name", required=True, empty_ok=True),  # the deck-name rule is checked with the file name
        "id": r.get("id", int, required=True),
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
    if out["id"] is not None and not 0 < out["id"] < 2**63:
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
        elif not title.strip():
            problems.append(Problem(str(path), topics_map.line_of(name), f"topics.{name}: must not be empty"))
            topics[name] = name
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
        a = FieldReader(spec_map, str(path), f"attributes.{name}", problems)
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
    out["brand_attributes"] = r.texts("brand_attributes")
    for name in out["brand_attributes"]:
        if name not in attributes:
            r.problem("brand_attributes", f"unknown attribute '{name}' (declare it under attributes)")
        elif attributes[name].type != "text":
            r.problem("brand_attributes", f"'{name}' is a {attributes[name].type} attribute; brand names are text")
    r.finish()
    return out


def _load_sources(path: Path, problems: list[Problem]) -> dict[str, Source] | None:
    """The registry, or None when the file itself is unusable (then citations go unchecked)."""
    data, problem = load_yaml(path, problems)
    if problem:
        problems.append(problem)
        return None
    mapping = _mapping(data, str(path), problems)
    if mapping is None:
        return None
    r = FieldReader(mapping, str(path), "", problems)
    entries = r.get("sources", list, required=True, default=[])
    r.finish()
    sources: dict[str, Source] = {}
    for index, entry in enumerate(entries):
        item = _mapping(entry, str(path), problems, mapping.line_of("sources"))
        if item is None:
            continue
        label = item.get("id") if isinstance(item.get("id"), str) else index
        s = FieldReader(item, str(path), f"sources[{label}]", problems)
        source = Source(
            id=s.text("id", required=True),
            title=s.text("title", required=True),
            kind=s.text("kind", required=True),
            url=s.text("url"),
            file=s.text("file"),
            note=s.text("note"),
            product=s.text("product"),
            drug=s.text("drug"),
            application=s.text("application"),
            revised=s.text("revised"),
            line=item.line,
        )
        s.finish()
        _check_source(source, s)
        if source.id in sources:
            s.problem("id", f"duplicate source id '{source.id}'")
        elif source.id:
            sources[source.id] = source
    return sources


def _check_source(source: Source, s: FieldReader) -> None:
    """The rules one source must follow on its own (citing facts are checked in _check_citations)."""
    if source.id and not _ID.match(source.id):
        s.problem("id", f"'{source.id}' must be lowercase letters, digits and hyphens")
    if source.kind and source.kind not in SourceKind._value2member_map_:
        s.problem("kind", f"'{source.kind}' is not one of {', '.join(k.value for k in SourceKind)}")
        return
    if source.url:
        problem = url_problem(source.url, source.kind)
        if problem:
            s.problem("url", problem)
    elif source.kind and source.kind != SourceKind.SEED:
        s.problem(None, "missing required field 'url' (only seed documents may be cited by file)")
    if source.file and source.kind != SourceKind.SEED:
        s.problem("file", "only seed documents are cited by file")
    if source.revised and parse_date(source.revised) is None:
        s.problem("revised", f"'{source.revised}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)")
    if source.application and not _APPLICATION.match(source.application):
        s.problem("application", f"'{source.application}' is not an application number (write it as NDA021427)")
    if source.kind == SourceKind.LABEL:
        for needed in ("product", "drug"):
            if not getattr(source, needed):
                s.problem(None, f"missing required field '{needed}' (label sources need it)")
        if source.product and source.title and source.product.lower() not in source.title.lower():
            s.problem("title", f"does not name the label's product '{source.product}'")


_READ_APART = {"sources", "answer_type", "confidence"}  # read with their own checks in _read_fact
FACT_TEXT_FIELDS = tuple(
    f.name for f in dataclasses.fields(Fact) if f.type == "str" and f.default == "" and f.name not in _READ_APART
)
"""Optional text fields of a fact, read from its YAML entry as they are: derived from `Fact`."""
FACT_LIST_FIELDS = tuple(
    f.name for f in dataclasses.fields(Fact) if f.type == "tuple[str, ...]" and f.name not in _READ_APART
)
"""Optional lists of text of a fact, read from its YAML entry: derived from `Fact`."""


@dataclass(frozen=True)
class Loaded:
    """What one fact file holds, and what is wrong with it."""

    drugs: list[Drug]
    facts: list[Fact]
    problems: list[Problem]
    name: tuple[str, str, str, int] | None
    """The drug's name as compared (normalized), as written, its file's name and the line: checked
    against the other files' once all are read."""


def _load_fact_file(
    path: Path,
    manifest: dict[str, Any],
    attributes: dict[str, Attribute],
    sources: dict[str, Source] | None,
    *,
    is_class: bool,
) -> Loaded:
    """Read one drug file (or concepts.yaml)."""
    problems: list[Problem] = []
    drugs: list[Drug] = []
    facts: list[Fact] = []
    claim = None
    data, problem = load_yaml(path, problems)
    if problem:
        return Loaded(drugs, facts, [*problems, problem], None)
    mapping = _mapping(data, str(path), problems)
    if mapping is None:
        return Loaded(drugs, facts, problems, None)
    r = FieldReader(mapping, str(path), "", problems)
    if is_class:
        subject = r.text("subject", required=True)
        if subject and manifest.get("class_subject") and subject != manifest["class_subject"]:
            r.problem("subject", f"must be the deck's class_subject '{manifest['class_subject']}'")
    else:
        subject = r.text("drug", required=True)
        name = r.text("name", required=True)
        aliases = r.texts("aliases")
        applications = r.texts("applications")
        for number in applications:
            if not _APPLICATION.match(number):
                r.problem("applications", f"'{number}' is not an application number (write it as NDA021427)")
        if subject and not _NAME.match(subject):
            r.problem("drug", f"'{subject}' must be the lowercase generic name")
        elif subject and subject != path.stem:
            r.problem("drug", f"'{subject}' does not match the file name '{path.name}'")
        elif subject and subject == manifest.get("class_subject"):
            r.problem("drug", f"'{subject}' is the deck's class_subject (facts about the class go in concepts.yaml)")
        elif subject:
            drugs.append(Drug(subject, name or subject.capitalize(), aliases, applications))
        if _check_drug_names(r, name, aliases, manifest):
            claim = (normalize(name), name, path.name, mapping.line_of("name"))
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
    return Loaded(drugs, facts, problems, claim)


def _check_drug_names(r: FieldReader, name: str, aliases: tuple[str, ...], manifest: dict[str, Any]) -> bool:
    """Check a drug's name and aliases on their own; True when the name is one to compare with
    the other drugs' (load_deck refuses two drugs of the same name)."""
    key = normalize(name)
    fit = False
    if name and not key:
        r.problem("name", f"'{name}' has no letters or digits (names are compared without punctuation)")
    elif key and key in {normalize(str(manifest.get(k) or "")) for k in ("class_subject", "class_name")}:
        r.problem("name", f"'{name}' is the name of the drug class, not of a drug")
    elif key:
        fit = True
    for alias in aliases:
        if not normalize(alias):
            r.problem("aliases", f"'{alias}' has no letters or digits (answers are compared without punctuation)")
    return fit


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
    f = FieldReader(item, path, f"facts[{local_id or index}]", problems)
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
    if sources is not None:
        _check_citations(cited, subject, sources, f, is_class=is_class)
    extra = {name: f.text(name) for name in (*FACT_TEXT_FIELDS, "topic")}
    lists = {name: f.texts(name) for name in FACT_LIST_FIELDS}
    aliases, distractors = lists["aliases"], lists["distractors"]
    answer_type = f.text("answer_type")
    if answer_type and answer_type not in set(AnswerType):
        f.problem("answer_type", f"'{answer_type}' is not one of {', '.join(AnswerType)}")
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
    if extra["erroneous_source"] and sources is not None:
        wrong_source = sources.get(extra["erroneous_source"])
        if wrong_source is None:
            f.problem("erroneous_source", f"unknown source id '{extra['erroneous_source']}'")
        elif wrong_source.primary:
            what = f"'{wrong_source.id}' is a {wrong_source.kind} source"
            f.problem("erroneous_source", f"{what}; only context sources are corrected")
    if is_class:
        for needed in ("answer", "question"):
            if not extra[needed]:
                f.problem(None, f"missing required field '{needed}' (class facts need it)")
        for wrong in distractors:
            if extra["answer"] and _same(wrong, extra["answer"]):
                f.problem("distractors", f"'{wrong}' is the answer itself")
    if extra["answer"] and isinstance(value, str) and answer_span(value, extra["answer"]) is None:
        f.problem("answer", f"'{extra['answer']}' does not appear in the value as whole words")
    empty = "has no letters or digits (answers are compared without punctuation)"
    if isinstance(value, str) and not normalize(value):
        f.problem("value", f"'{value}' {empty}")
    if extra["answer"] and not normalize(extra["answer"]):
        f.problem("answer", f"'{extra['answer']}' {empty}")
    for key, texts in (("aliases", aliases), ("distractors", distractors)):
        for text in texts:
            if not normalize(text):
                f.problem(key, f"'{text}' {empty}")
    if len(problems) > before or value is None or attribute is None:
        return None
    topic = extra.pop("topic") or attribute.topic
    optional: dict[str, Any] = {**extra, **lists}
    return Fact(
        id=f"{subject}.{local}",
        subject=subject,
        attribute=attr_name,
        value=value,
        sources=cited,
        path=path,
        line=item.line,
        topic=topic,
        confidence=confidence,
        date=date,
        answer_type=answer_type,
        **optional,
    )


def _check_citations(
    cited: tuple[str, ...], subject: str, sources: dict[str, Source], f: FieldReader, *, is_class: bool
) -> None:
    """Each citation names a registered source (and a section of a label); at least one is primary;
    a label or FDA record about one drug supports only facts about that drug."""
    known = []
    for ref in cited:
        source_id, section = split_ref(ref)
        source = sources.get(source_id)
        if source is None:
            f.problem("sources", f"unknown source id '{source_id}' (not in sources.yaml)")
            continue
        known.append(source)
        if "#" in ref and not _SECTION.match(section):
            f.problem("sources", f"'{ref}': a section is letters, digits and dots, e.g. {source_id}#5.2")
        elif source.kind == SourceKind.LABEL and not section:
            f.problem("sources", f"'{ref}': cite the label section the fact comes from, e.g. {source_id}#5.2")
        if source.drug and not is_class and subject and source.drug != subject:
            what = f"the {source.product} label" if source.product else f"a {source.kind} record"
            f.problem("sources", f"'{source_id}' is {what} for {source.drug}, not for {subject}")
    valid_kinds = all(s.kind in SourceKind._value2member_map_ for s in known)  # else the kind is reported
    if known and len(known) == len(cited) and valid_kinds and not any(s.primary for s in known):
        f.problem(
            "sources",
            "needs a primary source (label, fda, guideline, review, trial or paper); "
            + ", ".join(sorted({s.kind for s in known}))
            + " sources are context only",
        )


def _check_label_drugs(root: Path, sources: dict[str, Source], drugs: list[Drug], problems: list[Problem]) -> None:
    """A label's drug is a drug of the deck, and its application number is one of that drug's."""
    by_subject = {d.subject: d for d in drugs}
    path = str(root / "sources.yaml")
    for source in sources.values():
        if not source.drug:
            continue
        drug = by_subject.get(source.drug)
        where = f"sources[{source.id}]"
        if drug is None:
            if not (root / "drugs" / f"{source.drug}.yaml").exists():  # else its file failed and says why
                problems.append(Problem(path, source.line, f"{where}.drug: unknown drug '{source.drug}'"))
        elif (
            source.application
            and _APPLICATION.match(source.application)
            and source.application not in drug.applications
        ):
            listed = ", ".join(drug.applications) or "none"
            problems.append(
                Problem(
                    path,
                    source.line,
                    f"{where}.application: {source.application} is not an application of {source.drug} "
                    f"(its drug file lists {listed})",
                )
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


def _same(a: str, b: str) -> bool:
    return normalize(a) == normalize(b)
