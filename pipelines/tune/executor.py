"""Where candidates run: an interface the search drives, and worker processes on this machine.

The search only submits plain-data tasks and polls for what finished, so the Ray executor
(pipelines.tune.ray_executor) runs the same tasks as cluster tasks. One slot by default: candidates are timed, and two timings
at once on one machine would measure each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.pipelines.worker.client import WorkerJob

JOB_KIND = "tune-candidate"


@dataclass
class Finished:
    """A task that ended: its result, or the one-sentence error it failed with."""

    task_id: str
    result: dict[str, Any] | None = None
    error: str | None = None


class Executor(Protocol):
    """Runs "tune-candidate" tasks; `poll` never blocks."""

    def has_room(self) -> bool:
        """True when another task can start now."""

    def submit(self, task_id: str, params: dict[str, Any]) -> None:
        """Start one task."""

    def poll(self) -> list[Finished]:
        """Tasks that ended since the last call."""

    def running(self) -> int:
        """How many tasks are still running."""

    def cancel_all(self) -> None:
        """Stop every running task; nothing more is reported for them."""

    def close(self) -> None:
        """Stop what runs and let go of what the executor holds (a cluster connection)."""


class LocalExecutor:
    """Each task in its own worker process (`python -m onnx_workbench.pipelines.worker tune-candidate`)."""

    def __init__(self, slots: int = 1) -> None:
        self.slots = max(1, slots)
        self._jobs: dict[str, WorkerJob] = {}

    def has_room(self) -> bool:
        """True while fewer than `slots` tasks run."""
        return len(self._jobs) < self.slots

    def submit(self, task_id: str, params: dict[str, Any]) -> None:
        """Start the task in a new worker process."""
        self._jobs[task_id] = WorkerJob(JOB_KIND, params).start()

    def poll(self) -> list[Finished]:
        """Ended tasks; a crash, refusal or failure is its one sentence, never an exception here."""
        ended = []
        for task_id, job in list(self._jobs.items()):
            try:
                job.poll()
            except WorkbenchError as exc:
                ended.append(Finished(task_id, error=str(exc)))
                del self._jobs[task_id]
                continue
            if job.result is not None:
                ended.append(Finished(task_id, result=job.result))
                del self._jobs[task_id]
        return ended

    def running(self) -> int:
        """Tasks started and not yet reported."""
        return len(self._jobs)

    def cancel_all(self) -> None:
        """Terminate every worker (killed if it does not go)."""
        for job in self._jobs.values():
            job.cancel()
        self._jobs.clear()

    def close(self) -> None:
        """Stop every worker; nothing else is held."""
        self.cancel_all()
