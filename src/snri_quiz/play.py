"""The terminal quiz: ordering, the question loop, feedback and scoring.

The loop talks to a small UI object, so the same session runs in colour on a terminal
(rich), as plain text when scripted, or silently for `--json`. Every answer is saved
before its feedback is shown; an answer that cannot be saved (the file is locked or
the disk is full) is kept and saved later, and the learner is told.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .errors import ProgressUnavailable, UsageError
from .facts import Deck
from .grading import MAX_RESPONSE, Grade, Lexicon, grade
from .kinds import QuestionKind
from .progress import ProgressStore, deferred_signals
from .questions import LETTERS, Question, lettered_answer
from .selection import Selection
from .text import has_control, visible

if TYPE_CHECKING:
    from .generate import Content

HELP = (
    "Keys: a letter or the option's text answers; t/f for true or false; ? help, s skip, u undo, q quit;"
    " after a typed answer graded wrong, ! counts it as right (and flags the question for review)."
)
OVERRIDE = "!"


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
    again: bool = False
    """True for the second asking of a question missed earlier in the session."""
    overridden: bool = False
    """True when the learner counted a wrongly graded typed answer as right."""

    @property
    def skipped(self) -> bool:
        return self.grade is None

    @property
    def correct(self) -> bool:
        return self.overridden or bool(self.grade and self.grade.correct)


class Source(NamedTuple):
    """A source as the quiz shows it."""

    title: str
    url: str


@dataclass
class Result:
    """The outcome of a session (partial when it was stopped early). Scores count first attempts only."""

    turns: list[Turn]
    total: int
    """Questions in the session as planned."""
    stopped: str = ""
    topics: dict[str, str] = field(default_factory=dict)
    unsaved: int = 0
    """Answers that could not be saved (reported, and the exit status is 1)."""
    unsaved_reason: str = ""

    @property
    def first(self) -> list[Turn]:
        return [t for t in self.turns if not t.again]

    @property
    def asked(self) -> int:
        return len(self.first)

    @property
    def score(self) -> int:
        return sum(1 for t in self.first if t.correct)

    @property
    def percent(self) -> int:
        return round(100 * self.score / self.asked) if self.asked else 0

    @property
    def streak(self) -> int:
        """Right answers in a row, up to the last answer."""
        run = 0
        for turn in reversed(self.turns):
            if not turn.correct:
                break
            run += 1
        return run

    def score_line(self) -> str:
        return f"Score: {self.score}/{self.asked} ({self.percent}%)"

    def by_topic(self) -> dict[str, tuple[int, int]]:
        out: dict[str, list[int]] = {}
        for turn in self.first:
            tally = out.setdefault(turn.question.topic, [0, 0])
            tally[0] += turn.correct
            tally[1] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}

    def missed(self) -> list[Turn]:
        return [t for t in self.first if not t.correct]

    def to_json(self) -> str:
        return json.dumps(
            {
                "score": self.score,
                "asked": self.asked,
                "planned": self.total,
                "percent": self.percent,
                "stopped": self.stopped or None,
                "unsaved": self.unsaved,
                "by_topic": {k: {"correct": c, "asked": n} for k, (c, n) in self.by_topic().items()},
                "answers": [
                    {
                        "id": t.question.id,
                        "kind": t.question.kind,
                        "topic": t.question.topic,
                        "prompt": t.question.prompt,
                        "response": t.response,
                        "skipped": t.skipped,
                        "correct": t.correct,
                        "typo": bool(t.grade and t.grade.typo),
                        "again": t.again,
                        "overridden": t.overridden,
                        "answer": lettered_answer(t.question, ") "),
                    }
                    for t in self.turns
                ],
            },
            ensure_ascii=False,
            indent=2,
        )


def order_for_review(
    bank: Iterable[Question], deck: Deck, due: dict[str, datetime], now: datetime, selection: Selection
) -> list[Question]:
    """Questions that are due first (most overdue first), then new ones, then the rest by due date."""
    pool = selection.matching(bank, deck)
    new = [q for q in pool if q.id not in due]
    random.Random(0).shuffle(new)
    seen = sorted((q for q in pool if q.id in due), key=lambda q: (due[q.id], q.id))
    due_now = [q for q in seen if due[q.id] <= now]
    later = [q for q in seen if due[q.id] > now]
    return (due_now + new + later)[: selection.count]


class UI(Protocol):
    def question(
        self, number: int, total: int, q: Question, topic: str, result: Result, *, again: bool = False
    ) -> None: ...
    def ask(self) -> str: ...
    def feedback(self, q: Question, response: str, verdict: Grade, sources: list[Source]) -> None: ...
    def after_wrong(self, overridable: bool) -> bool:
        """Pause after a wrong answer; True when the learner counts a typed answer as right."""
        ...

    def note(self, text: str) -> None: ...
    def summary(self, result: Result) -> None: ...


def problem_with(response: str) -> str:
    """Why a typed line cannot be an answer (one line), or '' when it can."""
    if any("\udc80" <= c <= "\udcff" for c in response):
        return "That line is not valid UTF-8 text; type it again."
    if has_control(response):
        return "Control characters are not allowed in answers; type it again."
    if len(response) > MAX_RESPONSE:
        return f"Answers are at most {MAX_RESPONSE} characters; type a shorter one."
    return ""


@dataclass
class _Pending:
    """An answer not yet saved, kept in memory until the store takes it."""

    turn: Turn
    when: datetime


@dataclass
class _Session:
    """One run of the loop: the queue of questions (missed ones again at the end) and the saving."""

    questions: list[Question]
    deck: Deck
    ui: UI
    store: ProgressStore
    session_id: int
    lexicon: Lexicon
    cram: bool
    clock: Callable[[], datetime]
    again: bool

    def __post_init__(self) -> None:
        self.first_pass = len(self.questions)
        self.queue: list[tuple[Question, bool]] = [(q, False) for q in self.questions]
        self.result = Result([], len(self.questions), topics=self.deck.topics)
        self.pending: list[_Pending] = []
        self.again_added = False

    def run(self) -> Result:
        index = 0
        while True:
            if index >= len(self.queue):
                if self.again_added:
                    break
                self.add_again()
                continue
            index = self.ask(index)
        self.flush()
        return self.result

    def add_again(self) -> None:
        self.again_added = True
        if not self.again:
            return
        missed = [t.question for t in self.result.missed() if not t.skipped]
        if missed:
            self.ui.note(f"Again: {len(missed)} question{'s' if len(missed) > 1 else ''} you missed.")
            self.queue.extend((q, True) for q in missed)

    def ask(self, index: int) -> int:
        """Ask queue[index]; return the index of the next question to ask."""
        q, again = self.queue[index]
        turns = self.result.turns
        number, total = (
            (index + 1, self.first_pass)
            if not again
            else (index + 1 - self.first_pass, len(self.queue) - self.first_pass)
        )
        self.ui.question(number, total, q, self.deck.topics.get(q.topic, q.topic), self.result, again=again)
        while True:
            raw = self.ui.ask()
            problem = problem_with(raw)
            if problem:
                self.ui.note(problem)
                continue
            command = raw.strip().lower()
            if command == "?":
                self.ui.note(HELP)
                continue
            if command == "q":
                raise Stop("quit", 0)
            if command == "s":
                turns.append(Turn(q, again=again))
                return index + 1
            if command == "u":
                if not turns:
                    self.ui.note("Nothing to undo yet.")
                    continue
                self.undo()
                index -= 1
                if index < self.first_pass and self.again_added:
                    del self.queue[self.first_pass :]
                    self.again_added = False
                self.ui.note(f"Undone: question {index + 1} will be asked again.")
                return index
            if command == OVERRIDE:
                self.ui.note("! counts a typed answer as right just after it was graded wrong.")
                continue
            verdict = grade(q, raw, self.lexicon)
            if verdict is None:
                self.ui.note(_form_hint(q))
                continue
            turn = Turn(q, raw.strip(), verdict, again=again)
            with deferred_signals():  # saved and counted together, or neither
                self.save(turn)
                turns.append(turn)
            self.ui.feedback(q, turn.response, verdict, self.sources(q))
            if not verdict.correct and self.ui.after_wrong(QuestionKind(q.kind).typed):
                with deferred_signals():
                    turn.overridden = True
                    if turn.answer_id is not None:
                        self.store.override(turn.answer_id)
                self.ui.note("Counted as right; the question is flagged for the author's review.")
            return index + 1

    def sources(self, q: Question) -> list[Source]:
        return [Source(self.deck.display(ref), self.deck.source(ref).url) for ref in q.sources]

    def save(self, turn: Turn) -> None:
        when = self.clock()
        self.flush()
        if self.pending:  # still unavailable: keep this one too, in order
            self.pending.append(_Pending(turn, when))
            return
        try:
            turn.answer_id = self._record(turn, when)
        except ProgressUnavailable as exc:
            self.pending.append(_Pending(turn, when))
            self.result.unsaved_reason = str(exc)
            self.ui.note(f"Not saved yet: {exc}. The answer is kept and saving is tried again.")

    def _record(self, turn: Turn, when: datetime) -> int:
        assert turn.grade is not None
        return self.store.record(self.session_id, turn.question, turn.response, turn.grade, when, cram=self.cram)

    def flush(self) -> None:
        """Save the answers kept in memory, oldest first, as far as the store takes them."""
        while self.pending:
            item = self.pending[0]
            try:
                item.turn.answer_id = self._record(item.turn, item.when)
            except ProgressUnavailable as exc:
                self.result.unsaved_reason = str(exc)
                break
            self.pending.pop(0)
            if item.turn.overridden:
                self.store.override(item.turn.answer_id)
        self.result.unsaved = len(self.pending)

    def undo(self) -> None:
        last = self.result.turns.pop()
        kept = [p for p in self.pending if p.turn is last]
        if kept:
            self.pending.remove(kept[0])
        elif last.answer_id is not None:
            with deferred_signals():
                self.store.undo(last.answer_id)


def run_session(
    questions: list[Question],
    deck: Deck,
    ui: UI,
    *,
    store: ProgressStore,
    session_id: int,
    lexicon: Lexicon,
    cram: bool,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    again: bool = True,
) -> Result:
    """Ask every question (then, once, the ones missed); return the result, or raise Stop with the
    partial result attached."""
    session = _Session(questions, deck, ui, store, session_id, lexicon, cram, clock, again)
    try:
        return session.run()
    except Stop as stop:
        session.result.stopped = stop.reason
        stop.result = session.result
        raise
    except (KeyboardInterrupt, EOFError) as exc:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "end of input"
        session.result.stopped = reason
        ended = Stop(reason, 130 if isinstance(exc, KeyboardInterrupt) else 0)
        ended.result = session.result
        raise ended from None
    finally:
        with deferred_signals():
            try:
                session.flush()
            except ProgressUnavailable:  # pragma: no cover - flush catches it
                pass


def _form_hint(q: Question) -> str:
    if QuestionKind(q.kind).lettered:
        return f"Answer with a letter A-{LETTERS[len(q.options) - 1]} or the option's text (? for keys)."
    if q.kind == QuestionKind.TF:
        return "Answer t or f (true or false; ? for keys)."
    return "Type an answer (? for keys)."


class TerminalUI:
    """Writes to a rich Console; plain text when NO_COLOR is set or output is not a terminal.

    Nothing from the deck or the keyboard reaches the terminal raw: control characters are
    shown as escapes, and rich markup in the text is escaped."""

    def __init__(self, console: Any, *, interactive: bool, read: Callable[[], str], full_sources: bool = False):
        self.console, self.interactive, self.read = console, interactive, read
        self.styled = bool(console.is_terminal and not console.no_color)
        self.full_sources = full_sources or not console.is_terminal
        self._held: str | None = None

    def _print(self, text: str = "", style: str | None = None, *, end: str = "\n") -> None:
        from rich.markup import escape

        safe = escape(visible(text))
        styled = style is not None and self.styled
        self.console.print(f"[{style}]{safe}[/]" if styled else safe, highlight=False, end=end)

    def _line(self) -> str:
        if self._held is not None:
            line, self._held = self._held, None
            return line
        return self.read()

    def question(
        self, number: int, total: int, q: Question, topic: str, result: Result, *, again: bool = False
    ) -> None:
        self._print()
        score = f" · score {result.score}/{result.asked}" if result.asked else ""
        streak = f" · streak {result.streak}" if result.streak > 1 else ""
        label = "Again" if again else "Question"
        self._print(f"{label} {number}/{total} · {topic}{score}{streak}", "bold cyan")
        kind = QuestionKind(q.kind)
        prompt = f"True or false: {q.prompt}" if kind is QuestionKind.TF else q.prompt
        self._print(prompt, "bold")
        if kind.lettered:
            for letter, option in zip(LETTERS, q.options, strict=False):
                self._print(f"  {letter}) {option}")
        elif kind is QuestionKind.TF:
            self._print("  t) True   f) False")
        else:
            self._print("  (type your answer)", "dim")

    def ask(self) -> str:
        if self.interactive:
            self.console.print("> ", end="")
            return self._line()
        line = self._line()
        self._print(f"> {line}")  # a scripted transcript shows what was answered
        return line

    def feedback(self, q: Question, response: str, verdict: Grade, sources: list[Source]) -> None:
        if verdict.correct and verdict.typo:
            self._print(f"Accepted with a typo: you typed '{response}', the answer is '{verdict.matched}'.", "yellow")
        elif verdict.correct:
            self._print("Correct.", "bold green")
        else:
            self._print("Wrong." + (f" ({verdict.reason})" if verdict.reason else ""), "bold red")
        self._print(f"Answer: {lettered_answer(q, ') ')}")
        if len(q.accepted) > 1 and not verdict.correct:
            self._print("Also accepted: " + "; ".join(q.accepted[1:]), "dim")
        self.rationales(q)
        self._print(q.explanation, "dim" if verdict.correct else None)
        self.sources(sources)

    def rationales(self, q: Question) -> None:
        """Why each option is right or wrong, one line each: "B. <rationale>", the right one ticked
        in a terminal and starred in plain text (a transcript, a pipe)."""
        if not QuestionKind(q.kind).lettered or not q.rationales:
            return
        for index, rationale in enumerate(q.rationales[: len(q.options)]):
            right = index == q.answer_index
            if self.styled:
                mark = "\u2713 " if right else "  "
                self._print(f"{mark}{LETTERS[index]}. {rationale}", "green" if right else None)
            else:
                self._print(f"{'*' if right else ' '} {LETTERS[index]}. {rationale}")

    def sources(self, sources: list[Source]) -> None:
        from rich.markup import escape

        if self.full_sources:
            for source in sources:
                self._print(f"Source: {source.title}" + (f" <{source.url}>" if source.url else ""), "dim")
            return
        links = [
            f"[link={escape(s.url)}]{escape(visible(s.title))}[/link]" if s.url else escape(visible(s.title))
            for s in sources
        ]
        if links:
            line = "Sources: " + " · ".join(links)
            self.console.print(f"[dim]{line}[/]" if self.styled else line, highlight=False)

    def after_wrong(self, overridable: bool) -> bool:
        if self.interactive:
            hint = "Enter to go on" + (", or ! if your answer should count as right" if overridable else "")
            self._print(f"({hint})", "dim", end=" ")
            line = self._line()
            return overridable and line.strip() == OVERRIDE
        if not overridable:
            return False
        try:
            line = self.read()
        except EOFError:
            return False
        if line.strip() == OVERRIDE:
            self._print(f"> {line}")
            return True
        self._held = line  # the next question's answer
        return False

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
            ids = " ".join(f"--id {t.question.id}" for t in missed)
            self._print(f"To ask them again: snri-quiz play {ids}", "dim")
        if result.unsaved:
            self._print(f"{result.unsaved} answer(s) could not be saved: {result.unsaved_reason}", "bold red")
        self._print(result.score_line(), "bold")


class SilentUI(TerminalUI):
    """For --json: reads answers, prints nothing until the JSON result."""

    def _print(self, text: str = "", style: str | None = None, *, end: str = "\n") -> None:
        return None

    def ask(self) -> str:
        return self._line()

    def sources(self, sources: list[Source]) -> None:
        return None


def quiz(
    content: Content,
    selection: Selection,
    *,
    cram: bool = False,
    again: bool = True,
    full_sources: bool = False,
    as_json: bool = False,
) -> int:
    """`snri-quiz play`: choose the questions, run the session on standard input and output, print
    the summary (or the JSON result); return the exit status."""
    import signal
    import sys

    from rich.console import Console

    deck = content.deck
    if selection.count is None:
        raise UsageError("--count must be given")  # pragma: no cover - the CLI's default is 10
    if not selection.ids:
        available = len(selection.matching(content.bank, deck))
        if available == 0:
            raise UsageError("no questions match these options")
        if selection.seed is not None:
            selection = replace(selection, count=min(selection.count, available))
    now = datetime.now(UTC)
    # Undecodable bytes at the prompt become surrogates that the quiz refuses, instead of a crash.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")
    with ProgressStore.open() as store:
        if selection.ids or selection.seed is not None:
            questions = selection.pick(content.bank, deck)
        else:
            questions = order_for_review(content.bank, deck, store.due_dates(), now, selection)
        interactive = sys.stdin.isatty()
        console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())  # rich also reads NO_COLOR

        def read() -> str:
            if interactive:
                return input()
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")

        ui = (SilentUI if as_json else TerminalUI)(
            console, interactive=interactive, read=read, full_sources=full_sources
        )

        def on_term(signum: int, frame: object) -> None:
            raise Stop("terminated", 128 + signal.SIGTERM)

        previous = signal.signal(signal.SIGTERM, on_term)
        session = store.start_session(selection.mode, cram, now)
        code = 0
        try:
            result = run_session(
                questions, deck, ui, store=store, session_id=session, lexicon=Lexicon(deck), cram=cram, again=again
            )
        except Stop as stop:
            assert stop.result is not None
            result, code = stop.result, stop.code
        finally:
            signal.signal(signal.SIGTERM, previous)
        try:
            store.finish_session(session, datetime.now(UTC))
        except ProgressUnavailable:
            pass  # the answers themselves are accounted for in result.unsaved
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        sys.stdout.flush()
    else:
        if interactive and result.stopped:
            console.print()
        ui.summary(result)
    return code or (1 if result.unsaved else 0)
