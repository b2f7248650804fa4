"""End to end on the sample CNN, driven through the window like a user would:
open → fold BatchNorm → static INT8 → profile both → compare → undo → redo → export recipe.

Every long step runs in a worker process; the test waits on the window's state with generous
timeouts (a loaded 2-core CI machine) and checks the state after each step.
"""
from __future__ import annotations

import pytest

from onnx_workbench.app.main_window import MainWindow
from onnx_workbench.pipelines.recipe import load_recipe
from onnx_workbench.pipelines.session_model import COMPARE, PROFILE
from onnx_workbench.pipelines.versions import ROOT_ID

pytestmark = pytest.mark.timeout(180)
WAIT_MS = 60_000
PROFILE_RUNS = {"runs": 30, "warmup": 3}


def _highlight(win: MainWindow) -> dict[str, set[str]]:
    return {k: set(v) for k, v in win.graph_view._highlight.items()}


def test_cnn_flow(qtbot, window, apply_step, sample_cnn, tmp_path):
    win = window
    panels = win.session_panels
    session = panels.session

    # Open: the model is shown and a session starts with version 0.
    win.open_path(sample_cnn)
    qtbot.waitUntil(lambda: session.workspace is not None, timeout=WAIT_MS)
    assert session.current_id == ROOT_ID and len(session.workspace.versions) == 1
    # The pass list is imported on a thread (seconds on a loaded machine); Apply waits for it.
    qtbot.waitUntil(panels.optimize_panel.apply_button.isEnabled, timeout=WAIT_MS)
    assert not win.actions["undo"].isEnabled()
    bn_nodes = {n.name for n in win.shown.opened.loaded.proto.graph.node if n.op_type == "BatchNormalization"}
    assert bn_nodes

    # A failing step adds no version and says why.
    panels.optimize_panel.select_pass("quantize-static")
    panels.optimize_panel.form().set_values({"calibration": "images", "data": str(tmp_path / "missing")})
    with qtbot.waitSignal(session.step_failed, timeout=WAIT_MS):
        panels.optimize_panel.apply_button.click()
    assert len(session.workspace.versions) == 1 and session.current_id == ROOT_ID
    assert panels.optimize_panel.status.text().startswith("Not applied:")
    panels.optimize_panel.form().set_values({"calibration": "random", "data": ""})

    # Fold BatchNorm: v1, verified, BN nodes gone, Convs changed and ringed in the graph.
    apply_step("fold-batchnorm", {})
    v1 = session.current
    assert v1.number == 1 and v1.pass_name == "fold-batchnorm" and v1.parent == ROOT_ID
    assert set(v1.changes["removed"]) == bn_nodes
    assert panels.version_tree.badge_state(v1.id) == "pass"
    assert panels.version_tree.cell(v1.id, "Fidelity").startswith("✓")
    assert _highlight(win)["changed"] == set(v1.changes["changed"]) and v1.changes["changed"]
    assert panels.diff_panel.sets["removed"] == bn_nodes
    assert not any(n.op_type == "BatchNormalization" for n in win.shown.opened.loaded.proto.graph.node)
    assert win.actions["undo"].isEnabled() and not win.actions["redo"].isEnabled()

    # Static INT8 with random calibration (few samples): v2 below v1, Q/DQ nodes added.
    apply_step("quantize-static", {"samples": 4, "calibration": "random"})
    v2 = session.current
    assert v2.number == 2 and v2.parent == v1.id and v2.pass_name == "quantize-static"
    assert panels.version_tree.badge_state(v2.id) in ("pass", "fail")  # verified either way
    assert v2.metrics["fidelity"]["outputs"]
    added_ops = {n.op_type for n in win.shown.opened.loaded.proto.graph.node if n.name in _highlight(win)["added"]}
    assert {"QuantizeLinear", "DequantizeLinear"} <= added_ops
    assert panels.version_tree.item_for(v2.id).parent() is panels.version_tree.item_for(v1.id)

    # Profile both: F5 profiles the current version; v1 through the session.
    panels.profile_dashboard.runs.setValue(PROFILE_RUNS["runs"])
    panels.profile_dashboard.warmup.setValue(PROFILE_RUNS["warmup"])
    win.actions["profile"].trigger()
    qtbot.waitUntil(lambda: "latency_ms" in session.workspace.get(v2.id).metrics, timeout=WAIT_MS)
    # The row takes the figures a turn after the result that saved them.
    qtbot.waitUntil(lambda: panels.version_tree.cell(v2.id, "p50 latency").endswith(" ms"))
    assert panels.profile_dashboard.stat_labels["p50"].text().endswith(" ms")
    overlay = win.graph_view.overlay()
    assert overlay is not None and overlay.values and set(overlay.values) <= set(win.graph_view.node_names())
    qtbot.waitUntil(lambda: not session.jobs.busy(PROFILE), timeout=WAIT_MS)
    session.profile(v1.id, panels.profile_dashboard.options())
    qtbot.waitUntil(lambda: "latency_ms" in session.workspace.get(v1.id).metrics, timeout=WAIT_MS)
    assert len(session.workspace.get(v1.id).metrics["latencies_ms"]) == PROFILE_RUNS["runs"]

    # Compare v1 (A) with v2 (B), interleaved in one worker.
    panels.version_tree.compareRequested.emit("a", v1.id)
    panels.version_tree.compareRequested.emit("b", v2.id)
    assert panels.compare_view.picked() == (v1.id, v2.id)
    panels.compare_view.runs.setValue(20)
    with qtbot.waitSignal(session.compared, timeout=WAIT_MS) as blocker:
        panels.compare_view.compare_button.click()
    (result,) = blocker.args
    assert result.is_about(v1.id, v2.id) and result.rounds == 20
    assert panels.compare_view.verdict.text().startswith(("B is faster", "A is faster", "no clear difference"))
    assert "QuantizeLinear" in panels.compare_view.deltas()  # per-op-type time delta B - A
    table = panels.compare_view.table
    assert [table.item(r, 0).text() for r in range(table.rowCount())][:4] == ["Size", "Nodes", "Parameters", "MACs"]

    # Undo: back to v1, the graph shows v1 with v1's diff; redo: forward to v2.
    win.actions["undo"].trigger()
    assert session.current_id == v1.id and win.actions["redo"].isEnabled()
    qtbot.waitUntil(lambda: panels.version_display.shown_version == v1.id, timeout=WAIT_MS)
    assert _highlight(win)["changed"] == set(v1.changes["changed"])
    assert panels.version_tree.item_for(v1.id).font(0).bold()
    assert not any(n.op_type == "QuantizeLinear" for n in win.shown.opened.loaded.proto.graph.node)
    win.actions["redo"].trigger()
    assert session.current_id == v2.id and not win.actions["redo"].isEnabled()
    qtbot.waitUntil(lambda: panels.version_display.shown_version == v2.id, timeout=WAIT_MS)
    assert any(n.op_type == "QuantizeLinear" for n in win.shown.opened.loaded.proto.graph.node)

    # Export the recipe of v2: it replays fold-batchnorm then quantize-static with 4 samples.
    assert session.has_unexported_work
    recipe_path = tmp_path / "cnn_int8.yaml"
    panels.commands.export_recipe(path=recipe_path)
    recipe = load_recipe(recipe_path)
    assert [step.pass_name for step in recipe.steps] == ["fold-batchnorm", "quantize-static"]
    assert recipe.steps[1].config.samples == 4 and recipe.steps[1].config.calibration == "random"
    assert not session.has_unexported_work

    # Export a report of v2 (HTML, built on a thread from what the session measured).
    report_path = tmp_path / "cnn_int8.html"
    with qtbot.waitSignal(panels.commands.reportWritten, timeout=WAIT_MS):
        panels.commands.export_report(path=report_path)
    html = report_path.read_text(encoding="utf-8")
    assert "quantize-static" in html and "fold-batchnorm" in html


