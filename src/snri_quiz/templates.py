"""Question templates: model, loading, validation and sandboxed rendering.

Templates are YAML data. Their text parts are Jinja2, rendered in a
SandboxedEnvironment with StrictUndefined, so a template can neither reach Python
internals nor silently print an empty variable. A template is hostile until checked:

- it cannot load other templates (`include`, `import`, `extends` are refused on load),
  nor use the `random` filter or string formatting (`format`, `%`, `str.format`);
- every value it computes (operators, concatenation, filters, method calls, block and
  macro output) is at most LIMIT characters (or items, or LIMIT_BITS for numbers), checked
  before the work where the work could be larger than its inputs;
- a render may take RENDER_SECONDS of CPU time, and a template's renders RENDER_AVERAGE
  seconds each on average (a SIGALRM tick checks both while questions are generated, on
  the main thread of Unix systems; CPU time, so a busy machine fails no correct deck);
  a template that is not simple may print at most LIMIT characters, counted as it prints;
- whatever goes wrong while rendering becomes one located problem,
  `path:line: template <id>: field: what`, never a traceback.
"""

from __future__ import annotations

import functools
import re
import signal
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2 import Template as JinjaTemplate
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment

from .deckfile import FieldReader
from .errors import InvalidContent, Problem
from .facts import Deck
from .kinds import DIFFICULTIES, Ask, Level, QuestionKind, VignetteAsk
from .yamlio import LineMap, control_character, load_yaml

KINDS = (QuestionKind.MCQ, QuestionKind.TF, QuestionKind.CLOZE, QuestionKind.TYPED)
"""The kinds a template may make."""
ASKS = tuple(Ask)
FACT_FIELDS = ("hint", "date", "answer", "question", "distractors", "false_statement", "note", "caveat", "scope")
# Which asks each kind supports.
_ALLOWED: dict[str, set[Ask]] = {
    QuestionKind.MCQ: {Ask.VALUE, Ask.SUBJECT, Ask.NOT_SUBJECT, Ask.EARLIEST, Ask.LATEST, Ask.STATEMENT},
    QuestionKind.TF: {Ask.VALUE, Ask.STATEMENT},
    QuestionKind.CLOZE: {Ask.VALUE, Ask.STATEMENT, Ask.DATE},
    QuestionKind.TYPED: {Ask.VALUE, Ask.SUBJECT, Ask.STATEMENT, Ask.DATE},
}

LIMIT = 1_000_000
"""The most characters (or list items) any value a template computes, or prints, may have."""
LIMIT_BITS = 100_000
"""The largest whole number a template may compute, in bits."""
SOURCE_LIMIT = 10_000
"""The longest template text (prompt, explanation, reverse), in characters."""
RENDER_SECONDS = 1.0
"""CPU time budget of one render, in seconds."""
RENDER_AVERAGE = 0.01
"""CPU time budget of a template's renders on average (plus RENDER_SECONDS), in seconds: a
correct render takes microseconds, one printing a megabyte a few milliseconds."""
TICK = 0.05
"""How often the time budget is checked, in seconds."""
_GUARDED_NODES = 100  # larger templates, like any that are not simple, count what they print
# Templates made only of these (and at most _GUARDED_NODES of them) print context values, filter
# results and concatenations, each bounded: they skip the counting. Anything else (operators, list
# literals, calls, loops, macros, assignments) can build a value whose printed form is huge.
_SIMPLE_NODES = (
    nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Const, nodes.Filter,
    nodes.Concat, nodes.CondExpr, nodes.If, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
    nodes.Test, nodes.Keyword,
)  # fmt: skip
_FORBIDDEN_FILTERS = {
    "random": "the 'random' filter is not allowed (a question must read the same on every run)",
    "format": "the 'format' filter is not allowed (write the text around the variables instead)",
    "pprint": "the 'pprint' filter is not allowed (it is for debugging; name the field to print)",
}
_FORBIDDEN_TAGS = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}
# Filters that never make a value larger than their input (or than a small constant): unchecked.
_FLAT_FILTERS = {
    "lower", "upper", "capitalize", "title", "trim", "length", "count", "first", "last", "default", "d",
    "wordcount", "reverse", "unique", "min", "max", "abs", "int", "float", "striptags", "sort", "dictsort",
}  # fmt: skip
_STR_METHODS = {
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii", "isdecimal",
    "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "lower", "lstrip", "partition",
    "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper", "replace", "join", "center", "ljust", "rjust", "zfill",
}  # fmt: skip
_METHODS: dict[type, set[str]] = {
    str: _STR_METHODS,
    list: {"count", "index", "copy"},
    tuple: {"count", "index"},
    dict: {"get", "keys", "values", "items", "copy"},
}
_ADDRESS = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


class TemplateLimit(Exception):
    """A template went over one of its budgets (size, time) or used something refused."""


