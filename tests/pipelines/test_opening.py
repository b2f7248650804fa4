"""Background open: the analysis comes from the worker process; refused models stop it."""
from __future__ import annotations

import pytest

from pipelines.opening import open_model_blocking
from pipelines.errors import ModelRefused


def test_worker_analysis_matches_in_process(sample_cnn):
    jobs = []
    via_worker = open_model_blocking(sample_cnn, on_job=jobs.append)
    assert len(jobs) == 1 and not jobs[0].is_running()
    assert jobs[0].exit_status == 0  # the figures came from a child process that finished
    in_process = open_model_blocking(sample_cnn, use_worker=False)
    for key in ("params", "macs", "flops", "nodes", "op_types"):
        assert via_worker.analysis[key] == in_process.analysis[key]
    assert via_worker.analysis["params"] > 0 and via_worker.warnings == []
    assert len(via_worker.loaded.proto.graph.node) == via_worker.analysis["nodes"]


def test_refused_model_stops_the_worker(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff" * 64)
    jobs = []
    with pytest.raises(ModelRefused):
        open_model_blocking(bad, on_job=jobs.append)
    assert jobs and not jobs[0].is_running()
