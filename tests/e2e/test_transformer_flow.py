"""End to end on the sample transformer: open → transformer fusion → dynamic INT8 → profile →
undo → redo → export model and recipe, checking the window's state after each step."""
from __future__ import annotations

import onnx
import pytest

from onnx_workbench.app.main_window import MainWindow
from onnx_workbench.pipelines.recipe import load_recipe
from onnx_workbench.pipelines.versions import ROOT_ID

pytestmark = pytest.mark.timeout(180)
WAIT_MS = 60_000


def _ops(win: MainWindow) -> set[str]:
    return {n.op_type for n in win.shown.opened.loaded.proto.graph.node}


def test_transformer_flow(qtbot, window, apply_step, sample_transformer, tmp_path):
    win = window
    panels = win.session_panels
    session = panels.session
    win.open_path(sample_transformer)
    qtbot.waitUntil(lambda: session.workspace is not None, timeout=WAIT_MS)
    assert session.current_id == ROOT_ID
    original_nodes = len(win.shown.opened.loaded.proto.graph.node)

    # Transformer fusion: attention/LayerNorm/GELU sub-graphs become contrib ops; fewer nodes.
    apply_step("transformer-fusion", {"engine": "auto"})
    fused = session.current
    assert fused.pass_name == "transformer-fusion" and fused.metrics["nodes"] < original_nodes
    assert fused.changes["removed"] and panels.diff_panel.sets["removed"] == set(fused.changes["removed"])
    assert win.graph_view._highlight["added"] == set(fused.changes["added"])
    assert panels.version_tree.badge_state(fused.id) == "pass"

    # Dynamic INT8 on top: MatMuls become integer ops, the model shrinks.
    apply_step("quantize-dynamic", {})
    quantized = session.current
    assert quantized.parent == fused.id
    assert quantized.metrics["size_bytes"] < fused.metrics["size_bytes"]
    assert _ops(win) & {"MatMulInteger", "DynamicQuantizeMatMul", "DynamicQuantizeLinear", "QAttention"}
    assert panels.version_tree.badge_state(quantized.id) in ("pass", "fail")

    # Profile the quantized version (F5): latency lands on the version and in the tree.
    panels.profile_dashboard.runs.setValue(20)
    panels.profile_dashboard.warmup.setValue(2)
    win.actions["profile"].trigger()
    qtbot.waitUntil(lambda: "latency_ms" in session.workspace.get(quantized.id).metrics, timeout=WAIT_MS)
    # The row takes the figures a turn after the result that saved them.
    qtbot.waitUntil(lambda: panels.version_tree.cell(quantized.id, "p50 latency").endswith(" ms"))

    # Undo to the fused version, then redo.
    win.actions["undo"].trigger()
    qtbot.waitUntil(lambda: panels.version_display.shown_version == fused.id, timeout=WAIT_MS)
    assert not _ops(win) & {"MatMulInteger", "DynamicQuantizeMatMul"}
    win.actions["redo"].trigger()
    qtbot.waitUntil(lambda: panels.version_display.shown_version == quantized.id, timeout=WAIT_MS)

    # Export the model and its recipe; the source file is never written.
    source_bytes = sample_transformer.read_bytes()
    out = tmp_path / "out" / "transformer_int8.onnx"
    out.parent.mkdir()
    with qtbot.waitSignal(session.exported, timeout=WAIT_MS):  # written by a worker process
        panels.commands.export_model(quantized.id, out)
    panels.commands.export_recipe(quantized.id, tmp_path / "out" / "transformer_int8.yaml")
    onnx.checker.check_model(onnx.load(str(out)))
    assert [s.pass_name for s in load_recipe(tmp_path / "out" / "transformer_int8.yaml").steps] == ["transformer-fusion", "quantize-dynamic"]
    panels.commands.export_model(quantized.id, sample_transformer)  # refused: it is the opened source
    qtbot.waitUntil(lambda: "new name" in win.statusBar().currentMessage(), timeout=WAIT_MS)
    assert sample_transformer.read_bytes() == source_bytes