def _sized(value: Any) -> Any:
    """The value, when it is within LIMIT; TemplateLimit otherwise."""
    if isinstance(value, (str, list, tuple, dict)) and len(value) > LIMIT:
        raise TemplateLimit(f"makes a value of {len(value):,} characters or items (at most {LIMIT:,})")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > LIMIT_BITS:
        raise TemplateLimit(f"makes a number of {value.bit_length():,} bits (at most {LIMIT_BITS:,})")
    return value


def _expect(size: int) -> None:
    """Refuse work whose result would be larger than LIMIT, before doing it."""
    if size > LIMIT:
        raise TemplateLimit(f"would make a value of {size:,} characters or items (at most {LIMIT:,})")


def _check_numbers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > LIMIT:
            raise TemplateLimit(f"{arg:,} is too large a number for a width or count (at most {LIMIT:,})")


def _text_length(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(str(value))


def _checked_join(parts: Any) -> str:
    """`str_join` and `concat` of the sandbox: the result's size is checked before it is made."""
    texts = [part if isinstance(part, str) else str(part) for part in parts]
    _expect(sum(map(len, texts)))
    return "".join(texts)


def _replace_size(text: str, old: str, new: str, count: int = -1) -> int:
    hits = text.count(old) if count is None or count < 0 else min(count, text.count(old))
    return len(text) + hits * max(0, len(new) - len(old))


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, with its numeric arguments and its result's size checked (and its input, where the
    result can be a multiple of it)."""

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_numbers(args, kwargs)
        texts = [a for a in (*args, *kwargs.values()) if isinstance(a, str)]
        if name == "replace" and len(texts) >= 3:
            _expect(_replace_size(texts[0], texts[1], texts[2]))
        elif name in ("indent", "wordwrap") and texts:
            _expect(len(texts[0]) * (1 + sum(map(len, texts[1:])) + 1))
        elif name == "join":
            items = [a for a in args if isinstance(a, (list, tuple)) or isinstance(a, types.GeneratorType)]
            if items:
                values = list(items[0])
                sep = kwargs.get("d", texts[0] if texts else "")
                _expect(sum(map(_text_length, values)) + len(values) * len(str(sep)))
                args = tuple(values if a is items[0] else a for a in args)
        return _sized(func(*args, **kwargs))

    return guarded


def _refuse_format(*args: Any, **kwargs: Any) -> str:
    raise SecurityError("string formatting (str.format) is not allowed in templates")


class _Generator(CodeGenerator):
    """Jinja2's code generator, with `a ~ b` concatenation size-checked."""

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Undefined(StrictUndefined):
    """StrictUndefined that also fails when printed inside a list (`map(attribute='typo')`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        self._fail_with_undefined_error()


class CompiledText(JinjaTemplate):
    """A compiled template text that knows where it came from."""

    where: tuple[str, int, str, str] = ("", 0, "", "")
    """(file, line of the field, template id, field name)."""
    guarded: bool = False
    """True unless it is small and simple: then what it prints is counted as it prints."""
    fast: Callable[[dict[str, Any]], str] | None = None
    """A simple text (context values, dict fields, a few filters, `if`) as a plain Python function
    that prints what Jinja2 would, or raises where it does not cover the case; None for the rest."""


class _Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, with every value size-checked and nothing non-deterministic."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _Generator
    template_class = CompiledText
    concat = staticmethod(_checked_join)
    checked_join = staticmethod(_checked_join)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        numbers = (int, float)
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * abs(left).bit_length() > LIMIT_BITS:
                raise TemplateLimit(f"{left} ** {right} is too large a number (at most {LIMIT_BITS:,} bits)")
        elif operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > LIMIT_BITS:
                    raise TemplateLimit(f"a product of more than {LIMIT_BITS:,} bits")
            elif isinstance(left, int) and hasattr(right, "__len__"):
                _expect(left * len(right))
            elif isinstance(right, int) and hasattr(left, "__len__"):
                _expect(right * len(left))
        elif operator == "+" and hasattr(left, "__len__") and hasattr(right, "__len__"):
            _expect(len(left) + len(right))
        elif operator == "%" and not (isinstance(left, numbers) and isinstance(right, numbers)):
            raise SecurityError("string formatting (%) is not allowed in templates")
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - as in Jinja2
        _check_numbers(args, kwargs)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (str, list, tuple, dict, int, float)):  # Markup (from |e) is a str too
            allowed = next((names for kind, names in _METHODS.items() if isinstance(owner, kind)), set())
            name = getattr(__obj, "__name__", "?")
            if name not in allowed:
                raise SecurityError(f"the method '{name}' is not allowed in templates")
            if not isinstance(owner, str):
                pass
            elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
                _expect(_replace_size(owner, args[0], args[1]))
            elif name == "join" and args:
                values = list(args[0])
                _expect(sum(map(_text_length, values)) + len(values) * len(owner))
                args = (values, *args[1:])
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        return _refuse_format if super().wrap_str_format(value) is not None else None


_ENV = _Sandbox(undefined=_Undefined, autoescape=False, keep_trailing_newline=False)
for _name in list(_ENV.filters):
    if _name in _FORBIDDEN_FILTERS:
        del _ENV.filters[_name]
    elif _name not in _FLAT_FILTERS:
        _ENV.filters[_name] = _guard_filter(_name, _ENV.filters[_name])
_ENV.globals.clear()  # renders see only their context; nothing from outside (range, lipsum, cycler ...)


def _printable(value: Any) -> Any:
    """Jinja2's `finalize` for templates that are not simple: a list printed whole could be huge
    (`[value * 99999] * 1000000`), so its printed size is estimated first."""
    if type(value) is not str and isinstance(value, (list, tuple, dict)):
        _expect(_printed_size(value, LIMIT + 1))
    return value


def _printed_size(value: Any, budget: int) -> int:
    """An estimate of len(str(value)) (at least), stopping once it is over `budget`."""
    size, stack = 0, [value]
    while stack and size <= budget:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 4
        elif isinstance(item, dict):
            size += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            size += 2 + 2 * len(item)
            stack.extend(item)
        else:
            size += 8
    return size


class _NotFast(Exception):
    """A template text the fast path does not cover (it is rendered by Jinja2 alone)."""


class _Slow(Exception):
    """A value the fast path does not cover: this render goes to Jinja2."""


def _item(obj: Any, key: str) -> Any:
    """`obj.key` for a dict, as the sandbox reads it (the key is no dict attribute: checked on compile)."""
    if type(obj) is not dict:
        raise _Slow
    return obj[key]


def _lower(value: Any) -> str:
    if type(value) is not str:
        raise _Slow
    return value.lower()


def _capitalize(value: Any) -> str:
    if type(value) is not str:
        raise _Slow
    return value.capitalize()


def _length(value: Any) -> int:
    if type(value) not in (str, list, tuple, dict):
        raise _Slow
    return len(value)


def _first(value: Any) -> Any:
    if type(value) is not list or not value:
        raise _Slow
    return value[0]


def _join(value: Any, sep: str) -> str:
    if type(value) is not list or any(type(item) is not str for item in value):
        raise _Slow
    if sum(map(len, value)) + len(value) * len(sep) > LIMIT:
        raise _Slow  # Jinja2's guarded join reports it
    return sep.join(value)


_FAST_FILTERS = {"lower": "_lower", "capitalize": "_capitalize", "length": "_length", "first": "_first"}
_FAST_HELPERS = {"_item": _item, "_lower": _lower, "_capitalize": _capitalize, "_length": _length, "_first": _first}
_FAST_HELPERS["_join"] = _join
_FAST_COMPARE = {"eq": "==", "ne": "!="}
_NOT_NAMES = {"self", "loop", "caller", "varargs", "kwargs", "super"}  # Jinja2 gives these their own meaning


def _fast_render(tree: nodes.Template) -> Callable[[dict[str, Any]], str] | None:
    """The text as a Python function of its context, when it is made only of text, context values,
    fields of dict values, the filters lower, capitalize, length, first and join (with a constant
    separator), ==, !=, and, or, not and `if`: what all bundled templates use. Each piece does what
    Jinja2's code does for it; a value of any other type raises, and that render goes to Jinja2 (so
    a missing variable, a typo or an oversized join still fails there, with its message). The
    source is built from the parsed tree only: names and constants appear as Python literals."""
    lines = ["def render(c):", " out = []", " append = out.append"]
    try:
        _fast_block(tree.body, lines, 1)
    except _NotFast:
        return None
    lines.append(" return ''.join(out)")
    namespace: dict[str, Any] = dict(_FAST_HELPERS)
    exec(compile("\n".join(lines), "<simple template>", "exec"), namespace)  # noqa: S102 - source made above
    render: Callable[[dict[str, Any]], str] = namespace["render"]
    return render


def _fast_block(body: list[nodes.Node], lines: list[str], depth: int) -> None:
    pad = " " * depth
    if not body:
        lines.append(f"{pad}pass")
    for node in body:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    lines.append(f"{pad}append({child.data!r})")
                else:
                    lines.append(f"{pad}append(str({_fast_expr(child)}))")
        elif isinstance(node, nodes.If):
            lines.append(f"{pad}if {_fast_expr(node.test)}:")
            _fast_block(node.body, lines, depth + 1)
            for branch in node.elif_:
                lines.append(f"{pad}elif {_fast_expr(branch.test)}:")
                _fast_block(branch.body, lines, depth + 1)
            if node.else_:
                lines.append(f"{pad}else:")
                _fast_block(node.else_, lines, depth + 1)
        else:
            raise _NotFast


def _fast_expr(node: nodes.Node) -> str:
    if type(node) is nodes.Name and node.ctx == "load" and node.name not in _NOT_NAMES:
        return f"c[{node.name!r}]"
    if type(node) is nodes.Const and type(node.value) in (str, int, bool, type(None)):
        return repr(node.value)
    if type(node) is nodes.Getattr and node.ctx == "load" and not hasattr(dict, node.attr):
        return f"_item({_fast_expr(node.node)}, {node.attr!r})"
    if type(node) is nodes.Filter and node.node is not None and not (node.dyn_args or node.dyn_kwargs):
        if node.name in _FAST_FILTERS and not node.args and not node.kwargs:
            return f"{_FAST_FILTERS[node.name]}({_fast_expr(node.node)})"
        if node.name == "join" and not node.kwargs and len(node.args) <= 1:
            sep = node.args[0] if node.args else nodes.Const("")
            if type(sep) is nodes.Const and type(sep.value) is str:
                return f"_join({_fast_expr(node.node)}, {sep.value!r})"
    if type(node) is nodes.Compare and node.ops and all(op.op in _FAST_COMPARE for op in node.ops):
        chain = " ".join(f"{_FAST_COMPARE[op.op]} {_fast_expr(op.expr)}" for op in node.ops)
        return f"({_fast_expr(node.expr)} {chain})"
    if type(node) is nodes.Not:
        return f"(not {_fast_expr(node.node)})"
    if type(node) in (nodes.And, nodes.Or):
        assert isinstance(node, nodes.BinExpr)
        return f"({_fast_expr(node.left)} {'and' if type(node) is nodes.And else 'or'} {_fast_expr(node.right)})"
    raise _NotFast


_GUARDED_ENV = _ENV.overlay(finalize=_printable)  # shares the filters; used for templates that are not simple


@dataclass(frozen=True)
class Finding:
    """How one clue value reads in a patient's story (`findings:` in a template file)."""

    text: CompiledText
    """One sentence; may use the pronoun variables They, they, Their, their, them."""
    sex: str = ""
    """`female` or `male` when the finding fits only one, else empty."""
    ages: tuple[int, int] | None = None
    """The patient's age range when the finding implies one (e.g. older age)."""
    risk: bool = False
    """A risk factor or setting rather than a sign of the effect itself."""
    required: bool = False
    """Every adverse-effect stem about an effect that lists this value shows it."""
    anchor: bool = False
    """A sign specific to its effect: every adverse-effect stem shows one, and no other signs."""
    effects: bool = True
    """False: never shown in an adverse-effect stem (e.g. a disease that explains the signs itself)."""


