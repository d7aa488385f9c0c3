"""The command line through click's CliRunner: output, JSON shapes and error handling."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from snri_quiz import __version__
from snri_quiz.cli import cli
from snri_quiz.content import load_content
from snri_quiz.facts import split_ref
from snri_quiz.generate import Content

from .conftest import needs_current_lock


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"snri-quiz, version {__version__}"
    for command in ("check", "facts", "sources", "export", "build", "play", "stats"):
        code, out, _ = run(command, "--help")
        assert code == 0 and "\n  Example:\n    snri-quiz " in out, command


def test_no_command_prints_the_help() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "snri_quiz"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("Usage: snri-quiz") and done.stderr == ""


def test_facts_takes_no_templates_option() -> None:
    code, _, err = run("facts", "--templates", "templates")
    assert code == 2 and "No such option '--templates'" in err


def test_check_counts_everything(content: Content) -> None:
    code, out, err = run("check")
    assert code == 0, err
    assert "valid" in out.splitlines()[0]
    assert re.search(r"drugs\s+5\n", out)
    assert re.search(rf"facts\s+{len(content.deck.facts)}\n", out)
    primary = sum(s.primary for s in content.deck.sources.values())
    context = len(content.deck.sources) - primary
    assert re.search(rf"sources\s+{len(content.deck.sources)} \({primary} primary, {context} context\)\n", out)
    assert re.search(rf"questions\s+{len(content.bank)} \(mcq \d+, tf \d+, cloze \d+, typed \d+, vignette \d+\)", out)
    assert "facts no question uses: none" in out


def test_check_lists_unused_facts(deck_copy: Path) -> None:
    path = deck_copy / "drugs" / "duloxetine.yaml"
    path.write_text(
        path.read_text()
        + """  - id: extra-contraindication
    attribute: contraindications
    value: something no template asks about (no answer field)
    sources: [label-cymbalta#4]
"""
    )
    code, out, _ = run("check", "--deck", str(deck_copy))
    assert code == 0
    assert "facts no question uses: 1" in out
    assert "duloxetine.extra-contraindication" in out


def test_facts_json_records(content: Content) -> None:
    code, out, _ = run("facts", "--json")
    assert code == 0
    records = json.loads(out)
    assert len(records) == len(content.deck.facts)
    subjects = {d.subject for d in content.deck.drugs} | {content.deck.class_subject}
    for record in records:
        assert {"id", "subject", "attribute", "value", "sources"} <= set(record)
        assert set(record) <= {"id", "subject", "attribute", "value", "aliases", "uncertain", "confidence", "sources"}
        assert record["subject"] in subjects
        assert re.fullmatch(r"[a-z][a-z0-9_]*", record["attribute"])
        assert isinstance(record["value"], (str, int))
        assert record["sources"] and all(split_ref(s)[0] in content.deck.sources for s in record["sources"])
    by_id = {r["id"]: r for r in records}
    assert by_id["milnacipran.first-approval"]["value"] == "2009-01-14"
    assert by_id["venlafaxine.first-approval"]["value"] == "1993"
    assert by_id["duloxetine.maoi-washout"]["value"] == 5
    assert {r["value"] for r in records if r["attribute"] == "brand_names_us" and r["subject"] == "duloxetine"} == {
        "Cymbalta",
        "Drizalma Sprinkle",
    }


def test_facts_table_for_one_drug() -> None:
    code, out, _ = run("facts", "--drug", "Duloxetine")
    assert code == 0
    assert out.startswith("Duloxetine (")
    assert "brand_names_us" in out and "Cymbalta" in out and "Savella" not in out
    code, _, err = run("facts", "--drug", "prozac")
    assert code == 2 and err.startswith("Error: unknown drug 'prozac'")


def test_export_json_shape_and_determinism(tmp_path: Path) -> None:
    code, out, _ = run("export", "--format", "json", "--count", "25", "--seed", "4")
    assert code == 0
    items = json.loads(out)
    assert len(items) == 25
    keys = {
        "id",
        "kind",
        "topic",
        "subject",
        "prompt",
        "options",
        "answer",
        "answer_index",
        "accepted",
        "explanation",
        "sources",
        "level",
        "difficulty",
        "rationales",
    }
    for item in items:
        assert set(item) == (keys | {"clues", "option_refs"} if item["kind"] == "vignette" else keys)
        if item["kind"] in ("mcq", "tf", "vignette"):
            assert item["options"][item["answer_index"]] == item["answer"]
        else:
            assert item["options"] == [] and item["answer_index"] is None and item["answer"] in item["accepted"]
    target = tmp_path / "set.json"
    code, _, err = run("export", "--format", "json", "--count", "25", "--seed", "4", "-o", str(target))
    assert code == 0 and "Wrote 25 questions" in err
    assert target.read_text() == out


def test_export_filters() -> None:
    code, out, _ = run("export", "--mode", "typed", "--topic", "brand_names", "--drug", "milnacipran")
    items = json.loads(out)
    assert items and all(i["kind"] in ("typed", "cloze") and i["topic"] == "brand_names" for i in items)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--deck", "/nonexistent-deck"], "/nonexistent-deck: deck folder not found"),
        (["check", "--templates", "/nonexistent-templates"], "/nonexistent-templates: templates folder not found"),
        (["export", "--count", "100000"], "Error: --count 100000 is more than the"),
        (["export", "--topic", "nope"], "Error: unknown topic 'nope' (choose from mechanism,"),
        (["export", "--count", "0"], "Error: --count must be at least 1"),
    ],
)
def test_bad_input_one_line_exit_2(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def test_export_to_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run("export", "--count", "3", "-o", str(blocker / "sub" / "out.json"))
    assert code == 2
    assert err == f"Error: cannot write {blocker / 'sub' / 'out.json'}: folder {blocker / 'sub'} does not exist\n"
    assert blocker.read_text() == "x"


@needs_current_lock
@pytest.mark.slow  # three full builds
def test_build_lists_questions_removed_since_the_last_build(deck_copy: Path, tmp_path: Path) -> None:
    code, first, err = run("build", "--deck", str(deck_copy), "-o", str(tmp_path / "a"))
    assert code == 0, err
    assert "Since the last build" not in first
    before = {q.id for q in load_content(deck_copy).bank}
    path = deck_copy / "drugs" / "levomilnacipran.yaml"
    text = path.read_text()
    start = text.index("  - id: cyp3a4-inhibitors")
    end = text.index("  - id: hepatic-dosing")
    path.write_text(text[:start] + text[end:])
    gone = sorted(before - {q.id for q in load_content(deck_copy).bank})
    assert gone
    code, second, err = run("build", "--deck", str(deck_copy), "-o", str(tmp_path / "b"))
    assert code == 0, err
    assert f", {len(gone)} retired (recorded in {deck_copy / 'CHANGELOG.md'})" in second
    assert all(f"\n  retired  {qid}\n" in second for qid in gone)
    code, third, _ = run("build", "--deck", str(deck_copy), "-o", str(tmp_path / "c"))
    assert "Since the last build" not in third


def test_export_level_selects_by_level(content: Content) -> None:
    code, out, err = run("export", "--format", "json", "--level", "understanding")
    assert code == 0, err
    items = json.loads(out)
    understanding = [q for q in content.bank if q.level == "understanding"]
    assert len(items) == len(understanding) > 100
    assert {i["level"] for i in items} == {"understanding"} and "tf" in {i["kind"] for i in items}
    code, out, _ = run("export", "--format", "json", "--level", "understanding", "--level", "recall")
    application = [q for q in content.bank if q.level == "application"]
    assert len(json.loads(out)) == len(content.bank) - len(application) and len(application) >= 60
    code, _, err = run("export", "--level", "expert")
    assert code == 2 and "Invalid value for '--level'" in err


def test_mode_and_level_choices_come_from_the_enums() -> None:
    from snri_quiz.kinds import Level, Mode

    _, out, _ = run("play", "--help")
    assert "[" + "|".join(m.value for m in Mode) + "]" in out
    assert "[" + "|".join(v.value for v in Level) + "]" in out


def test_play_passes_one_selection_to_the_quiz(monkeypatch: pytest.MonkeyPatch) -> None:
    """As MkDocs' CLI tests do: the command function is replaced, the options must arrive as one value."""
    from snri_quiz import play
    from snri_quiz.kinds import Level, Mode
    from snri_quiz.selection import Selection

    seen: list[tuple[Selection, dict[str, object]]] = []

    def fake_quiz(content: Content, selection: Selection, **options: object) -> int:
        seen.append((selection, options))
        return 0

    monkeypatch.setattr(play, "quiz", fake_quiz)
    code, _, err = run(
        "play", "--mode", "tf", "--level", "understanding", "--topic", "dosing", "--drug", "duloxetine", "--cram"
    )
    assert code == 0, err
    [(selection, options)] = seen
    assert selection == Selection(
        mode=Mode.TF, topics=("dosing",), drugs=("duloxetine",), levels=(Level.UNDERSTANDING,), count=10
    )
    assert options == {"cram": True, "again": True, "full_sources": False, "as_json": False}
    code, _, err = run("play", "--id", "qx", "--seed", "3")
    assert code == 2 and err == "Error: --id and --seed cannot be used together\n"


def test_help_examples_work_when_pasted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check --help` from any folder; the scripted `play --help` example answers every question it asks."""
    import shlex

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SNRI_QUIZ_HOME", str(tmp_path / "home"))
    _, out, _ = run("check", "--help")
    examples = [line.strip() for line in out.split("Example:")[1].split("Options:")[0].splitlines() if line.strip()]
    assert examples
    for example in examples:
        code, _, err = run(*shlex.split(example)[1:])
        assert code == 0, (example, err)
    _, out, _ = run("play", "--help")
    [piped] = [line.strip() for line in out.splitlines() if line.strip().startswith("printf ")]
    printed, command = piped.split(" | ")
    answers = shlex.split(printed)[1].replace("\\n", "\n")
    result = CliRunner().invoke(cli, shlex.split(command)[1:], input=answers)
    assert result.exit_code == 0, result.stderr
    asked = result.stdout.count("\nQuestion ")
    assert asked == answers.count("\n") == 2
    assert "Stopped" not in result.stdout and "Answer t or f" not in result.stdout
    assert "Answer with a letter" not in result.stdout


def test_a_write_that_fails_part_way_is_exit_1_and_leaves_nothing(tmp_path: Path) -> None:
    """A runtime failure (here: the file size limit, as a full disk would) is status 1; a bad -o is 2."""
    import resource
    import signal
    import subprocess
    import sys

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    target = tmp_path / "all.json"
    done = subprocess.run(
        [sys.executable, "-m", "snri_quiz", "export", "--format", "json", "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"Error: cannot write {target}: File too large\n"
    assert list(tmp_path.iterdir()) == []
    code, _, err = run("export", "-o", str(tmp_path / "missing" / "all.json"))
    assert code == 2 and "folder" in err and "does not exist" in err


def test_export_passes_one_job_and_one_selection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from snri_quiz import dispatch
    from snri_quiz.kinds import ExportFormat, KeyPlacement, Level, Mode
    from snri_quiz.selection import Selection

    seen: list[tuple[dispatch.ExportJob, Selection]] = []

    def fake_run(job: dispatch.ExportJob, content: Content, selection: Selection) -> str:
        seen.append((job, selection))
        return "done"

    monkeypatch.setattr(dispatch, "run", fake_run)
    target = tmp_path / "exam.md"
    code, _, err = run(
        "export", "--format", "md", "--level", "recall", "--mode", "mcq", "--count", "4", "--seed", "7",
        "--forms", "2", "-o", str(target),
    )  # fmt: skip
    assert code == 0 and err == "done\n"
    [(job, selection)] = seen
    assert job == dispatch.ExportJob(ExportFormat.MD, target, forms=2, key=KeyPlacement.SEPARATE)
    assert job.key_path == tmp_path / "exam-key.md"
    assert selection == Selection(mode=Mode.MCQ, levels=(Level.RECALL,), seed=7, count=4)
    code, _, err = run("export", "--format", "md")  # one stream: the key is appended
    assert seen[-1][0].key == KeyPlacement.APPENDED and seen[-1][0].output is None


def test_build_takes_the_shared_selection(deck_copy: Path, tmp_path: Path, content: Content) -> None:
    """`build --level application` writes the vignettes only, and a partial build retires nothing."""
    lock = (deck_copy / "anki-lock.json").read_text()
    code, out, err = run("build", "--deck", str(deck_copy), "--level", "application", "-o", str(tmp_path / "v"))
    assert code == 0, err
    vignettes = [q for q in content.bank if q.level == "application"]
    assert f"({len(vignettes)} notes, {len(vignettes)} cards)" in out
    assert "retired" not in out and (deck_copy / "anki-lock.json").read_text() == lock
    code, out, err = run("build", "--deck", str(deck_copy), "--mode", "tf", "-o", str(tmp_path / "t"))
    assert code == 0 and f"({sum(q.kind == 'tf' for q in content.bank)} notes" in out
    code, _, err = run("build", "--seed", "3")
    assert code == 2 and "No such option" in err
