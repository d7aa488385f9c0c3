"""Measure snri-quiz on synthetic knowledge bases, in one run on the same data.

    python benchmarks/run.py                      # N = 500 and 2000 drugs, writes nothing
    python benchmarks/run.py --write              # also rewrites benchmarks/RESULTS.md
    python benchmarks/run.py --sizes 100 400      # other sizes

Each step runs in a fresh interpreter started by `launch.py`; wall time is measured around
it, peak memory is the larger of its maximum resident set size (os.wait4) and the peak
summed PSS of it and any child it forks. Steps: `check`, `build` (with the lock file
already in place, as when a learner rebuilds) cold, after an edit of one drug file and
warm, `export --format pdf` of 100 questions, and a baseline that writes the same notes
with plain genanki. Then start-up:
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
LAUNCH = str(HERE / "launch.py")
STEPS = ("check", "build", "build_edit", "build_warm", "baseline", "floor", "pdf")
LABELS = {
    "check": "check (cold)",
    "build": "build (cold)",
    "build_edit": "build (after an edit)",
    "build_warm": "build (warm)",
    "baseline": "plain genanki",
    "floor": "floor (inserts + zip)",
    "pdf": "export pdf, 100 q (cold)",
}


def measure(argv: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak MiB) of one child process, started by the small launcher (launch.py) so
    that its peak memory is its own, not this script's pages inherited at fork."""
    proc = subprocess.run(
        [PY, LAUNCH, *argv],
        input=stdin.encode() if stdin is not None else None,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()[-2000:]}")
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result["seconds"], result["maxrss_kib"] / 1024


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def dump_notes(deck: Path, target: Path) -> int:
    """Write the deck's note specs as JSON lines (run in a child: `run.py --dump DECK TARGET`)."""
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
                        "cards": spec.cards,
                    }
                )
                + "\n"
            )
    return len(content.bank)


