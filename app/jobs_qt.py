"""Worker processes seen from Qt: read a WorkerJob on a helper thread, hand records to Qt on a timer.

The GUI thread never blocks on a worker: a helper thread iterates `WorkerJob.records()` (which
waits for the child's exit after its last record, ~0.2 s of interpreter teardown) and drops
records into a queue; a QTimer drains the queue in batches, so a chatty job costs one slot
call per tick, not one per record. Cancelling terminates the child on a helper thread
(terminate may wait for the grace period). Each `JobSlot` runs one job at a time and numbers them, so a
result that arrives after its job was superseded or cancelled is dropped (the ndv pattern).
"""
from __future__ import annotations

import collections
import threading
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from pipelines.errors import Cancelled, WorkbenchError
from pipelines.worker.client import WorkerJob

POLL_INTERVAL_MS = 30
# A poll hands over at most this many records so one tick never monopolises the event loop.
MAX_RECORDS_PER_TICK = 400


class JobSlot(QObject):
    """One kind of background work (apply, profile, compare...): at most one job in flight."""

    started = Signal(int, str)  # generation, job kind
    record = Signal(int, dict)  # every record except progress/result/error
    progress = Signal(int, float, str)
    succeeded = Signal(int, dict)  # the job's result
    failed = Signal(int, str)  # one sentence
    cancelled = Signal(int)
    busyChanged = Signal(bool)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.generation = 0
        self._job: WorkerJob | None = None
        self._inbox: collections.deque[tuple[WorkerJob, Any]] = collections.deque()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def busy(self) -> bool:
        """True while a job of this slot runs."""
        return self._job is not None

    def start(self, kind: str, params: dict[str, Any]) -> int:
        """Start a worker job (superseding any running one); returns its generation id."""
        self._drop_current(cancel=True)
        self.generation += 1
        # Spawned here, not on the reader thread, so a cancel right after start() reaches it.
        job = WorkerJob(kind, params).start()
        self._job = job
        threading.Thread(target=self._read, args=(job,), name=f"read-{self.name}", daemon=True).start()
        self._timer.start()
        self.started.emit(self.generation, kind)
        self.busyChanged.emit(True)
        return self.generation

    def cancel(self) -> None:
        """Terminate the running job; its results, if any arrive, are dropped."""
        if self._job is None:
            return
        generation = self.generation
        self._drop_current(cancel=True)
        self.cancelled.emit(generation)
        self.busyChanged.emit(False)

    def _drop_current(self, cancel: bool) -> None:
        job, self._job = self._job, None
        self._timer.stop()
        if job is not None and cancel and job.is_running():
            threading.Thread(target=job.cancel, name=f"cancel-{self.name}", daemon=True).start()

    def _read(self, job: WorkerJob) -> None:
        """Helper thread: every record, then the end (None) or the exception that ended the job."""
        try:
            for record in job.records():
                self._inbox.append((job, record))
            self._inbox.append((job, None))
        except BaseException as exc:  # noqa: BLE001 - handed over to the GUI thread as is
            self._inbox.append((job, exc))

    def _poll(self) -> None:
        generation = self.generation
        for _ in range(min(len(self._inbox), MAX_RECORDS_PER_TICK)):
            job, item = self._inbox.popleft()
            if job is not self._job:
                continue  # from a superseded or cancelled job: dropped
            if isinstance(item, Cancelled):
                self._finish()
                self.cancelled.emit(generation)
                return
            if isinstance(item, WorkbenchError):
                self._finish()
                self.failed.emit(generation, str(item))
                return
            if isinstance(item, BaseException):
                self._finish()
                self.failed.emit(generation, f"the {job.kind} worker failed: {item}.")
                return
            if item is None:
                continue  # the result record came first and finished the job
            kind = item.get("kind")
            if kind == "progress":
                self.progress.emit(generation, float(item.get("fraction", 0.0)), str(item.get("message", "")))
            elif kind == "result":
                self._finish()
                self.succeeded.emit(generation, item.get("result") or {})
                return
            else:
                self.record.emit(generation, item)
        if self._job is None and not self._inbox:
            self._timer.stop()

    def _finish(self) -> None:
        self._drop_current(cancel=False)
        self.busyChanged.emit(False)
