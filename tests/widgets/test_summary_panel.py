"""Summary panel: figures from the analysis, structure from the model when analysis is absent."""
from __future__ import annotations

import onnx

from onnx_workbench.widgets.summary_panel import SummaryPanel


def test_shows_structure_without_analysis(qtbot, sample_transformer):
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    model = onnx.load(str(sample_transformer))
    panel.set_model(model, sample_transformer, 1536, None)
    assert panel.tree.value("Name") == "transformer_small.onnx"
    assert panel.tree.value("Size") == "1.5 KiB"
    assert panel.tree.value("Nodes") == str(len(model.graph.node))
    assert panel.tree.value("Parameters") == "—"  # unknown, never invented
    graph_input = model.graph.input[0].name
    assert panel.tree.value(graph_input) is not None and "int64" in panel.tree.value(graph_input)
    softmax_count = sum(n.op_type == "Softmax" for n in model.graph.node)
    assert panel.tree.value("Softmax") == str(softmax_count)


def test_uses_analysis_figures(qtbot, sample_cnn):
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    model = onnx.load(str(sample_cnn))
    analysis = {"params": 2_500_000, "macs": 310_000_000, "flops": 620_000_000, "nodes": 54,
                "assumed_dims": {"batch": 1}}
    panel.set_model(model, sample_cnn, 2_850_978, analysis)
    assert panel.tree.value("Parameters") == "2.5 M"
    assert panel.tree.value("MACs") == "310 M"
    assert panel.tree.value("FLOPs") == "620 M"
    assert panel.tree.value("Assumed dims") == "batch=1"
    assert panel.tree.value("Conv") == "15"  # op counts come from the graph itself
    panel.clear()
    assert panel.tree.value("Name") is None
