"""`snri-quiz play`, driven as a learner would: scripted through a pipe, and through a real
pseudo-terminal (pexpect). Progress lives in a real SQLite file under $SNRI_QUIZ_HOME."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from snri_quiz.kinds import QuestionKind
from snri_quiz.questions import LETTERS


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return {**env, "SNRI_QUIZ_HOME": str(home), "COLUMNS": "100", **extra}


def cli(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snri_quiz", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env_for(home),
        timeout=60,
    )


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    """snri-quiz running in the background, with pipes for all three streams."""
    return subprocess.Popen(
        [sys.executable, "-m", "snri_quiz", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(home),
    )


def exported(home: Path, *args: str) -> list[dict[str, Any]]:
    done = cli(home, "export", "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def right(q: dict[str, Any]) -> str:
    if QuestionKind(q["kind"]).lettered:
        return LETTERS[q["answer_index"]]
    if q["kind"] == "tf":
        return q["answer"][0].lower()
    return q["answer"]


def wrong(q: dict[str, Any]) -> str:
    if QuestionKind(q["kind"]).lettered:
        return LETTERS[(q["answer_index"] + 1) % len(q["options"])]
    if q["kind"] == "tf":
        return "f" if q["answer"] == "True" else "t"
    return "zzzz"


def stats(home: Path) -> dict[str, Any]:
    done = cli(home, "stats", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_scripted_session_matches_export_and_scores(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "3", "--count", "6")
    answers = [right(q) if i % 2 == 0 else wrong(q) for i, q in enumerate(questions)]
    done = cli(tmp_path, "play", "--seed", "3", "--count", "6", stdin="\n".join(answers) + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    positions = [out.index(q["prompt"]) for q in questions]
    assert positions == sorted(positions), "same questions in the same order as export"
    for q in questions:
        if q["kind"] == "mcq":
            assert "\n".join(f"  {LETTERS[i]}) {o}" for i, o in enumerate(q["options"])) in out
    assert out.splitlines()[-1] == "Score: 3/6 (50%)"
    assert out.count("Correct.") == 3 and out.count("Wrong.") == 3
    assert "By topic:" in out and "Missed:" in out
    assert "Source: " in out
    assert "\x1b[" not in out, "plain text when output is not a terminal"
    assert stats(tmp_path)["answered"] == 6


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_json_result(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "8", "--count", "3")
    done = cli(
        tmp_path, "play", "--seed", "8", "--count", "3", "--json", stdin="\n".join(right(q) for q in questions) + "\n"
    )
    result = json.loads(done.stdout)
    assert result["score"] == 3 and result["asked"] == 3 and result["percent"] == 100
    assert [a["id"] for a in result["answers"]] == [q["id"] for q in questions]


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_skip_undo_quit_and_help(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "5", "--count", "4")
    script = [
        "?",
        wrong(questions[0]),
        "u",
        right(questions[0]),
        "s",
        "u",
        "s",
        "nonsense" if questions[2]["kind"] in ("mcq", "tf") else "s",  # typed and cloze accept any text
        "q",
    ]
    done = cli(tmp_path, "play", "--seed", "5", "--count", "4", stdin="\n".join(script) + "\n")
    out = done.stdout
    assert done.returncode == 0
    assert "Keys:" in out
    assert out.count("Undone: question 1 will be asked again.") == 1
    assert out.count("Undone: question 2 will be asked again.") == 1
    assert "Stopped (quit)" in out
    lines = out.splitlines()
    assert lines[-1].startswith("Score: 1/")
    history = stats(tmp_path)
    assert history["answered"] == 1 and history["correct"] == 1  # the undone wrong answer is gone


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_grading_of_typed_answers_in_a_session(tmp_path: Path) -> None:
    options = ("--mode", "typed", "--topic", "brand_names", "--drug", "venlafaxine", "--seed", "1")
    questions = exported(tmp_path, *options)
    q = next(q for q in questions if q["prompt"].startswith("Effexor XR is a US brand of which SNRI?"))
    skips = ["s"] * questions.index(q)
    for response, expected in [
        ("desvenlafaxine", "Wrong. ('desvenlafaxine' is a different drug)"),
        ("venlafaxin", "Accepted with a typo: you typed 'venlafaxin', the answer is 'Venlafaxine'."),
    ]:
        script = "\n".join([*skips, response, "q"]) + "\n"
        done = cli(tmp_path, "play", *options, "--count", str(len(questions)), stdin=script)
        assert expected in done.stdout


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_end_of_input_keeps_answers_and_prints_partial_score(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "2", "--count", "5")
    done = cli(tmp_path, "play", "--seed", "2", "--count", "5", stdin=f"{right(questions[0])}\n")
    assert done.returncode == 0
    assert "Traceback" not in done.stderr
    assert "Stopped (end of input) after 1 of 5 questions." in done.stdout
    assert done.stdout.splitlines()[-1] == "Score: 1/1 (100%)"
    assert stats(tmp_path)["answered"] == 1


def test_sigterm_mid_quiz(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "2", "--count", "5")
    proc = start(tmp_path, "play", "--seed", "2", "--count", "5")
    assert proc.stdin is not None
    proc.stdin.write(right(questions[0]) + "\n")
    proc.stdin.flush()
    deadline = time.time() + 20
    while stats(tmp_path)["answered"] < 1 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert "Traceback" not in err
    assert "Stopped (terminated)" in out and out.splitlines()[-1] == "Score: 1/1 (100%)"
    assert stats(tmp_path)["answered"] == 1


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_progress_persists_and_due_questions_come_first(tmp_path: Path) -> None:
    first = json.loads(cli(tmp_path, "play", "--count", "3", "--json", stdin="s\ns\ns\n").stdout)
    asked_first = [a["id"] for a in first["answers"]]

    def wrongly(a: dict[str, Any]) -> str:
        if a["kind"] == "mcq":
            return "B" if a["answer"].startswith("A)") else "A"
        return {"True": "f", "False": "t"}.get(a["answer"], "zzzz")

    # answer the three new questions wrongly
    done = cli(tmp_path, "play", "--count", "3", "--json", stdin="\n".join(map(wrongly, first["answers"])) + "\n")
    result = json.loads(done.stdout)
    answered = [a["id"] for a in result["answers"] if not a["skipped"]]
    assert asked_first == [a["id"] for a in result["answers"]], "new questions come in a fixed order"
    # let time pass: make one of them due an hour ago, the others tomorrow
    db = sqlite3.connect(tmp_path / "progress.db")
    with db:
        db.execute("UPDATE cards SET due = '2000-01-01T00:00:00+00:00' WHERE question_id = ?", (answered[-1],))
        db.execute("UPDATE cards SET due = '2999-01-01T00:00:00+00:00' WHERE question_id != ?", (answered[-1],))
    db.close()
    again = json.loads(cli(tmp_path, "play", "--count", "3", "--json", stdin="q\n").stdout)
    assert stats(tmp_path)["answered"] == len(answered)
    nxt = cli(tmp_path, "play", "--count", "2", "--json", stdin="s\ns\n")
    order = [a["id"] for a in json.loads(nxt.stdout)["answers"]]
    assert order[0] == answered[-1], "the due question comes first"
    assert order[1] not in answered, "then new ones"
    assert again["asked"] == 0


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_cram_does_not_touch_the_schedule(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "4", "--count", "3")
    cli(tmp_path, "play", "--seed", "4", "--count", "3", "--cram", stdin="\n".join(right(q) for q in questions) + "\n")
    db = sqlite3.connect(tmp_path / "progress.db")
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == 3
    db.close()
    cli(tmp_path, "play", "--seed", "4", "--count", "3", stdin="\n".join(right(q) for q in questions) + "\n")
    db = sqlite3.connect(tmp_path / "progress.db")
    ratings = [r[0] for r in db.execute("SELECT rating FROM answers ORDER BY id")]
    assert ratings[:3] == [None] * 3 and ratings[3:] == [3, 3, 3]
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 3
    db.close()


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_two_quizzes_at_once_keep_all_answers(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "9", "--count", "40")
    script = "\n".join(right(q) for q in questions) + "\n"
    procs = [start(tmp_path, "play", "--seed", "9", "--count", "40") for _ in range(2)]
    outputs = [p.communicate(script, timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.splitlines()[-1] == "Score: 40/40 (100%)"
    assert stats(tmp_path)["answered"] == 80
    assert stats(tmp_path)["sessions"] == 2


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b""])
def test_damaged_progress_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "progress.db"
    if content:
        path.write_bytes(content)
        done = cli(tmp_path, "play", "--count", "1", stdin="q\n")
        assert done.returncode == 2
        assert done.stderr.startswith(f"Error: progress file {path} is damaged or not an snri-quiz progress file")
        assert f"mv '{path}' '{path}.old'" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert path.read_bytes() == content, "never overwritten"
    else:
        other = sqlite3.connect(path)
        other.execute("CREATE TABLE t (x)")
        other.commit()
        other.close()
        before = path.read_bytes()
        done = cli(tmp_path, "stats")
        assert done.returncode == 2 and "belongs to another program" in done.stderr
        assert path.read_bytes() == before


def test_stats_text(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "6", "--count", "4")
    cli(
        tmp_path,
        "play",
        "--seed",
        "6",
        "--count",
        "4",
        stdin="\n".join([right(questions[0]), wrong(questions[1]), right(questions[2]), wrong(questions[3])]) + "\n",
    )
    done = cli(tmp_path, "stats")
    lines = done.stdout.splitlines()
    assert lines[0] == "Sessions:   1"
    assert lines[1] == "Answered:   4 (50% correct)"
    assert "By topic:" in lines and "By drug:" in lines and "Weakest facts:" in lines
    data = stats(tmp_path)
    assert data["answered"] == 4 and data["correct"] == 2
    assert sum(v["answered"] for v in data["by_topic"].values()) == 4
    assert len(data["weakest_facts"]) >= 1


# -- a real pseudo-terminal --------------------------------------------------------------


def spawn(home: Path, *args: str, color: bool = False) -> pexpect.spawn:
    extra = {} if color else {"NO_COLOR": "1"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "snri_quiz", "play", *args],
        env=env_for(home, **extra),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 120),
    )
    return child


def test_pty_session_with_undo_and_ctrl_c(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "7", "--count", "3")
    child = spawn(tmp_path, "--seed", "7", "--count", "3")
    child.expect_exact("Question 1/3")
    child.expect_exact("> ")
    child.sendline("?")
    child.expect_exact("Keys:")
    child.sendline(wrong(questions[0]))
    child.expect_exact("Wrong.")
    child.expect_exact("(Enter to go on")  # a wrong answer's feedback stays until Enter
    assert "Question 2/3" not in (child.before or "")
    child.sendline("")
    child.expect_exact("Question 2/3")
    child.sendline("u")
    child.expect_exact("Undone: question 1 will be asked again.")
    child.expect_exact("Question 1/3")
    child.sendline(right(questions[0]))
    child.expect_exact("Correct.")
    child.expect_exact("Question 2/3")
    child.expect_exact("> ")
    child.sendintr()
    child.expect_exact("Stopped (interrupted) after 1 of 3 questions.")
    child.expect_exact("Score: 1/1 (100%)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    assert stats(tmp_path)["answered"] == 1


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_pty_uses_colour_unless_no_color(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "7", "--count", "1")
    child = spawn(tmp_path, "--seed", "7", "--count", "1", color=True)
    child.expect_exact("> ")
    assert "\x1b[" in (child.before or "")
    child.sendline(right(questions[0]))
    child.expect_exact("Score: 1/1 (100%)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    plain = spawn(tmp_path, "--seed", "7", "--count", "1")
    plain.expect_exact("> ")
    assert "\x1b[" not in (plain.before or "")
    plain.sendline("q")
    plain.expect(pexpect.EOF)
    plain.close()


@pytest.mark.slow  # the feedback is covered in-process by test_session.py
def test_pty_feedback_ticks_the_right_options_rationale(tmp_path: Path) -> None:
    (q,) = exported(tmp_path, "--seed", "7", "--count", "1", "--mode", "mcq")
    child = spawn(tmp_path, "--seed", "7", "--count", "1", "--mode", "mcq", "--no-again", color=True)
    child.expect_exact("> ")
    child.sendline(wrong(q))
    child.expect_exact("Wrong.")
    first = (q["answer_index"] + 1) % len(q["options"])
    for i in sorted((first, q["answer_index"])):  # every option's rationale, in letter order, the right one ticked
        mark = "\u2713 " if i == q["answer_index"] else "  "
        child.expect_exact(f"{mark}{LETTERS[i]}. {q['rationales'][i][:20]}")
    child.expect_exact("(Enter to go on")
    child.sendline("")
    child.expect_exact("Score: 0/1 (0%)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def _cli_bytes(home: Path, *args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "snri_quiz", *args], input=stdin, capture_output=True, env=env_for(home), timeout=60
    )


def test_invalid_utf8_and_escape_sequences_at_the_prompt(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "4", "--count", "1")
    hostile = b"\xff\xfe\n" + b"\x1b]52;c;aGVsbG8=\x07\n" + b"\x1b[2J\n" + b"x" * 600 + b"\n"
    done = _cli_bytes(
        tmp_path, "play", "--seed", "4", "--count", "1", stdin=hostile + right(questions[0]).encode() + b"\n"
    )
    out = done.stdout.decode()
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert "not valid UTF-8" in out and out.count("Control characters are not allowed") == 2
    assert "at most 500 characters" in out
    assert "\x1b" not in out, "an escape sequence typed at the prompt is never echoed raw"
    assert "\\x1b]52" in out  # shown as visible text instead
    assert out.splitlines()[-1] == "Score: 1/1 (100%)"


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_play_by_id_and_override_in_scripted_mode(tmp_path: Path) -> None:
    typed = exported(tmp_path, "--mode", "typed", "--seed", "1", "--count", "3")
    first, second = typed[1], typed[0]
    script = f"not the answer at all\n!\n{right(second)}\n"
    done = cli(tmp_path, "play", "--id", first["id"], "--id", second["id"], stdin=script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.index(first["prompt"]) < out.index(second["prompt"])
    assert "Counted as right; the question is flagged for the author's review." in out
    assert out.splitlines()[-1] == "Score: 2/2 (100%)"
    data = stats(tmp_path)
    assert [d["question"] for d in data["disputed"]] == [first["id"]]
    bad = cli(tmp_path, "play", "--id", "qnope")
    assert bad.returncode == 2 and bad.stderr.startswith("Error: unknown question id 'qnope'")


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_missed_questions_come_back_and_the_score_counts_first_attempts(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "9", "--count", "2", "--mode", "mcq")
    script = [wrong(questions[0]), right(questions[1]), right(questions[0])]
    done = cli(tmp_path, "play", "--seed", "9", "--count", "2", "--mode", "mcq", stdin="\n".join(script) + "\n")
    out = done.stdout
    assert "Again: 1 question you missed." in out and "Again 1/1" in out
    assert f"To ask them again: snri-quiz play --id {questions[0]['id']}" in out
    assert out.splitlines()[-1] == "Score: 1/2 (50%)"
    assert stats(tmp_path)["answered"] == 3


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_stats_for_a_new_learner_and_its_json_keys(tmp_path: Path) -> None:
    done = cli(tmp_path, "stats")
    assert done.returncode == 0 and done.stdout == "No answers yet: run snri-quiz play\n"
    data = stats(tmp_path)
    assert data["coverage"]["seen"] == 0 and data["coverage"]["total"] > 100
    assert data["due_forecast"] == [0] * 7 and data["streak_days"] == 0 and data["disputed"] == []
    assert all(v["mastery"] == 0 and v["seen"] == 0 for v in data["topics"].values())


def test_escape_sequences_in_deck_text_never_reach_the_terminal(tmp_path: Path) -> None:
    import shutil

    from snri_quiz.content import bundled_deck, bundled_templates

    deck = tmp_path / "deck"
    shutil.copytree(bundled_deck(), deck)
    path = deck / "drugs" / "duloxetine.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("value: Cymbalta\n", 'value: "Cymbalta\\e]0;pwned\\a\\e[2J"\n', 1), encoding="utf-8")
    for args in (["facts", "--deck", str(deck), "--drug", "duloxetine"], ["stats", "--deck", str(deck)]):
        done = (
            cli(tmp_path, *args, "--templates", str(bundled_templates()))
            if args[0] == "stats"
            else cli(tmp_path, *args)
        )
        assert "\x1b" not in done.stdout + done.stderr, args
        assert "Traceback" not in done.stderr


@pytest.mark.slow  # the loop is covered in-process by test_session.py
def test_stats_in_a_terminal_draws_bars(tmp_path: Path) -> None:
    questions = exported(tmp_path, "--seed", "3", "--count", "2")
    cli(tmp_path, "play", "--seed", "3", "--count", "2", stdin="\n".join(right(q) for q in questions) + "\n")
    child = pexpect.spawn(
        sys.executable, ["-m", "snri_quiz", "stats"], env=env_for(tmp_path), encoding="utf-8", timeout=20
    )
    child.expect(pexpect.EOF)
    out = child.before or ""
    assert "Mastery by topic:" in out and "Due in the next 7 days:" in out
    assert "█" in out, "bars in a terminal"
    plain = cli(tmp_path, "stats").stdout
    assert "█" not in plain and "Mastery by topic:" in plain, "numbers only when not a terminal"
