"""Profile dashboard: synthetic worker records fill the charts; redraws are capped by the timer."""
from __future__ import annotations

import time

import numpy as np
import pytest

from onnx_workbench.pipelines.results import ProfileRun, SweepResult
from onnx_workbench.widgets.profile_dashboard import (
    REDRAW_HZ,
    ProfileDashboard,
    nice_ceiling,
    nice_floor,
    per_node_shares,
    rolling_percentiles,
    shown_runs,
)


def _records(n: int, batch: int = 10):
    yield {"kind": "config", "model": "m.onnx"}
    for first in range(0, n, batch):
        yield {"kind": "sample", "phase": "timed", "first_index": first, "latencies_ms": [1.0 + (i % 7) * 0.1 for i in range(batch)]}
        yield {"kind": "memory", "t_s": first / 100, "rss_bytes": (100 + first) * 2**20}


def test_redraws_are_capped_while_records_pour_in(qtbot):
    dash = ProfileDashboard()
    qtbot.addWidget(dash)
    start_count = dash.redraw_count
    started = time.perf_counter()
    records = list(_records(5000, batch=5))
    # Feed 2000 records over ~0.5 s of event loop time: one redraw per sample would be 2000.
    for i, record in enumerate(records):
        dash.feed(record)
        if i % 50 == 0:
            qtbot.wait(10)
    qtbot.waitUntil(lambda: not dash._dirty)  # every chart drawn with the last records
    elapsed = time.perf_counter() - started
    redraws = dash.redraw_count - start_count
    assert 1 <= redraws <= REDRAW_HZ * elapsed + 2
    assert redraws < len(records) / 10
    ys = dash.run_curve.yData  # all of them (getData() gives what is drawn, which is downsampled to the pixels)
    assert len(ys) == 5000 and ys[0] == 1.0
    assert dash.stat_labels["runs"].text() == "5,000"
    _, rss = dash.rss_curve.getData()
    assert rss[-1] == 100 + 4995


def test_no_redraw_without_new_data(qtbot):
    dash = ProfileDashboard()
    qtbot.addWidget(dash)
    qtbot.wait(100)
    before = dash.redraw_count
    qtbot.wait(200)
    assert dash.redraw_count == before


def test_result_fills_stats_ops_sweep_and_heat_map(qtbot):
    dash = ProfileDashboard()
    qtbot.addWidget(dash)
    per_op = {
        "nodes": [{"node": "conv1_kernel_time", "model_node": "conv1", "op_type": "Conv", "ms_per_run": 0.3, "share": 0.6},
                  {"node": "fc", "model_node": "fc", "op_type": "Gemm", "ms_per_run": 0.2, "share": 0.4}],
        "op_types": [{"op_type": "Gemm", "ms_per_run": 0.2, "share": 0.4, "nodes": 1},
                     {"op_type": "Conv", "ms_per_run": 0.3, "share": 0.6, "nodes": 1}],
    }
    result = {"latencies_ms": [1.0, 2.0, 3.0], "latency_ms": {"p50": 2.0, "p99": 2.98}, "throughput_per_s": 500.0,
              "runs": 3, "memory": {"peak_rss_bytes": 3 * 2**20, "rss_series": [[0.0, 2**20], [0.05, 2 * 2**20]]},
              "per_op": per_op}
    with qtbot.waitSignal(dash.overlayRequested) as blocker:
        dash.show_result(ProfileRun.from_worker(result))
    assert blocker.args == ["", {"conv1": 0.6, "fc": 0.4}]
    dash.redraw()
    assert dash.stat_labels["p50"].text() == "2.000 ms"
    assert dash.stat_labels["throughput"].text() == "500.0/s"
    assert dash.stat_labels["rss"].text() == "3.0 MiB"
    assert list(dash.rss_curve.getData()[1]) == [1.0, 2.0]
    ticks = dash.op_plot.getAxis("left")._tickLevels[0]
    assert [label for _pos, label in ticks] == ["Conv", "Gemm"]  # sorted by time
    dash.show_sweep(SweepResult.from_worker({"cells": [{"batch": 1, "threads": 1, "p50_ms": 1.0, "samples_per_s": 900.0},
                               {"batch": 4, "threads": 2, "p50_ms": 2.5, "samples_per_s": 1500.0}],
                     "best": {"batch": 4, "threads": 2}, "best_reason": "highest throughput."}))
    dash.redraw()
    xs, ys = dash.sweep_scatter.getData()
    assert list(ys) == [900.0, 1500.0]
    assert "batch 4" in dash.note.text()
    with qtbot.waitSignal(dash.overlayRequested) as blocker:
        dash.heat_map.setChecked(False)
    assert blocker.args == ["", {}]