@dataclass(frozen=True)
class Clue:
    """One kind of clue a drug-choice vignette combines: a value of one of `attributes`."""

    attributes: tuple[str, ...]
    """Where its values come from (closed attributes)."""
    holds: bool
    """True: the right drug has the value; False: the right drug must not have it."""
    has: CompiledText
    """The rationale's words for an option that has the value (`value` is in scope)."""
    lacks: CompiledText
    """The rationale's words for an option that lacks it."""
    same_value: bool = False
    """Repeat the first clue's value (e.g. the pediatric approval of the same condition)."""
    ages: tuple[int, int] | None = None
    """The patient's age range when this clue is used (e.g. 13-17); it then adds no sentence."""
    section: str = ""
    """The label section that shows a drug lacks the value when the drug has no fact of the
    attribute at all (e.g. `8.4` for pediatric use)."""
    excluded: tuple[str, ...] = ()
    """Values never used as this clue (`except:`), e.g. where a caveat outside the deck applies."""
    see: tuple[str, ...] = ()
    """Attributes whose facts say what the label does instead, cited for a drug that lacks the value
    (e.g. `renal_dosing` for a drug its label allows in renal impairment at another dose)."""


@dataclass(frozen=True)
class Vignette:
    """The parts of a vignette template besides prompt (the lead-in) and explanation."""

    ask: str
    """A kinds.VignetteAsk value."""
    clues: tuple[Clue, ...] = ()
    """Drug choice: the clues every question combines, one value each."""
    extra: tuple[Clue, ...] = ()
    """Drug choice: clues of which at most one is added."""
    alone: bool = True
    """Drug choice: also ask with `clues` alone, when they single out one drug."""
    findings: dict[str, Finding] = dataclass_field(default_factory=dict)
    """Every clue value's sentence, by value (shared by a file's vignettes)."""
    stem: CompiledText | None = None
    """Value questions: the story sentence after the patient (drug, condition, situation)."""
    unit: str = ""
    """Value questions: the unit after a number (`days`, `mg per day`)."""
    choices: tuple[str, ...] = ()
    """Value questions: candidate options; those equal to the answer are dropped."""
    size: int = 2
    """Adverse-effect questions: how many of the effect's findings a stem shows."""
    per_effect: int = 4
    """Adverse-effect questions: at most this many per effect."""
    options: int = 5
    """How many options a question offers at most (at least 4)."""
    settings: tuple[CompiledText, ...] = ()
    """Where the patient is seen; one is chosen per question."""
    ages: tuple[int, int] = (25, 75)
    """The adult patient's age range."""
    condition: str = ""
    """Value and effect questions: the attribute whose value is the condition the patient's drug
    is taken for, in the story (`condition`); context, not a clue."""


