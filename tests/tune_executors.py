"""An executor for tests: each tune task runs at once in the test's own process (no worker start-up)."""
from __future__ import annotations

from typing import Any

from onnx_workbench.pipelines.tune import job
from onnx_workbench.pipelines.tune.executor import Finished
from onnx_workbench.pipelines.tune.search import Search


class InProcessExecutor:
    """Runs each task's job function at once in this process (no worker start-up in tests)."""

    def __init__(self, stop_after: int | None = None, search: list[Search] | None = None) -> None:
        self.done: list[Finished] = []
        self.submitted: list[dict[str, Any]] = []
        self.stop_after, self.search = stop_after, search

    def has_room(self) -> bool:
        return True

    def submit(self, task_id: str, params: dict[str, Any]) -> None:
        self.submitted.append(params)
        self.done.append(Finished(task_id, result=job.run(params, lambda record: None)))
        if self.stop_after is not None and len(self.submitted) >= self.stop_after and self.search:
            self.search[0].cancel()  # as Ctrl+C does, while more candidates wait

    def poll(self) -> list[Finished]:
        done, self.done = self.done, []
        return done

    def running(self) -> int:
        return 0

    def cancel_all(self) -> None:
        self.done = []

    def close(self) -> None:
        self.cancel_all()
