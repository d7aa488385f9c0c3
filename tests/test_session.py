"""The quiz loop in-process: a scripted UI, a fixed clock and a real SQLite file in tmp_path.

These prove the session's rules (missed questions again, first-attempt scoring, override,
answers kept when the store is locked or full, signals held around the save) without a
terminal; tests/test_play.py drives the real command through pipes and a pseudo-terminal.
"""

from __future__ import annotations

import io
import os
import re
import signal
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snri_quiz.errors import ProgressError, ProgressUnavailable
from snri_quiz.generate import Content
from snri_quiz.grading import Grade, Lexicon
from snri_quiz.kinds import QuestionKind
from snri_quiz.play import Result, Source, Stop, TerminalUI, problem_with, run_session
from snri_quiz.progress import ExternalReview, ProgressStore
from snri_quiz.questions import LETTERS, Question
from snri_quiz.selection import by_ids

from .samples import vignette

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@dataclass
class ScriptedUI:
    """Answers from a list; records what the quiz showed."""

    answers: list[str]
    overrides: set[int] = field(default_factory=set)
    """Indexes of wrong answers (in order of wrong answers) after which the learner types '!'."""
    shown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wrong_seen: int = 0

    def question(
        self, number: int, total: int, q: Question, topic: str, result: Result, *, again: bool = False
    ) -> None:
        self.shown.append(f"{'again' if again else 'q'} {number}/{total} {q.id} score={result.score}")

    def ask(self) -> str:
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)

    def feedback(self, q: Question, response: str, verdict: Grade, sources: list[Source]) -> None:
        self.shown.append(f"feedback {verdict.correct} {len(sources)}")

    def after_wrong(self, overridable: bool) -> bool:
        index = self.wrong_seen
        self.wrong_seen += 1
        return overridable and index in self.overrides

    def note(self, text: str) -> None:
        self.notes.append(text)

    def summary(self, result: Result) -> None:  # pragma: no cover - the CLI's job
        pass


def right(q: Question) -> str:
    if QuestionKind(q.kind).lettered and q.answer_index is not None:
        return LETTERS[q.answer_index]
    return q.answer[0].lower() if q.kind == "tf" else q.answer


def wrong(q: Question) -> str:
    if QuestionKind(q.kind).lettered and q.answer_index is not None:
        return LETTERS[(q.answer_index + 1) % len(q.options)]
    if q.kind == "tf":
        return "f" if q.answer == "True" else "t"
    return "zzzz"


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[ProgressStore]:
    with ProgressStore.open(tmp_path / "progress.db", timeout=0.2) as opened:
        yield opened


def _run(content: Content, questions: list[Question], ui: ScriptedUI, store: ProgressStore, **kw: object) -> Result:
    session = store.start_session("mixed", False, NOW)
    return run_session(
        questions,
        content.deck,
        ui,
        store=store,
        session_id=session,
        lexicon=Lexicon(content.deck),
        cram=False,
        clock=lambda: NOW,
        **kw,  # type: ignore[arg-type]
    )


def _choice(content: Content, n: int) -> list[Question]:
    found = [q for q in content.bank if q.kind in ("mcq", "tf")][:n]
    assert len(found) == n
    return found


def _answers(store: ProgressStore) -> list[tuple[str, int, int]]:
    return store.db.execute("SELECT question_id, correct, disputed FROM answers ORDER BY id").fetchall()


def test_missed_questions_come_back_once_and_score_counts_first_attempts(
    content: Content, store: ProgressStore
) -> None:
    qs = _choice(content, 4)
    ui = ScriptedUI([right(qs[0]), wrong(qs[1]), "s", wrong(qs[3]), right(qs[1]), wrong(qs[3])])
    result = _run(content, qs, ui, store)
    assert ui.notes[-1] == "Again: 2 questions you missed."
    assert [line.split()[0] for line in ui.shown if not line.startswith("feedback")] == ["q"] * 4 + ["again"] * 2
    assert ui.shown[-2].startswith(f"again 2/2 {qs[3].id}")
    assert result.score_line() == "Score: 1/4 (25%)"  # the right second attempt does not count
    assert [t.again for t in result.turns] == [False] * 4 + [True] * 2
    assert len(_answers(store)) == 5  # every answer is saved, the skip is not an answer


