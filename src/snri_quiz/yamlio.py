"""Safe YAML loading that remembers the line of every mapping and key.

Only PyYAML's safe loader is used (no arbitrary objects), with libyaml's parser when it
is installed. Files are read only when they are regular files of at most MAX_BYTES, so
a FIFO or a device can neither block nor fill memory.

Plain (unquoted) scalars follow YAML 1.2 core-schema rules, stricter still: only
`true`/`false`, `null`/`~`/nothing and decimal whole numbers without leading zeros are
resolved; everything else stays the text that was written. YAML 1.1 would read `30:1`
as 1801, `010` as 8, `0x1F` as 31, `1.10` as 1.1 and `yes` as true; such a plain value
is kept as written and reported, so the author quotes it and every YAML tool reads the
same thing. Timestamps stay text too (`2004-13-03` must reach the date validator).
Control characters other than tab and newline, however they are written (`"\\e"`,
`"\\x9b"`), are refused in every scalar. PyYAML itself is imported on first use.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from pathlib import Path
from typing import Any

from .errors import Problem

MAX_BYTES = 10 * 1024 * 1024
"""The largest deck or template file read (10 MiB)."""

# C0 and C1 control characters except tab and newline, and the bidirectional overrides
# and isolates that can make text display in another order than it is stored.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]{0,30})$")  # longer stays text: int() has a digit limit
# What YAML 1.1 (PyYAML's SafeLoader) turns into something other than text.
_YAML11 = (
    ("a true/false value", re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")),
    (
        "a number",
        re.compile(
            r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+
            |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
            |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
            |\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
    ),
)
_YAML11_FIRST = frozenset("yYnNoO-+.0123456789")


class LineMap(dict):  # type: ignore[type-arg]
    """A YAML mapping that knows the line it starts on and the line of each key."""

    line: int
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class UnreadableFile(Exception):
    """A deck or template file that is not a regular file, is too large or cannot be read."""


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES; UnreadableFile (or FileNotFoundError) otherwise.

    Opened without blocking (a FIFO would wait for a writer) and checked on the open file,
    so what is checked is what is read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, device or socket"
            raise UnreadableFile(f"not a regular file ({kind})")
        if info.st_size > MAX_BYTES:
            raise UnreadableFile(f"file too large ({info.st_size:,} bytes; at most {MAX_BYTES:,})")
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BYTES:
            raise UnreadableFile(f"file too large (more than {MAX_BYTES:,} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def control_character(text: str) -> str | None:
    """The first refused control character in `text` as `U+001B`, or None."""
    if text.isprintable():
        return None
    found = CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def _yaml11_value(text: str) -> str:
    """How YAML 1.1 (PyYAML's SafeLoader) reads a plain scalar, written the YAML 1.2 way."""
    import yaml

    try:
        value = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - the safe loader itself
    except (yaml.YAMLError, ValueError):
        return "something else"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


@functools.cache
def _loader() -> Any:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LineLoader(base):  # type: ignore[misc,valid-type]
        """The safe loader, building LineMaps, rejecting duplicate keys and resolving only
        true/false, null and plain decimal integers; it collects problems in `notes`."""

        notes: list[tuple[int, str]]

    LineLoader.yaml_implicit_resolvers = {}
    LineLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    LineLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
    LineLoader.add_implicit_resolver(
        "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
    )
    LineLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])

    def construct_str(loader: Any, node: Any) -> str:
        value: str = loader.construct_scalar(node)
        if not node.style and value and value[0] in _YAML11_FIRST:  # plain: None, or '' from libyaml
            for what, pattern in _YAML11:
                if pattern.match(value):
                    meant = _yaml11_value(value)
                    loader.notes.append(
                        (
                            node.start_mark.line + 1,
                            f"'{value}' is unquoted, and YAML 1.1 tools read it as {what} ({meant}): "
                            f"put it in quotes, or write {meant} if that is meant",
                        )
                    )
                    break
        bad = control_character(value)
        if bad:
            loader.notes.append((node.start_mark.line + 1, f"control character {bad} is not allowed in text"))
        return value

    def construct_mapping(loader: Any, node: Any) -> LineMap:
        loader.flatten_mapping(node)
        mapping = LineMap()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be plain text", key_node.start_mark
                )
            if key in mapping:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            mapping[key] = loader.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor("tag:yaml.org,2002:str", construct_str)
    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


def load_yaml(path: Path, problems: list[Problem] | None = None) -> tuple[Any, Problem | None]:
    """Load one YAML file; return (data, None) or (None, the problem that stopped it).

    Problems that do not stop reading (a control character, an unquoted value YAML 1.1
    would convert) are appended to `problems`; without that list the first of them is
    returned as the stopping problem.
    """
    import yaml

    try:
        text = read_regular(path).decode("utf-8")
    except FileNotFoundError:
        return None, Problem(str(path), None, "file not found")
    except UnreadableFile as exc:
        return None, Problem(str(path), None, str(exc))
    except UnicodeDecodeError as exc:
        return None, Problem(str(path), None, f"cannot read: {exc}")
    loader = _loader()(text)
    loader.notes = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "malformed YAML"
        if exc.context and what.startswith("but "):  # "expected a single document ..., but found another"
            what = f"{exc.context}, {what}"
        return None, Problem(str(path), line, f"malformed YAML: {what}")
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        return None, Problem(
            str(path), line, f"malformed YAML: character #x{exc.character:04x} is not allowed ({exc.reason})"
        )
    except yaml.YAMLError as exc:
        return None, Problem(str(path), None, "malformed YAML: " + " ".join(str(exc).split()))
    except RecursionError:
        return None, Problem(str(path), None, "malformed YAML: nested too deeply")
    finally:
        loader.dispose()
    notes = [Problem(str(path), line, message) for line, message in loader.notes]
    if notes and problems is None:
        return None, notes[0]
    if problems is not None:
        problems.extend(notes)
    return data, None
