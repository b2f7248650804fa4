"""Background work as requests: one generation counter per lane, stale results dropped (the ndv pattern).

A `Request` says what a job is for: its lane ("apply", "profile", "open"...), the job it runs,
what it is about (session versions, or a file) and its generation. `JobLanes` starts requests on an `Executor`
(worker processes and threads in the app, the same jobs in-process in headless tests), keeps
at most one request in flight per lane, and hands a job's events on only while its request is
still the lane's latest: a result that arrives after its request was superseded or cancelled
is dropped. Executors hand events over on the thread that owns the lanes (the GUI thread in
the app), so subscribers never see two events at once.
"""
from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from psygnal import Signal

from onnx_workbench.pipelines.errors import Cancelled, WorkbenchError
from onnx_workbench.pipelines.worker import protocol
from onnx_workbench.pipelines.worker.client import WorkerJob


@dataclass(frozen=True)
class Request:
    """What a background job is for; events carry it so a consumer never guesses which job spoke."""

    lane: str
    generation: int
    job: str  # the worker job kind ("apply-pass", "profile", "sweep"...) or a thread task's name
    about: tuple[str, ...] = ()  # what the work is about: session version ids, or a file


class TaskContext:
    """What a thread task may do besides returning: report records, and own worker jobs a cancel ends."""

    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self.emit = emit
        self._jobs: list[WorkerJob] = []
        self._lock = threading.Lock()
        self.cancelled = False

    def attach(self, job: WorkerJob) -> None:
        """Terminate `job` when the task is cancelled (at once when it already was)."""
        with self._lock:
            self._jobs.append(job)
            cancelled = self.cancelled
        if cancelled:
            job.cancel()

    def cancel(self) -> None:
        """Terminate every attached worker job (may wait for their grace period: call off the GUI thread)."""
        with self._lock:
            self.cancelled = True
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.cancel()


@dataclass(frozen=True)
class WorkerCall:
    """A job for a worker process: the kind registered in pipelines.worker.jobs and its plain-data params."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ThreadCall:
    """Short work for a thread of this process (loading a file for the views, writing a report)."""

    name: str
    run: Callable[[TaskContext], Any]


Work = WorkerCall | ThreadCall
# An executor hands over, per request: a worker record (dict), the job's end (None), a result
# ({"kind": "result", "result": ...}) or the exception that ended the job.
Deliver = Callable[[Request, Any], None]


class Executor(Protocol):
    """Runs work in the background and hands its events to `deliver` on the lanes' thread."""

    def start(self, request: Request, work: Work, deliver: Deliver) -> None:
        """Start `work`; every event of it goes to `deliver` with `request`."""

    def cancel(self, request: Request) -> None:
        """Stop the work of `request` (terminate its worker); events that still arrive are dropped."""


class Lane:
    """One kind of background work ("apply", "profile"...): its request in flight and that request's events."""

    started = Signal(object)  # Request
    progress = Signal(float, str)  # fraction, message
    record = Signal(object, dict)  # Request, any record other than progress/result/error
    succeeded = Signal(object, object)  # Request, result
    failed = Signal(object, str, str)  # Request, one sentence, the traceback (for a details box)
    cancelled = Signal(object)  # Request
    busy = Signal(bool)  # True when a request starts; False when it ends, before the signal that says how

    def __init__(self, name: str) -> None:
        self.name = name
        self.running: Request | None = None


