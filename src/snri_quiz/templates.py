"""Question templates: model, loading, validation and sandboxed rendering.

Templates are YAML data. Their text parts are Jinja2, rendered in a
SandboxedEnvironment with StrictUndefined, so a template can neither reach Python
internals nor silently print an empty variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2 import Template as JinjaTemplate
from jinja2.sandbox import SandboxedEnvironment

from .errors import InvalidContent, Problem
from .facts import Deck, _Reader
from .yamlio import LineMap, load_yaml

KINDS = ("mcq", "tf", "cloze", "typed")
ASKS = ("value", "subject", "not_subject", "earliest", "latest", "statement", "date")
FACT_FIELDS = ("hint", "date", "answer", "question", "distractors", "false_statement", "note", "caveat", "scope")
# Which asks each kind supports.
_ALLOWED = {
    "mcq": {"value", "subject", "not_subject", "earliest", "latest", "statement"},
    "tf": {"value", "statement"},
    "cloze": {"value", "statement", "date"},
    "typed": {"value", "subject", "statement", "date"},
}

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class Template:
    """One question template, validated and compiled."""

    id: str
    """Unique id; part of every question id it produces, so never rename it."""
    kind: str
    """mcq, tf, cloze or typed."""
    ask: str
    """What is asked: value, subject, not_subject, earliest, latest, statement or date."""
    attributes: tuple[str, ...]
    """The attributes whose facts it applies to."""
    prompt: JinjaTemplate
    """Compiled prompt text."""
    explanation: JinjaTemplate
    """Compiled explanation text (the fact's note and caveat are appended)."""
    reverse: JinjaTemplate | None
    """Optional prompt of a reverse card (Anki), used when the subject has a single value."""
    tags: tuple[str, ...]
    """Extra tags for its questions."""
    requires: tuple[str, ...]
    """Fact fields that must be present for a fact to be used."""
    pool: str
    """Where wrong options come from: `values` of other drugs, or drug `subjects`."""
    per: str
    """`fact` (one question per fact) or `subject` (one per drug, any value accepted)."""
    topic: str
    """Topic override, or empty for the attribute's topic."""
    path: str
    """File it was loaded from."""
    line: int
    """Line where it starts."""


def render(template: JinjaTemplate, context: dict[str, Any]) -> str:
    """Render with `context` as the whole namespace (shared: no copy, no Jinja globals), spaces folded."""
    text = "".join(template.root_render_func(template.new_context(context, shared=True)))
    return " ".join(text.split())


def load_templates(path: Path | str, deck: Deck) -> tuple[Template, ...]:
    """Load every `*.yaml` in a templates folder; raise InvalidContent listing every problem."""
    root = Path(path)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "templates folder not found"
        raise InvalidContent([Problem(str(root), None, what)])
    files = sorted(root.glob("*.yaml"))
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(str(root), None, "no template files (*.yaml)"))
    templates: list[Template] = []
    seen: dict[str, Template] = {}
    for file in files:
        data, problem = load_yaml(file)
        if problem:
            problems.append(problem)
            continue
        if not isinstance(data, LineMap):
            problems.append(Problem(str(file), None, "expected a mapping with a 'templates' list"))
            continue
        r = _Reader(data, str(file), "", problems)
        entries = r.get("templates", list, required=True, default=[])
        r.finish()
        for index, entry in enumerate(entries):
            if not isinstance(entry, LineMap):
                problems.append(
                    Problem(str(file), data.line_of("templates"), f"templates[{index}]: expected a mapping")
                )
                continue
            template = _read_template(entry, str(file), index, deck, problems)
            if template is None:
                continue
            if template.id in seen:
                problems.append(
                    Problem(
                        str(file),
                        entry.line,
                        f"duplicate template id '{template.id}' "
                        f"(first in {seen[template.id].path}:{seen[template.id].line})",
                    )
                )
                continue
            seen[template.id] = template
            templates.append(template)
    if problems:
        raise InvalidContent(problems)
    return tuple(templates)


def _read_template(entry: LineMap, path: str, index: int, deck: Deck, problems: list[Problem]) -> Template | None:
    name = entry.get("id") if isinstance(entry.get("id"), str) else index
    r = _Reader(entry, path, f"templates[{name}]", problems)
    before = len(problems)
    template_id = r.text("id", required=True)
    kind = r.text("kind", required=True)
    ask = r.text("ask", required=True)
    raw_attrs = r.get("attribute", (str, list), required=True, default=[])
    attributes = (raw_attrs,) if isinstance(raw_attrs, str) else tuple(str(a) for a in raw_attrs)
    tags = r.texts("tags")
    requires = r.texts("requires")
    pool = r.text("pool") or "values"
    per = r.text("per") or "fact"
    topic = r.text("topic")
    texts = {key: r.get(key, str, required=True, default="") for key in ("prompt", "explanation")}
    if "reverse" in entry:
        texts["reverse"] = r.get("reverse", str, default="")
    r.finish()
    if kind and kind not in KINDS:
        r.problem("kind", f"'{kind}' is not one of {', '.join(KINDS)}")
    if ask and ask not in ASKS:
        r.problem("ask", f"'{ask}' is not one of {', '.join(ASKS)}")
    elif kind in _ALLOWED and ask not in _ALLOWED[kind]:
        r.problem("ask", f"'{ask}' does not work with kind '{kind}' (use one of {', '.join(sorted(_ALLOWED[kind]))})")
    for attr in attributes:
        if attr not in deck.attributes:
            r.problem("attribute", f"unknown attribute '{attr}'")
        elif kind in ("mcq", "tf") and ask in ("value", "subject", "not_subject") and not deck.attributes[attr].closed:
            r.problem(
                "attribute", f"'{attr}' is open (not every true value is listed), so it cannot supply wrong options"
            )
    for field in requires:
        if field not in FACT_FIELDS:
            r.problem("requires", f"unknown fact field '{field}' (one of {', '.join(FACT_FIELDS)})")
    for tag in tags:
        if not tag or any(ch.isspace() for ch in tag):
            r.problem("tags", f"'{tag}' must be one word without spaces")
    if pool not in ("values", "subjects"):
        r.problem("pool", f"'{pool}' is not one of values, subjects")
    if per not in ("fact", "subject"):
        r.problem("per", f"'{per}' is not one of fact, subject")
    if topic and topic not in deck.topics:
        r.problem("topic", f"unknown topic '{topic}'")
    compiled: dict[str, JinjaTemplate] = {}
    for key, source in texts.items():
        try:
            compiled[key] = _ENV.from_string(source)
        except TemplateSyntaxError as exc:
            line = entry.line_of(key) + max(exc.lineno - 1, 0)
            problems.append(Problem(path, line, f"templates[{name}].{key}: Jinja2 error: {exc.message}"))
    if len(problems) > before:
        return None
    return Template(
        id=template_id,
        kind=kind,
        ask=ask,
        attributes=attributes,
        prompt=compiled["prompt"],
        explanation=compiled["explanation"],
        reverse=compiled.get("reverse"),
        tags=tags,
        requires=requires,
        pool=pool,
        per=per,
        topic=topic,
        path=path,
        line=entry.line,
    )
