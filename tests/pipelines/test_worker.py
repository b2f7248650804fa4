"""The worker protocol, the client, and how crashes, kills, cancels and errors are reported."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from onnx_workbench.pipelines.errors import Cancelled, ConfigError, ModelRefused, WorkbenchError
from onnx_workbench.pipelines.worker import protocol
from onnx_workbench.pipelines.worker.client import WorkerCrashed, WorkerJob, WorkerTimeout, describe_exit, run_job
from onnx_workbench.pipelines.worker.jobs import ENV_EXTRA_JOBS, known_kinds

TEST_JOBS = Path(__file__).with_name("_worker_test_jobs.py")
JOB_ENV = {
    ENV_EXTRA_JOBS: ";".join(
        f"{kind}={TEST_JOBS}:{kind.replace('-', '_')}" for kind in ("abort", "noisy", "bad-config", "broken", "sleep", "stubborn")
    )
}


# --- protocol ---------------------------------------------------------------------------------
def test_protocol_round_trip_makes_numpy_and_odd_values_json_safe() -> None:
    record = {
        "kind": "sample",
        "latencies_ms": np.array([1.5, 2.5], dtype=np.float32),
        "count": np.int64(3),
        "bad": float("nan"),
        "path": Path("/tmp/x.onnx"),
        "name": "node\nwith newline and ünïcode",
    }
    line = protocol.encode(record)
    assert line.endswith("\n") and line.count("\n") == 1
    decoded = protocol.decode(line)
    assert decoded["latencies_ms"] == [1.5, 2.5]
    assert decoded["count"] == 3 and decoded["bad"] == "nan"  # the one convention for non-finite numbers
    assert decoded["path"] == "/tmp/x.onnx"
    assert decoded["name"] == record["name"]
    assert protocol.decode(line.encode()) == decoded


@pytest.mark.parametrize("line", ["", "not json", "[1, 2]", '{"kind": "gossip"}', '{"no": "kind"}'])
def test_protocol_refuses_lines_that_are_not_records(line: str) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(line)


def test_protocol_refuses_unknown_kinds_when_encoding() -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.encode({"kind": "gossip"})
    assert protocol.progress(1.7, "x")["fraction"] == 1.0


@pytest.mark.skipif(not hasattr(os, "nice"), reason="Unix niceness")
def test_background_jobs_step_aside_for_the_window_and_timing_jobs_do_not() -> None:
    # The same toy job under a background kind and under "profile", whose runs are timed.
    env = {ENV_EXTRA_JOBS: f"analyze={TEST_JOBS}:niceness;profile={TEST_JOBS}:niceness"}
    ours = os.nice(0)
    background, timing = (run_job(kind, {}, env=env, timeout_s=30) for kind in ("analyze", "profile"))
    assert background["niceness"] == min(ours + 5, 19) and timing["niceness"] == ours
    # Linux weighs sessions first, and each worker has its own: the session steps aside too.
    if timing["session_niceness"] is not None:
        assert background["session_niceness"] == 5 and timing["session_niceness"] == 0


def test_describe_exit_names_signals() -> None:
    message, name = describe_exit("profile", -signal.SIGSEGV)
    assert name == "SIGSEGV" and "segmentation fault" in message and "-11" in message
    message, name = describe_exit("profile", 3)
    assert name is None and "status 3" in message


# --- jobs through a real child process -----------------------------------------------------------
def test_profile_job_streams_records_then_result(sample_cnn: Path) -> None:
    job = WorkerJob("profile", {"model": str(sample_cnn), "options": {"runs": 5, "warmup": 1}}).start()
    kinds = [record["kind"] for record in job.records(timeout_s=60)]
    assert kinds[0] == "config" and kinds[-1] == "result"
    assert {"progress", "sample", "memory", "stats"} <= set(kinds)
    assert job.result is not None and job.result["runs"] == 5
    assert job.exit_status == 0


def test_stray_output_never_reaches_the_protocol_stream() -> None:
    job = WorkerJob("noisy", {"value": 42}, env=JOB_ENV).start()
    records = list(job.records(timeout_s=30))
    assert [r["kind"] for r in records] == ["progress", "result"]
    assert job.result == {"value": 42}
    tail = job.stderr_tail()
    assert "stray print from python" in tail and "stray write to fd 1" in tail


def test_a_crashing_job_is_reported_with_its_signal() -> None:
    job = WorkerJob("abort", env=JOB_ENV).start()
    with pytest.raises(WorkerCrashed) as caught:
        for _ in job.records(timeout_s=30):
            pass
    assert caught.value.signal_name == "SIGABRT"
    assert caught.value.exit_status == -signal.SIGABRT
    assert "aborted" in str(caught.value) and "SIGABRT" in str(caught.value)
    assert "last words on stderr" in caught.value.stderr_tail


def test_a_worker_killed_mid_run_is_reported_as_killed(sample_cnn: Path) -> None:
    job = WorkerJob("profile", {"model": str(sample_cnn), "options": {"duration_s": 30.0, "warmup": 1}}).start()
    with pytest.raises(WorkerCrashed) as caught:
        for record in job.records(timeout_s=60):
            if record["kind"] == "sample" and record["phase"] == "timed":
                os.kill(job.pid, signal.SIGKILL)
    assert caught.value.signal_name == "SIGKILL"
    assert caught.value.exit_status == -9
    assert "SIGKILL" in str(caught.value) and "out of memory" in str(caught.value)
    assert not job.is_running()


def test_cancel_terminates_the_worker_and_raises_cancelled() -> None:
    job = WorkerJob("sleep", {"seconds": 60}, env=JOB_ENV).start()
    records = job.records(timeout_s=30)
    assert next(records)["message"] == "sleeping"
    started = time.monotonic()
    job.cancel(grace_s=5)
    with pytest.raises(Cancelled):
        for _ in records:
            pass
    assert time.monotonic() - started < 5
    assert not job.is_running()


def test_cancel_kills_a_worker_that_ignores_terminate() -> None:
    job = WorkerJob("stubborn", env=JOB_ENV).start()
    records = job.records(timeout_s=30)
    assert next(records)["message"] == "ignoring SIGTERM"
    job.cancel(grace_s=0.5)
    assert job.exit_status == -signal.SIGKILL
    with pytest.raises(Cancelled):
        for _ in records:
            pass


def test_silence_beyond_the_idle_timeout_stops_the_worker() -> None:
    job = WorkerJob("sleep", {"seconds": 60}, env=JOB_ENV).start()
    with pytest.raises(WorkerTimeout, match="said nothing"):
        for _ in job.records(idle_timeout_s=0.5, timeout_s=30):
            pass
    assert not job.is_running()


def test_errors_come_back_as_the_same_class_with_their_field() -> None:
    with pytest.raises(ConfigError) as caught:
        run_job("bad-config", {}, env=JOB_ENV, timeout_s=30)
    assert caught.value.field == "speed"
    with pytest.raises(WorkbenchError) as caught_broken:
        run_job("broken", {}, env=JOB_ENV, timeout_s=30)
    message = str(caught_broken.value)
    assert message == "the broken job failed: something odd happened." and "\n" not in message


def test_unknown_job_kind_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown worker job 'teleport'.*profile"):
        run_job("teleport", {}, timeout_s=30)
    assert {"profile", "sweep", "compare", "apply-pass", "analyze"} <= set(known_kinds())


def test_a_missing_model_is_refused_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ModelRefused, match="no such file"):
        run_job("profile", {"model": str(tmp_path / "nope.onnx")}, timeout_s=30)


def test_poll_never_blocks(sample_cnn: Path) -> None:
    job = WorkerJob("profile", {"model": str(sample_cnn), "options": {"runs": 3, "warmup": 0}}).start()
    started = time.monotonic()
    seen: list[str] = []
    while job.result is None and time.monotonic() - started < 60:
        before = time.monotonic()
        seen += [r["kind"] for r in job.poll()]
        assert time.monotonic() - before < 0.5
        time.sleep(0.02)
    assert seen[-1] == "result"


def test_apply_pass_job_writes_the_new_model(sample_cnn: Path, tmp_path: Path) -> None:
    target = tmp_path / "clean.onnx"
    progress: list[float] = []
    result = run_job(
        "apply-pass",
        {"pass": "cleanup", "source": str(sample_cnn), "target": str(target)},
        lambda r: progress.append(r["fraction"]) if r["kind"] == "progress" else None,
        timeout_s=120,
    )
    assert target.is_file() and result["pass"] == "cleanup"
    assert progress and progress[-1] == 1.0


def test_analyze_job_returns_the_analysis(sample_cnn: Path) -> None:
    pytest.importorskip("onnx_workbench.pipelines.analysis")
    result = run_job("analyze", {"model": str(sample_cnn)}, timeout_s=120)
    assert result["size_bytes"] == sample_cnn.stat().st_size
    json.dumps(result)  # plain data all the way down
    assert result["analysis"]


def test_apply_pass_job_adds_a_version_to_a_workspace(sample_cnn: Path, tmp_path: Path) -> None:
    from onnx_workbench.pipelines.versions import Version, Workspace

    workspace = Workspace.create(sample_cnn, tmp_path / "session", samples=1)
    result = run_job(
        "apply-pass",
        {"workspace": str(workspace.root), "pass": "fold-batchnorm", "verify": True},
        timeout_s=120,
    )
    version = Version.from_dict(result["version"])
    assert version.parent == workspace.original.id and version.pass_name == "fold-batchnorm"
    assert version.metrics["fidelity"] is not None
    # The worker wrote the version's files but not workspace.json: the parent is its one writer.
    assert len(Workspace.open(workspace.root).versions) == 1
    workspace.add_version(version)
    reopened = Workspace.open(workspace.root)
    assert reopened.path_of(version.id).is_file() and reopened.get(version.id).metrics["fidelity"] is not None


def test_poll_returns_records_before_raising_the_crash() -> None:
    with WorkerJob("abort", env=JOB_ENV) as job:
        seen: list[dict] = []
        deadline = time.monotonic() + 30
        with pytest.raises(WorkerCrashed):
            while time.monotonic() < deadline:
                seen += job.poll()
                time.sleep(0.02)
        assert [r["message"] for r in seen] == ["about to crash"]


def test_leaving_the_with_block_stops_the_worker() -> None:
    with WorkerJob("sleep", {"seconds": 60}, env=JOB_ENV) as job:
        assert job.is_running()
    assert not job.is_running() and job.cancelled


def test_an_orphaned_worker_exits(tmp_path: Path) -> None:
    # A middle process starts a worker and dies at once; the worker must not outlive it for long.
    pid_file = tmp_path / "pid"
    script = (
        "import os, sys\n"
        "from onnx_workbench.pipelines.worker.client import WorkerJob\n"
        f"job = WorkerJob('sleep', {{'seconds': 60}}, env={JOB_ENV!r}).start()\n"
        f"open({str(pid_file)!r}, 'w').write(str(job.pid))\n"
        "next(job.records(timeout_s=30))\n"
        "os._exit(0)\n"
    )
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    worker_pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker_pid, 0)
            # An exited child nobody has reaped yet (no init in some containers) is a zombie.
            stat = Path(f"/proc/{worker_pid}/stat")
            if stat.is_file() and stat.read_text().split(") ")[-1].startswith("Z"):
                break
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker_pid, signal.SIGKILL)
        pytest.fail("the orphaned worker was still running 10 s after its parent died")


def test_export_model_job_writes_the_version_out(sample_cnn: Path, tmp_path: Path) -> None:
    from onnx_workbench.pipelines.versions import ROOT_ID, Workspace

    workspace = Workspace.create(sample_cnn, tmp_path / "session", samples=1)
    out = tmp_path / "exported" / "model.onnx"
    result = run_job("export-model", {"workspace": str(workspace.root), "version": ROOT_ID, "path": str(out)}, timeout_s=120)
    assert result["path"] == str(out) and out.read_bytes() == sample_cnn.read_bytes()
    with pytest.raises(ConfigError, match="opened from"):
        run_job("export-model", {"workspace": str(workspace.root), "version": ROOT_ID, "path": str(sample_cnn)}, timeout_s=120)


def test_a_job_cancelled_before_its_start_never_spawns() -> None:
    # The window spawns on a helper thread; a cancel may come first.
    job = WorkerJob("sleep", {"seconds": 30}, env=JOB_ENV)
    job.cancel()
    with pytest.raises(Cancelled):
        job.start()
    assert job.pid is None
