"""Question values -> printable exams (pdf, html, md) and interchange formats
(json, csv/tsv for Anki's text import, a Quizlet TSV, Moodle GIFT and Moodle XML).

Every renderer takes the same selected questions; printable ones lay them out as one or
more forms, each with its own question and option order and its own answer key.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import OutputError
from .facts import Deck
from .kinds import ExportFormat, QuestionKind
from .questions import LETTERS, Question, lettered_answer

BLANK_LINE = "_" * 30
FORM_LETTERS = string.ascii_uppercase
"""Forms are lettered A to Z, so at most 26."""


@dataclass(frozen=True)
class Form:
    """One version of the exam: a letter and its questions in their order."""

    letter: str
    questions: tuple[Question, ...]


def make_forms(questions: Sequence[Question], count: int, seed: int) -> list[Form]:
    """Form A keeps the selection's order; later forms reshuffle questions and options."""
    if not 1 <= count <= len(FORM_LETTERS):
        raise ValueError(f"forms are lettered A to Z: between 1 and {len(FORM_LETTERS)}, not {count}")
    forms = [Form("A", tuple(questions))]
    for index in range(1, count):
        letter = FORM_LETTERS[index]
        order = list(questions)
        random.Random(f"{seed}|form|{letter}").shuffle(order)
        forms.append(Form(letter, tuple(_reshuffle(q, f"{seed}|{letter}|{q.id}") for q in order)))
    return forms