def test_no_again_and_progress_line(content: Content, store: ProgressStore) -> None:
    qs = _choice(content, 3)
    ui = ScriptedUI([right(qs[0]), right(qs[1]), wrong(qs[2])])
    result = _run(content, qs, ui, store, again=False)
    assert result.asked == 3 and result.score == 2
    assert "Again" not in " ".join(ui.notes)
    assert ui.shown[0].endswith("score=0") and ui.shown[-2].endswith("score=2")


def test_undo_across_the_again_boundary(content: Content, store: ProgressStore) -> None:
    qs = _choice(content, 2)
    ui = ScriptedUI([right(qs[0]), wrong(qs[1]), "u", right(qs[1])])
    result = _run(content, qs, ui, store)
    assert result.score_line() == "Score: 2/2 (100%)"
    assert not any(t.again for t in result.turns)
    assert len(_answers(store)) == 2


def test_override_counts_a_typed_answer_and_flags_it(content: Content, store: ProgressStore) -> None:
    q = next(q for q in content.bank if q.kind == "typed")
    ui = ScriptedUI(["something else entirely"], overrides={0})
    result = _run(content, [q], ui, store)
    assert result.score == 1 and result.turns[0].overridden
    assert _answers(store) == [(q.id, 1, 1)]
    stats = store.stats(NOW, content.bank)
    assert [d.question_id for d in stats.disputed] == [q.id]
    card = store.db.execute("SELECT card FROM cards WHERE question_id = ?", (q.id,)).fetchone()[0]
    assert '"state": 2' in card or '"state": 1' in card  # rescheduled as Good, not Again


def test_override_is_only_for_typed_answers(content: Content, store: ProgressStore) -> None:
    q = _choice(content, 1)[0]
    ui = ScriptedUI([wrong(q)], overrides={0})
    result = _run(content, [q], ui, store, again=False)
    assert result.score == 0 and not result.turns[0].overridden


def test_play_by_id_keeps_the_order(content: Content) -> None:
    qs = _choice(content, 3)
    assert by_ids(content.bank, [qs[2].id, qs[0].id]) == [qs[2], qs[0]]
    with pytest.raises(Exception, match="unknown question id 'qnope'"):
        by_ids(content.bank, ["qnope"])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("abc\udcff", "not valid UTF-8"),
        ("\x1b]52;c;aGVsbG8=\x07", "Control characters"),
        ("\x1b[2J", "Control characters"),
        ("x" * 501, "at most 500"),
        ("venlafaxine", ""),
    ],
)
def test_bad_lines_are_refused_before_grading(line: str, expected: str) -> None:
    assert (expected in problem_with(line)) if expected else problem_with(line) == ""


def test_bad_lines_are_asked_again(content: Content, store: ProgressStore) -> None:
    q = _choice(content, 1)[0]
    ui = ScriptedUI(["\x1b[2J", "bad\udcff", "y" * 600, right(q)])
    result = _run(content, [q], ui, store)
    assert result.score == 1
    assert len([n for n in ui.notes if "type it again" in n or "shorter" in n]) == 3


def test_a_locked_store_keeps_answers_and_saves_them_later(
    content: Content, store: ProgressStore, tmp_path: Path
) -> None:
    qs = _choice(content, 3)
    blocker = sqlite3.connect(tmp_path / "progress.db", isolation_level=None)

    class UnlockAfterTwo(ScriptedUI):
        def ask(self) -> str:
            if len(self.answers) == 3:
                blocker.execute("BEGIN EXCLUSIVE")  # another program takes the file mid-session
            if len(self.answers) == 1:
                blocker.execute("COMMIT")  # the other program lets go before the third answer
            return super().ask()

    ui = UnlockAfterTwo([right(qs[0]), right(qs[1]), right(qs[2])])
    result = _run(content, qs, ui, store, again=False)
    assert any("locked by another program" in n for n in ui.notes)
    assert "damaged" not in " ".join(ui.notes)
    assert result.unsaved == 0 and result.score == 3
    assert [a[0] for a in _answers(store)] == [q.id for q in qs]  # in order, none lost
    blocker.close()