@dataclass(frozen=True)
class Template:
    """One question template, validated and compiled."""

    id: str
    """Unique id; part of every question id it produces, so never rename it."""
    kind: QuestionKind
    """mcq, tf, cloze or typed (one of KINDS)."""
    ask: Ask | VignetteAsk
    """What is asked: value, subject, not_subject, earliest, latest, statement or date."""
    attributes: tuple[str, ...]
    """The attributes whose facts it applies to."""
    prompt: CompiledText
    """Compiled prompt text."""
    explanation: CompiledText
    """Compiled explanation text (the fact's note and caveat are appended)."""
    reverse: CompiledText | None
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
    vignette: Vignette | None
    """Vignettes: how clues combine, read and are explained; None for other kinds."""
    level: Level
    """What its questions ask of the learner."""
    difficulty: int
    """The author's estimate of its questions' difficulty, 1 (easiest) to 5."""
    path: str
    """File it was loaded from."""
    line: int
    """Line where it starts."""


class _Clock:
    """What the SIGALRM tick needs to check the time budget; a render only counts and flags itself
    (no clock read per render), the tick reads the CPU clock."""

    rendering = False
    """True while a render is under way."""
    renders = 0
    """Renders of the current template so far."""
    started = 0.0
    """CPU time when the current template started."""
    seen = -1
    """`renders` when a tick last saw a render under way."""
    since = 0.0
    """CPU time of the first tick that saw that render."""