def _reshuffle(q: Question, key: str) -> Question:
    """The question with its options in another order (rationales and option refs follow them)."""
    if not QuestionKind(q.kind).lettered:
        return q
    order = list(range(len(q.options)))
    random.Random(key).shuffle(order)

    def moved(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(values[i] for i in order) if len(values) == len(order) else values

    options = moved(q.options)
    return replace(
        q,
        options=options,
        answer_index=options.index(q.answer),
        rationales=moved(q.rationales),
        option_refs=moved(q.option_refs),
    )


def option_rationales(q: Question) -> list[dict[str, Any]]:
    """A lettered question's rationale for each option, in display order: letter, text, right."""
    if not QuestionKind(q.kind).lettered or len(q.rationales) != len(q.options):
        return []
    return [{"letter": LETTERS[i], "text": text, "right": i == q.answer_index} for i, text in enumerate(q.rationales)]


def level_tags(q: Question) -> tuple[str, str]:
    """What a teacher filters on, as tags: `level:application`, `difficulty:3`."""
    return f"level:{q.level}", f"difficulty:{q.difficulty}"


def citations(deck: Deck, q: Question) -> list[str]:
    return [deck.citation(ref) for ref in q.sources]


# -- json ---------------------------------------------------------------------------------


def question_record(q: Question) -> dict[str, Any]:
    """One question as the JSON export defines it (vignettes also give `clues` and `option_refs`)."""
    record: dict[str, Any] = {
        "id": q.id,
        "kind": q.kind,
        "topic": q.topic,
        "subject": q.subject,
        "prompt": q.prompt,
        "options": list(q.options),
        "answer": q.answer,
        "answer_index": q.answer_index,
        "accepted": list(q.accepted),
        "explanation": q.explanation,
        "sources": list(q.sources),
        "level": str(q.level),
        "difficulty": q.difficulty,
        "rationales": list(q.rationales),
    }
    if q.kind == QuestionKind.VIGNETTE:
        record["clues"] = list(q.clues)
        record["option_refs"] = list(q.option_refs)
    return record


def to_json(questions: Sequence[Question]) -> str:
    return json.dumps([question_record(q) for q in questions], ensure_ascii=False, indent=2) + "\n"


# -- Anki text import and Quizlet ----------------------------------------------------------


# OWASP, "CSV Injection": a cell that starts with one of these is read as a formula by
# spreadsheets (tab and carriage return too; the full-width forms by some of them).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_cell(text: str) -> str:
    """A plain-text cell that no spreadsheet runs as a formula: OWASP's single quote in front."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def neutralise_html_cell(text: str) -> str:
    """An HTML cell (Anki's text import with `#html:true`) that no spreadsheet runs as a
    formula: its first character becomes a character reference, which Anki shows unchanged."""
    text = text.replace("\r", "&#13;")  # csv quotes a field for \n but not for a lone \r
    return f"&#{ord(text[0])};{text[1:]}" if text.startswith(FORMULA_TRIGGERS) else text


def _front_html(q: Question) -> str:
    text = html.escape(f"True or false: {q.prompt}" if q.kind == QuestionKind.TF else q.prompt, quote=False)
    if QuestionKind(q.kind).lettered:
        items = "".join(f"<li>{html.escape(o, quote=False)}</li>" for o in q.options)
        text += f'<ol type="A">{items}</ol>'
    return text


def _back_html(deck: Deck, q: Question) -> str:
    sources = "<br>".join(html.escape(c, quote=False) for c in citations(deck, q))
    why = option_rationales(q)
    reasons = (
        '<ol type="A">'
        + "".join(
            f"<li>{'<b>' if r['right'] else ''}{html.escape(r['text'], quote=False)}{'</b>' if r['right'] else ''}</li>"
            for r in why
        )
        + "</ol>"
        if why
        else "<br>"
    )
    return (
        f"<b>{html.escape(lettered_answer(q), quote=False)}</b>{reasons}{html.escape(q.explanation, quote=False)}"
        f"<br><small>{sources}</small>"
    )


def to_anki_text(deck: Deck, questions: Sequence[Question], separator: str) -> str:
    """Anki's text import: header lines, then guid, front, back, tags (Basic note type)."""
    out = io.StringIO()
    name = "Tab" if separator == "\t" else "Comma"
    prefix = deck.tag_prefix
    out.write(f"#separator:{name}\n#html:true\n#notetype:Basic\n#deck:{deck.name}\n#guid column:1\n#tags column:4\n")
    writer = csv.writer(out, delimiter=separator, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    for q in questions:
        writer.writerow(
            [
                neutralise_cell(q.id),
                neutralise_html_cell(_front_html(q)),
                neutralise_html_cell(_back_html(deck, q)),
                neutralise_cell(" ".join((*q.tags, *(f"{prefix}::{t.replace(':', '::')}" for t in level_tags(q))))),
            ]
        )
    return out.getvalue()


def _one_line(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def to_quizlet(questions: Sequence[Question]) -> str:
    """Two columns, term TAB definition, one card a line (Quizlet's import)."""
    lines = []
    for q in questions:
        term = f"True or false: {q.prompt}" if q.kind == QuestionKind.TF else q.prompt
        if QuestionKind(q.kind).lettered:
            term += " " + " ".join(f"({LETTERS[i]}) {o}" for i, o in enumerate(q.options))
        lines.append(f"{neutralise_cell(_one_line(term))}\t{neutralise_cell(_one_line(lettered_answer(q)))}")
    return "\n".join(lines) + "\n"


# -- Moodle --------------------------------------------------------------------------------

_GIFT_SPECIAL = re.compile(r"([\\~=#{}:])")


def gift_escape(text: str) -> str:
    """Escape GIFT's special characters (~ = # { } : and the backslash itself)."""
    return _GIFT_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def gift_text(text: str) -> str:
    """Text Moodle shows as HTML (question text, options, feedback): HTML-escaped, then GIFT-escaped."""
    return gift_escape(html.escape(text, quote=False))


def gift_comment(text: str) -> str:
    """Text for a `//` comment line: one line, and no `]` to end a `[tag:...]` early."""
    return " ".join(text.split()).replace("]", ")")


def to_gift(deck: Deck, questions: Sequence[Question]) -> str:
    blocks = []
    category = None
    for q in questions:
        topic = deck.topics[q.topic]
        if topic != category:
            category = topic
            blocks.append(f"$CATEGORY: $course$/{gift_escape(deck.name)}/{gift_escape(topic)}")
        feedback = gift_text(q.explanation)
        title = f"::{q.id}::"
        prompt = gift_text(q.prompt)
        kind = QuestionKind(q.kind)
        if kind.lettered:
            why = [f" #{gift_text(r)}" for r in q.rationales] if len(q.rationales) == len(q.options) else []
            answers = " ".join(
                ("=" if i == q.answer_index else "~") + gift_text(o) + (why[i] if why else "")
                for i, o in enumerate(q.options)
            )
            body = f"{answers} ####{feedback}"
        elif kind is QuestionKind.TF:
            body = f"{'T' if q.answer == 'True' else 'F'} ####{feedback}"
        else:
            body = " ".join(f"={gift_text(a)}" for a in q.accepted) + f" ####{feedback}"
        level, difficulty = level_tags(q)
        blocks.append(
            f"// {q.id} ({', '.join(q.tags)})\n"
            f"// level: {q.level}, difficulty: {q.difficulty}\n"
            f"// [tag:{gift_comment(level)}] [tag:{gift_comment(difficulty)}]\n"
            f"{title}{prompt} {{{body}}}"
        )
    return "\n\n".join(blocks) + "\n"


# Characters XML 1.0 does not allow, even escaped: the document would not be well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text with the characters XML 1.0 forbids removed."""
    return _NOT_XML.sub("", text)


def to_moodle_xml(deck: Deck, questions: Sequence[Question]) -> str:
    import xml.etree.ElementTree as ET

    quiz = ET.Element("quiz")

    def text_el(parent: ET.Element, tag: str, value: str, fmt: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, {**({"format": fmt} if fmt else {}), **attrs})
        ET.SubElement(element, "text").text = xml_text(value)
        return element

    category = None
    for q in questions:
        topic = deck.topics[q.topic]
        if topic != category:
            category = topic
            cat = ET.SubElement(quiz, "question", {"type": "category"})
            text_el(cat, "category", f"$course$/{deck.name}/{topic}")
        kind = QuestionKind(q.kind)
        qtype = "multichoice" if kind.lettered else "truefalse" if kind is QuestionKind.TF else "shortanswer"
        el = ET.SubElement(quiz, "question", {"type": qtype})
        text_el(el, "name", f"{q.id} {q.prompt[:60]}")
        text_el(el, "questiontext", html.escape(q.prompt, quote=False), "html")
        feedback = (
            html.escape(q.explanation, quote=False)
            + "<br><small>"
            + "<br>".join(html.escape(c, quote=False) for c in citations(deck, q))
            + "</small>"
        )
        text_el(el, "generalfeedback", feedback, "html")
        ET.SubElement(el, "defaultgrade").text = "1"
        ET.SubElement(el, "penalty").text = (
            f"{1 / (len(q.options) - 1):.7f}" if kind.lettered else "1" if kind is QuestionKind.TF else "0.1"
        )
        ET.SubElement(el, "hidden").text = "0"
        ET.SubElement(el, "idnumber").text = xml_text(q.id)
        if kind.lettered:
            ET.SubElement(el, "single").text = "true"
            ET.SubElement(el, "shuffleanswers").text = "true"
            ET.SubElement(el, "answernumbering").text = "ABCD"
            for index, option in enumerate(q.options):
                right = index == q.answer_index
                answer = text_el(
                    el, "answer", html.escape(option, quote=False), "html", fraction="100" if right else "0"
                )
                why = q.rationales[index] if len(q.rationales) == len(q.options) else ""
                default = "Correct." if right else "Not this one."
                text_el(answer, "feedback", html.escape(why, quote=False) if why else default, "html")
        elif kind is QuestionKind.TF:
            for value in ("true", "false"):
                right = value == q.answer.lower()
                answer = text_el(el, "answer", value, "moodle_auto_format", fraction="100" if right else "0")
                text_el(answer, "feedback", "Correct." if right else "Incorrect.", "moodle_auto_format")
        else:
            ET.SubElement(el, "usecase").text = "0"
            for accepted in q.accepted:
                answer = text_el(el, "answer", html.escape(accepted, quote=False), "moodle_auto_format", fraction="100")
                text_el(answer, "feedback", "Correct.", "moodle_auto_format")
        tags = ET.SubElement(el, "tags")
        for tag in (*q.tags, *level_tags(q)):
            ET.SubElement(ET.SubElement(tags, "tag"), "text").text = xml_text(tag)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


# -- printable: markdown, html, pdf ----------------------------------------------------------


def _may_fill_a_page(*texts: str) -> bool:
    """True when the texts might fill most of a page (a generous estimate: 60
    characters a line, 50 lines a page). Only such entries are measured by the PDF
    template, to let one that is taller than a page break instead of being cut off;
    measuring every entry would triple the typesetting time."""
    return sum(len(t) // 60 + 1 for t in texts) > 40


def web_address(url: str) -> str:
    """A link for a source address: http(s) as it is, doi: through doi.org, anything else ''."""
    if url.startswith("doi:"):
        return "https://doi.org/" + url[4:]
    return url if url.startswith(("https://", "http://")) else ""


def _points(value: float) -> str:
    return f"{value:g}"


def exam_data(deck: Deck, forms: Sequence[Form], title: str, points: float = 1) -> dict[str, Any]:
    """Everything a printable renderer needs, as plain data (the PDF template reads it as JSON).

    The key has a grading grid per form, then one rationale per question (numbered as in
    each form) citing numbered references; a lettered question's entry also gives each
    option's rationale (`why`: letter, text, right; the letters only when there is one form)."""
    references: dict[str, int] = {}
    for q in forms[0].questions:
        for ref in q.sources:
            references.setdefault(ref, len(references) + 1)
    numbers = {form.letter: {q.id: n for n, q in enumerate(form.questions, 1)} for form in forms}
    count = len(forms[0].questions)
    total = _points(points * count)
    each = "1 point" if points == 1 else f"{_points(points)} points"
    return {
        "title": title,
        "deck": f"{deck.name} {deck.version}",
        "points": _points(points),
        "total": total,
        "instructions": (
            f"Answer all {count} questions; each is worth {each} (total {total}). Multiple choice: fill in one "
            "bubble. True or false: circle one. Otherwise write your answer on the line."
        ),
        "forms": [
            {
                "letter": form.letter,
                "questions": [
                    {
                        "n": n,
                        "id": q.id,
                        "kind": q.kind,
                        "topic": deck.topics[q.topic],
                        "prompt": f"True or false: {q.prompt}" if q.kind == QuestionKind.TF else q.prompt,
                        "options": list(q.options) if QuestionKind(q.kind).lettered else [],
                        "long": _may_fill_a_page(q.prompt, *q.options),
                    }
                    for n, q in enumerate(form.questions, 1)
                ],
                "key": [
                    {
                        "n": n,
                        "answer": lettered_answer(q),
                        "short": LETTERS[q.answer_index]
                        if QuestionKind(q.kind).lettered and q.answer_index is not None
                        else q.answer,
                        "explanation": q.explanation,
                        "why": option_rationales(q),
                        "sources": citations(deck, q),
                        "long": _may_fill_a_page(q.answer, q.explanation, *q.rationales, *citations(deck, q)),
                    }
                    for n, q in enumerate(form.questions, 1)
                ],
            }
            for form in forms
        ],
        "rationales": [
            {
                "numbers": [{"form": form.letter, "n": numbers[form.letter][q.id]} for form in forms],
                "answer": lettered_answer(q) if len(forms) == 1 else q.answer,
                "explanation": q.explanation,
                "why": [
                    {**r, "letter": r["letter"] if len(forms) == 1 else ""}  # letters differ between forms
                    for r in option_rationales(q)
                ],
                "refs": sorted(references[s] for s in q.sources),
                "long": _may_fill_a_page(q.answer, q.explanation, *q.rationales),
            }
            for q in forms[0].questions
        ],
        "references": [
            {"n": n, "title": deck.display(ref), "url": web_address(deck.source(ref).url)}
            for ref, n in references.items()
        ],
    }


def to_markdown(data: dict[str, Any], *, paper: bool = True, key: bool = True) -> str:
    def md(text: str) -> str:
        return re.sub(r"([\\`*_{}\[\]<>#|~])", r"\\\1", text)

    out: list[str] = []
    for form in data["forms"] if paper else []:
        out += [
            f"# {md(data['title'])}: Form {form['letter']}",
            "",
            md(data["deck"]),
            "",
            "Name: ______________________________  Date: ______________",
            "",
            md(data["instructions"]),
            "",
        ]
        for q in form["questions"]:
            out.append(f"{q['n']}. {md(q['prompt'])}")
            out += [f"    - {LETTERS[i]}. {md(o)}" for i, o in enumerate(q["options"])]
            if q["kind"] == QuestionKind.TF:
                out.append("    - True / False")
            elif not q["options"]:
                out.append(f"    - Answer: {BLANK_LINE}")
            out.append("")
    for form in data["forms"] if key else []:
        out += [f"# Answer key: Form {form['letter']}", ""]
        for entry in form["key"]:
            out.append(f"{entry['n']}. **{md(entry['answer'])}**: {md(entry['explanation'])}")
            out += [
                f"    - **{r['letter']}. {md(r['text'])}**" if r["right"] else f"    - {r['letter']}. {md(r['text'])}"
                for r in entry["why"]
            ]
            out += [f"    - Source: {md(s)}" for s in entry["sources"]]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


_HTML_STYLE = """
body { font-family: Georgia, "Times New Roman", serif; max-width: 46em; margin: 2em auto; padding: 0 1em;
  line-height: 1.4; color: #111; overflow-wrap: anywhere; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; }
.meta, .instructions { color: #555; font-size: 0.9em; }
.instructions { font-style: italic; }
.lines { margin: 1em 0 0.5em; display: flex; flex-wrap: wrap; gap: 0.5em 1.5em; }
.lines span { white-space: nowrap; }
ol.questions > li { margin: 0 0 1em; break-inside: avoid; page-break-inside: avoid; }
.pts { float: right; color: #555; font-size: 0.85em; margin-left: 1em; }
ol.options { list-style: none; padding-left: 0.5em; margin: 0.3em 0; }
.bubble { display: inline-block; width: 0.8em; height: 0.8em; border: 1px solid #111; border-radius: 50%;
  margin-right: 0.4em; vertical-align: -0.1em; }
.tf span { padding: 0 0.4em; }
.blank { display: inline-block; border-bottom: 1px solid #111; width: 18em; max-width: 100%; height: 1.1em; }
.lines .blank { width: 14em; }
.lines .short { width: 8em; }
.answerline { border-bottom: 1px solid #111; height: 1.6em; }
table.grid { border-collapse: collapse; width: 100%; max-width: 36em; }
table.grid th, table.grid td { border-bottom: 1px solid #999; padding: 0.2em 0.5em; text-align: left; }
.rationales p { margin: 0 0 0.6em; break-inside: avoid; }
.rationales ul.why { list-style: none; margin: -0.4em 0 0.8em; padding-left: 1.2em; font-size: 0.9em;
  break-before: avoid; page-break-before: avoid; }
.rationales ul.why li { margin: 0.1em 0; }
.rationales ul.why li.right { font-weight: bold; }
.rationales ul.why li.right::before { content: "\\2713\\00a0"; margin-left: -1.1em; }
.refs { font-size: 0.85em; color: #444; }
a { color: #0645ad; }
@media print {
  body { margin: 0; max-width: none; }
  section + section, .gridpage + .gridpage, .rationales { break-before: page; page-break-before: always; }
  .lines { flex-wrap: nowrap; }
  .lines .blank { width: 11em; }
  @page { margin: 2cm; @bottom-center { content: "Page " counter(page) " of " counter(pages); } }
}
"""


def to_html(data: dict[str, Any], *, paper: bool = True, key: bool = True) -> str:
    """One self-contained page with a print stylesheet; every text is escaped."""
    e = html.escape
    pts = "1 pt" if data["points"] == "1" else f"{e(data['points'])} pts"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(data['title'])}</title>",
        f"<style>{_HTML_STYLE}</style>",
        "</head>",
        "<body>",
    ]
    for form in data["forms"] if paper else []:
        parts.append('<section class="form">')
        parts.append(f"<h1>{e(data['title'])}: Form {e(form['letter'])}</h1>")
        parts.append(f'<p class="meta">{e(data["deck"])}</p>')
        parts.append(
            '<p class="lines"><span>Name: <span class="blank"></span></span>'
            '<span>Date: <span class="blank short"></span></span></p>'
        )
        parts.append(f'<p class="instructions">{e(data["instructions"])}</p>')
        parts.append('<ol class="questions">')
        for q in form["questions"]:
            body = f'<p><span class="pts">{pts}</span>{e(q["prompt"])}</p>'
            if q["options"]:
                body += (
                    '<ol class="options">'
                    + "".join(
                        f'<li><span class="bubble"></span>{LETTERS[i]}. {e(o)}</li>' for i, o in enumerate(q["options"])
                    )
                    + "</ol>"
                )
            elif q["kind"] == QuestionKind.TF:
                body += '<p class="tf"><span>True</span> / <span>False</span></p>'
            else:
                body += '<div class="answerline"></div>'
            parts.append(f"<li>{body}</li>")
        parts += ["</ol>", "</section>"]
    if key:
        parts.append('<section class="key">')
        for form in data["forms"]:
            parts.append('<div class="gridpage">')
            parts.append(f"<h1>Grading grid: Form {e(form['letter'])}</h1>")
            parts.append(f'<p class="meta">Total {e(data["total"])} points.</p>')
            parts.append('<table class="grid"><tr><th>No.</th><th>Answer</th><th>Pts</th></tr>')
            parts += [
                f"<tr><td>{entry['n']}</td><td>{e(entry['short'])}</td><td>{e(data['points'])}</td></tr>"
                for entry in form["key"]
            ]
            parts += ["</table>", "</div>"]
        parts.append('<div class="rationales"><h1>Rationales</h1>')
        several = len(data["forms"]) > 1
        for r in data["rationales"]:
            numbers = " · ".join(f"{x['form']}{x['n']}" if several else str(x["n"]) for x in r["numbers"])
            refs = ", ".join(f'<a href="#ref-{n}">{n}</a>' for n in r["refs"])
            parts.append(
                f"<p><b>{e(numbers)}. {e(r['answer'])}</b>: {e(r['explanation'])}"
                + (f' <span class="refs">[{refs}]</span>' if refs else "")
                + "</p>"
            )
            if r["why"]:
                items = "".join(
                    ('<li class="right">' if w["right"] else "<li>")
                    + (f"{e(w['letter'])}. " if w["letter"] else "")
                    + f"{e(w['text'])}</li>"
                    for w in r["why"]
                )
                parts.append(f'<ul class="why">{items}</ul>')
        parts.append('<h2>References</h2><ol class="refs">')
        for ref in data["references"]:
            title = f'<a href="{e(ref["url"])}">{e(ref["title"])}</a>' if ref["url"] else e(ref["title"])
            parts.append(f'<li id="ref-{ref["n"]}">{title}</li>')
        parts += ["</ol>", "</div>", "</section>"]
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


# Scripts the PDF's fonts (Libertinus Serif, New Computer Modern, DejaVu Sans Mono, all
# bundled with Typst) cannot show: CJK ideographs and punctuation, kana, Hangul.
_NO_PDF_GLYPH = re.compile(
    "[\u2e80-\u2fff\u3000-\u9fff\ua000-\ua4cf\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\U00020000-\U0003ffff]+"
)


def check_pdf_text(data: dict[str, Any]) -> None:
    """Refuse text the PDF would silently drop, naming the first question that has it."""

    def look(where: str, *texts: str) -> None:
        for text in texts:
            found = _NO_PDF_GLYPH.search(text)
            if found:
                raise OutputError(
                    f"{where}: the PDF fonts cannot show {found.group()[:20]!r} (Chinese, Japanese or Korean "
                    "text); export it with --format html or md instead"
                )

    look("--title", data["title"])
    look("deck name and version", data["deck"])
    for form in data["forms"]:
        for q, entry in zip(form["questions"], form["key"], strict=True):
            where = f"form {form['letter']}, question {q['n']} ({q['id']})"
            look(
                where,
                q["prompt"],
                *q["options"],
                entry["answer"],
                entry["explanation"],
                *(w["text"] for w in entry["why"]),
                *entry["sources"],
            )


def to_pdf(data: dict[str, Any], *, paper: bool = True, key: bool = True) -> bytes:
    """Typeset with Typst (the `typst` package: self-contained, reproducible)."""
    from pathlib import Path

    import typst

    check_pdf_text(data)

    source = (Path(__file__).parent / "exam.typ").read_bytes()
    payload = json.dumps({**data, "paper": paper, "key": key}, ensure_ascii=False)
    try:
        return bytes(typst.compile(source, sys_inputs={"data": payload}, ignore_system_fonts=True))
    except typst.TypstError as exc:  # not expected for any deck text; never a traceback all the same
        detail = " ".join(str(exc).split())[:300]
        raise OutputError(f"cannot typeset the PDF: {detail}") from None


PrintableRenderer = Callable[..., str | bytes]
TextRenderer = Callable[[Deck, Sequence[Question]], str]

PRINTABLE: dict[ExportFormat, PrintableRenderer] = {
    ExportFormat.PDF: to_pdf,
    ExportFormat.HTML: to_html,
    ExportFormat.MD: to_markdown,
}
"""Printable exams: each takes `exam_data(...)` and `paper=`, `key=`."""

TEXT: dict[ExportFormat, TextRenderer] = {
    ExportFormat.CSV: lambda deck, qs: to_anki_text(deck, qs, ","),
    ExportFormat.TSV: lambda deck, qs: to_anki_text(deck, qs, "\t"),
    ExportFormat.QUIZLET: lambda deck, qs: to_quizlet(qs),
    ExportFormat.GIFT: to_gift,
    ExportFormat.MOODLE: to_moodle_xml,
    ExportFormat.JSON: lambda deck, qs: to_json(qs),
}
"""Files for other tools: each takes the deck and the questions."""
