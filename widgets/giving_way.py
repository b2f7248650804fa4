"""Background imports that give way to the window: each module waits while the window is busy.

The window imports the passes and the presets on threads once a model is shown. Python runs one
thread at a time (the GIL): an import running alongside the window's own work took most of
the GUI thread's turns, and a 15 ms repaint took 40-60 ms. Inside `giving_way()`, the
thread waits before each module until the GUI thread has been idle for a moment, judged by
its CPU clock, which needs no lock to read (at most MAX_WAIT_S a module, so an import the
window itself waits for still goes on). Where a thread's CPU clock cannot be read, each
module still starts with a short sleep that hands the lock over.
"""
from __future__ import annotations

import importlib.abc
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

LOOK_S = 0.002  # how long the GUI thread is watched before each module
IDLE_SHARE = 0.1  # busy: it ran more than this share of LOOK_S
MAX_WAIT_S = 0.05


def _cpu_clock_of(thread: threading.Thread) -> int | None:
    """The clock of `thread`'s CPU time, where the platform offers one (Linux, BSDs)."""
    try:
        return time.pthread_getcpuclockid(thread.ident)  # type: ignore[arg-type]
    except (AttributeError, OSError, TypeError):
        return None


class _WaitWhileBusy(importlib.abc.MetaPathFinder):
    """Finds nothing; on its thread, holds each import back while the GUI thread is busy."""

    def __init__(self, thread: int, gui_clock: int | None) -> None:
        self.thread = thread
        self.gui_clock = gui_clock

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:  # noqa: ARG002
        if threading.get_ident() != self.thread:
            return
        if self.gui_clock is None:
            time.sleep(LOOK_S)
            return
        deadline = time.monotonic() + MAX_WAIT_S
        while True:
            before = time.clock_gettime(self.gui_clock)
            time.sleep(LOOK_S)
            if time.clock_gettime(self.gui_clock) - before < IDLE_SHARE * LOOK_S or time.monotonic() > deadline:
                return


@contextmanager
def giving_way() -> Iterator[None]:
    """While the block runs on this (background) thread, its imports wait for the GUI thread's idle moments."""
    finder = _WaitWhileBusy(threading.get_ident(), _cpu_clock_of(threading.main_thread()))
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
