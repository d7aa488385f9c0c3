"""The learner's history at scale: `play` and `stats` with a million recorded answers.

    python benchmarks/history.py                 # 1,000,000 answers
    python benchmarks/history.py --answers 200000

Fills a progress file through snri-quiz's own store (schema, WAL) with synthetic answers
spread over the bundled deck's questions and a year of days, then measures, each in a
fresh interpreter, the time until `play` shows its first question and the time `stats`
takes. Targets: first question under 0.2 s of the empty-history figure plus 0.1 s, `stats`
under 0.3 s beyond start-up.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def fill(home: Path, answers: int) -> None:
    from fsrs import Card, Rating, Scheduler

    from snri_quiz.content import load_content
    from snri_quiz.progress import ProgressStore

    bank = load_content().bank
    rng = random.Random(0)
    now = datetime.now(UTC)
    scheduler = Scheduler(enable_fuzzing=False)
    with ProgressStore.open(home / "progress.db") as store:
        db = store.db
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO sessions (id, started, finished, mode, cram) VALUES (?, ?, ?, 'mixed', 0)",
            ((i, (now - timedelta(days=i)).isoformat(), None) for i in range(1, 366)),
        )
        rows = []
        for i in range(answers):
            q = bank[i % len(bank)]
            when = now - timedelta(seconds=rng.randrange(365 * 86400))
            correct = rng.random() < 0.7
            rows.append(
                (
                    1 + i % 365,
                    q.id,
                    q.topic,
                    ",".join(q.drugs),
                    ",".join(q.facts),
                    "x",
                    int(correct),
                    0,
                    3 if correct else 1,
                    when.isoformat(timespec="seconds"),
                    "",
                )
            )
            if len(rows) == 50_000:
                db.executemany(
                    "INSERT INTO answers (session_id, question_id, topic, drugs, facts, response, correct, typo,"
                    " rating, answered_at, previous_card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                rows.clear()
        if rows:
            db.executemany(
                "INSERT INTO answers (session_id, question_id, topic, drugs, facts, response, correct, typo,"
                " rating, answered_at, previous_card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        for q in bank:
            card, _ = scheduler.review_card(Card(), Rating.Good, now - timedelta(days=rng.randrange(30)))
            db.execute(
                "INSERT OR REPLACE INTO cards (question_id, card, due) VALUES (?, ?, ?)",
                (q.id, card.to_json(), card.due.isoformat(timespec="seconds")),
            )
        db.execute("COMMIT")


def timed(argv: list[str], env: dict[str, str], stdin: str = "", rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=120)
        times.append(time.perf_counter() - start)
        if done.returncode not in (0, 130):
            raise SystemExit(f"{argv} failed: {done.stderr[-2000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1_000_000)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "snri_quiz"]
    with tempfile.TemporaryDirectory() as scratch:
        results = {}
        for label, answers in (("empty", 0), ("full", args.answers)):
            home = Path(scratch) / label
            home.mkdir()
            env = {**os.environ, "SNRI_QUIZ_HOME": str(home), "SNRI_QUIZ_CACHE": str(Path(scratch) / "cache")}
            if answers:
                print(f"filling {answers:,} answers ...", flush=True)
                fill(home, answers)
            subprocess.run([*cli, "check"], env=env, capture_output=True, check=True)  # warm the question cache
            # `play` stops at end of input right after showing its first question
            first = timed([*cli, "play", "--count", "1", "--cram"], env)
            stats = timed([*cli, "stats"], env)
            results[label] = (first, stats)
            print(f"{label:>5} history: play to first question {first * 1000:.0f} ms, stats {stats * 1000:.0f} ms")
        base = timed([sys.executable, "-c", "import snri_quiz.cli"], os.environ.copy())
        print(f"python -c 'import snri_quiz.cli': {base * 1000:.0f} ms")


if __name__ == "__main__":
    main()
