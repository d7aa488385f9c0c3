"""The learner's history and scheduling state: SQLite plus the fsrs scheduler.

One transaction per answer, in WAL mode with a busy timeout, so two quizzes running at
once both keep every answer. A file that is not ours, or is damaged, is reported and
never overwritten.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import ProgressError, ProgressUnavailable
from .files import ensure_folder
from .grading import Grade
from .kinds import AnswerSource
from .questions import Question

APPLICATION_ID = 0x534E5251  # "SNRQ"
SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
  id INTEGER PRIMARY KEY,
  started TEXT NOT NULL,
  finished TEXT,
  mode TEXT NOT NULL,
  cram INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id),
  question_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  drugs TEXT NOT NULL,
  facts TEXT NOT NULL,
  response TEXT NOT NULL,
  correct INTEGER NOT NULL,
  typo INTEGER NOT NULL,
  rating INTEGER,
  answered_at TEXT NOT NULL,
  previous_card TEXT,
  disputed INTEGER NOT NULL DEFAULT 0,
  source TEXT NOT NULL DEFAULT 'play',
  external_id INTEGER
);
CREATE INDEX IF NOT EXISTS answers_question_correct ON answers(question_id, correct);
CREATE INDEX IF NOT EXISTS answers_time ON answers(answered_at);
CREATE INDEX IF NOT EXISTS answers_session ON answers(session_id);

CREATE TABLE IF NOT EXISTS cards (
  question_id TEXT PRIMARY KEY,
  card TEXT NOT NULL,
  due TEXT NOT NULL
);
"""
# Columns added since schema 1, added in place when an older file is opened.
_ADDED_COLUMNS = (
    ("answers", "disputed", "INTEGER NOT NULL DEFAULT 0"),
    ("answers", "source", "TEXT NOT NULL DEFAULT 'play'"),  # schema 3: 'play' or 'anki' (merged by `anki pull`)
    ("answers", "external_id", "INTEGER"),  # schema 3: the review's id in its source (Anki's revlog id)
)
# Indexes on added columns, created once the columns exist.
_ADDED_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS answers_external ON answers(source, external_id) WHERE external_id IS NOT NULL",
)
_UNAVAILABLE = ("locked", "busy", "full", "disk i/o", "readonly", "read-only", "unable to open")


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block is done, so a signal never lands between COMMIT and
    the code that knows the answer was saved; they are handled, in order, right after.

    Python-level handlers rather than a signal mask: a mask is per thread, and the kernel
    may hand a process-wide signal to any other thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    kinds = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: held.append(signum)) for signum in kinds}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for number in held:
            handler = previous[signal.Signals(number)]
            if callable(handler):
                handler(number, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), number)


def default_path() -> Path:
    """$SNRI_QUIZ_HOME/progress.db, else the user's data directory (platformdirs)."""
    home = os.environ.get("SNRI_QUIZ_HOME")
    if home:
        return Path(home) / "progress.db"
    import platformdirs

    return Path(platformdirs.user_data_dir("snri-quiz", appauthor=False)) / "progress.db"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TopicMastery:
    """How well a topic is known: fsrs retrievability summed over its questions, unseen ones as 0."""

    mastery: float
    """Between 0 and 1."""
    seen: int
    """Questions of the topic answered at least once (outside cram mode)."""
    total: int
    """Questions of the topic in the deck."""


@dataclass(frozen=True)
class Disputed:
    """A typed answer the learner counted as right after it was graded wrong: for the author to review."""

    question_id: str
    response: str
    answered_at: str


@dataclass(frozen=True)
class ExternalReview:
    """A review done outside the terminal quiz (in Anki), to merge into the history."""

    external_id: int
    """Its id in the source (Anki's review log id: milliseconds since the epoch, unique per collection)."""
    question: Question
    rating: int
    """1 Again, 2 Hard, 3 Good, 4 Easy (Anki's buttons, the same as fsrs ratings)."""
    at: datetime
    """When it was done (time zone aware)."""


