"""The YAML loader: YAML 1.2-style scalars, YAML 1.1 ambiguities flagged, control characters
refused, only regular files of bounded size read, line numbers and duplicate keys kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snri_quiz.errors import Problem
from snri_quiz.yamlio import MAX_BYTES, LineMap, control_character, load_yaml


def _load(tmp_path: Path, text: str) -> tuple[object, list[Problem]]:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    problems: list[Problem] = []
    data, stop = load_yaml(path, problems)
    if stop:
        problems.append(stop)
    return data, problems


@pytest.mark.parametrize(
    ("written", "value", "flagged"),
    [
        ("30:1", "30:1", "1801"),  # sexagesimal in YAML 1.1
        ("33:10", "33:10", "1990"),
        ("010", "010", "8"),  # octal in YAML 1.1
        ("0x1F", "0x1F", "31"),
        ("1.10", "1.10", "1.1"),
        ("1_000", "1_000", "1000"),
        (".inf", ".inf", "inf"),
        ("yes", "yes", "true"),
        ("off", "off", "false"),
        ("'010'", "010", None),  # quoted: text, nothing to flag
        ('"30:1"', "30:1", None),
        ("1990", 1990, None),  # plain decimal whole numbers stay numbers
        ("-7", -7, None),
        ("0", 0, None),
        ("true", True, None),
        ("False", False, None),
        ("~", None, None),
        ("2004-13-03", "2004-13-03", None),  # dates stay text for the date validator
        ("1e3", "1e3", None),  # text in YAML 1.1 as well
        ("1.0.0", "1.0.0", None),
        ("venlafaxine", "venlafaxine", None),
        ("9" * 40, "9" * 40, "9" * 40),  # too long for a whole number: text, and YAML 1.1 would convert it
    ],
)
def test_plain_scalars_follow_yaml_12_and_flag_yaml_11_conversions(
    tmp_path: Path, written: str, value: object, flagged: str | None
) -> None:
    data, problems = _load(tmp_path, f"a: 1\nvalue: {written}\n")
    assert isinstance(data, LineMap)
    assert data["value"] == value and type(data["value"]) is type(value)
    if flagged is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].line == 2
        assert f"'{written}' is unquoted" in problems[0].message
        assert f"({flagged})" in problems[0].message


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ('"\\e[2J"', "U+001B"),  # clear screen
        ('"\\e]52;c;ZXZpbA==\\a"', "U+001B"),  # OSC 52 clipboard write
        ('"\\x9b31m"', "U+009B"),  # C1 CSI
        ('"a\\rb"', "U+000D"),
        ('"\\u202eevil"', "U+202E"),  # right-to-left override
        ('"\\0"', "U+0000"),
        ('"\\N"', "U+0085"),  # next line, a C1 control
    ],
)
def test_control_characters_are_refused_however_written(tmp_path: Path, written: str, code: str) -> None:
    _, problems = _load(tmp_path, f"a: 1\nb: {written}\n")
    assert [(p.line, p.message) for p in problems] == [(2, f"control character {code} is not allowed in text")]


def test_tabs_newlines_and_windows_line_ends_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b'a: "x\\ty"\r\nb: |\r\n  two\r\n  lines\r\n')
    problems: list[Problem] = []
    data, stop = load_yaml(path, problems)
    assert stop is None and problems == []
    assert data == {"a": "x\ty", "b": "two\nlines\n"}


def test_without_a_problem_list_the_first_note_stops_loading(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 010\n", encoding="utf-8")
    data, stop = load_yaml(path)
    assert data is None and stop is not None and stop.line == 1


def test_lines_and_duplicate_keys_are_kept(tmp_path: Path) -> None:
    data, problems = _load(tmp_path, "a: 1\nb:\n  c: 2\n")
    assert isinstance(data, LineMap) and data.line_of("b") == 2 and data["b"].line_of("c") == 3
    _, problems = _load(tmp_path, "a: 1\na: 2\n")
    assert [(p.line, p.message) for p in problems] == [(2, "malformed YAML: duplicate key 'a'")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert load_yaml(fifo)[1] == Problem(str(fifo), None, "not a regular file (a FIFO, device or socket)")
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    assert load_yaml(zero)[1] == Problem(str(zero), None, "not a regular file (a FIFO, device or socket)")
    assert load_yaml(tmp_path)[1] == Problem(str(tmp_path), None, "not a regular file (a folder)")


def test_files_over_the_size_cap_are_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    problem = load_yaml(big)[1]
    assert problem is not None and problem.message.startswith("file too large")
    exact = tmp_path / "exact.yaml"
    exact.write_bytes(b"a: 1\n" + b" " * (MAX_BYTES - 5))
    assert load_yaml(exact) == ({"a": 1}, None)


@given(st.text())
def test_control_character_finds_exactly_the_refused_ones(text: str) -> None:
    refused = [ch for ch in text if (ord(ch) < 32 and ch not in "\t\n") or 0x7F <= ord(ch) <= 0x9F]
    refused += [ch for ch in text if 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069]
    found = control_character(text)
    assert (found is None) == (not refused)
