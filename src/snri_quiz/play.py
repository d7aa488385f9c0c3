"""The terminal quiz: ordering, the question loop, feedback and scoring.

The loop talks to a small UI object, so the same session runs in colour on a terminal
(rich), as plain text when scripted, or silently for `--json`. Every answer is saved
before its feedback is shown.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from .facts import Deck
from .grading import Grade, grade
from .progress import ProgressStore
from .questions import LETTERS, Question, filter_questions, lettered_answer

HELP = "Keys: a letter or the option's text answers; t/f for true or false; ? help, s skip, u undo, q quit."


class Stop(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The learner asked to quit, or input ended, or a signal arrived; carries the partial result."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code
        self.result: Result | None = None


@dataclass
class Turn:
    """One question as it went: answered (with a grade) or skipped."""

    question: Question
    response: str = ""
    grade: Grade | None = None
    answer_id: int | None = None

    @property
    def skipped(self) -> bool:
        return self.grade is None


@dataclass
class Result:
    """The outcome of a session (partial when it was stopped early)."""

    turns: list[Turn]
    total: int
    """Questions in the session as planned."""
    stopped: str = ""
    topics: dict[str, str] = field(default_factory=dict)

    @property
    def asked(self) -> int:
        return len(self.turns)

    @property
    def score(self) -> int:
        return sum(1 for t in self.turns if t.grade and t.grade.correct)

    @property
    def percent(self) -> int:
        return round(100 * self.score / self.asked) if self.asked else 0

    def score_line(self) -> str:
        return f"Score: {self.score}/{self.asked} ({self.percent}%)"

    def by_topic(self) -> dict[str, tuple[int, int]]:
        out: dict[str, list[int]] = {}
        for turn in self.turns:
            tally = out.setdefault(turn.question.topic, [0, 0])
            tally[0] += bool(turn.grade and turn.grade.correct)
            tally[1] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}

    def missed(self) -> list[Turn]:
        return [t for t in self.turns if not (t.grade and t.grade.correct)]

    def to_json(self) -> str:
        return json.dumps(
            {
                "score": self.score,
                "asked": self.asked,
                "planned": self.total,
                "percent": self.percent,
                "stopped": self.stopped or None,
                "by_topic": {k: {"correct": c, "asked": n} for k, (c, n) in self.by_topic().items()},
                "answers": [
                    {
                        "id": t.question.id,
                        "kind": t.question.kind,
                        "topic": t.question.topic,
                        "prompt": t.question.prompt,
                        "response": t.response,
                        "skipped": t.skipped,
                        "correct": bool(t.grade and t.grade.correct),
                        "typo": bool(t.grade and t.grade.typo),
                        "answer": lettered_answer(t.question, ") "),
                    }
                    for t in self.turns
                ],
            },
            ensure_ascii=False,
            indent=2,
        )


def order_for_review(
    bank: Iterable[Question],
    deck: Deck,
    due: dict[str, datetime],
    now: datetime,
    *,
    count: int,
    mode: str,
    topics: Iterable[str],
    drugs: Iterable[str],
) -> list[Question]:
    """Questions that are due first (most overdue first), then new ones, then the rest by due date."""
    pool = filter_questions(bank, deck, mode=mode, topics=topics, drugs=drugs)
    new = [q for q in pool if q.id not in due]
    random.Random(0).shuffle(new)
    seen = sorted((q for q in pool if q.id in due), key=lambda q: (due[q.id], q.id))
    due_now = [q for q in seen if due[q.id] <= now]
    later = [q for q in seen if due[q.id] > now]
    return (due_now + new + later)[:count]


class UI(Protocol):
    def question(self, number: int, total: int, q: Question, topic: str) -> None: ...
    def ask(self) -> str: ...
    def feedback(self, q: Question, response: str, verdict: Grade, sources: list[str]) -> None: ...
    def note(self, text: str) -> None: ...
    def summary(self, result: Result) -> None: ...


def run_session(
    questions: list[Question],
    deck: Deck,
    ui: UI,
    *,
    store: ProgressStore,
    session_id: int,
    names: dict[str, str],
    cram: bool,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Result:
    """Ask every question; return the result, or raise Stop with the partial result attached."""
    turns: list[Turn] = []
    result = Result(turns, len(questions), topics=deck.topics)
    index = 0
    try:
        while index < len(questions):
            q = questions[index]
            ui.question(index + 1, len(questions), q, deck.topics[q.topic])
            while True:
                raw = ui.ask()
                command = raw.strip().lower()
                if command == "?":
                    ui.note(HELP)
                    continue
                if command == "q":
                    raise Stop("quit", 0)
                if command == "s":
                    turns.append(Turn(q))
                    index += 1
                    break
                if command == "u":
                    if not turns:
                        ui.note("Nothing to undo yet.")
                        continue
                    last = turns.pop()
                    if last.answer_id is not None:
                        store.undo(last.answer_id)
                    index -= 1
                    ui.note(f"Undone: question {index + 1} will be asked again.")
                    break
                verdict = grade(q, raw, names)
                if verdict is None:
                    ui.note(_form_hint(q))
                    continue
                answer_id = store.record(session_id, q, raw.strip(), verdict, clock(), cram=cram)
                turns.append(Turn(q, raw.strip(), verdict, answer_id))
                ui.feedback(q, raw.strip(), verdict, [deck.citation(ref) for ref in q.sources])
                index += 1
                break
    except Stop as stop:
        result.stopped = stop.reason
        stop.result = result
        raise
    except (KeyboardInterrupt, EOFError) as exc:
        result.stopped = "interrupted" if isinstance(exc, KeyboardInterrupt) else "end of input"
        ended = Stop(result.stopped, 130 if isinstance(exc, KeyboardInterrupt) else 0)
        ended.result = result
        raise ended from None
    return result


def _form_hint(q: Question) -> str:
    if q.kind == "mcq":
        return f"Answer with a letter A-{LETTERS[len(q.options) - 1]} or the option's text (? for keys)."
    if q.kind == "tf":
        return "Answer t or f (true or false; ? for keys)."
    return "Type an answer (? for keys)."


class TerminalUI:
    """Writes to a rich Console; plain text when NO_COLOR is set or output is not a terminal."""

    def __init__(self, console: Any, *, interactive: bool, read: Callable[[], str]):
        self.console, self.interactive, self.read = console, interactive, read
        self.styled = bool(console.is_terminal and not console.no_color)

    def _print(self, text: str = "", style: str | None = None) -> None:
        from rich.markup import escape

        styled = style is not None and self.styled
        self.console.print(f"[{style}]{escape(text)}[/]" if styled else escape(text), highlight=False)

    def question(self, number: int, total: int, q: Question, topic: str) -> None:
        self._print()
        self._print(f"Question {number}/{total} · {topic}", "bold cyan")
        prompt = f"True or false: {q.prompt}" if q.kind == "tf" else q.prompt
        self._print(prompt, "bold")
        if q.kind == "mcq":
            for letter, option in zip(LETTERS, q.options, strict=False):
                self._print(f"  {letter}) {option}")
        elif q.kind == "tf":
            self._print("  t) True   f) False")
        else:
            self._print("  (type your answer)", "dim")

    def ask(self) -> str:
        if self.interactive:
            self.console.print("> ", end="")
            return self.read()
        line = self.read()
        self._print(f"> {line}")  # a scripted transcript shows what was answered
        return line

    def feedback(self, q: Question, response: str, verdict: Grade, sources: list[str]) -> None:
        if verdict.correct and verdict.typo:
            self._print(f"Accepted with a typo: you typed '{response}', the answer is '{verdict.matched}'.", "yellow")
        elif verdict.correct:
            self._print("Correct.", "bold green")
        else:
            self._print("Wrong." + (f" ({verdict.reason})" if verdict.reason else ""), "bold red")
        self._print(f"Answer: {lettered_answer(q, ') ')}")
        self._print(q.explanation, "dim" if verdict.correct else None)
        for source in sources:
            self._print(f"Source: {source}", "dim")

    def note(self, text: str) -> None:
        self._print(text, "yellow")

    def summary(self, result: Result) -> None:
        self._print()
        if result.stopped and result.stopped != "finished":
            self._print(f"Stopped ({result.stopped}) after {result.asked} of {result.total} questions.", "yellow")
        if result.turns:
            self._print("By topic:", "bold")
            for topic, (correct, asked) in result.by_topic().items():
                self._print(f"  {result.topics.get(topic, topic):<36} {correct}/{asked}")
        missed = result.missed()
        if missed:
            self._print("Missed:", "bold")
            for turn in missed:
                mark = "skipped" if turn.skipped else f"you answered '{turn.response}'"
                self._print(f"  {turn.question.prompt}")
                self._print(f"    answer: {lettered_answer(turn.question, ') ')} ({mark})")
        self._print(result.score_line(), "bold")


class SilentUI(TerminalUI):
    """For --json: reads answers, prints nothing until the JSON result."""

    def _print(self, text: str = "", style: str | None = None) -> None:
        return None

    def ask(self) -> str:
        return self.read()