def test_a_full_disk_is_reported_with_the_file_and_nothing_crashes(
    content: Content, store: ProgressStore, tmp_path: Path
) -> None:
    qs = _choice(content, 2)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLite's own "database or disk is full"
    for size in (300, 30, 1):  # fill the answers table's pages to the brim
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for _ in range(1000):
                store.db.execute(
                    "INSERT INTO answers (session_id, question_id, topic, drugs, facts, response, correct, typo,"
                    f" answered_at) VALUES (0, 'q', 't', '', '', hex(randomblob({size})), 0, 0, 'x')"
                )
    ui = ScriptedUI([right(qs[0]), right(qs[1])])
    result = _run(content, qs, ui, store, again=False)
    assert result.score == 2 and result.unsaved == 2
    assert "disk is full" in result.unsaved_reason and str(tmp_path / "progress.db") in result.unsaved_reason
    assert "damaged" not in result.unsaved_reason


class SignalOnCommit(ProgressStore):
    """A store whose transaction receives a signal at the worst moment: just before COMMIT."""

    signum = signal.SIGTERM

    def record(self, *args: object, **kwargs: object) -> int:
        os.kill(os.getpid(), self.signum)
        return super().record(*args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_save_is_held_until_the_answer_is_counted(
    content: Content, tmp_path: Path, signum: int, code: int
) -> None:
    def on_term(*_: object) -> None:
        raise Stop("terminated", 143)

    previous = signal.signal(signal.SIGTERM, on_term)
    qs = _choice(content, 3)
    store = SignalOnCommit.open(tmp_path / "p.db")
    store.signum = signum
    try:
        session = store.start_session("mixed", False, NOW)
        with pytest.raises(Stop) as stopped:
            run_session(
                qs,
                content.deck,
                ScriptedUI([right(q) for q in qs]),
                store=store,
                session_id=session,
                lexicon=Lexicon(content.deck),
                cram=False,
                clock=lambda: NOW,
            )
        assert stopped.value.code == code
        result = stopped.value.result
        assert result is not None and result.asked == 1 and result.score == 1
        assert len(_answers(store)) == 1  # saved and counted: the two agree
    finally:
        signal.signal(signal.SIGTERM, previous)
        store.close()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE cards SET due = 'tomorrow'", "table cards, row 1: due 'tomorrow' is not a date and time"),
        ("UPDATE cards SET due = '2026-11-28T10:00:00'", "has no time zone"),
        ("UPDATE cards SET card = '{not json'", "table cards, row 1: the card is not valid"),
        ("UPDATE answers SET correct = 'yes'", "table answers, row 1: correct is 'yes', not 0 or 1"),
    ],
)
def test_hand_edited_rows_are_named_not_crashed_on(content: Content, tmp_path: Path, sql: str, message: str) -> None:
    path = tmp_path / "progress.db"
    q = _choice(content, 1)[0]
    with ProgressStore.open(path) as store:
        _run(content, [q], ScriptedUI([right(q)]), store)
        store.db.execute(sql)
    with ProgressStore.open(path) as store, pytest.raises(ProgressError, match=message) as raised:
        store.stats(NOW, content.bank)
        store.due_dates()
        store.record(1, q, "t", Grade(True), NOW, cram=False)
    assert str(path) in str(raised.value) and "mv " in str(raised.value)


