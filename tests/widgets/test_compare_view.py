"""Compare never sets figures of separate runs side by side as if comparable."""
from __future__ import annotations

import time

import pytest

from onnx_workbench.pipelines.results import CompareResult
from onnx_workbench.pipelines.versions import ROOT_ID, Workspace
from onnx_workbench.widgets.compare_view import CompareView, measured_when


@pytest.fixture
def profiled(tmp_path, sample_cnn) -> Workspace:
    """v0 profiled an hour ago at load 3.5, v1 profiled now on 1 thread: 263 → 544 ms."""
    ws = Workspace.create(sample_cnn, tmp_path / "ws", samples=2)
    folded = ws.apply(ROOT_ID, "fold-batchnorm")
    ws.update_metrics(ROOT_ID, latency_ms={"p50": 263.0, "p99": 300.0}, latencies_ms=[263.0] * 5,
                      measured_at=time.time() - 3600, load_avg=3.5, options={"intra_op_threads": 0})
    ws.update_metrics(folded.id, latency_ms={"p50": 544.0, "p99": 600.0}, latencies_ms=[544.0] * 5,
                      measured_at=time.time(), load_avg=0.8, options={"intra_op_threads": 1})
    return ws


def _table(view: CompareView) -> dict[str, list[str]]:
    t = view.table
    return {t.item(r, 0).text(): [t.item(r, c).text() for c in range(1, 4)] for r in range(t.rowCount())}


def test_separate_profiles_are_labelled_with_age_and_conditions(qtbot, profiled):
    view = CompareView()
    qtbot.addWidget(view)
    view.set_workspace(profiled)
    rows = _table(view)
    assert rows["Profiled"][:2] == ["60 min ago · auto threads · load 3.5", "just now · 1 thread · load 0.8"]
    assert rows["p50 latency (separate runs)"] == ["263.000 ms", "544.000 ms", "+106.8% ?"]
    change = view.table.item(list(rows).index("p50 latency (separate runs)"), 3)
    assert change.foreground().style().name == "NoBrush"  # not painted red or green as a verdict
    assert "separate" in view.dist_plot.titleLabel.text


def test_an_interleaved_comparison_replaces_the_separate_figures(qtbot, profiled):
    view = CompareView()
    qtbot.addWidget(view)
    view.set_workspace(profiled)
    a, b = profiled.versions[0].id, profiled.versions[1].id
    result = {"a": {"latency_ms": {"p50": 2.0, "p99": 2.5}, "latencies_ms": [2.0] * 5},
              "b": {"latency_ms": {"p50": 1.0, "p99": 1.2}, "latencies_ms": [1.0] * 5},
              "speedup": {"speedup": 2.0, "ci_low": 1.8, "ci_high": 2.2}, "rounds": 5,
              "verdict": "B is faster: 2.00x (95% CI 1.80-2.20)."}
    view.show_result(CompareResult.from_worker(result, a, b))
    rows = _table(view)
    assert rows["p50 latency (interleaved)"] == ["2.000 ms", "1.000 ms", "-50.0%"]
    assert "Profiled" not in rows and not any("separate" in title for title in rows)
    assert view.verdict.text().startswith("B is faster")
    # Picking another pair: the verdict of the old pair does not stay above the new table.
    view.pick("b", a)
    assert not view.verdict.text().startswith("B is faster")
    assert "p50 latency (separate runs)" in _table(view)


def test_measured_when_without_a_profile():
    assert measured_when(None) == "not profiled"