def _tick(signum: int, frame: types.FrameType | None) -> None:
    clock = _Clock
    if not clock.rendering:
        return
    now = time.process_time()
    if clock.renders == clock.seen:  # the same render as at the last tick
        if now - clock.since > RENDER_SECONDS:
            clock.rendering = False
            raise TemplateLimit(f"took longer than {RENDER_SECONDS:g} s to render")
        return
    clock.seen, clock.since = clock.renders, now
    if now - clock.started > RENDER_SECONDS + RENDER_AVERAGE * clock.renders:
        clock.rendering = False
        raise TemplateLimit(f"renders too slowly (more than {RENDER_AVERAGE * 1000:g} ms each on average)")


@contextmanager
def render_budget() -> Iterator[Callable[[], None]]:
    """Check the time budget while the block renders; yields the function that starts a new template.

    A no-op where there are no interval timers (Windows) or off the main thread.
    """

    def next_template() -> None:
        _Clock.started, _Clock.renders, _Clock.seen = time.process_time(), 0, -1

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield next_template
        return
    previous = signal.signal(signal.SIGALRM, _tick)
    signal.setitimer(signal.ITIMER_REAL, TICK, TICK)
    try:
        yield next_template
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _Clock.rendering = False


def render(template: CompiledText, context: dict[str, Any]) -> str:
    """Render with `context` as the whole namespace (shared: no copy, no Jinja globals), spaces folded.

    Raises InvalidContent naming the template and field for anything that goes wrong.
    """
    _Clock.renders += 1
    _Clock.rendering = True
    try:
        text = None
        if template.fast is not None:
            try:
                text = template.fast(context)
            except TemplateLimit:  # the time budget ran out
                raise
            except Exception:  # noqa: BLE001 - a case the fast path does not cover: Jinja2 renders it
                text = None
        if text is None:
            chunks = template.root_render_func(template.new_context(context, shared=True))
            text = _counted(chunks) if template.guarded else "".join(chunks)
    except Exception as exc:  # noqa: BLE001 - anything a template does wrong is the template's problem
        raise render_problem(template, exc) from None
    finally:
        _Clock.rendering = False
    text = " ".join(text.split())
    if not text.isprintable() and control_character(text):
        raise template_problem(template, f"prints control character {control_character(text)}")
    if "0x" in text and _ADDRESS.search(text):
        raise template_problem(template, "prints a Python object (add |list or |join, or name a field)")
    return text


def _counted(chunks: Iterator[str]) -> str:
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > LIMIT:
            raise TemplateLimit(f"prints more than {LIMIT:,} characters")
        parts.append(chunk)
    return "".join(parts)


def template_problem(template: CompiledText, message: str, line: int = 1) -> InvalidContent:
    """The error for a problem in one text of a template, at `line` of that text."""
    path, first, template_id, field = template.where
    return InvalidContent([Problem(path, first + line - 1, f"template {template_id}: {field}: {message}")])


def render_problem(template: CompiledText, exc: BaseException) -> InvalidContent:
    """A located, one-line problem for an exception raised while rendering."""
    import traceback

    line = 1
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>" and frame.lineno is not None:
            line = template.get_corresponding_lineno(frame.lineno)
    return template_problem(template, describe_error(exc), line)