class JobLanes:
    """At most one request in flight per lane; events of superseded or cancelled requests are dropped."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._generation = 0
        self._lanes: dict[str, Lane] = {}

    def lane(self, name: str) -> Lane:
        """The lane called `name` (made on first use): subscribe to its signals."""
        if name not in self._lanes:
            self._lanes[name] = Lane(name)
        return self._lanes[name]

    def submit(self, lane: str, work: Work, about: tuple[str, ...] = ()) -> Request:
        """Start `work` in `lane`, superseding (and stopping) the request running there."""
        self.cancel(lane, quietly=True)
        self._generation += 1
        job = work.kind if isinstance(work, WorkerCall) else work.name
        request = Request(lane, self._generation, job, tuple(about))
        target = self.lane(lane)
        target.running = request
        target.started.emit(request)
        target.busy.emit(True)
        try:
            self.executor.start(request, work, self._deliver)
        except Exception as exc:  # noqa: BLE001 - the work could not even start (no process spawned): it failed
            self._deliver(request, exc)
        return request

    def cancel(self, lane: str, quietly: bool = False) -> None:
        """Stop the request running in `lane`; `cancelled` and `busy` say so unless `quietly` (superseded)."""
        target = self.lane(lane)
        request, target.running = target.running, None
        if request is None:
            return
        self.executor.cancel(request)
        if not quietly:
            target.busy.emit(False)
            target.cancelled.emit(request)

    def cancel_all(self) -> None:
        """Stop every running request."""
        for name in list(self._lanes):
            self.cancel(name)

    def running(self, lane: str) -> Request | None:
        """The request in flight in `lane`, if any."""
        return self.lane(lane).running

    def busy(self, lane: str | None = None) -> bool:
        """True while `lane` (default: any lane) has a request in flight."""
        lanes = self._lanes.values() if lane is None else [self.lane(lane)]
        return any(target.running is not None for target in lanes)

    def _deliver(self, request: Request, item: Any) -> None:
        """One event from the executor: handed on while `request` is its lane's latest, dropped otherwise."""
        target = self.lane(request.lane)
        if target.running != request or item is None:
            return  # stale (superseded or cancelled), or the end after the result already came
        if isinstance(item, BaseException):
            target.running = None
            target.busy.emit(False)
            if isinstance(item, Cancelled):
                target.cancelled.emit(request)
            else:
                text = str(item) if isinstance(item, WorkbenchError) else f"the {request.job} job failed: {item}."
                target.failed.emit(request, text, "".join(traceback.format_exception(item)))
            return
        kind = item.get("kind")
        if kind == "progress":
            target.progress.emit(float(item.get("fraction", 0.0)), str(item.get("message", "")))
        elif kind == "result":
            # Free before the result is handed on: a handler may start the next request (a preset's next step).
            target.running = None
            target.busy.emit(False)
            target.succeeded.emit(request, item.get("result"))
        else:
            target.record.emit(request, item)


def run_work(work: Work, emit: Callable[[dict[str, Any]], None]) -> Any:
    """Run `work` on this thread, passing its records to `emit`; returns its result or raises.

    A worker job's records and result cross a JSON round trip here, as they would at the
    process boundary, so in-process runs see exactly the data a worker process sends.
    """
    if isinstance(work, ThreadCall):
        return work.run(TaskContext(emit))
    from onnx_workbench.pipelines.worker.jobs import resolve_job

    def crossing(record: dict[str, Any]) -> None:
        emit(protocol.decode(protocol.encode(record)))

    params = json.loads(json.dumps(protocol.to_plain(work.params)))
    result = resolve_job(work.kind)(params, crossing)
    return protocol.decode(protocol.encode({"kind": "result", "result": result}))["result"]


class InProcessExecutor:
    """Runs work on the calling thread: at once, or when `run_pending` is called (to test stale results)."""

    def __init__(self, deferred: bool = False) -> None:
        self.deferred = deferred
        self.pending: list[tuple[Request, Work, Deliver]] = []
        self.cancelled: list[Request] = []

    def start(self, request: Request, work: Work, deliver: Deliver) -> None:
        """Run `work` now, or keep it for `run_pending`."""
        self.pending.append((request, work, deliver))
        if not self.deferred:
            self.run_pending()

    def cancel(self, request: Request) -> None:
        """Remember the cancel; a deferred job still runs when asked, and its events are dropped."""
        self.cancelled.append(request)

    def run_pending(self) -> None:
        """Run the kept jobs in the order they were started."""
        while self.pending:
            request, work, deliver = self.pending.pop(0)
            try:
                result = run_work(work, lambda record, r=request: deliver(r, record))
            except Exception as exc:  # noqa: BLE001 - handed over as the job's end, as a worker's would be
                deliver(request, exc)
                continue
            deliver(request, {"kind": "result", "result": result})