def size_run(n: int, work: Path, rounds: int) -> dict[str, object]:
    """Cold: no question cache (SNRI_QUIZ_CACHE=off). Warm: the cache holds this deck's questions.

    Cold build, warm build, genanki and the floor are measured side by side, `rounds` times in
    turn, and each reported as its median round (time and memory apart)."""
    tag = f"[{n} drugs]"
    progress(f"{tag} writing the synthetic deck ...")
    deck = make_deck(work / f"deck{n}", n)
    dump = work / f"notes{n}.jsonl"
    progress(f"{tag} dumping its note specs for the baselines ...")
    subprocess.run([PY, __file__, "--dump", str(deck), str(dump)], check=True, stdin=subprocess.DEVNULL)
    with dump.open(encoding="utf-8") as handle:
        notes = sum(1 for _ in handle)
    quiz = [PY, "-m", "snri_quiz"]
    cold = {**os.environ, "SNRI_QUIZ_CACHE": "off"}
    warm = {**os.environ, "SNRI_QUIZ_CACHE": str(work / "cache")}
    rows: dict[str, object] = {"drugs": n, "notes": notes}

    def step(name: str, argv: list[str], env: dict[str, str] | None = None, note: str = "") -> tuple[float, float]:
        seconds, mib = measure(argv, env=env)
        progress(f"{tag} {LABELS.get(name, name)}{note}: {seconds:.2f} s, {mib:.0f} MiB")
        return seconds, mib

    rows["check"] = step("check", [*quiz, "check", "--deck", str(deck)], env=cold)
    step("first build", [*quiz, "build", "--deck", str(deck), "-o", str(work / "first")], env=warm)  # lock + cache
    # a copy whose one drug file changes before each of its builds, with caches of its own (as an
    # author works; the entries of each edit would else push the warm deck's out of the size bound)
    edited = work / f"edited{n}"
    shutil.copytree(deck, edited)
    authoring = {**os.environ, "SNRI_QUIZ_CACHE": str(work / f"cache-edited{n}")}
    step("first build", [*quiz, "build", "--deck", str(edited), "-o", str(work / "first-edited")], env=authoring)
    first_drug = sorted((edited / "drugs").glob("*.yaml"))[0]
    original = first_drug.read_text(encoding="utf-8")
    assert "\n  note: " in original, f"{first_drug}: no note to edit"
    samples: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("build", "build_edit", "build_warm", "baseline", "floor")
    }
    seconds_file = work / "floor-seconds.txt"
    for r in range(rounds):
        note = f", round {r + 1}/{rounds}"
        samples["build"].append(
            step("build", [*quiz, "build", "--deck", str(deck), "-o", str(work / f"out{n}")], cold, note)
        )
        first_drug.write_text(original.replace("\n  note: ", f"\n  note: Edit {r + 1}. ", 1), encoding="utf-8")
        samples["build_edit"].append(
            step("build_edit", [*quiz, "build", "--deck", str(edited), "-o", str(work / f"edit{n}")], authoring, note)
        )
        samples["build_warm"].append(
            step("build_warm", [*quiz, "build", "--deck", str(deck), "-o", str(work / f"warm{n}")], warm, note)
        )
        samples["baseline"].append(
            step(
                "baseline",
                [PY, str(HERE / "baseline_genanki.py"), str(dump), str(work / f"baseline{n}.apkg")],
                None,
                note,
            )
        )
        _, mib = measure([PY, str(HERE / "floor.py"), str(dump), str(work / f"floor{n}.apkg"), str(seconds_file)])
        seconds = float(seconds_file.read_text())
        progress(f"{tag} {LABELS['floor']}{note}: {seconds:.2f} s, {mib:.0f} MiB")
        samples["floor"].append((seconds, mib))
    for key, values in samples.items():
        rows[key] = (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
    rows["ratios"] = {
        "cold": statistics.median(b[0] / g[0] for b, g in zip(samples["build"], samples["baseline"], strict=True)),
        "edit": statistics.median(b[0] / g[0] for b, g in zip(samples["build_edit"], samples["baseline"], strict=True)),
        "warm": statistics.median(b[0] / g[0] for b, g in zip(samples["build_warm"], samples["baseline"], strict=True)),
        "memory": statistics.median(b[1] / g[1] for b, g in zip(samples["build"], samples["baseline"], strict=True)),
    }
    rows["pdf"] = step(
        "pdf",
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


def report(
    sizes: list[dict[str, object]], start: dict[str, float], wide: dict[int, tuple[float, float]], rounds: int
) -> str:
    def fmt(pair: object) -> str:
        seconds, mib = pair  # type: ignore[misc]
        return f"{seconds:.2f} s, {mib:.0f} MiB"

    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Date: {datetime.date.today().isoformat()}.",
        f"Command: `python benchmarks/run.py --sizes {' '.join(str(r['drugs']) for r in sizes)} --rounds {rounds} "
        "--write` (synthetic decks from `benchmarks/synth.py`).",
        "",
        "Cold: no cache at all (every step loads, validates and generates from the YAML). After an",
        "edit: the caches on, the note of one fact changed since the last build (its file is read",
        "again, the others come from the fact memo; the templates that read that fact's attribute",
        "run again; the other templates' questions and notes come from the cache). Warm:",
        "the caches hold this deck (a rebuild with unchanged content). Floor: the same SQLite inserts",
        "and zip of the same notes, nothing else (`benchmarks/floor.py`, timed inside).",
        f"Build, genanki and the floor ran side by side, {rounds} rounds in turn: each figure is the median",
        "round, each ratio the median of the rounds' ratios. Every step runs in a fresh interpreter",
        "started by a small launcher (`benchmarks/launch.py`), so its peak memory is its own; memory",
        "is the larger of the process's peak resident set and the peak summed PSS of it and any",
        "child it forks (a large deck's build reads its files and makes its questions on two cores).",
        "",
        "![time against deck size](results.png)",
        "",
        "| drugs | notes | check (cold) | build (cold) | build (after an edit) | build (warm) | plain genanki "
        "| floor | cold / genanki | edit / genanki | warm / genanki | memory / genanki "
        "| export pdf, 100 q (cold) | notes/s (cold build) |",
        "|---:|---:|---|---|---|---|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for row in sizes:
        build, warm, base, ratios = row["build"], row["build_warm"], row["baseline"], row["ratios"]
        rate = row["notes"] / build[0]  # type: ignore[index,operator]
        lines.append(
            f"| {row['drugs']} | {row['notes']} | {fmt(row['check'])} | {fmt(build)} | {fmt(row['build_edit'])} "
            f"| {fmt(warm)} | {fmt(base)} | {fmt(row['floor'])} | {ratios['cold']:.2f} "  # type: ignore[index]
            f"| {ratios['edit']:.2f} | {ratios['warm']:.2f} "  # type: ignore[index]
            f"| {ratios['memory']:.2f} | {fmt(row['pdf'])} | {rate:,.0f} |"  # type: ignore[index]
        )
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        factor = large["drugs"] / small["drugs"]  # type: ignore[operator]
        lines += ["", f"Growth from {small['drugs']} to {large['drugs']} drugs ({factor:.0f}x the drugs):", ""]
        for step in STEPS:
            t = large[step][0] / small[step][0]  # type: ignore[index]
            m = large[step][1] / small[step][1]  # type: ignore[index]
            lines.append(f"- {LABELS[step]}: {t:.2f}x the time, {m:.2f}x the memory")
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


def chart(sizes: list[dict[str, object]], target: Path) -> bool:
    """A PNG of time against deck size (build cold and warm, genanki, the floor); False without
    matplotlib (`pip install -r benchmarks/requirements.txt`)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("no chart: matplotlib is not installed (pip install -r benchmarks/requirements.txt)")
        return False
    drugs = [r["drugs"] for r in sizes]
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=100)
    styles = (("build", "o-"), ("build_edit", "D-"), ("build_warm", "s-"), ("baseline", "^--"), ("floor", "v:"))
    for key, style in styles:
        axes.plot(drugs, [r[key][0] for r in sizes], style, label=LABELS[key])  # type: ignore[index]
    axes.set_xlabel("drugs in the synthetic deck")
    axes.set_ylabel("seconds (median round)")
    axes.set_title("snri-quiz build against plain genanki and the floor")
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    # fixed metadata, so the same figures make the same bytes
    figure.savefig(target, format="png", metadata={"Software": None})
    plt.close(figure)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of build, genanki and floor side by side")
    parser.add_argument("--wide", type=int, nargs="*", default=[2000, 4000, 8000], help="facts of the one wide drug")
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/RESULTS.md (keeps its notes)")
    parser.add_argument("--dump", nargs=2, metavar=("DECK", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump_notes(Path(args.dump[0]), Path(args.dump[1]))
        return
    with tempfile.TemporaryDirectory(prefix="snri-bench-") as tmp:
        work = Path(tmp)
        progress("start-up: --help, import click, play to its first question ...")
        start = startup(work)  # first, on a quiet machine
        sizes = []
        for n in args.sizes:
            sizes.append(size_run(n, work, args.rounds))
        wide = {}
        for n in args.wide:
            progress(f"one drug with {n} facts (check) ...")
            wide[n] = wide_run(n, work)
    text = report(sizes, start, wide, args.rounds)
    print(text)
    if args.write:
        target = HERE / "RESULTS.md"
        notes = ""
        if target.exists() and "\n## Notes" in target.read_text():
            notes = target.read_text()[target.read_text().index("\n## Notes") :]
        chart(sizes, HERE / "results.png")
        target.write_text(text + notes)


if __name__ == "__main__":
    main()
