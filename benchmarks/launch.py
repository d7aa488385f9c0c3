"""A small launcher: run one command and print its wall time and peak memory as JSON.

    python benchmarks/launch.py COMMAND [ARGS...]   # prints {"seconds": ..., "maxrss_kib": ..., "status": ...}

run.py starts every measured step through this script rather than itself. On Linux a
child's peak resident set (`ru_maxrss`) counts the pages it inherited at fork, so a child
of the benchmark script (which may hold hundreds of MiB) would report the script's memory
as its own. This launcher imports only the standard library (about 10 MiB), so the peak it
reports is the step's own. The step's stdin and stderr are the launcher's; its stdout is
discarded (the launcher's stdout carries the JSON line).

A step may fork (a large deck's build shares its work with a second core), and `ru_maxrss`
is the peak of the largest single process, not of the processes together. So the launcher
also samples, every 100 ms, the proportional set size (PSS: private pages, plus each shared
page divided among the processes sharing it) of the step and all its descendants, summed;
`maxrss_kib` is the larger of the two peaks.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def _tree(pid: int) -> list[int]:
    """The process and its descendants (Linux /proc), as far as they can be read."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], sum(_pss_kib(p) for p in _tree(proc.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    if Path("/proc/self/smaps_rollup").exists():
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    done.set()
    code = os.waitstatus_to_exitcode(status)
    maxrss = max(usage.ru_maxrss, peak[0])
    print(json.dumps({"seconds": elapsed, "maxrss_kib": maxrss, "status": code}), flush=True)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