def test_stats_mastery_forecast_coverage_streak(content: Content, tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    qs = _choice(content, 3)
    with ProgressStore.open(path) as store:
        for day, q in enumerate(qs):
            session = store.start_session("mixed", False, NOW + timedelta(days=day))
            run_session(
                [q],
                content.deck,
                ScriptedUI([right(q)]),
                store=store,
                session_id=session,
                lexicon=Lexicon(content.deck),
                cram=False,
                clock=lambda day=day: NOW + timedelta(days=day),  # type: ignore[misc]
            )
        later = NOW + timedelta(days=2, hours=1)
        stats = store.stats(later, content.bank)
    assert stats.coverage == (3, len(content.bank))
    assert stats.streak_days == 3
    assert sum(stats.due_forecast) == 3 and len(stats.due_forecast) == 7
    seen = {q.topic for q in qs}
    for topic, mastery in stats.topics.items():
        assert 0 <= mastery.mastery <= 1
        assert mastery.total == sum(1 for q in content.bank if q.topic == topic)
        assert (mastery.seen > 0) == (topic in seen)
        assert (mastery.mastery > 0) == (topic in seen)


def test_an_unavailable_store_is_not_called_damaged(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    ProgressStore.open(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(ProgressUnavailable, match="locked by another program"):
        ProgressStore.open(path, timeout=0.1)
    blocker.close()


def test_a_version_1_file_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE sessions (id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, mode TEXT NOT NULL,"
        " cram INTEGER NOT NULL);"
        "CREATE TABLE answers (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, question_id TEXT NOT NULL,"
        " topic TEXT NOT NULL, drugs TEXT NOT NULL, facts TEXT NOT NULL, response TEXT NOT NULL,"
        " correct INTEGER NOT NULL, typo INTEGER NOT NULL, rating INTEGER, answered_at TEXT NOT NULL,"
        " previous_card TEXT);"
        "INSERT INTO sessions VALUES (1, '2026-01-01T00:00:00+00:00', NULL, 'mixed', 0);"
        "INSERT INTO answers VALUES (1, 1, 'qx', 't', '', '', 'r', 1, 0, 3, '2026-01-01T00:00:00+00:00', '');"
        f"PRAGMA application_id = {0x534E5251}; PRAGMA user_version = 1;"
    )
    db.close()
    with ProgressStore.open(path) as store:
        assert store.db.execute("SELECT disputed, source, external_id FROM answers").fetchall() == [(0, "play", None)]
        assert store.stats(NOW).answered == 1
        assert store.stats(NOW).by_source == {"play": 1}
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == 3


def test_reviews_from_anki_are_merged_once_and_rescheduled_with_terminal_answers(
    content: Content, tmp_path: Path
) -> None:
    q = content.bank[0]
    with ProgressStore.open(tmp_path / "progress.db") as store:
        session = store.start_session("mixed", False, NOW - timedelta(days=3))
        store.record(session, q, "x", Grade(True), NOW - timedelta(days=3), cram=False)
        after_play = store.due_dates()[q.id]
        reviews = [ExternalReview(1795000000000 + i, q, 3, NOW - timedelta(days=2 - i)) for i in range(2)]
        assert store.merge_reviews(reviews, source="anki") == 2
        assert store.merge_reviews(reviews, source="anki") == 0
        assert store.merge_reviews(reviews[:1] + [ExternalReview(1795000000009, q, 1, NOW)], source="anki") == 1
        stats = store.stats(NOW, content.bank)
        assert stats.by_source == {"anki": 3, "play": 1}
        assert (stats.answered, stats.correct) == (4, 3)
        # the card is the terminal answer and the three Anki reviews replayed in time order
        from fsrs import Card, Rating, Scheduler

        card = Card(card_id=int(q.id[1:13], 16))
        scheduler = Scheduler(enable_fuzzing=False)
        for rating, days in ((3, 3), (3, 2), (3, 1), (1, 0)):
            card, _ = scheduler.review_card(card, Rating(rating), NOW - timedelta(days=days))
        assert store.due_dates()[q.id] == card.due.replace(microsecond=0) != after_play


def test_a_level_selection_asks_only_that_level(content: Content, store: ProgressStore) -> None:
    from snri_quiz.kinds import Level
    from snri_quiz.play import order_for_review
    from snri_quiz.selection import Selection

    chosen = order_for_review(
        content.bank, content.deck, store.due_dates(), NOW, Selection(levels=(Level.UNDERSTANDING,), count=6)
    )
    assert len(chosen) == 6 and {q.level for q in chosen} == {Level.UNDERSTANDING}
    ui = ScriptedUI([right(q) for q in chosen])
    result = _run(content, chosen, ui, store)
    assert result.score_line() == "Score: 6/6 (100%)"
    seeded = Selection(levels=(Level.RECALL,), seed=4, count=5).pick(content.bank, content.deck)
    assert len(seeded) == 5 and {q.level for q in seeded} == {Level.RECALL}


def _terminal(answers: list[str], *, styled: bool) -> tuple[TerminalUI, io.StringIO]:
    """The real TerminalUI on a real rich Console writing to a string (a terminal when `styled`)."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(
        file=out, force_terminal=styled, no_color=False, color_system="standard" if styled else None, width=1000
    )
    lines = iter(answers)
    return TerminalUI(console, interactive=False, read=lambda: next(lines)), out


def test_vignettes_are_asked_and_graded_like_multiple_choice(content: Content, store: ProgressStore) -> None:
    case = vignette()
    ui = ScriptedUI(["c", "Duloxetine", "a", "f"])  # 'f' is no answer to lettered options: asked again
    result = _run(content, [case, case, case], ui, store, again=False)
    assert [t.correct for t in result.turns] == [True, True, False]
    assert ui.wrong_seen == 1 and not result.turns[2].overridden
    assert _answers(store) == [(case.id, 1, 0), (case.id, 1, 0), (case.id, 0, 0)]


def test_feedback_lists_every_options_rationale_before_the_explanation(content: Content, store: ProgressStore) -> None:
    case = vignette()
    ui, out = _terminal(["a"], styled=False)
    _run(content, [case], ui, store, again=False)
    text = out.getvalue()
    assert "  E) Milnacipran\n> a\nWrong.\nAnswer: C) Duloxetine\n" in text
    lines = [f"{'*' if i == case.answer_index else ' '} {LETTERS[i]}. {r}" for i, r in enumerate(case.rationales)]
    block = "\n".join(lines) + "\n" + case.explanation + "\nSource: "
    assert block in text  # every option's rationale, the right one starred, then the explanation and sources
    assert "\x1b" not in text and "\u2713" not in text


def test_feedback_ticks_the_right_rationale_in_a_terminal(content: Content, store: ProgressStore) -> None:
    q = next(q for q in content.bank if q.kind == "mcq")
    ui, out = _terminal([LETTERS[q.answer_index or 0]], styled=True)
    _run(content, [q], ui, store, again=False)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    letter = LETTERS[q.answer_index or 0]
    assert f"\u2713 {letter}. {q.rationales[q.answer_index or 0]}" in plain
    for i, rationale in enumerate(q.rationales):
        if i != q.answer_index:
            assert f"\n  {LETTERS[i]}. {rationale}\n" in plain
    assert plain.index(q.rationales[-1]) < plain.index(q.explanation)


def test_rationales_reach_the_terminal_only_as_visible_text(content: Content, store: ProgressStore) -> None:
    hostile = "Venlafaxine: \x1b]0;pwned\x07\x1b[2J [x] [red]not markup[/red]."
    case = vignette(rationales=(hostile, *vignette().rationales[1:]))
    for styled in (False, True):
        ui, out = _terminal(["c"], styled=styled)
        _run(content, [case], ui, store, again=False)
        text = out.getvalue()
        assert "\x1b]0;" not in text and "\x1b[2J" not in text and "\x07" not in text
        assert "\\x1b]0;pwned\\x07\\x1b[2J [x] [red]not markup[/red]." in re.sub(r"\x1b\[[0-9;]*m", "", text)