def test_rolling_percentiles_and_shares():
    values = np.arange(1, 1001, dtype=float)
    at, p50, p99 = rolling_percentiles(values, window=10, points=100)
    assert len(at) <= 100 and at[0] == 0 and at[-1] == 999
    assert p50[0] == 1.0 and p50[-1] == np.percentile(values[-10:], 50)
    assert p99[-1] == np.percentile(values[-10:], 99)
    middle = len(at) // 2
    end = at[middle] + 1
    assert p50[middle] == np.percentile(values[end - 10:end], 50)
    few = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 9.0])  # fewer runs than the window: growing windows
    at, p50, p99 = rolling_percentiles(few, window=10)
    assert list(at) == [0, 1, 2, 3, 4, 5]
    assert np.allclose(p50, [np.percentile(few[: i + 1], 50) for i in at])
    assert np.allclose(p99, [np.percentile(few[: i + 1], 99) for i in at])
    assert per_node_shares({"nodes": [{"node": "a_k", "model_node": "a", "share": 0.25},
                                      {"node": "a_k2", "model_node": "a", "share": 0.25}]}) == {"a": 0.5}


def _watched_dashboard(qtbot, monkeypatch) -> tuple[ProfileDashboard, list[str]]:
    """A dashboard with 20 runs drawn, whose chart updates are noted by name instead of drawn."""
    dash = ProfileDashboard()
    qtbot.addWidget(dash)
    for record in _records(20):
        dash.feed(record)
    dash.redraw()
    drawn: list[str] = []
    for name, curve in (("runs", dash.run_curve), ("histogram", dash.hist_curve), ("memory", dash.rss_curve)):
        monkeypatch.setattr(curve, "setData", lambda *a, _name=name, **k: drawn.append(_name))
    return dash, drawn


def test_a_tick_redraws_only_the_charts_whose_data_changed(qtbot, monkeypatch):
    dash, drawn = _watched_dashboard(qtbot, monkeypatch)
    dash._tick()
    assert drawn == []  # everything was drawn already
    dash.feed({"kind": "memory", "t_s": 1.0, "rss_bytes": 2**30})
    dash._tick()
    assert drawn == ["memory"]
    dash.feed({"kind": "sample", "phase": "timed", "latencies_ms": [1.0]})
    dash._tick()
    assert drawn == ["memory", "runs"]


def test_nice_limits_and_the_runs_shown():
    assert [nice_ceiling(v) for v in (0.0, 0.7, 1.0, 1.01, 3.3, 47.0, 5001.0)] == pytest.approx([1.0, 0.8, 1.0, 1.2, 4.0, 50.0, 6000.0])
    assert [nice_floor(v) for v in (0.0, 0.7, 1.0, 1.19, 3.3, 47.0)] == pytest.approx([0.0, 0.6, 1.0, 1.0, 3.0, 40.0])
    assert shown_runs(0) == (0, 1) and shown_runs(130) == (0, 150) and shown_runs(5000) == (0, 5000)
    assert shown_runs(5001) == (500, 5500) and shown_runs(5500) == (500, 5500) and shown_runs(5501) == (1000, 6000)
    assert shown_runs(130, planned=2000) == (0, 2000) and shown_runs(2500, planned=2000) == (0, 2500)
    assert shown_runs(130, planned=50_000) == (0, 5000) and shown_runs(5001, planned=50_000) == (500, 5500)


