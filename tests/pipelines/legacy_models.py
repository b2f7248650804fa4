"""Small models with the habits of real exporters (model zoo, caffe2, torch's legacy exporter).

Built with the onnx helper API so the tests that use them need no torch. One CNN carries every
quirk the front door (pipelines/quirks.py) normalises; its MACs can be worked out by hand.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Conv 3->4 (3x3, pads 1) on 8x8, Conv 4->6 (1x1) on 8x8, Gemm 6->10.
LEGACY_CNN_MACS = 4 * 8 * 8 * 3 * 3 * 3 + 6 * 8 * 8 * 4 + 10 * 6
LEGACY_CNN_INPUT = ("data", (1, 3, 8, 8))


def legacy_cnn(opset: int = 9, ir_version: int = 3, weights_as_inputs: bool = True, seed: int = 0) -> onnx.ModelProto:
    """A zoo-style CNN: Conv+BN+Relu, caffe2 Mul/Add of Unsqueeze'd constants, Dropout,
    1x1 Conv, GlobalAveragePool, Reshape by a Constant shape, Gemm(transB) and Softmax.

    opset < 9 gives BatchNormalization the `spatial=1` attribute, opset < 7 `is_test=1` on
    BatchNormalization and Dropout, opset >= 12 a Dropout whose ratio is an input.
    """
    rng = np.random.default_rng(seed)
    weights = {
        "conv1_w": rng.normal(0, 0.3, (4, 3, 3, 3)),
        "conv1_b": rng.normal(0, 0.1, 4),
        "bn_scale": rng.uniform(0.5, 1.5, 4),
        "bn_bias": rng.normal(0, 0.1, 4),
        "bn_mean": rng.normal(0, 0.1, 4),
        "bn_var": rng.uniform(0.5, 1.5, 4),
        "affine_scale": rng.uniform(0.5, 1.5, 4),
        "affine_shift": rng.normal(0, 0.1, 4),
        "conv2_w": rng.normal(0, 0.3, (6, 4, 1, 1)),
        "fc_w": rng.normal(0, 0.3, (10, 6)),
        "fc_b": rng.normal(0, 0.1, 10),
    }
    initializers = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()]
    legacy = {"is_test": 1} if opset < 7 else {}
    bn_attrs = {**legacy, **({"spatial": 1} if opset < 9 else {}), "epsilon": 1e-5}
    nodes = [
        helper.make_node("Conv", ["data", "conv1_w", "conv1_b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["b1"], name="bn1", **bn_attrs),
        helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
        *_unsqueeze("affine_scale", "scale_u", opset),
        *_unsqueeze("affine_shift", "shift_u", opset),
        helper.make_node("Mul", ["r1", "scale_u"], ["m1"], name="affine_mul"),
        helper.make_node("Add", ["m1", "shift_u"], ["a1"], name="affine_add"),
        *_dropout("a1", "d1", opset, legacy),
        helper.make_node("Conv", ["d1", "conv2_w"], ["c2"], name="conv2"),
        helper.make_node("GlobalAveragePool", ["c2"], ["p"], name="pool"),
        helper.make_node("Constant", [], ["flat_shape"], name="flat_shape", value=numpy_helper.from_array(np.array([1, -1], np.int64))),
        helper.make_node("Reshape", ["p", "flat_shape"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["prob"], name="softmax"),
    ]
    name, shape = LEGACY_CNN_INPUT
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))]
    if weights_as_inputs:
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in initializers]
    graph = helper.make_graph(
        nodes, "legacy_cnn", inputs, [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 10])], initializers
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version, producer_name="legacy-exporter")


def save(model: onnx.ModelProto, path: Path) -> Path:
    """Write `model` to `path` (the checker-free way old exporters did) and return the path."""
    path.write_bytes(model.SerializeToString())
    return path


def _unsqueeze(source: str, target: str, opset: int) -> list[onnx.NodeProto]:
    """(C,) -> (C, 1, 1): caffe2's per-channel scale; axes an attribute before opset 13, an input after."""
    if opset < 13:
        return [helper.make_node("Unsqueeze", [source], [target], name=f"{target}_node", axes=[1, 2])]
    axes = f"{target}_axes"
    return [
        helper.make_node("Constant", [], [axes], name=axes, value=numpy_helper.from_array(np.array([1, 2], np.int64))),
        helper.make_node("Unsqueeze", [source, axes], [target], name=f"{target}_node"),
    ]


def _dropout(source: str, target: str, opset: int, legacy: dict[str, int]) -> list[onnx.NodeProto]:
    """An inference Dropout: ratio attribute before opset 12, a Constant-fed ratio input after."""
    if opset < 12:
        return [helper.make_node("Dropout", [source], [target], name="dropout", ratio=0.5, **legacy)]
    return [
        helper.make_node("Constant", [], ["drop_ratio"], name="drop_ratio", value=numpy_helper.from_array(np.array(0.5, np.float32))),
        helper.make_node("Dropout", [source, "drop_ratio"], [target], name="dropout"),
    ]