def test_closing_with_unexported_work_asks(qtbot, window, apply_step, sample_cnn, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    panels = window.session_panels
    window.open_path(sample_cnn)
    qtbot.waitUntil(lambda: panels.session.workspace is not None, timeout=WAIT_MS)
    apply_step("fold-batchnorm", {})
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Cancel)
    panels.commands.ask_before_close = True
    assert not window.close()  # the user chose Cancel: the window stays with its session
    assert asked and window.isVisible() and panels.session.workspace is not None
    panels.commands.ask_before_close = False


def test_stop_buttons_cancel_long_work(qtbot, window, sample_cnn):
    panels = window.session_panels
    session = panels.session
    window.open_path(sample_cnn)
    qtbot.waitUntil(lambda: session.workspace is not None, timeout=WAIT_MS)
    panels.profile_dashboard.runs.setValue(1_000_000)
    window.actions["profile"].trigger()
    assert panels.profile_dashboard.stop_button.isEnabled()
    with qtbot.waitSignal(session.jobs.lane(PROFILE).cancelled, timeout=WAIT_MS):
        panels.profile_dashboard.stop_button.click()
    assert "latency_ms" not in session.current.metrics and panels.profile_dashboard.start_button.isEnabled()
    panels.compare_view.runs.setValue(100_000)
    panels.compare_view.compare_button.click()
    assert panels.compare_view.stop_button.isEnabled()
    with qtbot.waitSignal(session.jobs.lane(COMPARE).cancelled, timeout=WAIT_MS):
        panels.compare_view.stop_button.click()
    assert panels.compare_view.verdict.text() == "Comparison stopped."
