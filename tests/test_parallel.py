"""Work shared with a second core (parallel.py): the same facts, questions and package bytes as
one process makes, in the same order; a child that dies or fails changes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snri_quiz import anki, parallel
from snri_quiz.anki import build_package, make_notes
from snri_quiz.content import bundled_templates, load_content
from snri_quiz.deckfile import load_deck
from snri_quiz.generate import generate
from snri_quiz.templates import load_templates

from . import test_broken as broken

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or parallel.cores() < 2, reason="needs fork and two cores")


def test_results_come_back_in_task_order_from_both_processes() -> None:
    pids = parallel.shared_map(lambda task, _: (task, os.getpid()), list(range(200)))
    assert [task for task, _ in pids] == list(range(200))
    assert os.getpid() in {pid for _, pid in pids}


def test_a_child_that_dies_leaves_its_tasks_to_this_process() -> None:
    parent = os.getpid()

    def work(task: int, _: object) -> int:
        if os.getpid() != parent and task > 3:
            os._exit(9)  # killed mid-way: what it wrote before stays, the rest is redone here
        return task * task

    assert parallel.shared_map(work, list(range(50))) == [t * t for t in range(50)]


def test_a_failure_in_the_child_is_redone_here_and_raised_here() -> None:
    def work(task: int, _: object) -> int:
        if task == 7:
            raise ValueError("task 7")
        return task

    with pytest.raises(ValueError, match="task 7"):
        parallel.shared_map(work, list(range(20)))


@pytest.mark.slow
def test_shared_generation_and_build_equal_one_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, deck_copy: Path
) -> None:
    monkeypatch.setenv("SNRI_QUIZ_CACHE", "off")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    deck = load_deck(deck_copy)
    templates = load_templates(bundled_templates(), deck)
    monkeypatch.setattr(parallel, "SHARED_FROM", 10**9)
    alone = generate(deck, templates)
    package = build_package(load_content(deck_copy), tmp_path / "alone").path.read_bytes()
    monkeypatch.setattr(parallel, "SHARED_FROM", 0)
    shared = generate(deck, templates)
    assert shared == alone and [q.id for q in shared] == [q.id for q in alone]
    assert build_package(load_content(deck_copy), tmp_path / "shared").path.read_bytes() == package
    # the notes made beside the questions, on both cores, as `build` makes them
    content = load_content(deck_copy, then=make_notes)
    assert len(content.made) == len(templates) and sum(len(heads) for heads, _ in content.made) == len(alone)
    monkeypatch.setattr(anki, "note_spec", lambda *_: pytest.fail("the notes were made again"))
    assert build_package(content, tmp_path / "beside").path.read_bytes() == package


DRUG_CASES = [c for c in broken.CASES if "drugs/" in c.read_text(encoding="utf-8")]


@pytest.mark.slow
@pytest.mark.parametrize("case_file", DRUG_CASES, ids=[c.stem for c in DRUG_CASES])
def test_broken_drug_files_read_on_two_cores_give_the_same_messages(
    case_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drug files read by two processes (a large deck's) are checked as one process checks them,
    across files too (two drugs of one name)."""
    monkeypatch.setattr(parallel, "SHARED_FROM", 0)
    broken.test_broken_deck_gives_exact_messages(case_file, tmp_path)


def test_the_shared_cases_include_one_across_files() -> None:
    assert len(DRUG_CASES) > 20
    assert any(c.stem == "duplicate-drug-name" for c in DRUG_CASES)


@pytest.mark.slow
def test_a_child_whose_parent_is_killed_stops(tmp_path: Path) -> None:
    """Killed mid-way (SIGKILL, no clean-up), the parent leaves no child working on for nobody."""
    import signal
    import subprocess
    import sys
    import time

    pids = tmp_path / "pids"
    script = f"""
import os, time
from pathlib import Path
from snri_quiz.parallel import shared_map
def work(task, _):
    with open({str(pids)!r}, "a") as out:
        out.write(f"{{os.getpid()}}\\n")
    time.sleep(0.1)
    return task
shared_map(work, list(range(200)))
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not pids.exists() or len(set(pids.read_text().split())) < 2):
        time.sleep(0.05)
    child = next(int(p) for p in set(pids.read_text().split()) if int(p) != proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
            if Path(f"/proc/{child}/stat").read_text().split(")")[-1].split()[0] == "Z":
                break  # exited, waiting to be reaped by whoever adopted it
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the child went on after its parent was killed")


def test_a_child_killed_while_taking_a_task_never_blocks_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The task counter's lock is a POSIX record lock: the kernel drops it with its dead holder."""
    import fcntl
    import signal

    parent = os.getpid()
    real = fcntl.lockf
    taken = [0]

    def lockf(fd: int, op: int) -> None:
        real(fd, op)
        if os.getpid() != parent and op == fcntl.LOCK_EX:
            taken[0] += 1
            if taken[0] == 3:
                os._exit(9)  # dies holding the lock

    def hung(*_: object) -> None:
        raise AssertionError("blocked on the dead child's lock")

    monkeypatch.setattr(fcntl, "lockf", lockf)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        assert parallel.shared_map(lambda task, _: task + 1, list(range(60))) == list(range(1, 61))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _mark(path: Path, text: str = "") -> None:
    path.write_text(f"{os.getpid()} {text}", encoding="utf-8")


def test_jobs_put_off_run_in_order_in_a_child_and_are_waited_for(tmp_path: Path) -> None:
    with parallel.beside() as later:
        later.add(lambda: _mark(tmp_path / "one"))
        later.add(lambda: 1 / 0)  # a failing job is skipped; the next still runs
        later.add(lambda: _mark(tmp_path / "two", (tmp_path / "one").read_text(encoding="utf-8")))
        later.start()
        later.add(lambda: _mark(tmp_path / "after"))  # after start: at once, here
        assert (tmp_path / "after").read_text(encoding="utf-8") == f"{os.getpid()} "
    child, _, first = (tmp_path / "two").read_text(encoding="utf-8").partition(" ")
    assert int(child) != os.getpid() and first == f"{child} "  # both in the child, in order


def test_jobs_run_here_without_a_second_core_and_always_before_the_block_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with parallel.beside() as later:
        later.add(lambda: _mark(tmp_path / "never-started"))
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    with parallel.beside() as later:
        later.add(lambda: _mark(tmp_path / "one-core"))
        later.start()
    assert (tmp_path / "never-started").exists()  # started when the block ends, and waited for
    assert (tmp_path / "one-core").read_text(encoding="utf-8") == f"{os.getpid()} "


def test_a_failed_block_drops_jobs_not_started_and_an_interrupted_one_stops_its_child(tmp_path: Path) -> None:
    import time

    with pytest.raises(RuntimeError), parallel.beside() as later:
        later.add(lambda: (time.sleep(0.3), _mark(tmp_path / "written")))
        later.start()
        raise RuntimeError("the build failed")
    assert (tmp_path / "written").exists()  # a failure waits for the child: its writes are good
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), parallel.beside() as later:
        later.add(lambda: (time.sleep(30), _mark(tmp_path / "slow")))
        later.start()
        raise KeyboardInterrupt
    assert time.monotonic() - started < 10 and not (tmp_path / "slow").exists()
    with pytest.raises(RuntimeError), parallel.beside() as later:
        later.add(lambda: _mark(tmp_path / "dropped"))
        raise RuntimeError("before start")
    assert not (tmp_path / "dropped").exists()
