"""Candidates as tasks on an existing Ray cluster (`tune --cluster ADDRESS`, optional extra `cluster`).

Each task runs the same "tune-candidate" worker job as on this machine, in a worker process on
the node Ray picked (a native crash ends that process, not the node's Ray worker), so the
candidate is built, verified and timed there; results come back as each task finishes. One
task per node at a time: two timings on one node would measure each other.

The session folder is passed by path: every node must see it at the same path (a shared file
system, or a cluster on this machine). Shipping models to nodes without one is not built.
"""
from __future__ import annotations

from typing import Any

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.tune.executor import JOB_KIND, Finished


class RayExecutor:
    """The Executor interface over Ray tasks; connects on creation, `close()` disconnects."""

    def __init__(self, address: str) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--cluster needs Ray; install it with pip install 'onnx-workbench[cluster]'.", "cluster") from None
        self._ray = ray
        try:
            ray.init(address=address, log_to_driver=False, ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot reach the Ray cluster at {address} ({str(exc).splitlines()[0]}); "
                              "check the address and that its head is running.", "cluster") from None
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        self.slots = max(1, len(nodes))
        # A whole node's CPUs per task, so Ray places one candidate per node.
        cpus = min((int(n.get("Resources", {}).get("CPU", 1)) for n in nodes), default=1)
        self._task = ray.remote(num_cpus=max(1, cpus), max_retries=0)(_candidate_task())
        self._refs: dict[Any, str] = {}

    def has_room(self) -> bool:
        """True while fewer tasks run than the cluster has nodes."""
        return len(self._refs) < self.slots

    def submit(self, task_id: str, params: dict[str, Any]) -> None:
        """Start the candidate as a Ray task."""
        self._refs[self._task.remote(params)] = task_id

    def poll(self) -> list[Finished]:
        """Tasks that finished; a failure is the job's own sentence."""
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        ended = []
        for ref in ready:
            task_id = self._refs.pop(ref)
            try:
                ended.append(Finished(task_id, result=self._ray.get(ref)))
            except Exception as exc:  # noqa: BLE001 - a failed task is a result of the search, not a crash of it
                cause = getattr(exc, "cause", None) or exc
                ended.append(Finished(task_id, error=str(cause).strip().splitlines()[-1]))
        return ended

    def running(self) -> int:
        """Tasks submitted and not yet reported."""
        return len(self._refs)

    def cancel_all(self) -> None:
        """Cancel every running task (its worker process exits with its parent)."""
        for ref in self._refs:
            self._ray.cancel(ref, force=True)
        self._refs.clear()

    def close(self) -> None:
        """Cancel what runs and disconnect from the cluster."""
        self.cancel_all()
        self._ray.shutdown()


def _candidate_task() -> Any:
    """The task function, made here so Ray ships it by value: nodes need not import this module."""

    def run_candidate(params: dict[str, Any]) -> dict[str, Any]:
        import platform

        from onnx_workbench.pipelines.worker.client import run_job

        return {**run_job(JOB_KIND, params), "node": platform.node()}

    return run_candidate
