"""Work shared with a forked child on a second core: the same results, in task order, as one
process would give.

Used where a large deck's work splits into independent tasks that make new objects from
little shared data: reading and checking its fact files, and each template's questions. The
child writes nowhere but an unnamed temporary file; if it dies or fails, this process does
the tasks it left, so the result never depends on the child. (Not for work that reads many
objects this process holds, such as notes made from the questions: Python's reference
counts write to every object read, so the child would copy each page of them.)
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import IO, Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

SHARED_FROM = 5000
"""Decks with at least this many facts share their work with a second core: below it, starting
a child costs more than it saves."""


def worth_sharing(facts: int) -> bool:
    """True for a deck of this many facts."""
    return facts >= SHARED_FROM


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def shared_map(
    work: Callable[[T, Any], R],
    tasks: Sequence[T],
    *,
    around: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> list[R]:
    """`work(task, state)` for every task, `state` being what `around()` gives in the process that
    runs it. This process and one forked child take the tasks in order, each the next one free
    (put the largest first); the results come back in task order. Without fork or a second
    core, or with one task, everything runs here.

    The child writes each result as it is done (pickled, length first) to an unnamed
    temporary file, so nothing ever waits on a reader; this process reads them when both are
    done, one at a time."""
    if len(tasks) < 2 or cores() < 2 or not hasattr(os, "fork"):
        with around() as state:
            return [work(task, state) for task in tasks]
    import fcntl
    import tempfile

    def taken(turn: int) -> Iterator[int]:
        """The next task free: a number in a file both processes share, under a POSIX record
        lock (which the kernel releases if its holder dies: a killed child never blocks this one)."""
        while True:
            fcntl.lockf(turn, fcntl.LOCK_EX)
            try:
                (index,) = _SIZE.unpack(os.pread(turn, _SIZE.size, 0))
                os.pwrite(turn, _SIZE.pack(index + 1), 0)
            finally:
                fcntl.lockf(turn, fcntl.LOCK_UN)
            if index >= len(tasks):
                return
            yield index

    results: dict[int, R] = {}
    with tempfile.TemporaryFile() as spool, tempfile.TemporaryFile() as counter:
        turn = counter.fileno()
        os.pwrite(turn, _SIZE.pack(0), 0)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # else the child could print what this process had buffered
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: do tasks, write each result, leave without running any exit handler
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # an interrupt ends it at once; this process stays
            status = 0
            try:
                with around() as state:
                    for i in taken(turn):
                        if os.getppid() != parent:  # this process was killed: nobody wants the rest
                            break
                        frame = pickle.dumps((i, work(tasks[i], state)), protocol=pickle.HIGHEST_PROTOCOL)
                        spool.write(_SIZE.pack(len(frame)) + frame)
                spool.flush()
            except BaseException:  # noqa: BLE001 - whatever it is, this process redoes the tasks left
                status = 1
            os._exit(status)
        finished = False
        try:
            with around() as state:
                for i in taken(turn):
                    results[i] = work(tasks[i], state)
            os.waitpid(pid, 0)
            finished = True
        finally:
            if not finished:  # this process failed or was interrupted: the child's work is not wanted
                _stop(pid)
        spool.seek(0)
        for i, result in _frames(spool):
            results[i] = result
    with around() as state:  # what a failed child left
        for i in range(len(tasks)):
            if i not in results:
                results[i] = work(tasks[i], state)
    return [results[i] for i in range(len(tasks))]


_SIZE = struct.Struct("<Q")


def _frames(spool: IO[bytes]) -> Iterator[Any]:
    """The pickled values in `spool`, each length first; one cut short (a child that died while
    writing it) ends them."""
    while True:
        head = spool.read(_SIZE.size)
        if len(head) < _SIZE.size:
            return
        (size,) = _SIZE.unpack(head)
        frame = spool.read(size)
        if len(frame) < size:
            return
        yield pickle.loads(frame)


class Beside:
    """Jobs put off (`add`) and run, in order, beside this process's own work: `start` hands the
    ones added so far to a forked child on the second core (without one, or without fork, it
    runs them here), and jobs added after it run at once. For writes that only save time later
    (the caches): a job that fails is skipped, nothing waits on it but `beside`'s end."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], object]] = []
        self.started = False
        self.child = 0

    def add(self, job: Callable[[], object]) -> None:
        if self.started:
            _run([job])
        else:
            self.jobs.append(job)

    def start(self) -> None:
        jobs, self.jobs, self.started = self.jobs, [], True
        if not jobs:
            return
        if cores() < 2 or not hasattr(os, "fork"):
            _run(jobs)
            return
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # else the child could print what this process had buffered
        pid = os.fork()
        if pid == 0:  # the child: run the jobs, leave without running any exit handler
            import gc

            gc.disable()  # a collection would touch, and so copy, every page this process holds
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                _run(jobs)
            finally:
                os._exit(0)
        self.child = pid


def _run(jobs: Sequence[Callable[[], object]]) -> None:
    for job in jobs:
        try:
            job()
        except Exception:  # noqa: BLE001, S112 - a job only saves time later: the next one still runs
            continue


@contextmanager
def beside() -> Iterator[Beside]:
    """A `Beside` whose jobs are all done, or in a child waited for, when the block ends. When
    the block fails, jobs not started are dropped and a child is waited for (its writes stay
    good); when it is interrupted (Ctrl-C, exit), a child is stopped."""
    later = Beside()
    try:
        yield later
    except Exception:
        if later.child:
            os.waitpid(later.child, 0)
        raise
    except BaseException:
        if later.child:
            _stop(later.child)
        raise
    later.start()
    if later.child:
        os.waitpid(later.child, 0)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
