"""Issue 15 item 13: worker faults the parent must name correctly: a worker stopped by SIGSTOP
ends instead of being waited for forever, and a SIGTERM from outside is not "Cancelled by the user"."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import onnx_workbench.pipelines.worker.client as client
from onnx_workbench.pipelines.errors import Cancelled, WorkFailed
from onnx_workbench.pipelines.worker.client import WorkerCrashed, WorkerJob, WorkerTimeout
from onnx_workbench.pipelines.worker.jobs import ENV_EXTRA_JOBS

JOB_ENV = {ENV_EXTRA_JOBS: f"sleep={Path(__file__).with_name('_worker_test_jobs.py')}:sleep"}


def _wait_for_first_record(job: WorkerJob) -> None:
    records = job.records(timeout_s=60)
    next(records)
    return records


def test_a_stopped_worker_is_ended_after_the_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "STOPPED_GRACE_S", 1.0)
    job = WorkerJob("sleep", {"seconds": 120}, env=JOB_ENV).start()
    records = _wait_for_first_record(job)
    os.kill(job.pid, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(WorkerTimeout, match=r"stopped \(SIGSTOP\)"):
        for _ in records:
            pass
    assert time.monotonic() - started < 20 and not job.is_running()


def test_sigterm_from_outside_is_a_failure_not_a_cancel() -> None:
    job = WorkerJob("sleep", {"seconds": 120}, env=JOB_ENV).start()
    records = _wait_for_first_record(job)
    os.kill(job.pid, signal.SIGTERM)
    with pytest.raises(WorkerCrashed, match="terminated from outside") as caught:
        for _ in records:
            pass
    assert isinstance(caught.value, WorkFailed) and not isinstance(caught.value, Cancelled)


def test_our_own_cancel_is_still_a_cancel() -> None:
    job = WorkerJob("sleep", {"seconds": 120}, env=JOB_ENV).start()
    records = _wait_for_first_record(job)
    job.cancel()
    with pytest.raises(Cancelled):
        for _ in records:
            pass
