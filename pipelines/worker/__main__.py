"""Worker process entry: `python -m onnx_workbench.pipelines.worker KIND`, params as one JSON object on stdin.

stdout carries protocol lines only: the real stdout descriptor is kept for the protocol and
descriptor 1 is pointed at stderr, so stray prints and native library logs (ONNX Runtime
writes to the C streams) cannot corrupt the stream the parent parses.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from onnx_workbench.pipelines.errors import Cancelled, WorkbenchError
from onnx_workbench.pipelines.worker import protocol

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 64
EXIT_ORPHANED = 75
# Jobs that time the model keep the normal priority: a lower one would let other programs
# slow down the very runs being measured. The rest (passes and their checks, analysis,
# exports) step aside for the window, which must keep drawing while they fill the cores.
TIMING_JOBS = frozenset({"profile", "sweep", "compare", "tune-candidate"})
BACKGROUND_NICENESS = 5  # added to the Unix niceness; Windows gets its "below normal" class


def take_stdout() -> TextIO:
    """Reserve the real stdout for protocol lines and send everything else written there to stderr."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)  # native code writing to fd 1 now lands on stderr
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1)


def make_emit(stream: TextIO) -> Callable[[dict[str, Any]], None]:
    """A thread-safe emit(record) that writes and flushes one line per record."""
    lock = threading.Lock()

    def emit(record: dict[str, Any]) -> None:
        line = protocol.encode(record)
        with lock:
            stream.write(line)
            stream.flush()

    return emit


def _raise_cancelled(signum: int, frame: Any) -> None:
    # SIGTERM becomes an exception so jobs can remove temporary files on the way out; a job
    # stuck in native code is killed by the parent after its grace period.
    raise Cancelled(protocol.TERMINATED_MESSAGE)


def watch_parent(interval_s: float = 1.0) -> None:
    """Exit when the parent dies: an orphaned worker would burn CPU for nobody (it runs in its own session, so no signal reaches it)."""
    parent = os.getppid()

    def loop() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                os._exit(EXIT_ORPHANED)

    threading.Thread(target=loop, daemon=True, name="parent-watch").start()


def step_aside(kind: str) -> None:
    """Lower this worker's scheduling priority unless its job times the model (see TIMING_JOBS)."""
    if kind in TIMING_JOBS:
        return
    if sys.platform == "win32":
        import psutil

        with contextlib.suppress(psutil.Error, OSError):  # refused: the window is only less smooth
            psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
    else:
        os.nice(BACKGROUND_NICENESS)  # an increment (capped at 19), which anyone may make
        # Linux weighs sessions against each other first (autogroups), and a worker has its own
        # session (see WorkerJob.start): its niceness alone would only rank it within that session,
        # so the session's niceness is raised too (anyone may raise it; the file is Linux's only).
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(BACKGROUND_NICENESS))


def main(argv: list[str]) -> int:
    """Run one job and return the process exit status."""
    watch_parent()
    stream = take_stdout()
    emit = make_emit(stream)
    if len(argv) != 1:
        emit(protocol.error("usage: python -m onnx_workbench.pipelines.worker KIND (params as JSON on stdin).", "ConfigError"))
        return EXIT_USAGE
    kind = argv[0]
    step_aside(kind)
    signal.signal(signal.SIGTERM, _raise_cancelled)
    try:
        text = sys.stdin.read()
        params = json.loads(text) if text.strip() else {}
        if not isinstance(params, dict):
            raise WorkbenchError("worker params must be a JSON object.")
        from onnx_workbench.pipelines.worker.jobs import resolve_job

        job = resolve_job(kind)
        result = job(params, emit)
        emit({"kind": "result", "job": kind, "result": result or {}})
        return EXIT_OK
    except WorkbenchError as exc:
        emit(protocol.error(str(exc), type(exc).__name__, getattr(exc, "field", None)))
        return EXIT_JOB_FAILED
    except MemoryError:
        emit(protocol.error(f"the {kind} job ran out of memory; try a smaller batch or model.", "MemoryError"))
        return EXIT_JOB_FAILED
    except Exception as exc:  # noqa: BLE001 - anything else becomes one sentence plus a traceback on stderr
        traceback.print_exc()
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
        emit(protocol.error(f"the {kind} job failed: {first}.", type(exc).__name__))
        return EXIT_JOB_FAILED
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
