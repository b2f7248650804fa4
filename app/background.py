"""The app's one way to run background work: worker processes and short thread tasks, seen from Qt.

`QtExecutor` is the `pipelines.background.Executor` of the window. The GUI thread never blocks:
a helper thread spawns each worker job and reads its records (`WorkerJob.records()` waits for
the child's exit after its last record, ~0.2 s of interpreter teardown) or runs a thread task,
and drops events into one queue; a QTimer drains the queue on the GUI thread in batches, so a
chatty job costs one drain per tick, not one slot call per record. The `JobLanes` that receive
the events drop those of superseded or cancelled requests. Cancelling terminates a worker on a
helper thread (terminate may wait for the grace period).
"""
from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from onnx_workbench.pipelines.background import Deliver, Request, TaskContext, Work, WorkerCall
from onnx_workbench.pipelines.worker.client import WorkerJob

POLL_INTERVAL_MS = 30
# A drain hands over at most this many events so one tick never monopolises the event loop.
MAX_EVENTS_PER_TICK = 400


class QtExecutor(QObject):
    """Runs work off the GUI thread; its events reach the lanes on the GUI thread, on a timer."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._inbox: collections.deque[tuple[Request, Deliver, Any]] = collections.deque()
        self._running: dict[Request, WorkerJob | TaskContext] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._drain)

    def start(self, request: Request, work: Work, deliver: Deliver) -> None:
        """Start `work` (a worker process, or a thread); its events go to `deliver` on the GUI thread."""
        if isinstance(work, WorkerCall):
            # Spawned by the reader thread (records() starts it): a spawn is 10-20 ms of the GUI
            # thread, more on a loaded machine. A cancel before the spawn means none happens.
            handle: WorkerJob | TaskContext = WorkerJob(work.kind, work.params)
            target, args = self._read, (request, deliver, handle)
        else:
            handle = TaskContext(lambda record: self._inbox.append((request, deliver, record)))
            target, args = self._run, (request, deliver, work.run, handle)
        self._running[request] = handle
        threading.Thread(target=target, args=args, name=f"{request.lane}-{request.generation}", daemon=True).start()
        self._timer.start()

    def cancel(self, request: Request) -> None:
        """Terminate the work of `request` off the GUI thread; whatever it still sends is dropped."""
        handle = self._running.pop(request, None)
        if handle is not None:
            threading.Thread(target=handle.cancel, name=f"cancel-{request.lane}", daemon=True).start()

    def _read(self, request: Request, deliver: Deliver, job: WorkerJob) -> None:
        """Helper thread: every record, then the end (None) or the exception that ended the job."""
        try:
            for record in job.records():
                self._inbox.append((request, deliver, record))
            self._inbox.append((request, deliver, None))
        except BaseException as exc:  # noqa: BLE001 - handed over to the GUI thread as is
            self._inbox.append((request, deliver, exc))
        finally:
            self._running.pop(request, None)

    def _run(self, request: Request, deliver: Deliver, run: Callable[[TaskContext], Any],
             context: TaskContext) -> None:
        """Helper thread: run a thread task; its result or exception ends it."""
        try:
            result = run(context)
            self._inbox.append((request, deliver, {"kind": "result", "result": result}))
        except BaseException as exc:  # noqa: BLE001 - handed over to the GUI thread as is
            self._inbox.append((request, deliver, exc))
        finally:
            self._running.pop(request, None)

    def _drain(self) -> None:
        for _ in range(min(len(self._inbox), MAX_EVENTS_PER_TICK)):
            request, deliver, item = self._inbox.popleft()
            deliver(request, item)
        if not self._inbox and not self._running:
            self._timer.stop()
