"""Safe YAML loading that remembers the line of every mapping and key.

Only PyYAML's safe loader is used (no arbitrary objects), with libyaml's parser when it
is installed. Timestamps are not resolved implicitly, so `2004-13-03` stays a string and
the validator can say it is not a date. PyYAML itself is imported on first use.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .errors import Problem


class LineMap(dict):  # type: ignore[type-arg]
    """A YAML mapping that knows the line it starts on and the line of each key."""

    line: int
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


@functools.cache
def _loader() -> Any:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LineLoader(base):  # type: ignore[misc,valid-type]
        """The safe loader, building LineMaps, rejecting duplicate keys and leaving dates as text."""

    LineLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

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

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


def load_yaml(path: Path) -> tuple[Any, Problem | None]:
    """Load one YAML file; return (data, None) or (None, the problem that stopped it)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, Problem(str(path), None, "file not found")
    except (OSError, UnicodeDecodeError) as exc:
        return None, Problem(str(path), None, f"cannot read: {exc}")
    try:
        return yaml.load(text, Loader=_loader()), None  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "malformed YAML"
        return None, Problem(str(path), line, f"malformed YAML: {what}")
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        return None, Problem(
            str(path), line, f"malformed YAML: character #x{exc.character:04x} is not allowed ({exc.reason})"
        )
    except yaml.YAMLError as exc:
        return None, Problem(str(path), None, "malformed YAML: " + " ".join(str(exc).split()))
