"""Measure snri-quiz on synthetic knowledge bases, in one run on the same data.

    python benchmarks/run.py                      # N = 500 and 2000 drugs, writes nothing
    python benchmarks/run.py --write              # also rewrites benchmarks/RESULTS.md
    python benchmarks/run.py --sizes 100 400      # other sizes

Each step runs in a fresh interpreter; wall time is measured around it and peak memory
is the child's maximum resident set size (os.wait4). Steps: `check`, `build` (with the
lock file already in place, as when a learner rebuilds), `export --format pdf` of 100
questions, and a baseline that writes the same notes with plain genanki. Then start-up:
`snri-quiz --help` against `python -c "import click"`, and the time until `play` shows
its first question on the bundled deck.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import make_deck, make_wide_deck  # noqa: E402

PY = sys.executable


def measure(argv: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def dump_notes(deck: Path, target: Path) -> int:
    from snri_quiz.anki import note_spec
    from snri_quiz.content import load_content

    content = load_content(deck)
    with target.open("w", encoding="utf-8") as handle:
        for q in content.bank:
            spec = note_spec(content.deck, q)
            handle.write(
                json.dumps(
                    {
                        "type": spec.note_type,
                        "fields": list(spec.fields),
                        "tags": list(spec.tags),
                        "guid": spec.guid,
                        "deck": spec.deck_name,
                    }
                )
                + "\n"
            )
    return len(content.bank)


def size_run(n: int, work: Path) -> dict[str, object]:
    """Cold: no question cache (SNRI_QUIZ_CACHE=off). Warm: the cache holds this deck's questions."""
    deck = make_deck(work / f"deck{n}", n)
    notes = dump_notes(deck, work / f"notes{n}.jsonl")
    quiz = [PY, "-m", "snri_quiz"]
    cold = {**os.environ, "SNRI_QUIZ_CACHE": "off"}
    warm = {**os.environ, "SNRI_QUIZ_CACHE": str(work / "cache")}
    rows: dict[str, object] = {"drugs": n, "notes": notes}
    rows["check"] = measure([*quiz, "check", "--deck", str(deck)], env=cold)
    measure([*quiz, "build", "--deck", str(deck), "-o", str(work / "first")], env=warm)  # lock file + cache
    rows["build"] = measure([*quiz, "build", "--deck", str(deck), "-o", str(work / f"out{n}")], env=cold)
    rows["build_warm"] = measure([*quiz, "build", "--deck", str(deck), "-o", str(work / f"warm{n}")], env=warm)
    rows["baseline"] = measure(
        [PY, str(HERE / "baseline_genanki.py"), str(work / f"notes{n}.jsonl"), str(work / f"baseline{n}.apkg")]
    )
    rows["pdf"] = measure(
        [*quiz, "export", "--deck", str(deck), "--format", "pdf", "--count", "100", "-o", str(work / f"exam{n}.pdf")],
        env=cold,
    )
    return rows


def wide_run(n_facts: int, work: Path) -> tuple[float, float]:
    """`check` (cold) on a 20-drug deck where one drug has n_facts adverse reactions."""
    deck = make_wide_deck(work / f"wide{n_facts}", n_facts)
    cold = {**os.environ, "SNRI_QUIZ_CACHE": "off"}
    return measure([PY, "-m", "snri_quiz", "check", "--deck", str(deck)], env=cold)


