"""A small launcher: run one command and print its wall time and peak memory as JSON.

    python benchmarks/launch.py COMMAND [ARGS...]   # prints {"seconds": ..., "maxrss_kib": ..., "status": ...}

run.py starts every measured step through this script rather than itself. On Linux a
child's peak resident set (`ru_maxrss`) counts the pages it inherited at fork, so a child
of the benchmark script (which may hold hundreds of MiB) would report the script's memory
as its own. This launcher imports only the standard library (about 10 MiB), so the peak it
reports is the step's own. The step's stdin and stderr are the launcher's; its stdout is
discarded (the launcher's stdout carries the JSON line).
"""

import json
import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps({"seconds": elapsed, "maxrss_kib": usage.ru_maxrss, "status": code}), flush=True)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
