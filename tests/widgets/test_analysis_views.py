"""Analysis views: quantization error table/heat map/exclusion list; sensitivity chart and ratios."""
from __future__ import annotations

import math

from onnx_workbench.pipelines.results import QuantErrorReport, SensitivityTable
from onnx_workbench.widgets.analysis_views import AnalysisViews, error_overlay

REPORT = {
    "samples": 4,
    "tensors": [
        {"tensor": "t3", "node": "conv3", "op_type": "Conv", "quant_node": "conv3", "sqnr_db": 12.0, "relative_error": 0.25, "added_noise": 0.05},
        {"tensor": "t1", "node": "conv1", "op_type": "Conv", "quant_node": "conv1", "sqnr_db": 20.0, "relative_error": 0.1, "added_noise": 0.01},
        {"tensor": "t1b", "node": "relu1", "op_type": "Relu", "quant_node": "conv1", "sqnr_db": 21.0, "relative_error": 0.09, "added_noise": 0.001},
        {"tensor": "t2", "node": "fc", "op_type": "Gemm", "quant_node": "fc", "sqnr_db": 30.0, "relative_error": 0.03, "added_noise": 0.0001},
    ],
    "by_quant_node": {"conv3": {"relative_error": 0.25}, "conv1": {"relative_error": 0.1}, "fc": {"relative_error": 0.03}},
}
SCAN = {
    "model": "m.onnx", "mode": "channels", "ratios": [0.1, 0.3, 0.5], "skipped": {},
    "rows": [
        {"unit": "conv1", "kind": "channels", "ratio": r, "kept": 1, "size": 2, "cosine": c, "top1": None, "params_removed": 1}
        for r, c in ((0.1, 0.999), (0.3, 0.995), (0.5, 0.95))
    ] + [
        {"unit": "conv2", "kind": "channels", "ratio": r, "kept": 1, "size": 2, "cosine": c, "top1": None, "params_removed": 1}
        for r, c in ((0.1, 0.98), (0.3, 0.9), (0.5, "nan"))
    ],
}


def test_quant_report_table_overlay_and_worst(qtbot):
    views = AnalysisViews()
    qtbot.addWidget(views)
    with qtbot.waitSignal(views.overlayRequested) as blocker:
        views.show_quant_report(QuantErrorReport.from_worker(REPORT))
    assert blocker.args == [{"conv3": 25.0, "conv1": 10.0, "fc": 3.0}, "relative error"]
    assert error_overlay(views.quant_report)["fc"] == 3.0
    assert views.worst_table.rowCount() == 4 and views.worst_table.item(0, 0).text() == "conv3"
    views.worst_n.setValue(2)
    assert views.worst_nodes() == ["conv3", "conv1"]  # conv1 counted once
    with qtbot.waitSignal(views.requantizeRequested) as blocker:
        views.requantize_button.click()
    assert blocker.args == [["conv3", "conv1"]]


def test_sensitivity_ratios_follow_the_threshold(qtbot):
    views = AnalysisViews()
    qtbot.addWidget(views)
    table = SensitivityTable.from_worker(SCAN)  # the "nan" cosine of the worker's JSON is read back as NaN
    assert table.units() == ["conv1", "conv2"] and math.isnan(table.rows[-1].cosine)
    views.show_sensitivity(table)
    assert len(views.chart.getPlotItem().listDataItems()) == 2
    views.min_cosine.setValue(0.99)
    assert views.layer_percent() == {"conv1": 30}
    assert views.ratios_label.text().startswith("1 of 2 layers")
    views.min_cosine.setValue(0.9)
    assert views.layer_percent() == {"conv1": 50, "conv2": 30}
    with qtbot.waitSignal(views.pruneRequested) as blocker:
        views.prune_button.click()
    assert blocker.args == ["prune-channels", {"ratio": 0.0, "round_to": 1, "layer_percent": {"conv1": 50, "conv2": 30}}]
