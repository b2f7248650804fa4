"""Layered graph layout: geometry invariants, determinism, compact initializers, subgraphs, scale."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.pipelines.graph_layout import (
    KIND_INPUT,
    KIND_OP,
    KIND_OUTER,
    KIND_OUTPUT,
    extract_graph,
    layout_graph,
    layout_model,
    op_category,
    subgraph_of,
)
from onnx_workbench.pipelines.graph_layout.layered import LONG_EDGE_KEEP


def assert_valid(result) -> None:  # noqa: ANN001 - LayoutResult
    """Every edge runs downwards between its end boxes and no two boxes of a layer overlap."""
    info = result.graph
    for e in range(len(info.edge_src)):
        pts = result.polyline(e)
        s, d = info.edge_src[e], info.edge_dst[e]
        assert np.all(np.diff(pts[:, 1]) >= -1e-6), f"edge {e} goes upwards"
        assert pts[0, 1] == pytest.approx(result.y[s] + result.h[s])
        assert pts[-1, 1] == pytest.approx(result.y[d])
        assert pts[0, 0] == pytest.approx(result.x[s] + result.w[s] / 2)
        assert pts[-1, 0] == pytest.approx(result.x[d] + result.w[d] / 2)
    for layer in np.unique(result.layer):
        members = np.flatnonzero(result.layer == layer)
        order = members[np.argsort(result.x[members])]
        right = result.x[order][:-1] + result.w[order][:-1]
        assert np.all(right <= result.x[order][1:] + 1e-6), f"boxes overlap in layer {layer}"
    x0, y0, x1, y1 = result.bounds
    assert result.x.min() >= x0 and (result.x + result.w).max() <= x1
    assert result.y.min() >= y0 and (result.y + result.h).max() <= y1


def chain_with_skip(length: int) -> onnx.ModelProto:
    """x -> Relu×length -> Add(…, x): one very long skip edge."""
    nodes, prev = [], "x"
    for i in range(length):
        nodes.append(helper.make_node("Relu", [prev], [f"r{i}"], name=f"relu{i}"))
        prev = f"r{i}"
    nodes.append(helper.make_node("Add", [prev, "x"], ["y"], name="skip_add"))
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_samples_lay_out_validly(sample_cnn, sample_transformer) -> None:
    for path in (sample_cnn, sample_transformer):
        model = onnx.shape_inference.infer_shapes(onnx.load(path))
        result = layout_model(model)
        assert_valid(result)
        kinds = result.graph.kinds
        assert kinds.count(KIND_OP) == len(model.graph.node)
        assert kinds.count(KIND_OUTPUT) == len(model.graph.output)


def test_initializers_are_lines_on_their_consumer_not_nodes(sample_cnn) -> None:
    model = onnx.load(sample_cnn)
    info = extract_graph(model.graph)
    initializer_names = {t.name for t in model.graph.initializer}
    assert not initializer_names & set(info.names)
    first_conv = next(n for n in model.graph.node if n.op_type == "Conv")
    weight = next(t for t in model.graph.initializer if t.name == first_conv.input[1])
    index = info.names.index(first_conv.name)
    assert f"W {'×'.join(map(str, weight.dims))}" in info.details[index]
    assert any(line.startswith("k 3×3") for line in info.details[index])


def test_edges_carry_shape_labels_from_value_info(sample_cnn) -> None:
    model = onnx.shape_inference.infer_shapes(onnx.load(sample_cnn))
    info = extract_graph(model.graph)
    assert sum(bool(label) for label in info.edge_labels) > len(info.edge_labels) // 2
    assert info.edge_labels[0].startswith("batch×3×")


def test_layout_is_deterministic(sample_transformer) -> None:
    model = onnx.load(sample_transformer)
    a, b = layout_model(model), layout_model(model)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.edge_points, b.edge_points)


def test_long_edges_get_capped_dummies_and_still_run_downwards() -> None:
    result = layout_model(chain_with_skip(300))
    assert_valid(result)
    info = result.graph
    skip = next(e for e in range(len(info.edge_src))
                if info.names[info.edge_src[e]] == "input:x" and info.names[info.edge_dst[e]] == "skip_add")
    # Source and target points plus two per dummy, at most 2·KEEP dummies however long the edge.
    assert len(result.polyline(skip)) == 2 + 2 * 2 * LONG_EDGE_KEEP
    # The chain is a straight spine: every Relu has the same centre x.
    relus = [i for i, t in enumerate(info.titles) if t == "Relu"]
    centres = result.x[relus] + result.w[relus] / 2
    assert np.ptp(centres) < 0.5  # sub-pixel


def test_constant_sources_sit_next_to_their_consumer() -> None:
    nodes = [helper.make_node("Relu", ["x"], ["r0"], name="relu0")]
    for i in range(1, 6):
        nodes.append(helper.make_node("Relu", [f"r{i - 1}"], [f"r{i}"], name=f"relu{i}"))
    nodes.append(helper.make_node("Constant", [], ["c"], name="const",
                                  value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])))
    nodes.append(helper.make_node("Add", ["r5", "c"], ["y"], name="add"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    result = layout_graph(graph)
    names = result.graph.names
    assert result.layer[names.index("const")] == result.layer[names.index("add")] - 1
    assert_valid(result)


def test_categories() -> None:
    assert op_category("Conv", "") == "conv"
    assert op_category("Gemm", "ai.onnx") == "matmul"
    assert op_category("Relu", "") == "activation"
    assert op_category("LayerNormalization", "") == "normalization"
    assert op_category("MaxPool", "") == "pooling"
    assert op_category("Reshape", "") == "shape"
    assert op_category("QuantizeLinear", "") == "quantization"
    assert op_category("FusedConv", "com.microsoft") == "fused"
    assert op_category("MyOp", "com.example") == "custom"
    assert op_category("Add", "") == "other"


def if_model() -> onnx.ModelProto:
    """cond ? x + outer_bias : -x, with the branches reading an outer-scope tensor."""
    then_graph = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["t"], name="then_add")], "then_branch", [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])],
    )
    else_graph = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e"], name="else_neg")], "else_branch", [],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2])],
    )
    node = helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_graph, else_branch=else_graph)
    graph = helper.make_graph(
        [node], "main",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_subgraph_layout_on_demand() -> None:
    model = if_model()
    main = layout_model(model)
    index = main.graph.names.index("branch")
    assert set(main.graph.subgraphs[index]) == {"then_branch", "else_branch"}
    body = subgraph_of(model.graph, main.graph, "branch", "then_branch")
    result = layout_graph(body)
    assert_valid(result)
    names = result.graph.names
    # The outer-scope tensor is drawn as an input of the body.
    assert result.graph.kinds[names.index("outer:x")] == KIND_OUTER
    assert "then_add" in names
    with pytest.raises(WorkbenchError, match="no subgraph attribute"):
        subgraph_of(model.graph, main.graph, "branch", "body")
    with pytest.raises(WorkbenchError, match="no node called"):
        subgraph_of(model.graph, main.graph, "missing", "then_branch")


def test_cycles_in_broken_models_do_not_hang() -> None:
    nodes = [
        helper.make_node("Add", ["x", "b"], ["a"], name="first"),
        helper.make_node("Relu", ["a"], ["b"], name="second"),
    ]
    graph = helper.make_graph(nodes, "cyclic", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1])])
    result = layout_graph(graph)
    assert len(result.graph) == 4
    assert result.graph.kinds.count(KIND_INPUT) == 1


def test_empty_graph() -> None:
    result = layout_graph(helper.make_graph([], "empty", [], []))
    assert len(result.x) == 0 and result.bounds[2] > 0


def test_twenty_thousand_nodes_lay_out_validly() -> None:
    sample_models = pytest.importorskip("sample_models")
    model = sample_models.build_layered_graph(20_000)
    result = layout_model(model)
    assert len(result.graph) >= 20_000
    # Spot-check the invariants vectorised (the per-edge loop is for the small graphs).
    starts = result.edge_points[result.edge_offsets[:-1]]
    ends = result.edge_points[result.edge_offsets[1:] - 1]
    src, dst = result.graph.edge_src, result.graph.edge_dst
    np.testing.assert_allclose(starts[:, 1], result.y[src] + result.h[src])
    np.testing.assert_allclose(ends[:, 1], result.y[dst])
    steps = np.diff(result.edge_points[:, 1])
    within = np.ones(len(steps), dtype=bool)
    within[result.edge_offsets[1:-1] - 1] = False  # steps across two edges do not count
    assert np.all(steps[within] >= -1e-6)
    order = np.lexsort((result.x, result.layer))
    same = result.layer[order][1:] == result.layer[order][:-1]
    gaps = result.x[order][1:] - (result.x[order][:-1] + result.w[order][:-1])
    assert np.all(gaps[same] >= -1e-6)


def test_layout_package_does_not_import_qt() -> None:
    code = (
        "import sys, onnx; import onnx_workbench.pipelines.graph_layout as g; "
        "g.layout_model(onnx.load(sys.argv[1])); "
        "assert not any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules), 'Qt imported'"
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code, str(root / "assets/models/resnet_small.onnx")],
                   cwd=root, check=True)


def test_ordering_removes_an_avoidable_crossing() -> None:
    # Declared so that the model's own order crosses: first consumer reads the second input.
    nodes = [
        helper.make_node("Relu", ["b"], ["rb"], name="uses_b"),
        helper.make_node("Relu", ["a"], ["ra"], name="uses_a"),
        helper.make_node("Sigmoid", ["rb"], ["sb"], name="after_b"),
        helper.make_node("Sigmoid", ["ra"], ["sa"], name="after_a"),
    ]
    graph = helper.make_graph(
        nodes, "x",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("a", "b")],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("sa", "sb")],
    )
    result = layout_graph(graph)
    names = result.graph.names
    cx = result.x + result.w / 2

    def left_of(p: str, q: str) -> bool:
        return cx[names.index(p)] < cx[names.index(q)]

    assert left_of("input:a", "input:b") == left_of("uses_a", "uses_b") == left_of("after_a", "after_b")
    assert_valid(result)


def test_wide_random_dag_lays_out_validly() -> None:
    """A seeded random DAG: wide layers, fan-in up to 3, skips up to 200 nodes back."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Sum", ["x"], ["t0"], name="n0")]
    for i in range(1, 1500):
        sources = rng.integers(max(0, i - 200), i, size=rng.integers(1, 4))
        nodes.append(helper.make_node("Sum", [f"t{j}" for j in sources], [f"t{i}"], name=f"n{i}"))
    graph = helper.make_graph(nodes, "random", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("t1499", TensorProto.FLOAT, [1])])
    result = layout_graph(graph)
    assert_valid(result)
    assert np.array_equal(result.boxes, layout_graph(graph).boxes)
