"""`onnx-workbench profile` and `compare` through the real worker process."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from onnx_workbench.app.cli import main


def _json_run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --json keeps stderr quiet too
    return json.loads(captured.out)


def test_profile_json_has_the_documented_keys(sample_cnn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _json_run(capsys, ["profile", str(sample_cnn), "--runs", "5", "--warmup", "1", "--threads", "1", "--per-op", "--per-op-runs", "2", "--json"])
    assert set(result["latency_ms"]) >= {"min", "mean", "p50", "p90", "p95", "p99", "max"}
    assert result["throughput_per_s"] > 0 and result["session_create_s"] > 0
    assert result["provider"] == "CPUExecutionProvider"
    assert result["memory"]["peak_rss_bytes"] > 0 and "gpu" in result["memory"]
    assert result["per_op"]["nodes"] and result["per_op"]["op_types"]
    assert result["options"]["intra_op_threads"] == 1 and result["runs"] == 5


def test_profile_sweep_json(sample_cnn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _json_run(capsys, ["profile", str(sample_cnn), "--runs", "3", "--warmup", "1", "--sweep", "batch=1,2", "threads=1", "--latency-limit", "10000", "--json"])
    assert [(c["batch"], c["threads"]) for c in result["cells"]] == [(1, 1), (2, 1)]
    assert result["best"] in result["cells"] and result["latency_limit_ms"] == 10000


def test_compare_json(sample_cnn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _json_run(capsys, ["compare", str(sample_cnn), str(sample_cnn), "--runs", "6", "--warmup", "1", "--json"])
    assert result["rounds"] == 6
    assert set(result["speedup"]) >= {"speedup", "ci_low", "ci_high"}
    assert result["a"]["model"] == result["b"]["model"] == str(sample_cnn)


def test_profile_table_and_progress_on_stderr(sample_cnn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", str(sample_cnn), "--runs", "3", "--warmup", "0", "--latency-limit", "10000"]) == 0
    captured = capsys.readouterr()
    assert "latency ms" in captured.out and "within the 10000 ms limit" in captured.out
    assert "profile" in captured.err and "%" in captured.err


def test_missing_provider_is_one_sentence_before_any_worker(sample_cnn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", str(sample_cnn), "--provider", "tensorrt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("onnx-workbench: execution provider 'tensorrt' is not available")
    assert "CPUExecutionProvider" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--dim", "sequence"], "--dim sequence"),
        (["--sweep", "colour=1,2"], "--sweep colour=1,2"),
        (["--sweep", "batch=0"], "--sweep batch=0"),
        (["--runs", "0"], "'runs' must be at least 1"),
    ],
)
def test_bad_flags_are_refused(sample_cnn: Path, capsys: pytest.CaptureFixture[str], flags: list[str], fragment: str) -> None:
    assert main(["profile", str(sample_cnn), *flags]) == 2
    assert fragment in capsys.readouterr().err


def test_unloadable_model_is_reported_from_the_worker(custom_op_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The model passed our checks and ONNX Runtime failed on it: failed work, exit 1 (README).
    assert main(["profile", str(custom_op_model), "--json"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("onnx-workbench: ONNX Runtime cannot load custom.onnx:") and len(err.splitlines()) == 1


def test_a_crashed_worker_is_reported_and_the_command_survives(
    sample_cnn: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Swap the profile job for one that aborts like a native crash would.
    jobs = Path(__file__).resolve().parents[1] / "_worker_test_jobs.py"
    monkeypatch.setenv("ONNX_WORKBENCH_WORKER_JOBS", f"profile={jobs}:abort")
    # The input was accepted and the work died: exit status 1, as for any failed work (README).
    assert main(["profile", str(sample_cnn), "--json"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "onnx-workbench: the profile worker aborted (SIGABRT, exit status -6); nothing else was affected."