def describe_error(exc: BaseException) -> str:
    """One line about what went wrong, for people writing templates."""
    if isinstance(exc, (TemplateLimit, TemplateError)):
        return str(exc.message if isinstance(exc, TemplateError) and exc.message else exc)
    if isinstance(exc, RecursionError):
        return "recursion too deep (a macro that calls itself without end?)"
    if isinstance(exc, MemoryError):
        return "out of memory"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


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
        r = FieldReader(data, str(file), "", problems)
        entries = r.get("templates", list, default=[])
        vignettes = r.get("vignettes", list, default=[])
        findings = _read_findings(r.get("findings", LineMap, default=LineMap()), str(file), problems)
        r.finish()
        if not {"templates", "vignettes", "findings"} & set(data):
            problems.append(Problem(str(file), None, "expected a 'templates' or 'vignettes' list"))
        for key, items in (("templates", entries), ("vignettes", vignettes)):
            for index, entry in enumerate(items):
                if not isinstance(entry, LineMap):
                    problems.append(Problem(str(file), data.line_of(key), f"{key}[{index}]: expected a mapping"))
                    continue
                if key == "templates":
                    template = _read_template(entry, str(file), index, deck, problems)
                else:
                    template = _read_vignette(entry, str(file), index, deck, findings, problems)
                if template is not None:
                    templates.append(template)
    unique: list[Template] = []
    for template in templates:
        first = seen.setdefault(template.id, template)
        if first is not template:
            problems.append(
                Problem(
                    template.path,
                    template.line,
                    f"duplicate template id '{template.id}' (first in {first.path}:{first.line})",
                )
            )
            continue
        unique.append(template)
    if problems:
        raise InvalidContent(problems)
    return tuple(unique)


_PRONOUNS = {
    "female": {"They": "She", "they": "she", "Their": "Her", "their": "her", "them": "her", "person": "woman"},
    "male": {"They": "He", "they": "he", "Their": "His", "their": "his", "them": "him", "person": "man"},
}
"""The variables a finding, a setting or a lead-in may use, by the patient's sex."""
SEXES = tuple(_PRONOUNS)


def pronouns(sex: str) -> dict[str, str]:
    """The pronoun variables for a patient of this sex (`female` or `male`)."""
    return _PRONOUNS[sex]


def _age_range(r: FieldReader, key: str) -> tuple[int, int] | None:
    raw = r.get(key, list)
    if raw is None:
        return None
    if len(raw) == 2 and all(type(x) is int for x in raw) and 0 <= raw[0] <= raw[1] <= 120:
        return (raw[0], raw[1])
    r.problem(key, "expected [youngest, oldest]: two whole numbers from 0 to 120, the first not larger")
    return None


def _read_findings(data: LineMap, path: str, problems: list[Problem]) -> dict[str, Finding]:
    """`findings:` of a template file: clue value -> sentence (or {text, sex, ages})."""
    out: dict[str, Finding] = {}
    for value, raw in data.items():
        where = (path, data.line_of(value), "findings", str(value))
        entry = raw if isinstance(raw, LineMap) else None
        if entry is not None:
            r = FieldReader(entry, path, f"findings.{value}", problems)
            text, sex, ages = r.get("text", str, required=True, default=""), r.text("sex"), _age_range(r, "ages")
            risk = r.get("risk", bool, default=False)
            required = r.get("required", bool, default=False)
            anchor = r.get("anchor", bool, default=False)
            effects = r.get("effects", bool, default=True)
            r.finish()
            if sex and sex not in SEXES:
                r.problem("sex", f"'{sex}' is not one of {', '.join(SEXES)}")
                continue
        elif isinstance(raw, str):
            text, sex, ages, risk, required, anchor, effects = raw, "", None, False, False, False, True
        else:
            problems.append(Problem(path, data.line_of(value), f"findings.{value}: expected a sentence or a mapping"))
            continue
        if not str(text).strip() and ages is None:
            problems.append(Problem(path, data.line_of(value), f"findings.{value}: must not be empty"))
            continue
        compiled = _compile(str(text), where, problems)
        if compiled is not None:
            out[" ".join(str(value).split())] = Finding(compiled, sex, ages, risk, required, anchor, effects)
    return out


def _check_placement(r: FieldReader, deck: Deck, topic: str, level: str, difficulty: int) -> None:
    """The fields every template shares: topic, level and difficulty."""
    if topic and topic not in deck.topics:
        r.problem("topic", f"unknown topic '{topic}'")
    if level not in tuple(Level):
        r.problem("level", f"'{level}' is not one of {', '.join(Level)}")
    if difficulty not in DIFFICULTIES:
        r.problem("difficulty", f"{difficulty} is not a whole number from {DIFFICULTIES[0]} to {DIFFICULTIES[-1]}")


def _compile_texts(
    texts: dict[str, str], entry: LineMap, path: str, name: str, problems: list[Problem]
) -> dict[str, CompiledText]:
    """Each text field compiled, located at its own line; a field that fails is left out (and reported)."""
    compiled: dict[str, CompiledText] = {}
    for key, source in texts.items():
        text = _compile(source, (path, entry.line_of(key), name, key), problems)
        if text is not None:
            compiled[key] = text
    return compiled


