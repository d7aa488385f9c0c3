"""The caches, data only, never code, in a folder only the user can write:

- `bank-<key>.json`: a loaded deck and the list of its templates' parts, keyed by a hash of
  every input (code, deck, templates, seed);
- `qpart-<key>.json`: one template's questions, and `npart-<key>.bin` their notes as a build
  made them (JSON heads, then the texts zlib-packed), keyed by a hash of what that template
  reads (`generate.part_keys`): after an edit only the templates that read what changed run
  again;
- `facts-<key>.json`: what each fact file held when last read, so that only changed files are
  read again.

Bounded in entries and bytes (parts live as long as a kept bank lists them). A damaged or
foreign entry is rebuilt, never trusted.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import itertools
import json
import operator
import os
import stat
import struct
import types
import typing
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from .facts import Deck, Drug, Fact
from .generate import Content, Part
from .questions import Question
from .yamlio import UnreadableFile, read_regular

if TYPE_CHECKING:  # deckfile is loaded only when a deck is read, never on a cache hit
    from .deckfile import Loaded

T = TypeVar("T")

_FORMAT = 5
_KEEP = 8
"""Banks, and fact memos, kept: the least recently used go first (with the parts no kept bank lists)."""
_MAX_BYTES = 1024 * 1024 * 1024
"""The folder's size limit; an entry bigger than half of it is not written at all."""
_PARTS = ("qpart-", "npart-")
_RETIRED = ("bank-*.pickle", "notes-*.bin")
"""Entries of earlier formats, never read again."""


def cache_dir() -> Path | None:
    setting = os.environ.get("SNRI_QUIZ_CACHE")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    home = os.environ.get("SNRI_QUIZ_HOME")
    if home:
        return Path(home) / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("snri-quiz", appauthor=False))


def fingerprint(deck_dir: Path, template_dir: Path, seed: int) -> str | None:
    """Hash of every input; None when an input cannot be read (then loading reports it)."""
    digest = hashlib.sha256(f"{_FORMAT}|{seed}|{deck_dir.resolve()}|{template_dir.resolve()}|{_code()}".encode())
    try:
        for root, pattern in ((deck_dir, "**/*.yaml"), (template_dir, "*.yaml")):
            if not root.is_dir():
                return None
            for path in sorted(root.glob(pattern)):
                if not path.is_file():  # a FIFO would block, a device never end: the loader reports it
                    return None
                digest.update(f"\0{path.relative_to(root)}\0".encode())
                digest.update(read_regular(path))  # never a FIFO or device: it could block or never end
    except (OSError, UnreadableFile):
        return None
    return digest.hexdigest()[:40]


def template_inputs(template_dir: Path) -> str | None:
    """Hash of what every template's questions are made from besides the deck and the seed:
    snri-quiz's code and every template file; None when a file cannot be read."""
    digest = hashlib.sha256(f"{_FORMAT}|{_code()}".encode())
    try:
        for path in sorted(template_dir.glob("*.yaml")):
            if not path.is_file():
                return None
            digest.update(f"\0{path.name}\0".encode())
            digest.update(read_regular(path))
    except (OSError, UnreadableFile):
        return None
    return digest.hexdigest()


