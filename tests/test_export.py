"""Printable exams and interchange exports, read back with real parsers (pypdf, ElementTree, csv)."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from snri_quiz.cli import cli
from snri_quiz.content import load_content
from snri_quiz.export import (
    TEXT,
    exam_data,
    gift_escape,
    make_forms,
    to_anki_text,
    to_gift,
    to_html,
    to_json,
    to_markdown,
    to_moodle_xml,
    to_pdf,
    to_quizlet,
)
from snri_quiz.generate import Content
from snri_quiz.kinds import ExportFormat
from snri_quiz.questions import Question
from snri_quiz.selection import select

from .conftest import ROOT, replace_in
from .samples import vignette


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def squash(text: str) -> str:
    return " ".join(text.split())


def exported(*args: str) -> list[dict]:  # type: ignore[type-arg]
    code, out, err = run("export", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def _pages(path: Path) -> list[str]:
    return [squash(page.extract_text()) for page in PdfReader(path).pages]


def test_pdf_has_every_question_and_key_entry_for_every_form(tmp_path: Path, content: Content) -> None:
    target = tmp_path / "exam.pdf"
    code, _, err = run("export", "--format", "pdf", "--forms", "2", "--count", "20", "--seed", "3", "-o", str(target))
    assert code == 0, err
    key_file = tmp_path / "exam-key.pdf"
    assert err == f"Wrote 20 questions (2 forms) to {target} and {key_file}\n"
    pages, key_pages = _pages(target), _pages(key_file)
    text, key_text = " ".join(pages), " ".join(key_pages)
    seeded = load_content(seed=3)
    chosen = select(seeded.bank, seeded.deck, seed=3, count=20)
    forms = make_forms(chosen, 2, 3)
    data = exam_data(seeded.deck, forms, "SNRIs question set")
    assert "Grading grid" not in text and "Rationales" not in text  # the paper hands out no answers
    for form in data["forms"]:
        paper_start = text.index(f"SNRIs question set: Form {form['letter']}")
        for q in form["questions"]:
            assert squash(f"{q['n']}. {q['prompt']}")[:60] in text[paper_start:], q["prompt"]
            for option in q["options"]:
                assert squash(option) in text[paper_start:]
        grid = next(page for page in key_pages if page.startswith(f"Grading grid: Form {form['letter']}"))
        rows = re.findall(
            r"(\d+) (.+?) 1(?= \d+ | SNRIs question set, answer key)", grid.split("No. Answer Pts ", 1)[1]
        )
        assert [(int(n), answer) for n, answer in rows] == [(e["n"], squash(e["short"])) for e in form["key"]]
    for rationale in data["rationales"]:
        numbers = " · ".join(f"{x['form']}{x['n']}" for x in rationale["numbers"])
        assert squash(f"{numbers} {rationale['answer']}") in key_text, rationale["answer"]
    assert "References" in key_text and "http" not in key_text  # titles and sites, not raw URLs
    assert "Name:" in pages[0] and "Date:" in pages[0] and "Answer all 20 questions" in pages[0]


def test_pdf_pages_are_numbered_per_form_and_each_form_starts_a_page(tmp_path: Path) -> None:
    target = tmp_path / "exam.pdf"
    code, _, err = run("export", "--format", "pdf", "--forms", "3", "--count", "30", "-o", str(target))
    assert code == 0, err
    pages = _pages(target)
    footers = [re.search(r"SNRIs question set, (Form [A-Z]), page (\d+) of (\d+)$", page) for page in pages]
    assert all(footers), pages
    seen = [(m.group(1), int(m.group(2)), int(m.group(3))) for m in footers if m]
    for letter in "ABC":
        mine = [(n, total) for form, n, total in seen if form == f"Form {letter}"]
        assert [n for n, _ in mine] == list(range(1, len(mine) + 1)) and {t for _, t in mine} == {len(mine)}
        first = pages[seen.index((f"Form {letter}", 1, len(mine)))]
        assert first.startswith(f"SNRIs question set: Form {letter}")
    assert [form for form, _, _ in seen] == sorted(form for form, _, _ in seen)
    key_pages = _pages(tmp_path / "exam-key.pdf")
    for letter, page in zip("ABC", key_pages, strict=False):
        assert page.startswith(f"Grading grid: Form {letter} ")  # one page per form
        assert page.endswith(f"answer key, page {'ABC'.index(letter) + 1} of {len(key_pages)}")
    assert key_pages[3].startswith("Rationales")


def test_points_and_appended_key(tmp_path: Path) -> None:
    target = tmp_path / "exam.pdf"
    code, _, err = run(
        "export", "--format", "pdf", "--count", "4", "--points", "2.5", "--key", "appended", "-o", str(target)
    )
    assert code == 0, err
    assert not (tmp_path / "exam-key.pdf").exists()
    pages = _pages(target)
    assert "each is worth 2.5 points (total 10)" in pages[0] and pages[0].count("2.5 pts") == 4
    grid = next(i for i, page in enumerate(pages) if page.startswith("Grading grid: Form A"))
    assert pages[grid].endswith("answer key, page 1 of " + str(len(pages) - grid))
    assert pages[grid - 1].endswith("Form A, page 1 of 1")


def test_forms_hold_the_same_questions_in_different_orders(content: Content) -> None:
    chosen = select(content.bank, content.deck, seed=2, count=15)
    a, b = make_forms(chosen, 2, 2)
    assert a.questions == tuple(chosen)
    assert sorted(q.id for q in a.questions) == sorted(q.id for q in b.questions)
    assert [q.id for q in a.questions] != [q.id for q in b.questions]
    by_id = {q.id: q for q in a.questions}
    for q in b.questions:
        assert sorted(q.options) == sorted(by_id[q.id].options)
        assert q.options[q.answer_index] == q.answer if q.answer_index is not None else True
    assert any(q.options != by_id[q.id].options for q in b.questions if q.kind == "mcq")


def test_pdf_is_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    for name in ("a.pdf", "b.pdf"):
        assert run("export", "--format", "pdf", "--count", "8", "--seed", "1", "-o", str(tmp_path / name))[0] == 0
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_key_goes_to_its_own_file_by_default(tmp_path: Path) -> None:
    target = tmp_path / "paper.pdf"
    code, _, err = run("export", "--format", "pdf", "--count", "5", "-o", str(target))
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper-key.pdf", "paper.pdf"]
    paper = " ".join(_pages(target))
    key = " ".join(_pages(tmp_path / "paper-key.pdf"))
    assert "Grading grid" not in paper and "Rationales" not in paper and "Form A" in paper
    assert key.startswith("Grading grid: Form A") and "Rationales" in key and "Name:" not in key
    code, _, err = run("export", "--format", "html", "--count", "5", "-o", str(tmp_path / "exam.html"))
    assert code == 0 and err.endswith(f"to {tmp_path / 'exam.html'} and {tmp_path / 'exam-key.html'}\n")
    # standard output is one stream: the key follows the questions unless asked otherwise
    code, out, _ = run("export", "--format", "md", "--count", "5")
    assert code == 0 and out.index("# SNRIs question set: Form A") < out.index("# Answer key: Form A")
    code, out, _ = run("export", "--format", "md", "--count", "5", "--key", "none")
    assert "Answer key" not in out and "# SNRIs question set: Form A" in out
    code, _, err = run("export", "--format", "md", "--count", "5", "--key", "separate")
    assert code == 2 and err == "Error: --key separate needs -o FILE\n"


def test_markdown_and_html_layout() -> None:
    code, md, _ = run("export", "--format", "md", "--count", "6", "--seed", "4", "--forms", "2", "--title", "Quiz 1")
    assert code == 0
    assert md.index("# Quiz 1: Form A") < md.index("# Quiz 1: Form B") < md.index("# Answer key: Form A")
    assert "Name: ____" in md
    code, page, _ = run("export", "--format", "html", "--count", "6", "--seed", "4", "--forms", "2")
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert page.count('<section class="form">') == 2 and page.count('<section class="key">') == 1
    assert page.count("<h1>Grading grid: Form ") == 2 and '<meta name="viewport"' in page
    assert re.search(r'<li id="ref-1"><a href="https://[^"]+">', page)  # clickable references
    assert ".lines { flex-wrap: nowrap; }" in page.split("@media print", 1)[1]  # name and date on one line
    assert "counter(pages)" in page and "break-inside: avoid" in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]  # self-contained


def test_html_key_escapes_source_titles(deck_copy: Path) -> None:
    replace_in(
        deck_copy / "sources.yaml",
        "title: Fetzima (levomilnacipran extended-release capsules) US prescribing information\n",
        "title: 'Fetzima <i>label</i> US prescribing information'\n",
    )
    args = ("--deck", str(deck_copy), "--format", "html", "--drug", "levomilnacipran", "--topic", "brand_names")
    code, page, err = run("export", *args)
    assert code == 0, err
    assert "Fetzima &lt;i&gt;label&lt;/i&gt; US" in page and "<i>" not in page
    assert re.search(r'<li id="ref-\d+"><a href="https://dailymed[^"]+">Fetzima &lt;i&gt;', page)


def test_html_escapes_text_from_the_facts(deck_copy: Path) -> None:
    replace_in(
        deck_copy / "drugs" / "duloxetine.yaml",
        "value: Drizalma Sprinkle",
        "value: Drizalma Sprinkle <script>alert('x')</script> & <b>bold</b>",
    )
    code, page, err = run(
        "export",
        "--deck",
        str(deck_copy),
        "--format",
        "html",
        "--drug",
        "duloxetine",
        "--topic",
        "brand_names",
        "--mode",
        "mcq",
    )
    assert code == 0, err
    assert "Drizalma Sprinkle &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    body = page.split("<body>", 1)[1]
    assert "<script" not in body and "<b>bold" not in body


def test_moodle_xml_structure(content: Content) -> None:
    code, out, _ = run("export", "--format", "moodle", "--count", "60", "--seed", "5")
    assert code == 0
    root = ET.fromstring(out)
    assert root.tag == "quiz"
    questions = [q for q in root if q.get("type") != "category"]
    assert len(questions) == 60
    seeded = load_content(seed=5)
    chosen = {q.id: q for q in select(seeded.bank, seeded.deck, seed=5, count=60)}
    types = set()
    for el in questions:
        qtype = el.get("type")
        types.add(qtype)
        source = chosen[el.findtext("idnumber")]
        assert el.findtext("questiontext/text")
        assert el.find("questiontext").get("format") == "html"
        assert el.findtext("generalfeedback/text")
        answers = el.findall("answer")
        if qtype == "multichoice":
            assert el.findtext("single") == "true" and len(answers) == len(source.options) in (4, 5)
            assert [a.get("fraction") for a in answers].count("100") == 1
            right = next(a for a in answers if a.get("fraction") == "100")
            assert right.findtext("text") == html.escape(source.answer, quote=False)
        elif qtype == "truefalse":
            assert {a.findtext("text") for a in answers} == {"true", "false"}
            assert next(a for a in answers if a.get("fraction") == "100").findtext("text") == source.answer.lower()
        else:
            assert qtype == "shortanswer" and {a.findtext("text") for a in answers} == set(source.accepted)
        tags = {t.findtext("text") for t in el.findall("tags/tag")}
        assert tags == {*source.tags, f"level:{source.level}", f"difficulty:{source.difficulty}"}
    assert types == {"multichoice", "truefalse", "shortanswer"}
    assert any(q.findtext("category/text", "").startswith("$course$/SNRIs/") for q in root)


def test_gift_output() -> None:
    code, out, _ = run("export", "--format", "gift", "--count", "30", "--seed", "2")
    assert code == 0
    assert out.startswith("$CATEGORY: $course$/SNRIs/")
    blocks = [b for b in out.split("\n\n") if b.startswith("//")]
    assert len(blocks) == 30
    for block in blocks:
        comments, body = block.split("\n::", 1)
        assert re.fullmatch(
            r"// q[0-9a-f]+ \(.*\)\n// level: (recall|understanding|application), difficulty: [1-5]\n"
            r"// \[tag:level:\1\] \[tag:difficulty:[1-5]\]",
            comments,
        ), comments
        body = "::" + body
        assert body.startswith("::q")
        assert re.search(r"(?<!\\)\{.*(?<!\\)\}$", body, re.S)


def _gift_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@given(st.text())
def test_gift_escaping_survives_hostile_text(text: str) -> None:
    escaped = gift_escape(text)
    assert _gift_unescape(escaped) == " ".join(text.split())
    assert not re.search(r"(?<!\\)(?:\\\\)*[~=#{}:]", re.sub(r"\\[\\~=#{}:]", "", escaped))
    assert "\n" not in escaped


@pytest.mark.parametrize(("fmt", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_anki_text_round_trips_through_csv(fmt: str, delimiter: str, content: Content) -> None:
    code, out, _ = run("export", "--format", fmt, "--count", "40", "--seed", "6")
    assert code == 0
    header = [line for line in out.splitlines() if line.startswith("#")]
    assert header[:2] == [f"#separator:{'Tab' if fmt == 'tsv' else 'Comma'}", "#html:true"]
    assert "#guid column:1" in header and "#tags column:4" in header
    rows = list(csv.reader(io.StringIO(out.split("#tags column:4\n", 1)[1]), delimiter=delimiter))
    seeded = load_content(seed=6)
    chosen = select(seeded.bank, seeded.deck, seed=6, count=40)
    assert [r[0] for r in rows] == [q.id for q in chosen]
    expected = list(
        csv.reader(
            io.StringIO(to_anki_text(content.deck, chosen, delimiter).split("#tags column:4\n")[1]), delimiter=delimiter
        )
    )
    assert rows == expected and all(len(r) == 4 for r in rows)
    for row, q in zip(rows, chosen, strict=True):
        assert row[3].split() == [*q.tags, f"snri::level::{q.level}", f"snri::difficulty::{q.difficulty}"]


def test_quizlet_two_columns() -> None:
    code, out, _ = run("export", "--format", "quizlet", "--count", "25", "--seed", "1")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 25
    assert all(len(line.split("\t")) == 2 and all(line.split("\t")) for line in lines)


def test_same_selection_for_every_format(content: Content) -> None:
    ids = [q["id"] for q in exported("--count", "12", "--seed", "9")]
    _, gift, _ = run("export", "--format", "gift", "--count", "12", "--seed", "9")
    assert re.findall(r"^// (q[0-9a-f]+)", gift, re.M) == ids
    _, tsv, _ = run("export", "--format", "tsv", "--count", "12", "--seed", "9")
    assert [line.split("\t")[0] for line in tsv.splitlines() if not line.startswith("#")] == ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "docx"], "Error: Invalid value for '--format': 'docx' is not one of"),
        (["--format", "pdf", "--forms", "0", "-o", "x.pdf"], "Error: --forms must be at least 1"),
        (["--format", "md", "--count", "9999"], "Error: --count 9999 is more than the"),
        (["--format", "pdf"], "Error: --format pdf needs -o FILE"),
        (["--format", "gift", "--forms", "2"], "Error: --forms applies to pdf, html and md only"),
        (
            ["--format", "pdf", "--forms", "27", "-o", "x.pdf"],
            "Error: --forms 27 is too many: forms are lettered A to Z, so at most 26",
        ),
    ],
)
def test_bad_export_options(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "snri_quiz", "export", *args], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_writes_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    code, _, err = run("export", "--format", "pdf", "--count", "3", "-o", str(blocker / "exam.pdf"))
    assert code == 2 and err == f"Error: cannot write {blocker / 'exam.pdf'}: {blocker} is not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_sample_exam_linked_from_readme_is_current(tmp_path: Path) -> None:
    """examples/sample-exam.pdf is what `export --format pdf --forms 2 --count 20` makes today.
    Regenerate: snri-quiz export --format pdf --forms 2 --count 20 -o examples/sample-exam.pdf"""
    sample = ROOT / "examples" / "sample-exam.pdf"
    if not sample.exists():
        pytest.fail("examples/sample-exam.pdf is missing")
    target = tmp_path / "sample.pdf"
    assert run("export", "--format", "pdf", "--forms", "2", "--count", "20", "-o", str(target))[0] == 0
    assert target.read_bytes() == sample.read_bytes(), "regenerate examples/sample-exam.pdf (see docstring)"
    key = ROOT / "examples" / "sample-exam-key.pdf"
    assert (tmp_path / "sample-key.pdf").read_bytes() == key.read_bytes(), "regenerate examples/sample-exam-key.pdf"
    readme = (ROOT / "README.md").read_text()
    assert "examples/sample-exam.pdf" in readme and "examples/sample-exam-key.pdf" in readme


# -- hardening (issues 11 and 13) -----------------------------------------------------------

HOSTILE = yaml.safe_load((ROOT / "tests" / "hostile" / "io" / "text.yaml").read_text(encoding="utf-8"))
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _hostile_questions(content: Content, texts: list[str]) -> list[Question]:
    """Real questions of every kind with hostile text in every field people see."""
    kinds = {}
    for q in content.bank:
        kinds.setdefault(q.kind, q)
    out = []
    for text in texts:
        for q in kinds.values():
            options = (text, *q.options[1:]) if q.options else ()
            answer = text if q.kind != "tf" else q.answer
            out.append(
                replace(
                    q,
                    prompt=text,
                    options=options,
                    answer=options[q.answer_index] if q.answer_index is not None else answer,
                    accepted=(answer,) if q.kind in ("typed", "cloze") else q.accepted,
                    explanation=text,
                )
            )
    return out


@pytest.mark.parametrize(("fmt", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_formula_cells_are_neutralised_in_anki_text(fmt: str, delimiter: str, content: Content) -> None:
    questions = _hostile_questions(content, HOSTILE["formula"])
    out = to_anki_text(content.deck, questions, delimiter)
    rows = list(csv.reader(io.StringIO(out.split("#tags column:4\n", 1)[1]), delimiter=delimiter))
    assert len(rows) == len(questions)
    for row in rows:
        for cell in row:
            assert not cell.startswith(TRIGGERS), cell
    # the neutralised character is an HTML character reference: Anki shows the text unchanged
    fronts = [html.unescape(re.sub(r"<[^>]+>", "", r[1])) for r in rows]
    for text in HOSTILE["formula"]:
        assert any(f.startswith(text) or f.startswith(f"True or false: {text}") for f in fronts), text


def test_formula_cells_are_neutralised_in_quizlet(content: Content) -> None:
    questions = _hostile_questions(content, HOSTILE["formula"])
    lines = to_quizlet(questions).splitlines()
    assert len(lines) == len(questions)
    for line in lines:
        term, definition = line.split("\t")
        for cell in (term, definition):
            assert not cell.startswith(TRIGGERS), cell
    assert any(line.startswith("'=HYPERLINK(") for line in lines)


def test_gift_escapes_html(content: Content) -> None:
    questions = _hostile_questions(content, HOSTILE["html"])
    out = to_gift(content.deck, questions)
    assert "<script" not in out and "<b>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;img src\\=x onerror\\=alert(1)&gt;" in out


def test_moodle_xml_with_control_characters_is_well_formed(content: Content) -> None:
    questions = _hostile_questions(content, HOSTILE["control"])
    out = to_moodle_xml(content.deck, questions)
    root = ET.fromstring(out)  # raises on characters XML 1.0 forbids
    assert len([q for q in root if q.get("type") != "category"]) == len(questions)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", out)
    assert "nulhere" in out and "escape [2J clears" in out


def test_output_dash_is_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("export", "--count", "3", "-o", "-")
    assert code == 0 and out == run("export", "--count", "3")[1]
    assert list(tmp_path.iterdir()) == [], "a file named '-' was written"
    done = subprocess.run(
        [sys.executable, "-m", "snri_quiz", "export", "--format", "pdf", "--count", "3", "-o", "-"],
        capture_output=True,
        cwd=tmp_path,
        check=True,
    )
    assert done.stdout.startswith(b"%PDF-") and list(tmp_path.iterdir()) == []
    code, _, err = run("export", "--format", "pdf", "--count", "3", "--key", "separate", "-o", "-")
    assert code == 2 and err == "Error: --key separate needs -o FILE\n"


def test_export_refuses_a_fifo_and_writes_through_a_symlink(tmp_path: Path) -> None:
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    code, _, err = run("export", "--count", "3", "-o", str(fifo))
    assert code == 2 and err == f"Error: {fifo} is a FIFO; refusing to replace it (give a regular file)\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    real = tmp_path / "real.md"
    real.write_text("old")
    (tmp_path / "link.md").symlink_to(real)
    code, _, err = run("export", "--format", "md", "--count", "3", "-o", str(tmp_path / "link.md"))
    assert code == 0, err
    assert (tmp_path / "link.md").is_symlink() and real.read_text().startswith("# SNRIs question set")


def test_export_into_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "exam.md"
    code, _, err = run("export", "--format", "md", "--count", "3", "-o", str(target))
    assert code == 2 and err == f"Error: cannot write {target}: folder {target.parent} does not exist\n"
    assert list(tmp_path.iterdir()) == []


def test_separate_key_writes_both_files_or_neither(tmp_path: Path) -> None:
    paper, key = tmp_path / "exam.md", tmp_path / "exam-key.md"
    paper.write_text("old paper")
    os.mkfifo(key)
    code, _, err = run("export", "--format", "md", "--count", "3", "--key", "separate", "-o", str(paper))
    assert code == 2 and err == f"Error: {key} is a FIFO; refusing to replace it (give a regular file)\n"
    assert paper.read_text() == "old paper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exam-key.md", "exam.md"]


def _tiny_with(tmp_path: Path, old: str, new: str) -> Path:
    deck = tmp_path / "tiny"
    shutil.copytree(ROOT / "tests" / "data" / "tiny-deck", deck)
    replace_in(deck / "drugs" / "alpha.yaml", old, new)
    return deck


@pytest.mark.slow  # typesets a very tall entry
@pytest.mark.parametrize("where", ["key", "question"])
def test_pdf_entry_taller_than_a_page_breaks_across_pages(where: str, tmp_path: Path) -> None:
    long_text = " ".join(f"word{i}" for i in range(2500)) + " THEENDMARKER"
    if where == "key":  # the fact's note goes into the key's explanation
        deck = _tiny_with(tmp_path, "    value: Alphax\n", f"    value: Alphax\n    note: {long_text}\n")
    else:  # the brand name goes into the question's prompt
        deck = _tiny_with(tmp_path, "    value: Alphax\n", f"    value: Alphax {long_text}\n")
    target = tmp_path / "exam.pdf"
    code, _, err = run(
        "export", "--deck", str(deck), "--templates", str(ROOT / "tests" / "data" / "tiny-templates"),
        "--format", "pdf", "--drug", "alpha", "--topic", "brand_names", "--key", "appended", "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    pages = PdfReader(target).pages
    text = squash(" ".join(page.extract_text() for page in pages))
    assert "word1 word2" in text and "word2499 THEENDMARKER" in text
    for page in pages:  # pypdf extracts text drawn below the page too: check where it is
        below: list[str] = []

        def visit(text: str, cm: list[float], tm: list[float], *_: object, below: list[str] = below) -> None:
            if text.strip() and tm[5] * cm[3] + cm[5] < 0:
                below.append(text)

        page.extract_text(visitor_text=visit)
        assert not below, f"text cut off below the page: {squash(' '.join(below))[-60:]}"


def test_pdf_refuses_cjk_text_naming_the_question(tmp_path: Path) -> None:
    deck = _tiny_with(tmp_path, "value: Alphax", "value: アルファ錠")
    target = tmp_path / "exam.pdf"
    code, _, err = run(
        "export", "--deck", str(deck), "--templates", str(ROOT / "tests" / "data" / "tiny-templates"),
        "--format", "pdf", "--drug", "alpha", "--topic", "brand_names", "--mode", "mcq", "-o", str(target),
    )  # fmt: skip
    assert code == 2
    assert re.fullmatch(
        r"Error: form A, question 1 \(q[0-9a-f]{15}\): the PDF fonts cannot show 'アルファ錠' \(Chinese, Japanese or "
        r"Korean text\); export it with --format html or md instead\n",
        err,
    ), err
    assert not target.exists()
    code, _, err = run("export", "--format", "pdf", "--count", "2", "--title", "試験", "-o", str(target))
    assert code == 2 and err.startswith("Error: --title: the PDF fonts cannot show '試験'")


def test_a_typesetting_failure_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import typst

    def broken(*args: object, **kwargs: object) -> bytes:
        raise typst.TypstError("font table damaged")

    monkeypatch.setattr(typst, "compile", broken)
    code, _, err = run("export", "--format", "pdf", "--count", "2", "-o", str(tmp_path / "exam.pdf"))
    assert code == 2 and err == "Error: cannot typeset the PDF: font table damaged\n"
    assert not list(tmp_path.iterdir()), "nothing written"


def test_every_format_of_the_choice_has_one_renderer() -> None:
    from snri_quiz import export
    from snri_quiz.kinds import ExportFormat

    assert set(export.PRINTABLE) | set(export.TEXT) == set(ExportFormat)
    assert not set(export.PRINTABLE) & set(export.TEXT)
    assert all(f.printable == (f in export.PRINTABLE) for f in ExportFormat)
    code, out, _ = run("export", "--help")
    assert all(f.value in out for f in ExportFormat)


# -- levels, difficulties, rationales and vignettes ----------------------------------------


def test_json_export_round_trips_level_difficulty_and_rationales(content: Content) -> None:
    records = exported("--count", "40", "--seed", "6")
    seeded = load_content(seed=6)
    chosen = select(seeded.bank, seeded.deck, seed=6, count=40)
    assert [r["id"] for r in records] == [q.id for q in chosen]
    assert {r["kind"] for r in records} >= {"mcq", "tf"}
    for record, q in zip(records, chosen, strict=True):
        assert record["level"] == str(q.level) and record["level"] in ("recall", "understanding", "application")
        assert record["difficulty"] == q.difficulty and isinstance(record["difficulty"], int)
        assert record["rationales"] == list(q.rationales)
        if record["kind"] == "mcq":
            assert len(record["rationales"]) == len(record["options"]) == 4
        if record["kind"] != "vignette":
            assert "clues" not in record and "option_refs" not in record  # vignettes only
        else:
            assert record["clues"] == list(q.clues) and record["option_refs"] == list(q.option_refs)


def test_json_export_of_a_vignette_gives_clues_and_option_refs() -> None:
    q = vignette()
    (record,) = json.loads(to_json([q]))
    assert record["kind"] == "vignette" and record["level"] == "application" and record["difficulty"] == 4
    assert record["options"] == list(q.options) and record["answer_index"] == 2
    assert record["rationales"] == list(q.rationales) and len(record["rationales"]) == 5
    assert record["clues"] == ["duloxetine.renal", "duloxetine.indication-dpnp"]
    assert record["option_refs"] == list(q.option_refs)
    rebuilt = Question(**{**record, **{k: tuple(v) for k, v in record.items() if isinstance(v, list)}},
                       template=q.template, facts=q.facts, drugs=q.drugs, tags=q.tags)  # fmt: skip
    assert rebuilt == q


def test_forms_keep_each_rationale_with_its_option(content: Content) -> None:
    qs = [vignette(), *(q for q in content.bank if q.kind == "mcq")][:12]
    forms = make_forms(qs, 4, seed=3)
    moved = 0
    for form in forms:
        for q in form.questions:
            assert q.options[q.answer_index or 0] == q.answer
            for option, rationale in zip(q.options, q.rationales, strict=True):
                assert rationale.casefold().startswith(option.casefold() + ":")
            if q.kind == "vignette":
                assert q.option_refs == q.options
            original = next(o for o in qs if o.id == q.id)
            moved += q.options != original.options
    assert moved  # the later forms did reorder options


def test_every_format_exports_a_vignette_like_multiple_choice(content: Content) -> None:
    q = vignette()
    deck = content.deck
    outputs = {fmt: TEXT[fmt](deck, [q]) for fmt in TEXT}
    assert set(outputs) == set(ExportFormat) - {f for f in ExportFormat if f.printable}

    root = ET.fromstring(outputs[ExportFormat.MOODLE])
    (el,) = [x for x in root if x.get("type") != "category"]
    assert el.get("type") == "multichoice" and el.findtext("single") == "true"
    answers = el.findall("answer")
    assert [a.findtext("text") for a in answers] == list(q.options)
    assert [a.get("fraction") for a in answers] == ["0", "0", "100", "0", "0"]
    assert [a.findtext("feedback/text") for a in answers] == list(q.rationales)
    assert all(a.find("feedback").get("format") == "html" for a in answers)
    assert el.findtext("penalty") == "0.2500000"  # 1/(n-1) with five options
    assert {"level:application", "difficulty:4"} <= {t.findtext("text") for t in el.findall("tags/tag")}

    gift = outputs[ExportFormat.GIFT]
    assert "\n// level: application, difficulty: 4\n// [tag:level:application] [tag:difficulty:4]\n::" in gift
    body = gift.split("{", 1)[1].rsplit("}", 1)[0]
    answers_part, general = body.split(" ####")
    pairs = re.findall(r"([=~])((?:\\.|[^\\#~=])*) #((?:\\.|[^\\#~=])*)", answers_part)
    assert [(mark, _gift_unescape(o).strip(), _gift_unescape(r).strip()) for mark, o, r in pairs] == [
        ("=" if i == 2 else "~", o, r) for i, (o, r) in enumerate(zip(q.options, q.rationales, strict=True))
    ]
    assert _gift_unescape(general) == q.explanation

    for fmt, delimiter in ((ExportFormat.CSV, ","), (ExportFormat.TSV, "\t")):
        (row,) = list(csv.reader(io.StringIO(outputs[fmt].split("#tags column:4\n")[1]), delimiter=delimiter))
        assert re.findall(r"<li>([^<]*)</li>", row[1]) == list(q.options)
        assert row[2].startswith('<b>C. Duloxetine</b><ol type="A">')
        assert re.findall(r"<li>(?:<b>)?([^<]*)", row[2]) == [html.escape(r, quote=False) for r in q.rationales]
        assert "<li><b>Duloxetine: correct;" in row[2]
        assert {"snri::level::application", "snri::difficulty::4", "snri::kind::vignette"} <= set(row[3].split())

    (line,) = outputs[ExportFormat.QUIZLET].splitlines()
    term, definition = line.split("\t")
    assert term.endswith("(A) Venlafaxine (B) Desvenlafaxine (C) Duloxetine (D) Levomilnacipran (E) Milnacipran")
    assert definition == "C. Duloxetine"  # two columns, as before: the answer only


def test_printable_keys_give_every_options_rationale(content: Content, tmp_path: Path) -> None:
    mcq = next(q for q in content.bank if q.kind == "mcq")
    tf = next(q for q in content.bank if q.kind == "tf")
    data = exam_data(content.deck, make_forms([vignette(), mcq, tf], 1, seed=1), "Key check")
    lines = [f"{'ABCDE'[i]}. {r}" for i, r in enumerate(vignette().rationales)]

    md = to_markdown(data, paper=False)
    entry = md.split("\n1. ", 1)[1].split("\n2. ", 1)[0]
    md_lines = [line.strip() for line in entry.splitlines()[1:] if not line.strip().startswith("- Source:")]
    expected = [f"- **{x}**" if x.startswith("C.") else f"- {x}" for x in lines]
    assert md_lines == [x.replace("[", "\\[").replace("]", "\\]") for x in expected]
    assert md.count("\n    - ") == len(lines) + len(mcq.options) + sum(
        len(q.sources) for q in (vignette(), mcq, tf)
    )  # rationales for lettered items only (none for true/false)

    page = to_html(data, paper=False)
    whys = re.findall(r'<ul class="why">(.*?)</ul>', page)
    assert len(whys) == 2
    items = re.findall(r'<li( class="right")?>([^<]*)</li>', whys[0])
    assert [(bool(right), html.unescape(text)) for right, text in items] == [
        (i == 2, line) for i, line in enumerate(lines)
    ]

    pdf = tmp_path / "key.pdf"
    pdf.write_bytes(to_pdf(data, paper=False))
    text = " ".join(_pages(pdf))
    for line in lines:
        assert squash(line) in text
    assert text.index(squash(lines[-1])) < text.index(squash(mcq.rationales[0]))


def test_several_forms_give_rationales_without_letters(content: Content) -> None:
    qs = [vignette(), *(q for q in content.bank if q.kind == "mcq")][:3]
    data = exam_data(content.deck, make_forms(qs, 2, seed=1), "Two forms")
    first = data["rationales"][0]["why"]
    assert [w["text"] for w in first] == list(vignette().rationales) and {w["letter"] for w in first} == {""}
    for form in data["forms"]:  # each form's key letters its own option order
        for entry, q in zip(form["key"], form["questions"], strict=True):
            assert [w["letter"] for w in entry["why"]] == list("ABCDE"[: len(q["options"])])
            assert [w["right"] for w in entry["why"]].count(True) == 1


HOSTILE_RATIONALE = "Venlafaxine: <script>alert(1)</script> & {=~#:} =x ~y \\ ]] [tag:z] \x0b"


def test_hostile_rationales_are_escaped_in_every_format(content: Content) -> None:
    q = vignette(rationales=(HOSTILE_RATIONALE, *vignette().rationales[1:]))
    deck = content.deck
    root = ET.fromstring(to_moodle_xml(deck, [q]))  # well-formed despite the vertical tab
    feedback = [a.findtext("feedback/text") for a in root.iter("answer")][0]
    assert feedback == html.escape(HOSTILE_RATIONALE.replace("\x0b", ""), quote=False)

    gift = to_gift(deck, [q])
    answer = re.search(r"~Venlafaxine #((?:\\.|[^\\#~=])*) [~=]", gift)
    assert answer, gift
    assert _gift_unescape(answer.group(1)) == html.escape(" ".join(HOSTILE_RATIONALE.split()), quote=False)

    for fmt in (ExportFormat.CSV, ExportFormat.TSV):
        assert "<script>" not in TEXT[fmt](deck, [q]) and "&lt;script&gt;" in TEXT[fmt](deck, [q])
    data = exam_data(deck, make_forms([q], 1, seed=1), "Hostile")
    page = to_html(data, paper=False)
    assert "<script>" not in page and "A. Venlafaxine: &lt;script&gt;alert(1)&lt;/script&gt; &amp;" in page
    md = to_markdown(data, paper=False)
    assert "\\<script\\>" in md and "\\{=\\~\\#:\\}" in md
