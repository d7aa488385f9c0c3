"""jsontext.indented writes what json.dumps(indent=1, sort_keys=True) writes (the lock file)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from snri_quiz.jsontext import indented

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@given(_JSON)
@example({"notes": {"a%sb": {"hash": "x", "id": "q1", "mod": 1}, 'é"\\': {"retired": 5, "mod": True}}, "e": [[], {}]})
@example({"%": 1, "%%s": [1, {"%d": None}]})
def test_indented_is_json_dumps_with_an_indent_of_one(value: Any) -> None:
    assert indented(value) == json.dumps(value, indent=1, sort_keys=True)


def test_a_real_lock_file_is_written_the_same(tmp_path: Any) -> None:
    from snri_quiz.content import bundled_deck

    lock = json.loads((bundled_deck() / "anki-lock.json").read_text(encoding="utf-8"))
    assert len(lock["notes"]) > 400
    assert indented(lock) + "\n" == (bundled_deck() / "anki-lock.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("value", [{1: "a"}, {"a": {2: 3}}, {"a": {1, 2}}, [b"bytes"]])
def test_what_is_not_json_text_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        indented(value)