@functools.cache
def _code() -> str:
    """Hash of snri-quiz's own code (modules and the exam template), once per process."""
    digest = hashlib.sha256()
    code = Path(__file__).parent
    for path in sorted([*code.glob("*.py"), *code.glob("*.typ")]):
        digest.update(f"\0{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _mine(info: os.stat_result) -> bool:
    """The file belongs to the user running snri-quiz (on Windows, where there are no
    user ids, the user's own profile folders are protected by their ACLs instead)."""
    getuid = getattr(os, "getuid", None)
    return getuid is None or info.st_uid == getuid()


def _private_folder(folder: Path, create: bool) -> bool:
    """True when `folder` is a folder that belongs to the user and only the user can open
    (made so when it is the user's own); created with mode 0700 when `create`."""
    try:
        if create and not folder.exists():
            folder.mkdir(parents=True, mode=0o700, exist_ok=True)  # another process may make it meanwhile
        info = os.stat(folder)
        if not stat.S_ISDIR(info.st_mode) or not _mine(info):
            return False
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(folder, 0o700)
        return True
    except OSError:
        return False


def read_entry(folder: Path, key: str, deck_dir: Path) -> Content | None:
    """The cached content (its deck, and its questions from its parts), or None for a miss, a
    part missing, or anything not to be trusted."""
    return _read(folder / f"bank-{key}.json", lambda handle: _decode_bank(handle, folder, deck_dir))


def read_part(folder: Path, key: str, template: str) -> list[Question] | None:
    """The questions `write_entry` stored for this template under this key, or None (a part
    that holds another template's questions is never used)."""
    return _read(folder / f"qpart-{key}.json", functools.partial(_decode_part, template=template))


def _decode_part(handle: BinaryIO, template: str) -> list[Question]:
    data = _json(handle.read())
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise _Bad("another format")
    questions = list(_from_columns(Question, data["questions"], {}, {}))
    if any(q.template != template for q in questions):
        raise _Bad("another template's questions")
    return questions


class Damaged(Exception):
    """A notes entry found damaged while its text was being read (after its first lines were
    trusted): the build that was reading it writes nothing and makes the notes instead."""


@dataclass(frozen=True)
class Pack:
    """Notes' texts packed: zlib's fastest level over each text's length (4 bytes) and its UTF-8.
    A large deck's texts take a fifth of the memory until they are written, a fifth of the
    bytes coming back from the second core, and are cached as they are."""

    data: bytes
    count: int
    size: int
    """Bytes once unpacked."""

    @classmethod
    def of(cls, texts: Sequence[bytes]) -> Pack:
        body = b"".join(_LENGTH.pack(len(t)) + t for t in texts)
        return cls(zlib.compress(body, 1), len(texts), len(body))

    def texts(self) -> Iterator[bytes]:
        """The texts; Damaged if the pack is not what `of` made (a damaged cache entry)."""
        try:
            unpacker = zlib.decompressobj()
            body = unpacker.decompress(self.data, self.size + 1)  # never more than it says
        except zlib.error as exc:
            raise Damaged(f"a pack: {exc}") from None
        if len(body) != self.size or unpacker.unconsumed_tail or not unpacker.eof:
            raise Damaged("a pack of another size")
        at = 0
        for _ in range(self.count):
            if at + _LENGTH.size > len(body):
                raise Damaged("a pack cut short")
            (size,) = _LENGTH.unpack_from(body, at)
            at += _LENGTH.size
            if at + size > len(body):
                raise Damaged("a pack cut short")
            yield body[at : at + size]
            at += size
        if at != len(body):
            raise Damaged("a pack longer than its texts")


_LENGTH = struct.Struct("<I")


def read_notes(folder: Path, key: str, cls: type[T], rows: int) -> tuple[list[T], Callable[[], Iterator[bytes]]] | None:
    """The `rows` notes of one part as `write_notes` stored them: their heads (values of `cls`),
    and a function that streams each note's text (UTF-8) from the file, once, a pack at a time,
    raising Damaged if the file no longer starts as it did or the rest is not what was
    written; None for a miss or anything not to be trusted. The file is open only while read
    (a build reads a part per template)."""
    path = folder / f"npart-{key}.bin"
    handle = _open(path)
    if handle is None:
        return None
    try:
        with handle:
            first, second = handle.readline(), handle.readline()
        head = _json(first)
        if not isinstance(head, dict) or head.get("format") != _FORMAT or head.get("type") != cls.__qualname__:
            raise _Bad("another format")
        heads = list(_from_columns(cls, _json(second), {}, {}))
        packs = _check(head.get("packs"), list)
        for entry in packs:
            if type(entry) is not list or len(entry) != 3 or not all(type(n) is int and n >= 0 for n in entry):
                raise _Bad("packs: expected [texts, bytes packed, bytes unpacked]")
        if not len(heads) == head.get("rows") == rows or sum(n for n, _, _ in packs) != len(heads):
            raise _Bad("rows missing")
    except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt, never fatal
        return None
    start = hashlib.sha256(first + second).digest()

    def texts() -> Iterator[bytes]:
        again = _open(path)
        if again is None:
            raise Damaged("gone")
        with again:
            try:
                if hashlib.sha256(again.readline() + again.readline()).digest() != start:
                    raise Damaged("another entry")
                for count, packed, size in packs:
                    data = again.read(packed)
                    if len(data) != packed:
                        raise Damaged("a pack cut short")
                    for text in Pack(data, count, size).texts():
                        text.decode()  # UnicodeDecodeError unless it is UTF-8: Anki takes text only
                        yield text
                if again.read(1):
                    raise Damaged("more than its packs")
            except (ValueError, OSError) as exc:  # ValueError: not UTF-8, or a closed file
                raise Damaged(str(exc)) from None
            if os.utime in os.supports_fd:
                os.utime(again.fileno())  # most recently used: evicted last

    return heads, texts


def _json(data: bytes) -> Any:
    return json.loads(data.decode("ascii"))  # written as ASCII: one byte a character once read


def _read(path: Path, decode: Callable[[BinaryIO], T]) -> T | None:
    """A cache entry, decoded from its file; None for a miss or anything not to be trusted."""
    handle = _open(path)
    if handle is None:
        return None
    try:
        with handle:
            found = decode(handle)
            if os.utime in os.supports_fd:
                os.utime(handle.fileno())  # most recently used: evicted last
    except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt, never fatal
        return None
    return found


def _open(path: Path) -> BinaryIO | None:
    """The entry's file, open for reading; None unless the folder and the file are the user's own
    and the file is a regular file (never a link or a FIFO) within the size limit."""
    if not _private_folder(path.parent, create=False):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    handle = os.fdopen(fd, "rb")
    try:
        info = os.fstat(handle.fileno())
        if stat.S_ISREG(info.st_mode) and _mine(info) and info.st_size <= _MAX_BYTES // 2:
            return handle
    except OSError:
        pass
    handle.close()
    return None


def write_entry(folder: Path, key: str, content: Content) -> None:
    """Store the parts made now (each one's questions), then the bank that lists them all."""
    if not content.parts or not all(p.key for p in content.parts):
        return
    # every n-th question (the first templates can be much smaller than the rest): a bank whose
    # parts would overflow the folder is not encoded at all, since the trim would drop it whole
    sample = content.bank[:: max(1, len(content.bank) // 500)]
    sample_size = len(json.dumps(_columns(Question, sample), default=_as_list).encode())
    if sample_size * len(content.bank) / max(len(sample), 1) > _MAX_BYTES:
        _trim(folder)
        return
    for old in itertools.chain.from_iterable(map(folder.glob, _RETIRED)):  # earlier formats: never read again
        old.unlink(missing_ok=True)
    start = 0
    for part in content.parts:
        start += part.count
        if part.cached:  # not even sliced: a child writing the cache would copy every page it touches
            continue
        encoded = functools.partial(_encoded_part, content.bank[start - part.count : start])
        if not _write(folder, f"qpart-{part.key}.json", encoded):
            return  # a bank without one of its parts would never be read
    head = {
        "format": _FORMAT,
        "templates": content.template_count,
        "parts": [[p.key, p.count, p.template] for p in content.parts],
    }
    if _write(folder, f"bank-{key}.json", lambda: [_line(head), _encode_deck(content.deck)]):
        _trim(folder, keep=folder / f"bank-{key}.json")


def write_notes(folder: Path, key: str, heads: Sequence[Any], packs: Sequence[Pack]) -> None:
    """Store one part's notes (read back with `read_notes`): a head line (JSON, with each pack's
    counts), the heads (values of a dataclass) as JSON columns on one line, then the packs as
    they are (their texts are already compressed: nothing to encode). The next bank written
    trims the folder."""
    if not heads:
        return

    def lines() -> Iterator[bytes]:
        sizes = [[p.count, len(p.data), p.size] for p in packs]
        yield _line({"format": _FORMAT, "type": type(heads[0]).__qualname__, "rows": len(heads), "packs": sizes})
        yield _line(_columns(type(heads[0]), heads))
        yield from (p.data for p in packs)

    _write(folder, f"npart-{key}.bin", lines)


def _line(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


class _TooBig(Exception):
    """An entry over the size limit: left unwritten."""


def _write(folder: Path, name: str, chunks: Callable[[], Iterable[bytes]]) -> bool:
    """Write an entry from its chunks (none of it when it grows over the limit); True when written."""
    from .errors import OutputError
    from .files import write_atomic

    def write(tmp: Path) -> None:
        size = 0
        with tmp.open("wb") as handle:
            for chunk in chunks():
                size += len(chunk)
                if size > _MAX_BYTES // 2:
                    raise _TooBig
                handle.write(chunk)

    try:
        if not _private_folder(folder, create=True):
            return False
        write_atomic(folder / name, writer=write)
    except (_TooBig, OutputError, OSError, TypeError, ValueError):
        return False  # a cache that cannot be written only costs time
    return True


def _trim(folder: Path, keep: Path | None = None) -> None:
    """Keep the _KEEP most recently used banks and fact memos and the parts the kept banks list,
    all within _MAX_BYTES: the least recently used go first. (A part another build has written
    for a bank it has yet to write may go too: that build's next load makes it again.)"""

    def found(pattern: str) -> list[tuple[float, int, Path]]:
        out = []
        for entry in folder.glob(pattern):
            try:
                info = entry.stat()
            except OSError:
                continue
            out.append((info.st_mtime, info.st_size, entry))
        return sorted(out, key=lambda e: (e[2] != keep, -e[0]))  # `keep` first, then the newest

    try:
        banks, memos = found("bank-*.json"), found("facts-*.json")
        parts = {e[2].name: e for prefix in _PARTS for e in found(f"{prefix}*")}
    except OSError:
        return
    doomed = [e[2] for e in banks[_KEEP:] + memos[_KEEP:]]
    units = []  # (mtime, bytes, entries): a bank with the parts it is the first to list
    claimed: set[str] = set()
    for mtime, size, bank in banks[:_KEEP]:
        mine = [p for k in _part_keys(bank) for p in (f"qpart-{k}.json", f"npart-{k}.bin") if p in parts]
        mine = [p for p in mine if p not in claimed]
        claimed.update(mine)
        units.append((mtime, size + sum(parts[p][1] for p in mine), [bank, *(parts[p][2] for p in mine)]))
    units += [(m, size, [e]) for m, size, e in memos[:_KEEP]]
    doomed += [entry for name, (_, _, entry) in parts.items() if name not in claimed]
    total = 0
    for _, size, entries in sorted(units, key=lambda u: (keep not in u[2], -u[0])):
        total += size
        if total > _MAX_BYTES:
            doomed += entries
    for entry in doomed:
        entry.unlink(missing_ok=True)


def _part_keys(bank: Path) -> list[str]:
    """The keys of the parts a bank lists (its first line); none if it cannot be read."""
    try:
        with bank.open("rb") as handle:
            head = _json(handle.readline())
        return [entry[0] for entry in head["parts"] if type(entry) is list and entry and type(entry[0]) is str]
    except Exception:  # noqa: BLE001 - a damaged bank lists nothing: its parts may go
        return []


class FactMemo:
    """What a deck's fact files held when last read and found sound (`facts-<key>.json`), so a
    build after an edit reads again only the files that changed (`deckfile.FileMemo`). The key
    covers what a file is checked against (snri-quiz's code, the deck's folder, deck.yaml and
    sources.yaml); within the entry, each file is known by its name and a hash of its bytes."""

    def __init__(self, folder: Path, deck_dir: Path, key: str):
        self.folder, self.deck_dir, self.name = folder, deck_dir, f"facts-{key}.json"
        self.old = _read(folder / self.name, lambda handle: self._decode(_json(handle.read()))) or {}
        self.now: dict[str, tuple[str, Loaded]] = {}
        self.seen: dict[str, str] = {}

    @classmethod
    def of(cls, folder: Path, deck_dir: Path) -> FactMemo | None:
        """The memo of this deck, or None when its deck.yaml or sources.yaml cannot be read (then
        loading reports it)."""
        digest = hashlib.sha256(f"{_FORMAT}|{deck_dir.resolve()}|{_code()}".encode())
        try:
            for path in (deck_dir / "deck.yaml", deck_dir / "sources.yaml"):
                digest.update(f"\0{path.name}\0".encode())
                digest.update(read_regular(path) if path.exists() else b"")
        except (OSError, UnreadableFile):
            return None
        return cls(folder, deck_dir, digest.hexdigest()[:40])

    def _hash(self, path: Path) -> str | None:
        try:
            return hashlib.sha256(read_regular(path)).hexdigest()
        except (OSError, UnreadableFile):
            return None

    def known(self, path: Path) -> Loaded | None:
        name = os.path.relpath(path, self.deck_dir)
        digest = self._hash(path)
        if digest is None:
            return None
        self.seen[name] = digest
        hit = self.old.get(name)
        if hit is None or hit[0] != digest:
            return None
        self.now[name] = hit
        return hit[1]

    def learn(self, path: Path, loaded: Loaded) -> None:
        name = os.path.relpath(path, self.deck_dir)
        if self.seen.get(name) is not None and self._hash(path) == self.seen[name]:  # unchanged while read
            self.now[name] = (self.seen[name], loaded)

    def save(self) -> None:
        """Write what this load knows (only when it differs from what was there)."""
        if self.now.keys() == self.old.keys() and all(self.now[k][0] == self.old[k][0] for k in self.now):
            return
        names = sorted(self.now)
        root = _prefix(self.deck_dir)
        facts = [f for n in names for f in self.now[n][1].facts]
        columns = _columns(Fact, facts)
        paths = (f.path for f in facts)
        columns[_field_index(Fact, "path")] = [p[len(root) :] if p.startswith(root) else p for p in paths]
        files = [
            [n, digest, len(held.facts), len(held.drugs), held.name] for n in names for digest, held in [self.now[n]]
        ]
        drugs = _columns(Drug, [d for n in names for d in self.now[n][1].drugs])
        data = {"format": _FORMAT, "files": files, "facts": columns, "drugs": drugs}
        # trimmed when the bank is written (a trim now could take the parts of the bank to come)
        _write(self.folder, self.name, lambda: [json.dumps(data, default=_as_list, separators=(",", ":")).encode()])

    def _decode(self, data: Any) -> dict[str, tuple[str, Loaded]]:
        from .deckfile import Loaded

        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise _Bad("another format")
        root = _prefix(self.deck_dir)
        overrides: dict[tuple[type, str], Callable[[Any], Any]] = {
            (Fact, "path"): lambda v: v if _check(v, str).startswith(os.sep) else root + v,
        }
        facts = list(_from_columns(Fact, data["facts"], {}, overrides))
        drugs = list(_from_columns(Drug, data["drugs"], {}, {}))
        found: dict[str, tuple[str, Loaded]] = {}
        at = took = 0
        for row in _check(data["files"], list):
            name, digest, count, drug_count, claim = _check(row, list)
            _check(name, str), _check(digest, str), _check(count, int), _check(drug_count, int)
            if claim is not None:
                key, written, file_name, line = _check(claim, list)
                claim = (_check(key, str), _check(written, str), _check(file_name, str), _check(line, int))
            if count < 0 or drug_count < 0:
                raise _Bad("a negative count")
            found[name] = (digest, Loaded(drugs[took : took + drug_count], facts[at : at + count], [], claim))
            at, took = at + count, took + drug_count
        if at != len(facts) or took != len(drugs):
            raise _Bad("counts do not add up")
        return found


# -- the cache's JSON: dataclasses as lists of field values, decoded by their type hints --------


def _encode_deck(deck: Deck) -> bytes:
    root = _prefix(deck.path)
    facts = _columns(Fact, deck.facts)
    paths = (f.path for f in deck.facts)
    facts[_field_index(Fact, "path")] = [p[len(root) :] if p.startswith(root) else p for p in paths]
    record = _as_list(deck)
    record[_field_index(Deck, "path")] = ""
    record[_field_index(Deck, "facts")] = []
    return json.dumps({"deck": record, "facts": facts}, default=_as_list, separators=(",", ":")).encode()


def _encoded_part(questions: Sequence[Question]) -> list[bytes]:
    data = {"format": _FORMAT, "questions": _columns(Question, questions)}
    return [json.dumps(data, default=_as_list, separators=(",", ":")).encode()]


def _prefix(deck_dir: Path) -> str:
    """What the loader puts before a path inside the deck (`deck_dir / name`)."""
    return "" if str(deck_dir) == "." else str(deck_dir).rstrip(os.sep) + os.sep


def _columns(cls: type, items: Iterable[Any]) -> list[Any]:
    """Many values of one dataclass as one list per field: far faster to load than rows.
    A column with few distinct values (topics, kinds, tags, sources) is written once per
    value plus an index per item: smaller, faster to parse, and equal tuples come back
    shared."""
    items = list(items)
    return [_column(list(map(operator.attrgetter(name), items))) for name in _names(cls)]


def _column(values: list[Any]) -> Any:
    sample = values[:: max(1, len(values) // 1000)]
    if len(sample) > 100 and len(set(map(_key, sample))) * 2 > len(sample):
        return values  # mostly distinct (prompts, explanations): not worth a table
    kinds = set(map(type, values))
    # 1 and True are equal dict keys, their types are not: values of several types are keyed by type too
    keys = values if len(kinds) == 1 or (kinds <= {str, type(None)}) else list(map(_key, values))
    table = dict.fromkeys(keys)
    if len(table) * 2 > len(values):
        return values
    position = {key: i for i, key in enumerate(table)}
    written = list(table) if keys is values else [v for _, v in table]
    return {"values": written, "index": list(map(position.__getitem__, keys))}


def _key(value: Any) -> tuple[type, Any]:
    return type(value), value


def _as_list(value: Any) -> Any:
    """json's hook for what it cannot write itself: a dataclass becomes its field values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, name) for name in _names(type(value))]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"cannot cache a {type(value).__name__}")


@functools.cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in _fields(cls))


def _fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields a dataclass is rebuilt from (private indexes are rebuilt, not stored)."""
    return [f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]


def _field_index(cls: type, name: str) -> int:
    return [f.name for f in _fields(cls)].index(name)


class _Bad(ValueError):
    """A cache entry that does not fit the types it should hold."""


def _decode_bank(handle: BinaryIO, folder: Path, deck_dir: Path) -> Content:
    head = _json(handle.readline())
    if not isinstance(head, dict) or head.get("format") != _FORMAT:
        raise _Bad("another format")
    count = head["templates"]
    if type(count) is not int:
        raise _Bad("templates: expected a whole number")
    parts = []
    for entry in _check(head["parts"], list):
        key, size, template = _check(entry, list)
        parts.append(Part(_check(key, str), _check(size, int), _check(template, str), cached=True))
    data = _json(handle.read())
    root = _prefix(deck_dir)
    overrides: dict[tuple[type, str], Callable[[Any], Any]] = {
        (Deck, "path"): lambda _: deck_dir,
        (Fact, "path"): lambda v: v if _check(v, str).startswith(os.sep) else root + v,
    }
    decoders: dict[Any, Callable[[Any], Any]] = {}
    facts = tuple(_from_columns(Fact, data["facts"], decoders, overrides))
    overrides[(Deck, "facts")] = lambda _: facts
    deck = _decoder(Deck, decoders, overrides)(data["deck"])
    deck._by_id.update((f.id, f) for f in deck.facts)
    deck._drugs.update((d.subject, d) for d in deck.drugs)
    bank: list[Question] = []
    for part in parts:
        questions = read_part(folder, part.key, part.template)
        if questions is None or len(questions) != part.count:
            raise _Bad("a part missing")
        bank += questions
    return Content(deck, tuple(bank), count, parts=tuple(parts))


def _from_columns(
    cls: type,
    columns: Any,
    cache: dict[Any, Callable[[Any], Any]],
    overrides: dict[tuple[type, str], Callable[[Any], Any]],
) -> Iterator[Any]:
    """Rebuild the values `_columns` wrote, checking each column at C speed where its type
    allows (text, numbers, null, tuples of text) and value by value where it does not."""
    hints = typing.get_type_hints(cls)
    fields = _fields(cls)
    if type(columns) is not list or len(columns) != len(fields):
        raise _Bad(f"expected {len(fields)} columns of {cls.__name__}")
    decoded = []
    for f, written in zip(fields, columns, strict=True):
        table, index = _table(written)
        column = _decode_column(cls, f.name, hints[f.name], table, cache, overrides)
        if index is not None:
            if index and min(index) < 0:  # too large or not a number: IndexError or TypeError below
                raise _Bad(f"{cls.__name__}.{f.name}: a bad index")
            column = list(map(column.__getitem__, index))
        decoded.append(column)
    if len({len(c) for c in decoded}) > 1:
        raise _Bad(f"{cls.__name__}: columns of different lengths")
    return _instances(cls, decoded)


def _instances(cls: type, columns: list[list[Any]]) -> Iterator[Any]:
    """Build the dataclass values field by field, as pickle does, skipping the generated
    __init__ (a frozen dataclass's sets each field through object.__setattr__, which
    made up half of a cache hit). Only for classes without __post_init__ or slots."""
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__") or not columns:
        yield from map(cls, *columns)
        return
    names = _names(cls)
    new = object.__new__
    for values in zip(*columns, strict=True):
        item: Any = new(cls)
        item.__dict__.update(zip(names, values, strict=True))
        yield item


def _table(written: Any) -> tuple[list[Any], list[Any] | None]:
    """(values, index) of a column as `_column` wrote it; index None for a plain list."""
    if type(written) is list:
        return written, None
    if type(written) is dict and type(written.get("values")) is list and type(written.get("index")) is list:
        return written["values"], written["index"]
    raise _Bad("a column that is neither a list nor a table")


def _decode_column(
    cls: type,
    name: str,
    tp: Any,
    column: list[Any],
    cache: dict[Any, Callable[[Any], Any]],
    overrides: dict[tuple[type, str], Callable[[Any], Any]],
) -> list[Any]:
    """Check (and where needed rebuild) one column: at C speed for text, numbers, null
    and tuples of text; value by value for anything else."""
    override = overrides.get((cls, name))
    kinds = _flat_types(tp) if override is None else None
    if kinds is not None and list not in kinds:
        if not set(map(type, column)) <= kinds:
            raise _Bad(f"{cls.__name__}.{name}: a value of the wrong type")
        return column
    if override is None and typing.get_origin(tp) in (typing.Union, types.UnionType):
        # Mostly plain values (a fact's text or number, a missing date): decode the rest.
        plain = frozenset().union(*(k for a in typing.get_args(tp) if (k := _flat_types(a)) and list not in k))
        others = _union([_decoder(a, cache, overrides) for a in typing.get_args(tp) if a not in plain])
        if set(map(type, column)) <= plain:
            return column
        return [v if type(v) in plain else others(v) for v in column]
    if kinds == frozenset({list}):
        if not set(map(type, column)) <= {list}:
            raise _Bad(f"{cls.__name__}.{name}: expected lists")
        column = list(map(tuple, column))
        if not set(map(type, itertools.chain.from_iterable(column))) <= {str}:
            raise _Bad(f"{cls.__name__}.{name}: expected lists of text")
        return column
    return list(map(override or _decoder(tp, cache, overrides), column))


def _check(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise _Bad(f"expected {kind.__name__}")
    return value


def _decoder(
    tp: Any, cache: dict[Any, Callable[[Any], Any]], overrides: dict[tuple[type, str], Callable[[Any], Any]]
) -> Callable[[Any], Any]:
    """A function that rebuilds a value of type `tp` from its JSON form, checking it."""
    if tp in cache:
        return cache[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    decode: Callable[[Any], Any]
    if tp is Any:
        decode = _identity
    elif tp in (str, int, bool):
        decode = _checker(tp)
    elif tp is float:
        decode = _number
    elif tp is type(None):
        decode = _none
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        decode = tp
    elif isinstance(tp, type) and issubclass(tp, PurePath):
        decode = lambda v: tp(_check(v, str))  # noqa: E731
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        decode = _dataclass_decoder(tp, cache, overrides)
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        decode = _sequence(_decoder(args[0], cache, overrides), tuple)
    elif origin is list:
        decode = _sequence(_decoder(args[0], cache, overrides), list)
    elif origin is dict:
        decode = _mapping(_decoder(args[1], cache, overrides))
    elif origin in (typing.Union, types.UnionType):
        decode = _union([_decoder(a, cache, overrides) for a in args])
    else:
        raise TypeError(f"cannot cache {tp!r}")
    cache[tp] = decode
    return decode


def _identity(value: Any) -> Any:
    return value


def _none(value: Any) -> None:
    if value is not None:
        raise _Bad("expected null")


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise _Bad("expected a number")
    return float(value)


def _checker(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not kind:
            raise _Bad(f"expected {kind.__name__}")
        return value

    return check


def _sequence(item: Callable[[Any], Any], kind: type) -> Callable[[Any], Any]:
    plain = item is _identity

    def decode(value: Any) -> Any:
        if type(value) is not list:
            raise _Bad("expected a list")
        return kind(value) if plain else kind([item(v) for v in value])

    return decode


def _mapping(item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        if type(value) is not dict:
            raise _Bad("expected a mapping")
        return {k: item(v) for k, v in value.items()}

    return decode


def _union(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        for option in options:
            try:
                return option(value)
            except (_Bad, TypeError, ValueError):
                continue
        raise _Bad("no type of the union fits")

    return decode


_FLAT = {str: str, int: int, bool: bool, type(None): type(None)}


def _flat_types(tp: Any) -> frozenset[type] | None:
    """The JSON types a field may hold when it needs no decoding beyond a check (text,
    numbers, null, tuples of text); None for anything else."""
    if tp in _FLAT:
        return frozenset({_FLAT[tp]})
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple and args == (str, Ellipsis):
        return frozenset({list})
    if origin in (typing.Union, types.UnionType):
        parts = [_flat_types(a) for a in args]
        if all(p is not None for p in parts):
            return frozenset().union(*(p for p in parts if p is not None))
    return None


def _dataclass_decoder(
    cls: type, cache: dict[Any, Callable[[Any], Any]], overrides: dict[tuple[type, str], Callable[[Any], Any]]
) -> Callable[[Any], Any]:
    """Plain fields (text, numbers, tuples of text) are checked together by the tuple of
    their JSON types, at C speed; the others are decoded one by one. Hundreds of
    thousands of questions load this way about as fast as the old pickle did."""
    hints = typing.get_type_hints(cls)
    fields = _fields(cls)
    size = len(fields)
    flat: list[int] = []
    allowed: list[frozenset[type]] = []
    other: list[tuple[int, Callable[[Any], Any]]] = []
    for i, f in enumerate(fields):
        kinds = _flat_types(hints[f.name]) if (cls, f.name) not in overrides else None
        if kinds is not None:
            flat.append(i)
            allowed.append(kinds)
        else:
            other.append((i, overrides.get((cls, f.name)) or _decoder(hints[f.name], cache, overrides)))
    signatures = frozenset(itertools.product(*allowed))
    pick = operator.itemgetter(*flat) if len(flat) > 1 else (lambda row: (row[flat[0]],)) if flat else (lambda _: ())
    texts = [i for i in flat if allowed[flat.index(i)] == frozenset({list})]
    optional_texts = [i for i in flat if list in allowed[flat.index(i)] and i not in texts]

    def decode(value: Any) -> Any:
        if type(value) is not list or len(value) != size:
            raise _Bad(f"expected {size} fields of {cls.__name__}")
        if tuple(map(type, pick(value))) not in signatures:
            raise _Bad(f"{cls.__name__}: a field of the wrong type")
        for i in texts:
            items = value[i] = tuple(value[i])
            "".join(items)  # TypeError unless every item is text
        for i in optional_texts:
            if type(value[i]) is list:
                items = value[i] = tuple(value[i])
                "".join(items)
        for i, decode_field in other:
            value[i] = decode_field(value[i])
        return cls(*value)

    return decode