def _read_clue(raw: Any, path: str, where: str, deck: Deck, problems: list[Problem]) -> Clue | None:
    if not isinstance(raw, LineMap):
        problems.append(Problem(path, None, f"{where}: expected a mapping"))
        return None
    r = FieldReader(raw, path, where, problems)
    before = len(problems)
    attrs = r.get("attribute", (str, list), required=True, default=[])
    attributes = (attrs,) if isinstance(attrs, str) else tuple(str(a) for a in attrs)
    holds = r.get("holds", bool, default=True)
    same_value = r.get("same_value", bool, default=False)
    ages = _age_range(r, "ages")
    section = r.text("section")
    excluded = r.texts("except")
    see = r.texts("see")
    texts = {key: r.get(key, str, required=True, default="") for key in ("has", "lacks")}
    r.finish()
    for attr in attributes:
        if attr not in deck.attributes:
            r.problem("attribute", f"unknown attribute '{attr}'")
        elif not deck.attributes[attr].closed:
            r.problem("attribute", f"'{attr}' is open, so a drug without a value is not provably without it")
    for attr in see:
        if attr not in deck.attributes:
            r.problem("see", f"unknown attribute '{attr}'")
    compiled = {key: _compile(text, (path, raw.line_of(key), where, key), problems) for key, text in texts.items()}
    if len(problems) > before or compiled["has"] is None or compiled["lacks"] is None:
        return None
    return Clue(attributes, holds, compiled["has"], compiled["lacks"], same_value, ages, section, excluded, see)


def _read_vignette(
    entry: LineMap, path: str, index: int, deck: Deck, findings: dict[str, Finding], problems: list[Problem]
) -> Template | None:
    name = entry.get("id") if isinstance(entry.get("id"), str) else index
    where = f"vignettes[{name}]"
    r = FieldReader(entry, path, where, problems)
    before = len(problems)
    template_id = r.text("id", required=True)
    ask = r.text("ask", required=True)
    raw_attrs = r.get("attribute", (str, list), default=[])
    attributes = (raw_attrs,) if isinstance(raw_attrs, str) else tuple(str(a) for a in raw_attrs)
    topic = r.text("topic", required=True)
    level = r.text("level") or Level.APPLICATION
    difficulty = r.get("difficulty", int, default=3)
    tags = r.texts("tags")
    clues = [
        _read_clue(c, path, f"{where}.clues[{i}]", deck, problems)
        for i, c in enumerate(r.get("clues", list, default=[]))
    ]
    extra = [
        _read_clue(c, path, f"{where}.extra[{i}]", deck, problems)
        for i, c in enumerate(r.get("extra", list, default=[]))
    ]
    alone = r.get("alone", bool, default=True)
    unit = r.text("unit")
    choices = r.texts("choices")
    size = r.get("clues_per_question", int, default=2)
    per_effect = r.get("per_effect", int, default=4)
    options = r.get("options", int, default=5)
    ages = _age_range(r, "ages") or (25, 75)
    settings = r.texts("settings") or ("comes to the clinic",)
    condition = r.text("condition")
    texts = {key: r.get(key, str, required=True, default="") for key in ("prompt", "explanation")}
    if "stem" in entry:
        texts["stem"] = r.get("stem", str, default="")
    r.finish()
    if ask and ask not in tuple(VignetteAsk):
        r.problem("ask", f"'{ask}' is not one of {', '.join(VignetteAsk)}")
    _check_placement(r, deck, topic, level, difficulty)
    if not 4 <= options <= 5:
        r.problem("options", f"{options}: a vignette offers 4 or 5 options")
    if not 1 <= size <= 4:
        r.problem("clues_per_question", f"{size}: a stem shows 1 to 4 findings")
    if per_effect < 1:
        r.problem("per_effect", "must be at least 1")
    for attr in attributes:
        if attr not in deck.attributes:
            r.problem("attribute", f"unknown attribute '{attr}'")
        elif not deck.attributes[attr].closed:
            r.problem("attribute", f"'{attr}' is open, so it cannot prove an option wrong")
    if ask == VignetteAsk.DRUG and not [c for c in clues if c is not None] and len(problems) == before:
        r.problem("clues", "a drug-choice vignette needs at least one clue")
    if ask in (VignetteAsk.VALUE, VignetteAsk.EFFECT) and not attributes:
        r.problem("attribute", f"a vignette with ask '{ask}' needs its attribute(s)")
    if condition and condition not in deck.attributes:
        r.problem("condition", f"unknown attribute '{condition}'")
    if ask == VignetteAsk.VALUE and len(choices) < 3:
        r.problem("choices", "a value vignette needs at least 3 choices besides the answer")
    compiled = _compile_texts(texts, entry, path, str(name), problems)
    settings_compiled = tuple(
        t
        for i, source in enumerate(settings)
        if (t := _compile(source, (path, entry.line_of("settings"), str(name), f"settings[{i}]"), problems))
    )
    if len(problems) > before:
        return None
    all_clues = tuple(c for c in (*clues, *extra) if c is not None)
    vignette = Vignette(
        ask=ask,
        clues=tuple(c for c in clues if c is not None),
        extra=tuple(c for c in extra if c is not None),
        alone=alone,
        findings=findings,
        stem=compiled.get("stem"),
        unit=unit,
        choices=choices,
        size=size,
        per_effect=per_effect,
        options=options,
        settings=settings_compiled,
        ages=ages,
        condition=condition,
    )
    return Template(
        id=template_id,
        kind=QuestionKind.VIGNETTE,
        ask=VignetteAsk(ask),
        attributes=attributes or tuple(dict.fromkeys(a for c in all_clues for a in c.attributes)),
        prompt=compiled["prompt"],
        explanation=compiled["explanation"],
        reverse=None,
        tags=tags,
        requires=(),
        pool="values",
        per="fact",
        topic=topic,
        vignette=vignette,
        level=Level(level),
        difficulty=difficulty,
        path=path,
        line=entry.line,
    )


