"""Properties panel: a node's op, attributes and typed I/O; an initializer's statistics and histogram."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.analysis import node_keys
from onnx_workbench.widgets.model_index import ModelIndex
from onnx_workbench.pipelines.tensor_values import tensor_statistics
from onnx_workbench.widgets.properties_panel import PropertiesPanel


def _model() -> onnx.ModelProto:
    weight = np.array([[0.0, 1.0], [-2.0, 0.0], [3.0, 0.0]], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "W"], ["y"], name="fc", transB=1, alpha=0.5),
            helper.make_node("Relu", ["y"], ["z"]),  # unnamed: keyed by pipelines.analysis.node_keys
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(weight, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return onnx.shape_inference.infer_shapes(model)


def test_node_shows_op_attributes_and_typed_io(qtbot):
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    model = _model()
    panel.set_model(ModelIndex(model), {"layers": [{"name": "fc", "macs": 6, "params": 6}]})
    assert panel.show_node("fc")
    assert panel.tree.value("Op type") == "Gemm"
    assert panel.tree.value("Domain") == "ai.onnx"
    assert panel.tree.value("transB") == "1"
    assert panel.tree.value("alpha") == "0.5"
    assert panel.tree.value("x") == "float32 [batch, 2]"
    assert panel.tree.value("W") == "float32 [3, 2] (initializer)"
    assert panel.tree.value("y") == "float32 [batch, 3]"
    assert panel.tree.value("MACs") == "6"
    assert panel.histogram.isHidden()
    relu_key = node_keys(model.graph)[1]
    assert panel.show_node(relu_key) and panel.tree.value("Name") == "(unnamed)"
    assert panel.tree.value("Params") == "0"  # counted from initializers when analysis has no entry
    assert not panel.show_node("missing") and panel.tree.value("Op type") is None


def test_initializer_statistics_and_histogram(qtbot):
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_model(ModelIndex(_model()))
    assert panel.show_initializer("W")
    assert panel.tree.value("Shape") == "[3, 2]"
    assert panel.tree.value("Dtype") == "float32"
    assert panel.tree.value("min") == "-2" and panel.tree.value("max") == "3"
    assert panel.tree.value("mean") == f"{2 / 6:.6g}"
    assert panel.tree.value("sparsity") == "50.0 %"
    assert panel.tree.value("Used by") == "fc"
    assert panel.histogram.isVisible()
    curve = panel.histogram.getPlotItem().listDataItems()[0]
    _x, counts = curve.getData()
    assert int(np.sum(counts)) == 6


def test_statistics_of_empty_and_integer_tensors():
    assert tensor_statistics(np.array([], dtype=np.float32))["sparsity"] == 0.0
    stats = tensor_statistics(np.array([0, 0, 4], dtype=np.int8))
    assert stats["max"] == 4 and abs(stats["sparsity"] - 2 / 3) < 1e-9


def test_figures_arriving_later_refresh_the_shown_node(qtbot):
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.set_model(ModelIndex(_model()), None)
    panel.show_node("fc")
    assert panel.tree.value("MACs") == "—"
    panel.set_analysis({"layers": [{"name": "fc", "macs": 6, "params": 6}]})
    assert panel.tree.value("MACs") == "6" and panel.tree.value("Op type") == "Gemm"
    panel.show_initializer("W")
    panel.set_analysis({"layers": []})  # an initializer on screen stays on screen
    assert panel.tree.value("Shape") == "[3, 2]"


def test_large_initializer_is_sampled_but_min_max_sparsity_are_exact(qtbot):
    from onnx_workbench.pipelines import tensor_values

    size = 2 * tensor_values.SAMPLE_LIMIT + 7
    weight = np.ones(size, dtype=np.float32)
    weight[1::2] = 0.0
    weight[5], weight[size - 2] = -9.0, 11.0  # off the sampling stride (3): only an exact pass finds them
    stats = tensor_statistics(weight)
    assert stats["sampled"] == 1.0 and stats["min"] == -9.0 and stats["max"] == 11.0
    assert abs(stats["sparsity"] - (size // 2 - 2) / size) < 1e-12  # the extremes replaced two zeros
    graph = helper.make_graph([helper.make_node("Relu", ["W"], ["y"], name="r")], "g", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [size])],
                              [numpy_helper.from_array(weight, "W")])
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.set_model(ModelIndex(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])))
    assert panel.show_initializer("W")
    assert panel.tree.value("mean").endswith("(sampled)") and panel.tree.value("min") == "-9"
    _x, counts = panel.histogram.getPlotItem().listDataItems()[0].getData()
    assert 0 < int(np.sum(counts)) <= tensor_values.SAMPLE_LIMIT


def test_external_initializer_values_are_read_on_demand_and_big_ones_in_a_worker(qtbot, tmp_path, monkeypatch):
    from onnx_workbench.pipelines import model as model_io
    from onnx_workbench.widgets import properties_panel

    weight = np.arange(4096, dtype=np.float32).reshape(64, 64)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
                              [numpy_helper.from_array(weight, "W")])
    path = model_io.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
                               tmp_path / "m.onnx", external_data=True)
    monkeypatch.setattr(model_io, "SMALL_TENSOR_BYTES", 1024)
    loaded = model_io.load_model(path, weights=False)
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.set_model(ModelIndex(loaded.proto), model_path=path)
    wanted: list[tuple[str, str]] = []
    panel.statisticsWanted.connect(lambda p, n: wanted.append((p, n)))
    assert panel.show_initializer("W")  # 16 KB: read here, from the data file
    assert panel.tree.value("max") == "4095" and wanted == []
    monkeypatch.setattr(properties_panel, "IN_WINDOW_STATISTICS_BYTES", 1024)
    assert panel.show_initializer("W")
    assert wanted == [(str(path), "W")] and panel.tree.value("Values") == "reading in the background…"
    assert panel.tree.value("max") is None
    from onnx_workbench.pipelines.worker.client import WorkerJob

    result = WorkerJob("tensor-stats", {"model": str(path), "tensor": "W"}).start().wait_result(timeout_s=60)
    panel.show_statistics("W", result)
    assert panel.tree.value("max") == "4095" and panel.tree.value("Values") is None
    from onnx_workbench.widgets import formatting

    assert panel.tree.value("Elements") == formatting.count(4096)
