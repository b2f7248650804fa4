"""analyze(): parameters exact, MACs equal to counts derived by hand from the layer shapes."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.analysis import analyze, node_keys
from onnx_workbench.pipelines.model import load_model


def _plain_param_count(model: onnx.ModelProto) -> int:
    return sum(math.prod(t.dims) for t in model.graph.initializer)


def test_params_match_plain_initializer_count(sample_cnn: Path, sample_transformer: Path) -> None:
    for path in (sample_cnn, sample_transformer):
        proto = load_model(path).proto
        result = analyze(proto)
        assert result.params == _plain_param_count(proto)
        assert sum(layer.params for layer in result.layers) == result.params
        assert result.param_bytes == sum(len(t.raw_data) for t in proto.graph.initializer)
        assert result.nodes == len(proto.graph.node)
        assert sum(result.op_types.values()) == result.nodes


def test_cnn_macs_match_hand_count(sample_cnn: Path) -> None:
    # Conv MACs = H_out * W_out * C_out * C_in * k * k (batch 1); Gemm MACs = in * out.
    stem = 32 * 32 * 32 * 3 * 9                      # 3->32, 3x3, stride 2: 64x64 -> 32x32
    # maxpool 3x3/2: 32x32 -> 16x16
    layer1 = 4 * (16 * 16 * 32 * 32 * 9)             # two blocks, two 3x3 convs each, 32 ch
    layer2 = (
        8 * 8 * 64 * 32 * 9                           # conv1 32->64, stride 2: 16x16 -> 8x8
        + 8 * 8 * 64 * 32 * 1                         # 1x1 projection shortcut
        + 3 * (8 * 8 * 64 * 64 * 9)                   # conv2 of block 0, both convs of block 1
    )
    layer3 = 4 * 4 * 128 * 64 * 9 + 4 * 4 * 128 * 64 + 3 * (4 * 4 * 128 * 128 * 9)
    fc = 128 * 100
    expected = stem + layer1 + layer2 + layer3 + fc
    assert expected == 27_111_936
    result = analyze(load_model(sample_cnn).proto)
    assert result.macs == pytest.approx(expected, rel=0.01)
    assert result.assumed_dims == {"batch": 1}
    # Batch 4 multiplies every MAC by 4.
    assert analyze(load_model(sample_cnn).proto, {"batch": 4}).macs == pytest.approx(4 * expected, rel=0.01)


def _transformer_macs(batch: int, seq: int, d: int = 128, ff: int = 512, vocab: int = 1000, layers: int = 2) -> int:
    tokens = batch * seq
    projections = 4 * tokens * d * d            # Q, K, V and output projection
    attention = 2 * batch * seq * seq * d       # Q @ K^T and P @ V over all heads (H * Dh = d)
    ffn = 2 * tokens * d * ff                   # d -> ff -> d
    return layers * (projections + attention + ffn) + tokens * d * vocab  # + LM head


def test_transformer_macs_match_hand_count(sample_transformer: Path) -> None:
    proto = load_model(sample_transformer).proto
    default = analyze(proto)
    assert default.assumed_dims == {"batch": 1, "sequence": 128}
    assert default.macs == pytest.approx(_transformer_macs(1, 128), rel=0.01)
    assert default.unknown_shape_nodes == 0, "the position-embedding Slice must get a concrete shape"
    custom = analyze(proto, {"batch": 3, "sequence": 7})
    assert custom.assumed_dims == {}
    assert custom.macs == pytest.approx(_transformer_macs(3, 7), rel=0.01)
    assert custom.inputs[0].concrete_shape == [3, 7]
    assert custom.outputs[0].concrete_shape == [3, 7, 1000]
    assert custom.inputs[0].shape == ["batch", "sequence"]
    assert custom.warnings == []
    typo = analyze(proto, {"seqence": 7})
    assert typo.warnings == ["Dim 'seqence' matches no input dimension and was ignored."]
    assert typo.assumed_dims == {"batch": 1, "sequence": 128}


def _single(node: onnx.NodeProto, inputs: dict[str, list[int]], weights: dict[str, np.ndarray], opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "single",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in node.output],
        [numpy_helper.from_array(w.astype(np.float32), n) for n, w in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_conv_macs_with_groups_dilation_strides_pads() -> None:
    node = helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], group=4, dilations=[2, 2], strides=[2, 1], pads=[1, 2, 1, 2], kernel_shape=[3, 3]
    )
    weights = {"w": np.zeros((16, 2, 3, 3)), "b": np.zeros(16)}
    result = analyze(_single(node, {"x": [1, 8, 20, 30]}, weights))
    # H_out = (20 + 2 - 2*(3-1) - 1) // 2 + 1 = 9; W_out = (30 + 4 - 4 - 1) // 1 + 1 = 30
    out = 1 * 16 * 9 * 30
    assert result.layers[0].output_shapes == [[1, 16, 9, 30]]
    assert result.macs == out * (8 // 4) * 3 * 3
    assert result.flops == 2 * result.macs + out  # + bias


def test_conv_transpose_gemm_and_batched_matmul() -> None:
    deconv = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], kernel_shape=[4, 4], pads=[1, 1, 1, 1])
    result = analyze(_single(deconv, {"x": [2, 8, 5, 5]}, {"w": np.zeros((8, 3, 4, 4))}))
    assert result.layers[0].output_shapes == [[2, 3, 10, 10]]
    assert result.macs == (2 * 8 * 5 * 5) * 3 * 4 * 4  # each input element scatters a 4x4 kernel to 3 channels

    gemm = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=1)
    result = analyze(_single(gemm, {"a": [7, 5]}, {"b": np.zeros((7, 6)), "c": np.zeros(6)}))
    assert result.macs == 5 * 6 * 7
    assert result.flops == 2 * 5 * 6 * 7 + 5 * 6

    matmul = helper.make_node("MatMul", ["a", "b"], ["y"])
    result = analyze(_single(matmul, {"a": [2, 1, 4, 5], "b": [3, 5, 6]}, {}))
    assert result.layers[0].output_shapes == [[2, 3, 4, 6]]  # broadcast batch dims
    assert result.macs == 2 * 3 * 4 * 6 * 5


def test_flops_of_other_ops_follow_documented_costs() -> None:
    x = [1, 4, 8, 8]
    cases = [
        (helper.make_node("Relu", ["x"], ["y"]), 256),
        (helper.make_node("Softmax", ["x"], ["y"], axis=-1), 5 * 256),
        (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2]), 4 * 4 * 4 * 4),
        (helper.make_node("GlobalAveragePool", ["x"], ["y"]), 256),
        (helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear"), 4 * 1024),
        (helper.make_node("Reshape", ["x", "shape"], ["y"]), 0),
    ]
    constants = {"shape": np.array([1, -1], np.int64), "scales": np.array([1, 1, 2, 2], np.float32)}
    for node, flops in cases:
        model = _single(node, {"x": x}, {})
        model.graph.initializer.extend(
            numpy_helper.from_array(value, name) for name, value in constants.items() if name in node.input
        )
        result = analyze(model)
        assert (result.macs, result.flops) == (0, flops), node.op_type
    bn = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])
    stats = {k: np.ones(4) for k in "sbmv"}
    assert analyze(_single(bn, {"x": x}, stats)).flops == 2 * 256


def test_constants_shared_weights_and_dtypes() -> None:
    shared = numpy_helper.from_array(np.ones((4, 4), np.float16), "w")
    const = helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.ones(4, np.float16)))
    nodes = [
        const,
        helper.make_node("MatMul", ["x", "w"], ["h"], name="first"),
        helper.make_node("MatMul", ["h", "w"], ["h2"], name="second"),
        helper.make_node("Add", ["h2", "k"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["n", 4])],
        [shared],
    )
    result = analyze(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), {"n": 2})
    assert result.params == 16 and result.constant_elements == 4
    assert [layer.params for layer in result.layers] == [0, 16, 0, 0]  # shared weight counted once
    assert result.bytes_by_dtype == {"float16": 32}
    assert result.macs == 2 * (2 * 4 * 4)
    assert result.layers[1].output_bytes == 2 * 4 * 2
    assert [layer.name for layer in result.layers] == node_keys(graph) == ["Constant:k", "first", "second", "Add:y"]
    assert result.assumed_dims == {}


def test_unknown_shapes_are_reported_not_guessed() -> None:
    node = helper.make_node("Mystery", ["x"], ["h"], domain="com.example")
    relu = helper.make_node("Relu", ["h"], ["y"])
    graph = helper.make_graph(
        [node, relu], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    result = analyze(model)
    assert result.unknown_shape_nodes == 2
    assert result.flops == 0 and any("unknown shape" in w for w in result.warnings)


def test_to_dict_is_json_and_size_is_read_from_disk(sample_cnn: Path) -> None:
    result = analyze(load_model(sample_cnn).proto, path=sample_cnn)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["size_bytes"] == sample_cnn.stat().st_size
    assert data["layers"][0]["name"] == "conv1"
    assert {"params", "macs", "flops", "nodes", "inputs", "outputs", "opsets", "op_types", "assumed_dims"} <= set(data)
    assert "size_bytes" not in analyze(load_model(sample_cnn).proto).to_dict()


def test_large_generated_graph_in_one_pass() -> None:
    import sample_models

    model = sample_models.build_layered_graph(2000)
    result = analyze(model, {"batch": 2})
    assert result.nodes == len(model.graph.node)
    assert result.unknown_shape_nodes == 0
    matmuls = result.op_types["MatMul"]
    assert result.macs == matmuls * 2 * 8 * 8


def test_subgraph_initializers_are_parameters() -> None:
    def branch(name: str, value: float) -> onnx.GraphProto:
        weight = numpy_helper.from_array(np.full((2, 3), value, np.float32), f"{name}_w")
        return helper.make_graph(
            [helper.make_node("Add", ["x", f"{name}_w"], [f"{name}_out"])], name, [],
            [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [2, 3])], [weight],
        )

    node = helper.make_node("If", ["cond"], ["y"], then_branch=branch("then", 1.0), else_branch=branch("else", -1.0))
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []), helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )
    result = analyze(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert result.params == 12 and result.bytes_by_dtype == {"float32": 48}
    assert result.layers[0].output_shapes == [[2, 3]]