def _compile(source: str, where: tuple[str, int, str, str], problems: list[Problem]) -> CompiledText | None:
    """Parse, check and compile one template text; None (and a problem) when it cannot be used."""
    path, first, template_id, field = where

    def problem(message: str, line: int = 1) -> None:
        problems.append(Problem(path, first + line - 1, f"template {template_id}: {field}: {message}"))

    if len(source) > SOURCE_LIMIT:
        problem(f"longer than {SOURCE_LIMIT:,} characters")
        return None
    try:
        tree = _ENV.parse(source)
        refused = [
            (node.lineno, f"'{tag}' is not allowed: a template cannot load other templates")
            for kind, tag in _FORBIDDEN_TAGS.items()
            for node in tree.find_all(kind)
        ]
        refused += [
            (node.lineno, _FORBIDDEN_FILTERS[node.name])
            for node in tree.find_all((nodes.Filter, nodes.Test))
            if isinstance(node, nodes.Filter) and node.name in _FORBIDDEN_FILTERS
        ]
        for line, message in sorted(set(refused)):
            problem(message, line)
        if refused:
            return None
        found = list(tree.find_all(nodes.Node))
        simple = len(found) <= _GUARDED_NODES and all(isinstance(node, _SIMPLE_NODES) for node in found)
        fast = _fast_render(tree) if simple else None
        text = (_ENV if simple else _GUARDED_ENV).from_string(tree)
    except TemplateSyntaxError as exc:
        problem(f"Jinja2 error: {exc.message}", max(exc.lineno, 1))
        return None
    except Exception as exc:  # noqa: BLE001 - a template too deep or too large to compile is still a problem
        problem(f"cannot compile: {describe_error(exc)}")
        return None
    assert isinstance(text, CompiledText)
    text.where = where
    text.guarded = not simple
    text.fast = fast
    return text


def _read_template(entry: LineMap, path: str, index: int, deck: Deck, problems: list[Problem]) -> Template | None:
    name = entry.get("id") if isinstance(entry.get("id"), str) else index
    r = FieldReader(entry, path, f"templates[{name}]", problems)
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
    level = r.text("level") or (Level.UNDERSTANDING if kind == QuestionKind.TF else Level.RECALL)
    difficulty = r.get("difficulty", int, default=2)
    texts = {key: r.get(key, str, required=True, default="") for key in ("prompt", "explanation")}
    if "reverse" in entry:
        texts["reverse"] = r.get("reverse", str, default="")
    r.finish()
    for key in ("prompt", "reverse"):
        if key in entry and entry[key] is not None and key in texts and not texts[key].strip():
            r.problem(key, "must not be empty")
    if kind == QuestionKind.VIGNETTE:
        r.problem("kind", "a vignette goes in the file's 'vignettes:' list, not 'templates:'")
    elif kind and kind not in KINDS:
        r.problem("kind", f"'{kind}' is not one of {', '.join(KINDS)}")
    if ask and ask not in ASKS:
        r.problem("ask", f"'{ask}' is not one of {', '.join(ASKS)}")
    elif kind in _ALLOWED and ask not in _ALLOWED[kind]:
        r.problem("ask", f"'{ask}' does not work with kind '{kind}' (use one of {', '.join(sorted(_ALLOWED[kind]))})")
    for attr in attributes:
        if attr not in deck.attributes:
            r.problem("attribute", f"unknown attribute '{attr}'")
        elif (
            kind in (QuestionKind.MCQ, QuestionKind.TF)
            and ask in (Ask.VALUE, Ask.SUBJECT, Ask.NOT_SUBJECT)
            and not deck.attributes[attr].closed
        ):
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
    _check_placement(r, deck, topic, level, difficulty)
    compiled = _compile_texts(texts, entry, path, str(name), problems)
    if kind == QuestionKind.CLOZE and "prompt" in compiled:
        used = find_undeclared_variables(_ENV.parse(texts["prompt"]))
        if not used & {"blank", "statement"}:
            wanted = "{{ statement }}" if ask == Ask.STATEMENT else "{{ blank }}"
            r.problem("prompt", f"a cloze prompt must show the blank: use {wanted}")
    if len(problems) > before:
        return None
    return Template(
        id=template_id,
        kind=QuestionKind(kind),
        ask=Ask(ask),
        attributes=attributes,
        prompt=compiled["prompt"],
        explanation=compiled["explanation"],
        reverse=compiled.get("reverse"),
        tags=tags,
        requires=requires,
        pool=pool,
        per=per,
        topic=topic,
        vignette=None,
        level=Level(level),
        difficulty=difficulty,
        path=path,
        line=entry.line,
    )