def startup(work: Path) -> dict[str, float]:
    exe = shutil.which("snri-quiz")
    help_cmd = [exe, "--help"] if exe else [PY, "-m", "snri_quiz", "--help"]
    help_times, click_times = [], []
    for _ in range(25):  # interleaved, so both see the same machine conditions
        help_times.append(measure(help_cmd)[0])
        click_times.append(measure([PY, "-c", "import click"])[0])
    env = {**os.environ, "SNRI_QUIZ_HOME": str(work / "home")}
    firsts = []
    for _ in range(7):
        play = (
            [exe, "play", "--count", "1", "--cram"]
            if exe
            else [PY, "-m", "snri_quiz", "play", "--count", "1", "--cram"]
        )
        start = time.perf_counter()
        proc = subprocess.Popen(play, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None and proc.stdin is not None
        while b"Question 1/" not in proc.stdout.readline():
            pass
        firsts.append(time.perf_counter() - start)
        proc.stdin.write(b"q\n")
        proc.stdin.close()
        proc.wait()
    return {
        "help": statistics.median(help_times),
        "click": statistics.median(click_times),
        "play_first": statistics.median(firsts),
    }


def report(sizes: list[dict[str, object]], start: dict[str, float], wide: dict[int, tuple[float, float]]) -> str:
    def fmt(pair: object) -> str:
        seconds, mib = pair  # type: ignore[misc]
        return f"{seconds:.2f} s, {mib:.0f} MiB"

    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Date: {datetime.date.today().isoformat()}.",
        "Command: `python benchmarks/run.py --write` (synthetic decks from `benchmarks/synth.py`).",
        "",
        "Cold: no question cache (every step loads, validates and generates from the YAML). Warm: the",
        "question cache already holds this deck (a rebuild with unchanged content).",
        "",
        "| drugs | notes | check (cold) | build (cold) | build (warm) | plain genanki | cold / genanki "
        "| warm / genanki | export pdf, 100 q (cold) | notes/s (cold build) |",
        "|---:|---:|---|---|---|---|---:|---:|---|---:|",
    ]
    for row in sizes:
        build, warm, base = row["build"], row["build_warm"], row["baseline"]
        rate = row["notes"] / build[0]  # type: ignore[index,operator]
        lines.append(
            f"| {row['drugs']} | {row['notes']} | {fmt(row['check'])} | {fmt(build)} | {fmt(warm)} "
            f"| {fmt(base)} | {build[0] / base[0]:.2f} | {warm[0] / base[0]:.2f} "  # type: ignore[index]
            f"| {fmt(row['pdf'])} | {rate:,.0f} |"
        )
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        factor = large["drugs"] / small["drugs"]  # type: ignore[operator]
        lines += ["", f"Growth from {small['drugs']} to {large['drugs']} drugs ({factor:.0f}x the drugs):", ""]
        for step in ("check", "build", "build_warm", "baseline", "pdf"):
            t = large[step][0] / small[step][0]  # type: ignore[index]
            m = large[step][1] / small[step][1]  # type: ignore[index]
            lines.append(f"- {step}: {t:.2f}x the time, {m:.2f}x the memory")
    if wide:
        lines += ["", "One drug with many facts of one attribute (20 drugs, `check`, cold):", ""]
        for n_facts, (seconds, mib) in wide.items():
            lines.append(f"- {n_facts} facts: {seconds:.2f} s, {mib:.0f} MiB")
    ratio = start["help"] / start["click"]
    lines += [
        "",
        "Start-up (median of repeated runs):",
        "",
        f'- `snri-quiz --help`: {start["help"] * 1000:.0f} ms; `python -c "import click"`: '
        f"{start['click'] * 1000:.0f} ms; ratio {ratio:.2f}",
        f"- `snri-quiz play`, first question on the bundled deck: {start['play_first'] * 1000:.0f} ms",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--wide", type=int, nargs="*", default=[2000, 4000, 8000], help="facts of the one wide drug")
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/RESULTS.md (keeps its notes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snri-bench-") as tmp:
        work = Path(tmp)
        start = startup(work)  # first, on a quiet machine
        sizes = []
        for n in args.sizes:
            print(f"measuring {n} drugs ...", file=sys.stderr)
            sizes.append(size_run(n, work))
        wide = {}
        for n in args.wide:
            print(f"measuring one drug with {n} facts ...", file=sys.stderr)
            wide[n] = wide_run(n, work)
    text = report(sizes, start, wide)
    print(text)
    if args.write:
        target = HERE / "RESULTS.md"
        notes = ""
        if target.exists() and "\n## Notes" in target.read_text():
            notes = target.read_text()[target.read_text().index("\n## Notes") :]
        target.write_text(text + notes)


if __name__ == "__main__":
    main()
