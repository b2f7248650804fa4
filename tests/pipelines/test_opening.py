"""Background open: the analysis comes from the worker process; refused models stop it."""
from __future__ import annotations

import pytest

from onnx_workbench.pipelines.opening import open_model_blocking
from onnx_workbench.pipelines.errors import ModelRefused


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


def test_the_window_open_lays_the_graph_out_on_its_own_thread(sample_cnn, monkeypatch):
    """The graph view gets the layout with the "loaded" record: the GUI thread does not compute it."""
    import threading

    import onnx_workbench.pipelines.opening as opening
    from onnx_workbench.pipelines.background import TaskContext
    from onnx_workbench.pipelines.graph_layout import layout_model

    threads: list[str] = []
    monkeypatch.setattr(opening, "layout_model", lambda proto: threads.append(threading.current_thread().name)
                        or layout_model(proto))
    records: list[dict] = []
    task = opening.open_model_task(sample_cnn, use_worker=False)
    worker = threading.Thread(target=lambda: records.append({"result": task.run(TaskContext(records.append))}),
                              name="open-thread")
    worker.start()
    worker.join()
    loaded = next(r["opened"] for r in records if r.get("kind") == "loaded")
    assert threads == ["open-thread"]
    expected = layout_model(loaded.loaded.proto)
    assert loaded.layout.graph.names == expected.graph.names and (loaded.layout.x == expected.x).all()
    assert records[-1]["result"].layout is loaded.layout
    assert open_model_blocking(sample_cnn, use_worker=False).layout is None  # only the window's opens lay out
