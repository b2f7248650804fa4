"""Small things a newcomer meets: readable form labels, a step's stage and time, a minimap that
does not sit on a graph that fits, room for the worst quantization regions."""
from __future__ import annotations

import onnx
from PySide6.QtWidgets import QLabel

from onnx_workbench.pipelines.config import field_label
from onnx_workbench.widgets.analysis_views import AnalysisViews
from onnx_workbench.widgets.graph_view import GraphView
from onnx_workbench.widgets.optimize_panel import OptimizePanel


def test_form_labels_are_words_not_field_names(qtbot):
    assert field_label("tensor_size_threshold_mb") == "Tensor size threshold (MB)"
    assert field_label("keep_io_types") == "Keep I/O types"
    panel = OptimizePanel()
    qtbot.addWidget(panel)
    panel.select_pass("simplify")
    texts = {label.text() for label in panel.form().findChildren(QLabel)}
    assert "onnxsim's own checks" in texts and "Largest folded constant (MB)" in texts and "Keep BatchNorm" in texts
    assert not any(t in texts for t in ("Check n", "Skip fuse bn", "Tensor size threshold mb"))


def test_a_running_step_shows_its_stage_progress_and_time(qtbot):
    panel = OptimizePanel()
    qtbot.addWidget(panel)
    panel.set_enabled_for_session(True)
    panel.set_running(True)
    assert panel.status.text().startswith("starting — 0%")
    panel.set_progress(0.42, "verifying against the original")
    assert panel.status.text().startswith("verifying against the original — 42%,")
    qtbot.waitUntil(lambda: panel.status.text().endswith(("1 s", "2 s")), timeout=3000)
    panel.set_running(False)


def test_the_minimap_hides_while_the_whole_graph_is_in_view(qtbot, sample_cnn):
    view = GraphView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    view.set_model(onnx.load(str(sample_cnn)))
    qtbot.waitUntil(lambda: view.layout_result() is not None)
    view.fit()
    assert not view.minimap.isVisible()  # it would only cover nodes
    for _ in range(6):
        view.zoom_in()
    assert view.minimap.isVisible()


def test_the_quantization_table_has_room_for_eight_rows(qtbot):
    views = AnalysisViews()
    qtbot.addWidget(views)
    rows = views.worst_table.verticalHeader().defaultSectionSize()
    assert views.worst_table.minimumHeight() >= 8 * rows
