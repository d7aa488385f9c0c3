"""Keep the README's example output true: run every command shown in a ```console block
and compare (or, with --update, replace) the output printed under it.

    python tools/readme.py            # check; exit 1 and a diff when the README drifted
    python tools/readme.py --update   # rewrite the output blocks from real runs

Commands run in order with bash, in an empty scratch folder, with a fresh progress home
and question cache, no colour, 100 columns, UTC, and the `snri-quiz` of this interpreter's
environment first on PATH. A block whose last line is `...` only checks the lines above it.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```console\n(.*?)^```$", re.S | re.M)


def run_block(body: str, env: dict[str, str], cwd: Path) -> str:
    """The block with each command's output replaced by what it prints now."""
    out: list[str] = []
    lines = body.splitlines()
    commands = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    for n, index in enumerate(commands):
        command = lines[index][2:]
        end = commands[n + 1] if n + 1 < len(commands) else len(lines)
        expected = lines[index + 1 : end]
        done = subprocess.run(
            ["bash", "-c", f"{command} 2>&1"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
        got = [line.rstrip() for line in done.stdout.replace(str(cwd) + "/", "").splitlines()]
        if expected and expected[-1] == "...":
            got = got[: len(expected) - 1] + ["..."]
        out.append(lines[index])
        out.extend(got)
    return "\n".join(out) + "\n"


def rendered(text: str) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        work = base / "work"
        work.mkdir()
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "SNRI_QUIZ_CACHE")},
            "SNRI_QUIZ_HOME": str(base / "home"),
            "SNRI_QUIZ_CACHE": str(base / "cache"),
            "NO_COLOR": "1",
            "COLUMNS": "100",
            "TZ": "UTC",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        return BLOCK.sub(lambda m: "```console\n" + run_block(m.group(1), env, work) + "```", text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="rewrite README.md from real runs")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    fresh = rendered(text)
    if args.update:
        README.write_text(fresh, encoding="utf-8")
        return 0
    if fresh != text:
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), fresh.splitlines(True), "README.md", "now"))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
