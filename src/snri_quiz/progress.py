"""The learner's history and scheduling state: SQLite plus the fsrs scheduler.

One transaction per answer, in WAL mode with a busy timeout, so two quizzes running at
once both keep every answer. A file that is not ours, or is damaged, is reported and
never overwritten.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import ProgressError
from .files import ensure_folder
from .grading import Grade
from .questions import Question

APPLICATION_ID = 0x534E5251  # "SNRQ"
SCHEMA_VERSION = 1
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
  previous_card TEXT
);
CREATE INDEX IF NOT EXISTS answers_question ON answers(question_id);
CREATE TABLE IF NOT EXISTS cards (
  question_id TEXT PRIMARY KEY,
  card TEXT NOT NULL,
  due TEXT NOT NULL
);
"""


def default_path() -> Path:
    """$SNRI_QUIZ_HOME/progress.db, else the user's data directory (platformdirs)."""
    home = os.environ.get("SNRI_QUIZ_HOME")
    if home:
        return Path(home) / "progress.db"
    import platformdirs

    return Path(platformdirs.user_data_dir("snri-quiz", appauthor=False)) / "progress.db"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def rating_for(grade: Grade) -> int:
    """fsrs rating: a wrong answer is Again (1), an accepted typo Hard (2), else Good (3)."""
    if not grade.correct:
        return 1
    return 2 if grade.typo else 3


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


class ProgressStore:
    """The progress database. Open it with `ProgressStore.open(path)`."""

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path, self.db = path, connection
        self._scheduler: Any = None

    @classmethod
    def open(cls, path: Path | None = None) -> ProgressStore:
        path = path or default_path()
        fresh = not path.exists() or path.stat().st_size == 0
        if not fresh and not path.is_file():
            raise ProgressError(f"progress file {path} is not a file")
        ensure_folder(path.parent)
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise ProgressError(f"cannot open progress file {path}: {exc}") from None
        store = cls(path, db)
        try:
            store._prepare(fresh)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise ProgressError(store._damaged(str(exc))) from None
        except ProgressError:
            db.close()
            raise
        return store

    def _damaged(self, detail: str) -> str:
        return (
            f"progress file {self.path} is damaged or not an snri-quiz progress file ({detail}); "
            f"to start fresh, move it aside (mv '{self.path}' '{self.path}.old') and run again"
        )

    def _prepare(self, fresh: bool) -> None:
        db = self.db
        db.execute("PRAGMA busy_timeout = 30000")
        if not fresh:
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise ProgressError(self._damaged(check))
        # Check and create under the write lock, so a second quiz starting at the same
        # moment waits for the first to finish creating the file.
        db.execute("BEGIN IMMEDIATE")
        try:
            app = db.execute("PRAGMA application_id").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app != APPLICATION_ID and (app != 0 or tables):
                raise ProgressError(self._damaged("it belongs to another program"))
            if db.execute("PRAGMA user_version").fetchone()[0] > SCHEMA_VERSION:
                raise ProgressError(f"progress file {self.path} was written by a newer snri-quiz; upgrade to use it")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("PRAGMA journal_mode = WAL")

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
        cursor = self.db.execute(
            "INSERT INTO sessions (started, mode, cram) VALUES (?, ?, ?)", (_iso(now), mode, int(cram))
        )
        return int(cursor.lastrowid or 0)

    def finish_session(self, session_id: int, now: datetime) -> None:
        self.db.execute("UPDATE sessions SET finished = ? WHERE id = ?", (_iso(now), session_id))

    def record(
        self, session_id: int, question: Question, response: str, grade: Grade, now: datetime, *, cram: bool
    ) -> int:
        """Save one answer and (unless cramming) reschedule its card, in one transaction."""
        from fsrs import Card, Rating

        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            rating = None
            previous = None
            if not cram:
                row = db.execute("SELECT card FROM cards WHERE question_id = ?", (question.id,)).fetchone()
                previous = row[0] if row else None
                card = Card.from_json(previous) if previous else Card(card_id=_card_id(question.id))
                rating = rating_for(grade)
                card, _ = self.scheduler.review_card(card, Rating(rating), now.astimezone(UTC))
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
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(cursor.lastrowid or 0)

    def undo(self, answer_id: int) -> None:
        """Forget an answer and put its card back as it was before it."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT question_id, previous_card FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is not None:
                question_id, previous = row
                if previous == "":
                    db.execute("DELETE FROM cards WHERE question_id = ?", (question_id,))
                elif previous is not None:
                    from fsrs import Card

                    due = Card.from_json(previous).due
                    db.execute(
                        "UPDATE cards SET card = ?, due = ? WHERE question_id = ?", (previous, _iso(due), question_id)
                    )
                db.execute("DELETE FROM answers WHERE id = ?", (answer_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- reading -------------------------------------------------------------------------
    def due_dates(self) -> dict[str, datetime]:
        """Question id -> when it is next due, for every question answered outside cram mode."""
        return {qid: datetime.fromisoformat(due) for qid, due in self.db.execute("SELECT question_id, due FROM cards")}

    def stats(self, now: datetime, known: Iterable[str] | None = None) -> Stats:
        db = self.db
        sessions = db.execute("SELECT count(*) FROM sessions WHERE id IN (SELECT session_id FROM answers)").fetchone()[
            0
        ]
        rows = db.execute("SELECT topic, drugs, facts, correct FROM answers").fetchall()
        by_topic: dict[str, list[int]] = {}
        by_drug: dict[str, list[int]] = {}
        by_fact: dict[str, list[int]] = {}
        for topic, drugs, facts, correct in rows:
            for bucket, keys in (
                (by_topic, [topic]),
                (by_drug, drugs.split(",") if drugs else []),
                (by_fact, facts.split(",") if facts else []),
            ):
                for key in keys:
                    tally = bucket.setdefault(key, [0, 0])
                    tally[0] += correct
                    tally[1] += 1
        live = set(known) if known is not None else None
        dues = [d for q, d in self.due_dates().items() if live is None or q in live]
        local_end = (now.astimezone() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        weakest = sorted(
            ((fact, c, n) for fact, (c, n) in by_fact.items() if c < n),
            key=lambda item: (item[1] / item[2], -item[2], item[0]),
        )[:5]
        return Stats(
            sessions=int(sessions),
            answered=len(rows),
            correct=sum(r[3] for r in rows),
            by_topic={k: (v[0], v[1]) for k, v in sorted(by_topic.items())},
            by_drug={k: (v[0], v[1]) for k, v in sorted(by_drug.items())},
            due_now=sum(d <= now for d in dues),
            due_today=sum(d < local_end for d in dues),
            weakest=weakest,
        )


def _card_id(question_id: str) -> int:
    return int(question_id[1:13], 16)


def stats_json(stats: Stats) -> str:
    def block(data: dict[str, tuple[int, int]]) -> dict[str, Any]:
        return {k: {"correct": c, "answered": n, "accuracy": round(c / n, 3)} for k, (c, n) in data.items()}

    return json.dumps(
        {
            "sessions": stats.sessions,
            "answered": stats.answered,
            "correct": stats.correct,
            "accuracy": round(stats.correct / stats.answered, 3) if stats.answered else None,
            "by_topic": block(stats.by_topic),
            "by_drug": block(stats.by_drug),
            "due_now": stats.due_now,
            "due_today": stats.due_today,
            "weakest_facts": [{"fact": f, "correct": c, "answered": n} for f, c, n in stats.weakest],
        },
        indent=2,
    )
