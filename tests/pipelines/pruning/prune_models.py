"""Small models for the pruning tests, built with onnx.helper.

Several builders take `dead` channels: a dead channel has zero producer weights, bias and
BatchNorm shift/mean and zero consumer weights, so its importance is exactly 0 (it is pruned
first) and removing it leaves the outputs unchanged. If the pruning code slices the wrong
columns anywhere (Concat offsets, Flatten blocks, depthwise filters), the outputs change.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


class Builder:
    """Nodes and initializers with seeded weights."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.weights: dict[str, np.ndarray] = {}

    def w(self, name: str, array: np.ndarray) -> str:
        """Add an initializer."""
        self.weights[name] = np.asarray(array)
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        """Add a node whose single output is named after it."""
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x: str, name: str, cin: int, cout: int, k: int = 3, group: int = 1, bias: bool = True) -> str:
        """Conv with 'same' padding and random weights."""
        inputs = [x, self.w(f"{name}.w", self.rng.normal(0, 0.3, (cout, cin // group, k, k)).astype(np.float32))]
        if bias:
            inputs.append(self.w(f"{name}.b", self.rng.normal(0, 0.1, cout).astype(np.float32)))
        return self.node("Conv", inputs, name, kernel_shape=[k, k], pads=[k // 2] * 4, group=group)

    def bn(self, x: str, name: str, c: int) -> str:
        """BatchNormalization with random gamma/beta/mean and positive variance."""
        params = [
            self.w(f"{name}.scale", self.rng.uniform(0.5, 1.5, c).astype(np.float32)),
            self.w(f"{name}.bias", self.rng.normal(0, 0.1, c).astype(np.float32)),
            self.w(f"{name}.mean", self.rng.normal(0, 0.1, c).astype(np.float32)),
            self.w(f"{name}.var", self.rng.uniform(0.5, 1.5, c).astype(np.float32)),
        ]
        return self.node("BatchNormalization", [x, *params], name)

    def kill(self, name: str, axis: int, index: int) -> None:
        """Zero slice `index` of weight `name` along `axis` (a dead channel)."""
        array = self.weights[name]
        sl = [slice(None)] * array.ndim
        sl[axis] = index
        array[tuple(sl)] = 0

    def model(self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto], opset: int = OPSET) -> onnx.ModelProto:
        """The checked model."""
        inits = [numpy_helper.from_array(a, n) for n, a in self.weights.items()]
        graph = helper.make_graph(self.nodes, "test", inputs, outputs, inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def image_input(c: int = 3, size: int = 8) -> onnx.ValueInfoProto:
    """A dynamic-batch NCHW float input called 'x'."""
    return helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, size, size])


def residual_concat_cnn(dead: bool = False) -> onnx.ModelProto:
    """stem(8)+BN -> residual block -> Concat with a 4-channel branch -> 1x1 conv(6) -> Flatten -> Gemm.

    Groups: 'stem' (stem, b2: coupled by the residual Add), 'b1', 'c', 'd'.
    Dead channels when `dead`: stem group 2, b1 5, c 1, d 3.
    """
    b = Builder(0)
    s = b.node("Relu", [b.bn(b.conv("x", "stem", 3, 8), "stem_bn", 8)], "stem_relu")
    h = b.node("Relu", [b.conv(s, "b1", 8, 8)], "b1_relu")
    h = b.conv(h, "b2", 8, 8)
    r = b.node("Relu", [b.node("Add", [h, s], "res_add")], "res_relu")
    c = b.node("Relu", [b.conv(s, "c", 8, 4)], "c_relu")
    cat = b.node("Concat", [r, c], "cat", axis=1)
    d = b.node("Relu", [b.conv(cat, "d", 12, 6, k=1)], "d_relu")
    f = b.node("Flatten", [d], "flatten", axis=1)
    b.w("fc.w", b.rng.normal(0, 0.1, (5, 6 * 64)).astype(np.float32))
    b.w("fc.b", b.rng.normal(0, 0.1, 5).astype(np.float32))
    b.node("Gemm", [f, "fc.w", "fc.b"], "fc", transB=1)
    if dead:
        for name in ("stem.w", "stem.b", "stem_bn.bias", "stem_bn.mean", "b2.w", "b2.b"):
            b.kill(name, 0, 2)
        for name in ("b1.w", "c.w", "d.w"):
            b.kill(name, 1, 2)  # consumers of the stem group
        b.kill("d.w", 1, 8 + 1)  # channel 1 of branch c sits at offset 8 in the Concat
        for name, channel in (("b1.w", 5), ("b1.b", 5), ("c.w", 1), ("c.b", 1), ("d.w", 3), ("d.b", 3)):
            b.kill(name, 0, channel)
        b.kill("b2.w", 1, 5)
        b.weights["fc.w"][:, 3 * 64 : 4 * 64] = 0  # channel 3 of d is a block of 8x8 columns
    out = helper.make_tensor_value_info("fc", TensorProto.FLOAT, ["N", 5])
    return b.model([image_input()], [out])


def mobilenet_block(dead: bool = False) -> onnx.ModelProto:
    """conv(8)+BN+Clip -> depthwise 3x3 + BN + Relu -> pointwise(16) + Relu -> GAP -> Flatten -> Gemm.

    Groups: 'expand' (expand, its BN, the depthwise conv and its BN) and 'project'.
    Dead channels when `dead`: expand 4, project 7.
    """
    b = Builder(1)
    zero, six = b.w("zero", np.array(0, np.float32)), b.w("six", np.array(6, np.float32))
    e = b.node("Clip", [b.bn(b.conv("x", "expand", 3, 8), "expand_bn", 8), zero, six], "expand_clip")
    dw = b.node("Relu", [b.bn(b.conv(e, "dw", 8, 8, group=8), "dw_bn", 8)], "dw_relu")
    p = b.node("Relu", [b.conv(dw, "project", 8, 16, k=1)], "project_relu")
    f = b.node("Flatten", [b.node("GlobalAveragePool", [p], "gap")], "flatten", axis=1)
    b.w("fc.w", b.rng.normal(0, 0.3, (16, 4)).astype(np.float32))
    b.node("MatMul", [f, "fc.w"], "fc")
    if dead:
        for name in ("expand.w", "expand.b", "expand_bn.bias", "expand_bn.mean", "dw.w", "dw.b", "dw_bn.bias", "dw_bn.mean"):
            b.kill(name, 0, 4)
        b.kill("project.w", 1, 4)
        b.kill("project.w", 0, 7)
        b.kill("project.b", 0, 7)
        b.kill("fc.w", 0, 7)
    out = helper.make_tensor_value_info("fc", TensorProto.FLOAT, ["N", 4])
    return b.model([image_input()], [out])


def cnn_with(consumer: str) -> onnx.ModelProto:
    """conv 'a'(8) -> Relu -> <consumer> -> conv 'b'(8) -> Relu -> GAP -> Flatten -> Gemm.

    `consumer` is "LRN" (an op the pruner does not know) or "reshape" (a Reshape to
    [N, 8*8*8] before a MatMul, whose target spells out the channels).
    """
    b = Builder(2)
    a = b.node("Relu", [b.conv("x", "a", 3, 8)], "a_relu")
    if consumer == "reshape":
        shape = b.w("flat_shape", np.array([-1, 8 * 8 * 8], np.int64))
        flat = b.node("Reshape", [a, shape], "flat")
        b.w("fc.w", b.rng.normal(0, 0.05, (8 * 8 * 8, 4)).astype(np.float32))
        b.node("MatMul", [flat, "fc.w"], "fc")
    else:
        a = b.node("LRN", [a], "lrn", size=3)
        h = b.node("Relu", [b.conv(a, "b", 8, 8)], "b_relu")
        f = b.node("Flatten", [b.node("GlobalAveragePool", [h], "gap")], "flatten", axis=1)
        b.w("fc.w", b.rng.normal(0, 0.3, (4, 8)).astype(np.float32))
        b.node("Gemm", [f, "fc.w"], "fc", transB=1)
    out = helper.make_tensor_value_info("fc", TensorProto.FLOAT, ["N", 4])
    return b.model([image_input()], [out])


def grouped_cnn(dead: bool = False) -> onnx.ModelProto:
    """conv 'a'(8) -> Relu -> conv 'grouped'(8, group=2) -> Relu -> conv 'b'(8) -> GAP -> Flatten -> Gemm.

    Both 'a' and 'grouped' must lose the same positions in each half. Dead when `dead`: a's
    channels 1 and 5 (slot 1 of both halves), grouped's outputs 2 and 6.
    """
    b = Builder(4)
    a = b.node("Relu", [b.conv("x", "a", 3, 8)], "a_relu")
    g = b.node("Relu", [b.conv(a, "grouped", 8, 8, group=2)], "grouped_relu")
    h = b.node("Relu", [b.conv(g, "b", 8, 8)], "b_relu")
    f = b.node("Flatten", [b.node("GlobalAveragePool", [h], "gap")], "flatten", axis=1)
    b.w("fc.w", b.rng.normal(0, 0.3, (4, 8)).astype(np.float32))
    b.node("Gemm", [f, "fc.w"], "fc", transB=1)
    if dead:
        for channel in (1, 5):
            b.kill("a.w", 0, channel)
            b.kill("a.b", 0, channel)
        b.kill("grouped.w", 1, 1)  # input slot 1 serves channel 1 (first half) and 5 (second)
        for channel in (2, 6):
            b.kill("grouped.w", 0, channel)
            b.kill("grouped.b", 0, channel)
            b.kill("b.w", 1, channel)
    out = helper.make_tensor_value_info("fc", TensorProto.FLOAT, ["N", 4])
    return b.model([image_input()], [out])


def upsample_cnn(opset: int = 13, sizes: bool = False) -> onnx.ModelProto:
    """conv 'a'(8) -> Resize x2 (scales, or `sizes`) -> conv 'c'(8) -> ReduceMean over H, W -> MatMul.

    Opset 18 moves ReduceMean's axes from an attribute to an input.
    """
    b = Builder(5)
    a = b.node("Relu", [b.conv("x", "a", 3, 8)], "a_relu")
    if sizes:
        target = b.w("sizes", np.array([2, 8, 16, 16], np.int64))
        up = b.node("Resize", [a, "", "", target], "up", mode="nearest")
    else:
        up = b.node("Resize", [a, "", b.w("scales", np.array([1, 1, 2, 2], np.float32))], "up", mode="nearest")
    h = b.node("Relu", [b.conv(up, "c", 8, 8)], "c_relu")
    if opset >= 18:
        m = b.node("ReduceMean", [h, b.w("axes", np.array([2, 3], np.int64))], "mean", keepdims=0)
    else:
        m = b.node("ReduceMean", [h], "mean", axes=[2, 3], keepdims=0)
    b.w("fc.w", b.rng.normal(0, 0.3, (8, 4)).astype(np.float32))
    b.node("MatMul", [m, "fc.w"], "fc")
    out = helper.make_tensor_value_info("fc", TensorProto.FLOAT, ["N", 4])
    return b.model([image_input()], [out], opset=opset)


def se_block() -> onnx.ModelProto:
    """MobileNetV3-style: conv 'a'(16)+BN+HardSwish, squeeze-excite gate (Mul), 1x1 conv 'p'(8) + PRelu -> MatMul.

    The gate's expand conv 'se_expand' is coupled with 'a' by the Mul; PRelu's slope is per channel.
    """
    b = Builder(6)
    a = b.node("HardSwish", [b.bn(b.conv("x", "a", 3, 16), "a_bn", 16)], "a_act")
    squeeze = b.node("Relu", [b.conv(b.node("GlobalAveragePool", [a], "se_gap"), "se_reduce", 16, 4, k=1)], "se_relu")
    gate = b.node("HardSigmoid", [b.conv(squeeze, "se_expand", 4, 16, k=1)], "se_gate")
    y = b.node("Mul", [a, gate], "se_mul")
    slope = b.w("slope", np.full((8, 1, 1), 0.1, np.float32))
    p = b.node("PRelu", [b.conv(y, "p", 16, 8, k=1), slope], "p_act")
    f = b.node("Flatten", [b.node("GlobalMaxPool", [p], "gmp")], "flatten", axis=1)
    b.w("fc.w", b.rng.normal(0, 0.3, (8, 4)).astype(np.float32))
    b.node("MatMul", [f, "fc.w"], "fc")
    out = helper.make_tensor_value_info("fc", TensorProto.FLOAT, ["N", 4])
    return b.model([image_input()], [out], opset=14)


def caffe2_bn_cnn(opset: int = 9, dead: bool = False) -> onnx.ModelProto:
    """Zoo DenseNet style: conv 'a'(8) -> BatchNorm -> Mul/Add of Unsqueeze(per-channel vector) -> PRelu
    with an Unsqueezed slope -> conv 'c'(4, 1x1) -> GlobalAveragePool -> Flatten -> MatMul(5).

    Unsqueeze takes `axes` as an attribute before opset 13 and as an input from 13 on. Dead
    channels 1 and 5 of 'a' are zero after the BatchNorm and the shift, so pruning them keeps the
    outputs only if every Unsqueezed vector loses the same two entries.
    """
    b = Builder(7)
    axes = {"axes": [1, 2]} if opset < 13 else {}

    def unsqueezed(name: str, array: np.ndarray) -> str:
        inputs = [b.w(name, array)] + ([] if axes else [b.w(f"{name}.axes", np.array([1, 2], np.int64))])
        return b.node("Unsqueeze", inputs, f"{name}_unsqueeze", **axes)

    a = b.bn(b.conv("x", "a", 3, 8, bias=False), "a_bn", 8)
    scaled = b.node("Mul", [a, unsqueezed("a_scale", b.rng.uniform(0.5, 1.5, 8).astype(np.float32))], "a_mul")
    shifted = b.node("Add", [scaled, unsqueezed("a_shift", b.rng.normal(0, 0.1, 8).astype(np.float32))], "a_add")
    act = b.node("PRelu", [shifted, unsqueezed("a_slope", np.full(8, 0.25, np.float32))], "a_prelu")
    f = b.node("Flatten", [b.node("GlobalAveragePool", [b.conv(act, "c", 8, 4, k=1)], "gap")], "flatten", axis=1)
    b.w("fc.w", b.rng.normal(0, 0.3, (4, 5)).astype(np.float32))
    b.node("MatMul", [f, "fc.w"], "fc")
    if dead:
        for channel in (1, 5):
            for name, axis in (("a.w", 0), ("a_bn.bias", 0), ("a_bn.mean", 0), ("a_shift", 0), ("c.w", 1)):
                b.kill(name, axis, channel)
    out = helper.make_tensor_value_info("fc", TensorProto.FLOAT, ["N", 5])
    return b.model([image_input()], [out], opset=opset)


def padded_pool_cnn(opset: int = 9, pad_channels: bool = False) -> onnx.ModelProto:
    """conv 'a'(8) -> Relu -> Pad -> AveragePool -> conv 'c'(4) -> GAP -> Flatten -> MatMul(5).

    The torch legacy exporter writes Pad before AveragePool (pads as an attribute before opset
    11, an input after, with an `axes` input from 18). `pad_channels` also pads one channel on
    each side of the channel axis, which must block the group.
    """
    b = Builder(8)
    a = b.node("Relu", [b.conv("x", "a", 3, 8)], "a_relu")
    channel = 1 if pad_channels else 0
    if opset < 11:
        padded = b.node("Pad", [a], "pad", pads=[0, channel, 1, 1, 0, channel, 1, 1])
    elif opset < 18 or pad_channels:
        padded = b.node("Pad", [a, b.w("pads", np.array([0, channel, 1, 1, 0, channel, 1, 1], np.int64))], "pad")
    else:
        pads, axes = b.w("pads", np.array([1, 1, 1, 1], np.int64)), b.w("pad_axes", np.array([2, 3], np.int64))
        padded = b.node("Pad", [a, pads, "", axes], "pad")
    pooled = b.node("AveragePool", [padded], "pool", kernel_shape=[2, 2], strides=[2, 2])
    c = b.conv(pooled, "c", 8 + 2 * channel, 4, k=1)
    f = b.node("Flatten", [b.node("GlobalAveragePool", [c], "gap")], "flatten", axis=1)
    b.w("fc.w", b.rng.normal(0, 0.3, (4, 5)).astype(np.float32))
    b.node("MatMul", [f, "fc.w"], "fc")
    out = helper.make_tensor_value_info("fc", TensorProto.FLOAT, ["N", 5])
    return b.model([image_input()], [out], opset=opset)


def mlp(dead: bool = False) -> onnx.ModelProto:
    """Gemm(16->32, transB) -> Relu -> MatMul(32->24) + bias -> Sigmoid -> Gemm(24->4).

    Groups: 'fc1' (32 neurons) and 'fc2' (24); 'fc3' reaches the output. Dead when `dead`:
    fc1 neuron 9, fc2 neuron 20 (sigmoid(0) is not 0, so fc3's row 20 is zeroed too).
    """
    b = Builder(3)
    b.w("fc1.w", b.rng.normal(0, 0.3, (32, 16)).astype(np.float32))
    b.w("fc1.b", b.rng.normal(0, 0.1, 32).astype(np.float32))
    h = b.node("Relu", [b.node("Gemm", ["x", "fc1.w", "fc1.b"], "fc1", transB=1)], "fc1_relu")
    b.w("fc2.w", b.rng.normal(0, 0.3, (32, 24)).astype(np.float32))
    b.w("fc2.b", b.rng.normal(0, 0.1, 24).astype(np.float32))
    h = b.node("Sigmoid", [b.node("Add", [b.node("MatMul", [h, "fc2.w"], "fc2"), "fc2.b"], "fc2_add")], "fc2_sigmoid")
    b.w("fc3.w", b.rng.normal(0, 0.3, (24, 4)).astype(np.float32))
    b.node("Gemm", [h, "fc3.w"], "fc3")
    if dead:
        b.kill("fc1.w", 0, 9)
        b.kill("fc1.b", 0, 9)
        b.kill("fc2.w", 0, 9)
        b.kill("fc2.w", 1, 20)
        b.kill("fc2.b", 0, 20)
        b.kill("fc3.w", 0, 20)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])
    out = helper.make_tensor_value_info("fc3", TensorProto.FLOAT, ["N", 4])
    return b.model([x], [out])


def kill_head(model: onnx.ModelProto, prefix: str, head: int, head_dim: int) -> onnx.ModelProto:
    """Zero one head's Q/K/V columns and biases and its output-projection rows (a dead head)."""
    weights = {t.name: t for t in model.graph.initializer}
    cols = slice(head * head_dim, (head + 1) * head_dim)
    for part in ("query", "key", "value"):
        for suffix, index in (("weight", (slice(None), cols)), ("bias", (cols,))):
            tensor = weights[f"{prefix}.{part}.{suffix}"]
            array = numpy_helper.to_array(tensor).copy()
            array[index] = 0
            tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
    tensor = weights[f"{prefix}.output.weight"]
    array = numpy_helper.to_array(tensor).copy()
    array[cols] = 0
    tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
    return model


def kill_neuron(model: onnx.ModelProto, layer: int, neuron: int) -> onnx.ModelProto:
    """Zero one FFN neuron (intermediate column + bias, output row) of encoder layer `layer`."""
    weights = {t.name: t for t in model.graph.initializer}
    prefix = f"encoder.layer.{layer}"
    for name, index in (("intermediate.weight", (slice(None), neuron)), ("intermediate.bias", (neuron,)), ("output.weight", (neuron,))):
        tensor = weights[f"{prefix}.{name}"]
        array = numpy_helper.to_array(tensor).copy()
        array[index] = 0
        tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
    return model


def run(model: onnx.ModelProto | str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Outputs of `model` (proto or path) in ONNX Runtime on the CPU."""
    source = model if isinstance(model, str) else model.SerializeToString()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def param_count(model: onnx.ModelProto) -> int:
    """Elements in all initializers."""
    return int(sum(np.prod(t.dims, dtype=np.int64) for t in model.graph.initializer))
