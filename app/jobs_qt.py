"""Worker processes seen from Qt: poll a WorkerJob on a timer and turn its records into signals.

The GUI thread never blocks on a worker: records are pulled with `WorkerJob.poll()` (which
never waits) from a QTimer, and cancelling terminates the child on a helper thread (terminate
may wait for the grace period). Each `JobSlot` runs one job at a time and numbers them, so a
result that arrives after its job was superseded or cancelled is dropped (the ndv pattern).
"""
from __future__ import annotations

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
        self._job = WorkerJob(kind, params).start()
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

    def _poll(self) -> None:
        job = self._job
        if job is None:
            self._timer.stop()
            return
        generation = self.generation
        try:
            records = job.poll(MAX_RECORDS_PER_TICK)
        except Cancelled:
            self._finish()
            self.cancelled.emit(generation)
            return
        except WorkbenchError as exc:
            self._finish()
            self.failed.emit(generation, str(exc))
            return
        for record in records:
            if job is not self._job:
                return  # a slot connected to a record started or cancelled another job
            kind = record.get("kind")
            if kind == "progress":
                self.progress.emit(generation, float(record.get("fraction", 0.0)), str(record.get("message", "")))
            elif kind == "result":
                self._finish()
                self.succeeded.emit(generation, record.get("result") or {})
                return
            else:
                self.record.emit(generation, record)

    def _finish(self) -> None:
        self._drop_current(cancel=False)
        self.busyChanged.emit(False)