def test_axis_limits_move_in_steps_while_runs_stream_in(qtbot):
    """Limits that followed every new run redrew both axes of two charts at every tick."""
    dash = ProfileDashboard()
    qtbot.addWidget(dash)
    rng = np.random.default_rng(0)
    limits = []
    dash.feed({"kind": "config", "model": "m.onnx", "options": {"runs": 2000}})
    for _tick in range(200):
        dash.feed({"kind": "sample", "phase": "timed", "latencies_ms": list(rng.gamma(5.0, 0.2, 10))})
        dash._tick()
        limits.append((dash.run_plot.viewRange(), dash.hist_plot.viewRange()))
    changes = sum(a != b for a, b in zip(limits, limits[1:]))
    assert changes < 40  # of 199 ticks, each of which moved them before
    (x0, x1), (y0, y1) = dash.run_plot.viewRange()
    assert (x0, x1) == (0, 2000) and y0 == 0 and y1 >= max(dash._latencies)
    (low, high), _counts = dash.hist_plot.viewRange()
    assert low <= min(dash._latencies) and high >= np.percentile(dash._latencies, 99.5)


def test_each_tick_draws_one_chart_and_none_is_starved(qtbot, monkeypatch):
    """A tick that drew every changed chart held the window up for the sum of them."""
    dash, drawn = _watched_dashboard(qtbot, monkeypatch)
    for _tick in range(3):  # new runs before every tick, and one memory sample
        dash.feed({"kind": "sample", "phase": "timed", "latencies_ms": [1.0]})
        if _tick == 0:
            dash.feed({"kind": "memory", "t_s": 1.0, "rss_bytes": 2**30})
        dash._tick()
    assert drawn == ["runs", "histogram", "memory"]


def test_charts_appear_a_step_per_tick_when_a_profile_starts(qtbot):
    """Five charts painted by one tick held the window up ~30 ms; the first alone ~17 ms."""
    dash = ProfileDashboard()
    qtbot.addWidget(dash)
    dash.charts  # built, still hidden behind the placeholder
    dash.set_running(True)
    steps = []
    for _tick in range(11):
        dash._tick()
        canvases = [not plot.getViewWidget().isHidden() for plot in dash._plots.values()]
        drawn = [shown and plot.opacity() == 1.0 for shown, plot in zip(canvases, dash._plots.values())]
        steps.append((not dash.charts.isHidden(), sum(canvases), sum(drawn)))
    # The charts' area, then for each chart its empty canvas and, a tick later, its drawing.
    assert steps == [(True, 0, 0), (True, 1, 0), (True, 1, 1), (True, 2, 1), (True, 2, 2), (True, 3, 2),
                     (True, 3, 3), (True, 4, 3), (True, 4, 4), (True, 5, 4), (True, 5, 5)]
    assert dash.placeholder.isHidden() and not dash._dirty


def test_rolling_lines_are_drawn_every_other_time_while_runs_stream_in_and_at_the_end(qtbot):
    """Computing and setting them was half of the run chart's tick."""
    dash = ProfileDashboard()
    qtbot.addWidget(dash)
    dash.charts
    dash.set_running(True)
    drawn = []
    for _ in range(6):
        dash.feed({"kind": "sample", "phase": "timed", "latencies_ms": [1.0, 2.0, 3.0]})
        dash.redraw(["runs"])
        drawn.append(len(dash.p50_curve.xData))
    assert drawn[1] == drawn[0] and drawn[3] == drawn[2] and drawn[0] < drawn[2] < drawn[4]
    dash.set_running(False)
    dash.redraw(["runs"])
    at, _p50, _p99 = rolling_percentiles(np.asarray(dash._latencies))
    assert len(dash.p50_curve.xData) == len(at) and len(dash.run_curve.xData) == 18


def test_a_chart_is_painted_a_turn_after_its_data_is_set(qtbot):
    """Data and paint in one turn were one burst of ~12 ms; a heartbeat or a click fits between."""
    dash = ProfileDashboard()
    qtbot.addWidget(dash)
    dash.show()
    dash.charts
    dash.set_running(True)
    for _tick in range(11):  # the charts come on screen a step per tick
        dash._tick()
    dash.feed({"kind": "sample", "phase": "timed", "latencies_ms": [1.0, 2.0]})
    dash._tick()
    canvas = dash.run_plot.getViewWidget().viewport()
    assert not canvas.updatesEnabled() and len(dash.run_curve.xData) == 2
    qtbot.waitUntil(canvas.updatesEnabled, timeout=2000)