@dataclass(frozen=True)
class Stats:
    """What `snri-quiz stats` reports."""

    sessions: int
    answered: int
    correct: int
    by_topic: dict[str, tuple[int, int]]
    by_drug: dict[str, tuple[int, int]]
    due_now: int
    due_today: int
    weakest: list[tuple[str, int, int]]
    """(fact id, correct, answered) for the facts answered worst."""
    topics: dict[str, TopicMastery] = field(default_factory=dict)
    due_forecast: list[int] = field(default_factory=list)
    """Questions due on each of the next 7 days (today first, overdue ones counted today)."""
    coverage: tuple[int, int] = (0, 0)
    """(questions seen, questions in the deck)."""
    streak_days: int = 0
    """Consecutive days with at least one answer, up to today (or yesterday)."""
    disputed: list[Disputed] = field(default_factory=list)
    by_source: dict[str, int] = field(default_factory=dict)
    """Answers per source: 'play' (the terminal quiz) and 'anki' (merged by `anki pull`)."""


class ProgressStore:
    """The progress database. Open it with `ProgressStore.open(path)`."""

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path, self.db = path, connection
        self._scheduler: Any = None

    @classmethod
    def open(cls, path: Path | None = None, *, timeout: float = 30.0) -> ProgressStore:
        """Open (or create) the progress file; `timeout` is how long to wait for another quiz's lock."""
        path = path or default_path()
        fresh = not path.exists() or path.stat().st_size == 0
        if not fresh and not path.is_file():
            raise ProgressError(f"progress file {path} is not a file")
        ensure_folder(path.parent)
        try:
            db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise ProgressError(f"cannot open progress file {path}: {exc}") from None
        store = cls(path, db)
        store._timeout_ms = int(timeout * 1000)
        try:
            store._prepare()
        except sqlite3.OperationalError as exc:
            db.close()
            if _unavailable(exc):
                raise ProgressUnavailable(store._unavailable(exc)) from None
            raise ProgressError(store._damaged(str(exc))) from None
        except sqlite3.DatabaseError as exc:
            db.close()
            raise ProgressError(store._damaged(str(exc))) from None
        except ProgressError:
            db.close()
            raise
        return store

    _timeout_ms = 30000

    def _damaged(self, detail: str) -> str:
        return (
            f"progress file {self.path} is damaged or not an snri-quiz progress file ({detail}); "
            f"to start fresh, move it aside (mv '{self.path}' '{self.path}.old') and run again"
        )

    def _unavailable(self, exc: sqlite3.Error) -> str:
        detail = str(exc)
        if "locked" in detail or "busy" in detail:
            return f"progress file {self.path} is locked by another program (another quiz?); try again when it is done"
        if "full" in detail:
            return f"cannot write progress file {self.path}: the disk is full"
        return f"cannot write progress file {self.path}: {detail}"

    def _bad_row(self, table: str, row: object, detail: str) -> ProgressError:
        return ProgressError(
            f"progress file {self.path}: table {table}, row {row}: {detail}; "
            f"fix or delete that row, or move the file aside (mv '{self.path}' '{self.path}.old')"
        )

    def _prepare(self) -> None:
        db = self.db
        db.execute(f"PRAGMA busy_timeout = {self._timeout_ms}")
        # Check and create under the write lock, so a second quiz starting at the same
        # moment waits for the first to finish creating the file.
        with self._transaction():
            app = db.execute("PRAGMA application_id").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app != APPLICATION_ID and (app != 0 or tables):
                raise ProgressError(self._damaged("it belongs to another program"))
            if db.execute("PRAGMA user_version").fetchone()[0] > SCHEMA_VERSION:
                raise ProgressError(f"progress file {self.path} was written by a newer snri-quiz; upgrade to use it")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            for table, column, declaration in _ADDED_COLUMNS:
                if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            db.execute("CREATE INDEX IF NOT EXISTS answers_disputed ON answers(id) WHERE disputed = 1")
            for statement in _ADDED_INDEXES:
                db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("PRAGMA journal_mode = WAL")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all or nothing; a lock or a full disk becomes ProgressUnavailable."""
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if _unavailable(exc):
                raise ProgressUnavailable(self._unavailable(exc)) from None
            raise

    def check(self) -> str:
        """SQLite's own integrity check ('ok' when sound); run on request, not at every start."""
        return str(self.db.execute("PRAGMA quick_check").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def scheduler(self) -> Any:
        if self._scheduler is None:
            from fsrs import Scheduler

            self._scheduler = Scheduler(enable_fuzzing=False)
        return self._scheduler

    # -- sessions and answers ------------------------------------------------------------
    def start_session(self, mode: str, cram: bool, now: datetime) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO sessions (started, mode, cram) VALUES (?, ?, ?)", (_iso(now), mode, int(cram))
            )
        return int(cursor.lastrowid or 0)

    def finish_session(self, session_id: int, now: datetime) -> None:
        with self._transaction() as db:
            db.execute("UPDATE sessions SET finished = ? WHERE id = ?", (_iso(now), session_id))

    def _card(self, question_id: str) -> tuple[Any, str | None]:
        from fsrs import Card

        row = self.db.execute("SELECT rowid, card FROM cards WHERE question_id = ?", (question_id,)).fetchone()
        if row is None:
            return Card(card_id=_card_id(question_id)), None
        return self._load_card(row[1], row[0]), row[1]

    def _load_card(self, text: object, rowid: object) -> Any:
        from fsrs import Card

        try:
            card = Card.from_json(str(text))
            if card.due.tzinfo is None:
                raise ValueError("due has no time zone")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._bad_row("cards", rowid, f"the card is not valid ({exc})") from None
        return card

    def record(
        self, session_id: int, question: Question, response: str, grade: Grade, now: datetime, *, cram: bool
    ) -> int:
        """Save one answer and (unless cramming) reschedule its card, in one transaction."""
        with self._transaction() as db:
            rating = None
            previous = None
            if not cram:
                card, previous = self._card(question.id)
                rating = int(grade.rating)
                card, _ = self.scheduler.review_card(card, grade.rating, now.astimezone(UTC))
                db.execute(
                    "INSERT OR REPLACE INTO cards (question_id, card, due) VALUES (?, ?, ?)",
                    (question.id, card.to_json(), _iso(card.due)),
                )
            cursor = db.execute(
                "INSERT INTO answers (session_id, question_id, topic, drugs, facts, response, correct, typo,"
                " rating, answered_at, previous_card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    question.id,
                    question.topic,
                    ",".join(question.drugs),
                    ",".join(question.facts),
                    response,
                    int(grade.correct),
                    int(grade.typo),
                    rating,
                    _iso(now),
                    previous if previous is not None else ("" if not cram else None),
                ),
            )
        return int(cursor.lastrowid or 0)

    def override(self, answer_id: int) -> None:
        """Count a wrongly graded answer as right (Good) and mark it disputed, for the author's review."""
        from fsrs import Card, Rating

        with self._transaction() as db:
            row = db.execute(
                "SELECT question_id, previous_card, rating, answered_at FROM answers WHERE id = ?", (answer_id,)
            ).fetchone()
            if row is None:
                return
            question_id, previous, rating, answered_at = row
            if rating is not None:  # scheduled: review the card again from where it was, as Good
                card = self._load_card(previous, answer_id) if previous else Card(card_id=_card_id(question_id))
                when = datetime.fromisoformat(answered_at)
                card, _ = self.scheduler.review_card(card, Rating.Good, when)
                db.execute(
                    "INSERT OR REPLACE INTO cards (question_id, card, due) VALUES (?, ?, ?)",
                    (question_id, card.to_json(), _iso(card.due)),
                )
            db.execute(
                "UPDATE answers SET correct = 1, typo = 0, disputed = 1, rating = ? WHERE id = ?",
                (int(Rating.Good) if rating is not None else None, answer_id),
            )

    def undo(self, answer_id: int) -> None:
        """Forget an answer and put its card back as it was before it."""
        with self._transaction() as db:
            row = db.execute("SELECT question_id, previous_card FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is not None:
                question_id, previous = row
                if previous == "":
                    db.execute("DELETE FROM cards WHERE question_id = ?", (question_id,))
                elif previous is not None:
                    due = self._load_card(previous, answer_id).due
                    db.execute(
                        "UPDATE cards SET card = ?, due = ? WHERE question_id = ?", (previous, _iso(due), question_id)
                    )
                db.execute("DELETE FROM answers WHERE id = ?", (answer_id,))

    def merge_reviews(self, reviews: Sequence[ExternalReview], *, source: str) -> int:
        """Add reviews done elsewhere as answers of `source`, skipping those already merged, and
        reschedule their questions by replaying every rated answer in time order; one transaction.
        Returns how many were new."""
        with self._transaction() as db:
            seen = {
                int(r[0])
                for r in db.execute(
                    "SELECT external_id FROM answers WHERE source = ? AND external_id IS NOT NULL", (source,)
                )
            }
            new = sorted((r for r in reviews if r.external_id not in seen), key=lambda r: r.external_id)
            new = list({r.external_id: r for r in new}.values())
            if not new:
                return 0
            session = db.execute(
                "INSERT INTO sessions (started, finished, mode, cram) VALUES (?, ?, ?, 0)",
                (_iso(new[0].at), _iso(new[-1].at), source),
            ).lastrowid
            db.executemany(
                "INSERT INTO answers (session_id, question_id, topic, drugs, facts, response, correct, typo,"
                " rating, answered_at, previous_card, source, external_id)"
                " VALUES (?, ?, ?, ?, ?, '', ?, 0, ?, ?, NULL, ?, ?)",
                [
                    (
                        session,
                        r.question.id,
                        r.question.topic,
                        ",".join(r.question.drugs),
                        ",".join(r.question.facts),
                        int(r.rating > 1),
                        r.rating,
                        _iso(r.at),
                        source,
                        r.external_id,
                    )
                    for r in new
                ],
            )
            for question_id in sorted({r.question.id for r in new}):
                self._replay(db, question_id)
        return len(new)

    def _replay(self, db: sqlite3.Connection, question_id: str) -> None:
        """The question's card from scratch: every rated answer, from any source, in time order."""
        from fsrs import Card, Rating

        card = Card(card_id=_card_id(question_id))
        rows = db.execute(
            "SELECT rating, answered_at FROM answers WHERE question_id = ? AND rating IS NOT NULL"
            " ORDER BY answered_at, id",
            (question_id,),
        )
        for rating, answered_at in rows:
            card, _ = self.scheduler.review_card(card, Rating(int(rating)), datetime.fromisoformat(str(answered_at)))
        db.execute(
            "INSERT OR REPLACE INTO cards (question_id, card, due) VALUES (?, ?, ?)",
            (question_id, card.to_json(), _iso(card.due)),
        )

    # -- reading -------------------------------------------------------------------------
    def rated_answers(self, source: str = AnswerSource.PLAY) -> list[tuple[str, int, datetime]]:
        """(question id, fsrs rating, when) of every scheduled answer from `source`, oldest first."""
        return [
            (str(q), int(r), datetime.fromisoformat(str(at)))
            for q, r, at in self.db.execute(
                "SELECT question_id, rating, answered_at FROM answers WHERE source = ? AND rating IS NOT NULL"
                " ORDER BY answered_at, id",
                (source,),
            )
        ]

    def due_dates(self) -> dict[str, datetime]:
        """Question id -> when it is next due, for every question answered outside cram mode."""
        out: dict[str, datetime] = {}
        for rowid, qid, due in self.db.execute("SELECT rowid, question_id, due FROM cards"):
            out[str(qid)] = self._due(due, rowid)
        return out

    def _due(self, text: object, rowid: object) -> datetime:
        try:
            moment = datetime.fromisoformat(str(text))
        except ValueError:
            raise self._bad_row("cards", rowid, f"due {str(text)[:40]!r} is not a date and time") from None
        if moment.tzinfo is None:
            raise self._bad_row("cards", rowid, f"due {str(text)[:40]!r} has no time zone")
        return moment

    def _streak(self, now: datetime) -> int:
        """Consecutive local days with an answer, up to today (or up to yesterday when today has none yet)."""

        def answered_on(day: date) -> bool:
            start, end = _local_day_bounds(day)
            query = "SELECT 1 FROM answers WHERE answered_at >= ? AND answered_at < ? LIMIT 1"
            return self.db.execute(query, (start, end)).fetchone() is not None

        day = now.astimezone().date()
        if not answered_on(day):
            day -= timedelta(days=1)
        streak = 0
        while answered_on(day):
            streak += 1
            day -= timedelta(days=1)
        return streak

    def stats(self, now: datetime, questions: Sequence[Question] = ()) -> Stats:
        """Everything `stats` shows, aggregated in SQL; `questions` is the deck's bank (for mastery and coverage)."""
        db = self.db
        # One pass over a covering index gives every tally (and finds bad rows); what a question is
        # about (topic, drugs, facts) comes from the deck, or from one of its rows when it left the deck.
        per_question = db.execute(
            "SELECT question_id, sum(correct), count(*),"
            " min(CASE WHEN typeof(correct) = 'integer' AND correct IN (0, 1) THEN NULL ELSE id END)"
            " FROM answers GROUP BY question_id"
        ).fetchall()
        bad = min((row[3] for row in per_question if row[3] is not None), default=None)
        if bad is not None:
            value = db.execute("SELECT correct FROM answers WHERE id = ?", (bad,)).fetchone()[0]
            raise self._bad_row("answers", bad, f"correct is {str(value)[:40]!r}, not 0 or 1")
        sessions = db.execute(
            "SELECT count(*) FROM sessions WHERE EXISTS (SELECT 1 FROM answers WHERE session_id = sessions.id)"
        ).fetchone()[0]
        live = {q.id: q for q in questions}
        about: list[tuple[str, str, str, int, int]] = []
        for qid, c, n, _ in per_question:
            q = live.get(qid)
            if q is not None:
                about.append((q.topic, ",".join(q.drugs), ",".join(q.facts), int(c), int(n)))
            else:
                row = db.execute("SELECT topic, drugs, facts FROM answers WHERE question_id = ? LIMIT 1", (qid,))
                topic, drugs, facts = row.fetchone()
                about.append((str(topic), str(drugs), str(facts), int(c), int(n)))
        answered = sum(row[4] for row in about)
        correct = sum(row[3] for row in about)
        by_topic = dict(sorted(_split_groups((t, c, n) for t, _, _, c, n in about).items()))
        by_drug = _split_groups((d, c, n) for _, d, _, c, n in about)
        by_fact = _split_groups((f, c, n) for _, _, f, c, n in about)
        weakest = sorted(
            ((fact, c, n) for fact, (c, n) in by_fact.items() if c < n),
            key=lambda item: (item[1] / item[2], -item[2], item[0]),
        )[:5]
        today = now.astimezone().date()
        local_end = (now.astimezone() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        forecast = [0] * 7
        retrievability: dict[str, float] = {}
        due_now = due_today = 0
        for rowid, qid, card_json, due_text in db.execute("SELECT rowid, question_id, card, due FROM cards"):
            if live and qid not in live:
                continue
            due = self._due(due_text, rowid)
            due_now += due <= now
            due_today += due < local_end
            day = (due.astimezone().date() - today).days
            if day < 7:
                forecast[max(day, 0)] += 1
            if qid in live:
                card = self._load_card(card_json, rowid)
                retrievability[qid] = float(self.scheduler.get_card_retrievability(card, now))
        topics: dict[str, TopicMastery] = {}
        for topic in dict.fromkeys(q.topic for q in questions):
            ids = [q.id for q in questions if q.topic == topic]
            seen = [retrievability[i] for i in ids if i in retrievability]
            topics[topic] = TopicMastery(round(sum(seen) / len(ids), 3), len(seen), len(ids))
        answered_ids = {str(row[0]) for row in per_question}
        disputed = [
            Disputed(str(q), str(r), str(a))
            for q, r, a in db.execute(
                "SELECT question_id, response, answered_at FROM answers WHERE disputed = 1 ORDER BY id"
            )
        ]
        # Only merged answers carry an external id, so the partial index counts them without a full scan.
        by_source = {
            str(s): int(n)
            for s, n in db.execute("SELECT source, count(*) FROM answers WHERE external_id IS NOT NULL GROUP BY source")
        }
        plain = int(answered) - sum(by_source.values())
        if plain:
            by_source[AnswerSource.PLAY] = by_source.get(AnswerSource.PLAY, 0) + plain
        return Stats(
            sessions=int(sessions),
            answered=int(answered),
            correct=int(correct),
            by_topic=by_topic,
            by_drug=dict(sorted(by_drug.items())),
            due_now=due_now,
            due_today=due_today,
            weakest=weakest,
            topics=topics,
            due_forecast=forecast,
            coverage=(len(answered_ids & set(live)), len(live)),
            streak_days=self._streak(now),
            disputed=disputed,
            by_source=by_source,
        )


def _local_day_bounds(day: date) -> tuple[str, str]:
    """The UTC ISO strings that bound a local calendar day (answers are stored in UTC)."""
    start = datetime.combine(day, datetime.min.time()).astimezone()
    return _iso(start), _iso(start + timedelta(days=1))


def _unavailable(exc: sqlite3.Error) -> bool:
    detail = str(exc).lower()
    return any(word in detail for word in _UNAVAILABLE)


def _split_groups(rows: Iterable[tuple[object, object, object]]) -> dict[str, tuple[int, int]]:
    """Tallies of comma-joined keys (`drugs`, `facts`), split per key."""
    out: dict[str, list[int]] = {}
    for keys, c, n in rows:
        for key in str(keys or "").split(","):
            if key:
                tally = out.setdefault(key, [0, 0])
                tally[0] += int(str(c))
                tally[1] += int(str(n))
    return {k: (v[0], v[1]) for k, v in out.items()}


def _card_id(question_id: str) -> int:
    return int(question_id[1:13], 16)


def stats_json(stats: Stats) -> str:
    def block(data: dict[str, tuple[int, int]]) -> dict[str, Any]:
        return {k: {"correct": c, "answered": n, "accuracy": round(c / n, 3)} for k, (c, n) in data.items()}

    return json.dumps(
        {
            "sessions": stats.sessions,
            "answered": stats.answered,
            "by_source": {str(s): stats.by_source.get(s, 0) for s in AnswerSource},
            "correct": stats.correct,
            "accuracy": round(stats.correct / stats.answered, 3) if stats.answered else None,
            "by_topic": block(stats.by_topic),
            "by_drug": block(stats.by_drug),
            "due_now": stats.due_now,
            "due_today": stats.due_today,
            "due_forecast": stats.due_forecast,
            "topics": {k: {"mastery": v.mastery, "seen": v.seen, "total": v.total} for k, v in stats.topics.items()},
            "coverage": {"seen": stats.coverage[0], "total": stats.coverage[1]},
            "streak_days": stats.streak_days,
            "disputed": [
                {"question": d.question_id, "response": d.response, "answered_at": d.answered_at}
                for d in stats.disputed
            ],
            "weakest_facts": [{"fact": f, "correct": c, "answered": n} for f, c, n in stats.weakest],
        },
        indent=2,
        ensure_ascii=True,
    )
