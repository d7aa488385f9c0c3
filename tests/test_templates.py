"""Template rendering budgets (the hostile corpus in tests/hostile/templates covers the rest)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

import snri_quiz.templates as templates
from snri_quiz.content import bundled_templates, load_content
from snri_quiz.deckfile import load_deck
from snri_quiz.errors import InvalidContent
from snri_quiz.generate import generate
from snri_quiz.templates import load_templates, render_budget

from .test_questions import wide_tiny_deck

SLOW = """templates:
  - id: slow
    kind: typed
    ask: value
    attribute: indications_us
    prompt: "{% for a in value * 30 %}{% for b in value * 30 %}{% endfor %}{% endfor %}{{ value }}"
    explanation: "{{ value }}"
"""


def test_render_budget_restores_the_previous_alarm_handler() -> None:
    def mine(signum: int, frame: object) -> None:  # pragma: no cover - never called
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        with render_budget():
            assert signal.getsignal(signal.SIGALRM) is not mine
            assert signal.getitimer(signal.ITIMER_REAL)[1] > 0
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_template_slow_on_average_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each render is well inside its own budget, but hundreds of them are not."""
    monkeypatch.setattr(templates, "RENDER_SECONDS", 0.3)
    monkeypatch.setattr(templates, "RENDER_AVERAGE", 0.0)
    deck = load_deck(wide_tiny_deck(tmp_path, 400))
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "slow.yaml").write_text(SLOW, encoding="utf-8")
    with pytest.raises(InvalidContent) as caught:
        generate(deck, load_templates(folder, deck))
    [problem] = caught.value.problems
    assert re.fullmatch(
        r"template slow: (prompt|explanation): renders too slowly \(more than 0 ms each on average\)", problem.message
    )


def test_bundled_templates_take_the_fast_path_and_generate_the_same(tmp_path: Path) -> None:
    content = load_content()
    loaded = load_templates(bundled_templates(), content.deck)
    assert not any(t.prompt.guarded or t.explanation.guarded for t in loaded)
    assert generate(content.deck, loaded) == content.bank


def test_kinds_asks_and_levels_are_the_enums() -> None:
    from snri_quiz.kinds import Ask, Level, QuestionKind, VignetteAsk

    content = load_content()
    loaded = load_templates(bundled_templates(), content.deck)
    assert templates.ASKS == tuple(Ask)
    assert set(templates.KINDS) <= set(QuestionKind)
    facts = [t for t in loaded if t.vignette is None]
    vignettes = [t for t in loaded if t.vignette is not None]
    assert all(type(t.kind) is QuestionKind and type(t.ask) is Ask and type(t.level) is Level for t in facts)
    assert all(t.kind is QuestionKind.VIGNETTE and type(t.ask) is VignetteAsk for t in vignettes)
    # every ask the enums declare is used by some bundled template, and every kind a template may make
    assert {t.ask for t in facts} == set(Ask) and {t.ask for t in vignettes} == set(VignetteAsk)
    assert {t.kind for t in facts} == set(templates.KINDS)


FAST_TEXTS = [
    "{{ drug }} and {{ value }}",
    "{{ drug|lower }}: {{ fact.scope }}{% if fact.scope %} ({{ fact.scope|capitalize }}){% endif %}",
    "{% if value != true_value %}not {{ value }}{% elif value == 'x' %}x"
    "{% else %}{{ all_values|join(', ') }}{% endif %}",
    "{% if all_values|length == 1 %}one{% endif %}{{ all_values|first }}{% if not drug and value or 1 %}!{% endif %}",
    "{{ 3 }} {{ none }} {{ all_values }} {{ fact }}{{ all_values|join }}",
]
FAST_CONTEXTS = [
    {"drug": "Cymbalta", "value": "a", "true_value": "a", "all_values": ["a", "b"], "fact": {"scope": "adults"}},
    {"drug": "", "value": "x", "true_value": "y", "all_values": ["only"], "fact": {"scope": ""}},
    {"drug": "É", "value": "a", "true_value": "b", "all_values": [], "fact": {"scope": "ǅ"}},
    {"drug": 7, "value": ["a"], "true_value": "b", "all_values": ["a", 2], "fact": {"scope": 3}},  # not str: Jinja2
    {"drug": "D", "value": "v", "all_values": ["a"], "fact": {}},  # missing: Jinja2 raises
]


@pytest.mark.parametrize("source", FAST_TEXTS)
def test_simple_texts_render_as_jinja_does(tmp_path: Path, source: str) -> None:
    """The fast path of simple texts prints what Jinja2 prints, and hands every case it does not
    cover (other types, missing variables) to Jinja2, which then decides."""
    deck = load_deck(Path(__file__).parent / "data" / "tiny-deck")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "t.yaml").write_text(
        "templates:\n  - id: t\n    kind: typed\n    ask: value\n    attribute: indications_us\n"
        f"    prompt: {source!r}\n    explanation: '{{{{ value }}}}'\n"
    )
    (text,) = (t.prompt for t in load_templates(folder, deck))
    assert text.fast is not None
    for ctx in FAST_CONTEXTS:
        try:
            expected: str | None = "".join(text.root_render_func(text.new_context(ctx, shared=True)))
        except Exception:  # noqa: BLE001 - Jinja2's error: the fast path must not print anything instead
            expected = None
        try:
            got: str | None = text.fast(ctx)
        except Exception:  # noqa: BLE001 - handed to Jinja2
            got = None
        assert got is None or got == expected, (source, ctx)
        if expected is None:
            with pytest.raises(InvalidContent):
                templates.render(text, ctx)
        else:
            assert templates.render(text, ctx) == " ".join(expected.split())


def test_texts_beyond_the_fast_path_have_none(tmp_path: Path) -> None:
    deck = load_deck(Path(__file__).parent / "data" / "tiny-deck")
    folder = tmp_path / "templates"
    folder.mkdir()
    sources = ["{{ fact.items }}", "{{ value|upper }}", "{{ self }}", "{{ value ~ drug }}", "{{ value[0] }}"]
    entries = "".join(
        f"  - id: t{i}\n    kind: typed\n    ask: value\n    attribute: indications_us\n"
        f"    prompt: {s!r}\n    explanation: '{{{{ value }}}}'\n"
        for i, s in enumerate(sources)
    )
    (folder / "t.yaml").write_text("templates:\n" + entries)
    assert [t.prompt.fast for t in load_templates(folder, deck)] == [None] * len(sources)
