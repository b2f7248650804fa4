"""The bundled sample models, built in code with seeded weights.

Run `python assets/sample_models.py` to (re)write assets/models/resnet_small.onnx and
assets/models/transformer_small.onnx. Running it twice gives byte-identical files.

Importable builders (tests use them for variants, e.g. another opset):

- build_resnet(opset=13, seed=0)        small ResNet-style CNN, input "input" [batch, 3, 64, 64]
- build_transformer(opset=17, seed=0)   small BERT-style encoder, input "input_ids" [batch, sequence]
- build_layered_graph(n_nodes, seed=0)  a runnable DAG of about n_nodes nodes for benchmarks

The models are written by hand with onnx.helper rather than exported from a framework because
the project has no torch, and hand-building keeps every name, weight and shape under our control.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODELS_DIR = Path(__file__).resolve().parent / "models"
PRODUCER = "onnx-workbench sample_models"
# Calibration statistics are rounded to this many significant digits so that tiny
# floating-point differences between machines or thread counts do not change the file bytes.
STAT_DIGITS = 4


@dataclass
class GraphBuilder:
    """Collects nodes and initializers with unique readable names; one job: avoid boilerplate."""

    rng: np.random.Generator
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)

    def weight(self, name: str, array: np.ndarray) -> str:
        """Add an initializer and return its name."""
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const_i64(self, name: str, values: list[int] | int) -> str:
        """Add an int64 initializer (shapes, axes, indices) and return its name."""
        return self.weight(name, np.array(values, dtype=np.int64))

    def const_f32(self, name: str, value: float) -> str:
        """Add a float32 scalar initializer and return its name."""
        return self.weight(name, np.array(value, dtype=np.float32))

    def normal(self, name: str, shape: tuple[int, ...], std: float, mean: float = 0.0) -> str:
        """Add a float32 initializer drawn from N(mean, std^2)."""
        data = self.rng.normal(mean, std, size=shape).astype(np.float32)
        return self.weight(name, data)

    def node(self, op: str, inputs: list[str], name: str, n_outputs: int = 1, **attrs) -> str | list[str]:
        """Add a node whose outputs are named after it; return the output name(s)."""
        outputs = [name if n_outputs == 1 else f"{name}:{i}" for i in range(n_outputs)]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0] if n_outputs == 1 else outputs


def _finish(
    builder: GraphBuilder,
    graph_name: str,
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    opset: int,
    doc: str,
) -> onnx.ModelProto:
    graph = helper.make_graph(builder.nodes, graph_name, inputs, outputs, builder.initializers)
    opsets = [helper.make_opsetid("", opset)]
    # The lowest IR version that carries this opset keeps the model loadable by older runtimes.
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name=PRODUCER,
        producer_version="1",
        ir_version=helper.find_min_ir_version_for(opsets),
        doc_string=doc,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------------------------
# ResNet-style CNN
# --------------------------------------------------------------------------------------------

def _he(builder: GraphBuilder, name: str, out_ch: int, in_ch: int, k: int) -> str:
    # He (Kaiming) normal init: std = sqrt(2 / fan_in) keeps ReLU activations at O(1).
    return builder.normal(name, (out_ch, in_ch, k, k), math.sqrt(2.0 / (in_ch * k * k)))


def _conv_bn(
    b: GraphBuilder, x: str, prefix: str, bn_prefix: str, in_ch: int, out_ch: int, k: int, stride: int
) -> str:
    w = _he(b, f"{prefix}.weight", out_ch, in_ch, k)
    conv = b.node("Conv", [x, w], prefix, kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)
    # gamma/beta near (1, 0) like a trained network; mean/var are calibrated later.
    gamma = b.normal(f"{bn_prefix}.weight", (out_ch,), 0.1, mean=1.0)
    beta = b.normal(f"{bn_prefix}.bias", (out_ch,), 0.1)
    mean = b.weight(f"{bn_prefix}.running_mean", np.zeros(out_ch, np.float32))
    var = b.weight(f"{bn_prefix}.running_var", np.ones(out_ch, np.float32))
    return b.node("BatchNormalization", [conv, gamma, beta, mean, var], bn_prefix, epsilon=1e-5)


def _basic_block(b: GraphBuilder, x: str, prefix: str, in_ch: int, out_ch: int, stride: int) -> str:
    y = _conv_bn(b, x, f"{prefix}.conv1", f"{prefix}.bn1", in_ch, out_ch, 3, stride)
    y = b.node("Relu", [y], f"{prefix}.relu1")
    y = _conv_bn(b, y, f"{prefix}.conv2", f"{prefix}.bn2", out_ch, out_ch, 3, 1)
    shortcut = x
    if stride != 1 or in_ch != out_ch:
        # Downsampling block: 1x1 projection so the residual matches the new shape.
        shortcut = _conv_bn(b, x, f"{prefix}.downsample.0", f"{prefix}.downsample.1", in_ch, out_ch, 1, stride)
    y = b.node("Add", [y, shortcut], f"{prefix}.add")
    return b.node("Relu", [y], f"{prefix}.relu2")


def build_resnet(
    opset: int = 13,
    seed: int = 0,
    *,
    widths: tuple[int, ...] = (32, 64, 128),
    blocks_per_stage: int = 2,
    num_classes: int = 100,
    image_size: int = 64,
    calibrate: bool = True,
) -> onnx.ModelProto:
    """A small ResNet-style CNN: input "input" [batch, 3, H, W] -> "output" class probabilities."""
    b = GraphBuilder(np.random.default_rng(seed))
    x = _conv_bn(b, "input", "conv1", "bn1", 3, widths[0], 3, 2)
    x = b.node("Relu", [x], "relu")
    x = b.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    in_ch = widths[0]
    for stage, width in enumerate(widths, start=1):
        for block in range(blocks_per_stage):
            stride = 2 if (stage > 1 and block == 0) else 1
            x = _basic_block(b, x, f"layer{stage}.{block}", in_ch, width, stride)
            in_ch = width
    x = b.node("GlobalAveragePool", [x], "avgpool")
    x = b.node("Flatten", [x], "flatten", axis=1)
    # Xavier normal for the classifier: std = sqrt(2 / (fan_in + fan_out)).
    fc_w = b.normal("fc.weight", (num_classes, in_ch), math.sqrt(2.0 / (in_ch + num_classes)))
    fc_b = b.normal("fc.bias", (num_classes,), 0.01)
    x = b.node("Gemm", [x, fc_w, fc_b], "fc", transB=1)
    b.node("Softmax", [x], "output", axis=1)

    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, image_size, image_size])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", num_classes])]
    model = _finish(b, "resnet_small", inputs, outputs, opset, "Small ResNet-style CNN (seeded sample).")
    if calibrate:
        _calibrate_batchnorm(model, seed)
        onnx.checker.check_model(model, full_check=True)
    return model


def _calibrate_batchnorm(model: onnx.ModelProto, seed: int) -> None:
    """Set every BatchNorm's running mean/var to the statistics of its input, layer by layer.

    A trained network's BN statistics match the data it sees; measuring them on seeded
    random images (one BN at a time, in graph order, since each depends on the earlier ones)
    gives normalised, O(1) activations all the way down, so outputs neither explode nor saturate.
    """
    import onnxruntime as ort

    inits = {t.name: t for t in model.graph.initializer}
    rng = np.random.default_rng(seed + 1)
    shape = [d.dim_value or 8 for d in model.graph.input[0].type.tensor_type.shape.dim]
    feed = {model.graph.input[0].name: rng.standard_normal(shape).astype(np.float32)}
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one thread: same summation order on every run
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    for node in [n for n in model.graph.node if n.op_type == "BatchNormalization"]:
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        del probe.graph.output[:]
        probe.graph.output.append(helper.make_tensor_value_info(node.input[0], TensorProto.FLOAT, None))
        session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
        (activation,) = session.run(None, feed)
        axes = (0,) + tuple(range(2, activation.ndim))
        mean = _round_sig(activation.mean(axis=axes, dtype=np.float64))
        var = _round_sig(activation.var(axis=axes, dtype=np.float64))
        inits[node.input[3]].CopyFrom(numpy_helper.from_array(mean, node.input[3]))
        inits[node.input[4]].CopyFrom(numpy_helper.from_array(var, node.input[4]))


def _round_sig(values: np.ndarray) -> np.ndarray:
    return np.array([float(f"{v:.{STAT_DIGITS}g}") for v in values], dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Transformer encoder
# --------------------------------------------------------------------------------------------

def _linear(b: GraphBuilder, x: str, prefix: str, d_in: int, d_out: int) -> str:
    # Weights stored [in, out] as exporters do for MatMul; Xavier normal init.
    w = b.normal(f"{prefix}.weight", (d_in, d_out), math.sqrt(2.0 / (d_in + d_out)))
    bias = b.normal(f"{prefix}.bias", (d_out,), 0.02)
    y = b.node("MatMul", [x, w], f"{prefix}.matmul")
    return b.node("Add", [y, bias], f"{prefix}.add")


def _layer_norm(b: GraphBuilder, x: str, prefix: str, d: int, opset: int) -> str:
    gamma = b.normal(f"{prefix}.weight", (d,), 0.05, mean=1.0)
    beta = b.normal(f"{prefix}.bias", (d,), 0.02)
    if opset >= 17:
        return b.node("LayerNormalization", [x, gamma, beta], prefix, axis=-1, epsilon=1e-12)
    # Before opset 17 exporters spell LayerNorm out; fusion passes look for exactly this.
    mean = b.node("ReduceMean", [x], f"{prefix}.mean", axes=[-1])
    centered = b.node("Sub", [x, mean], f"{prefix}.sub")
    square = b.node("Pow", [centered, b.const_f32(f"{prefix}.two", 2.0)], f"{prefix}.pow")
    variance = b.node("ReduceMean", [square], f"{prefix}.var", axes=[-1])
    variance = b.node("Add", [variance, b.const_f32(f"{prefix}.eps", 1e-12)], f"{prefix}.add_eps")
    std = b.node("Sqrt", [variance], f"{prefix}.sqrt")
    normed = b.node("Div", [centered, std], f"{prefix}.div")
    scaled = b.node("Mul", [normed, gamma], f"{prefix}.mul")
    return b.node("Add", [scaled, beta], f"{prefix}.add")


def _gelu(b: GraphBuilder, x: str, prefix: str, opset: int) -> str:
    if opset >= 20:
        return b.node("Gelu", [x], prefix)
    # Exact GELU spelled with Erf, as torch exports it before opset 20.
    scaled = b.node("Div", [x, b.const_f32(f"{prefix}.sqrt2", math.sqrt(2.0))], f"{prefix}.div")
    erf = b.node("Erf", [scaled], f"{prefix}.erf")
    one_plus = b.node("Add", [erf, b.const_f32(f"{prefix}.one", 1.0)], f"{prefix}.add")
    y = b.node("Mul", [x, one_plus], f"{prefix}.mul")
    return b.node("Mul", [y, b.const_f32(f"{prefix}.half", 0.5)], f"{prefix}.mul_half")


def _attention(b: GraphBuilder, x: str, prefix: str, d: int, heads: int) -> str:
    head_dim = d // heads
    split_shape = b.const_i64(f"{prefix}.split_shape", [0, 0, heads, head_dim])
    q = _linear(b, x, f"{prefix}.query", d, d)
    k = _linear(b, x, f"{prefix}.key", d, d)
    v = _linear(b, x, f"{prefix}.value", d, d)
    q = b.node("Reshape", [q, split_shape], f"{prefix}.query.reshape")
    k = b.node("Reshape", [k, split_shape], f"{prefix}.key.reshape")
    v = b.node("Reshape", [v, split_shape], f"{prefix}.value.reshape")
    q = b.node("Transpose", [q], f"{prefix}.query.transpose", perm=[0, 2, 1, 3])  # [B, H, S, Dh]
    k = b.node("Transpose", [k], f"{prefix}.key.transpose", perm=[0, 2, 3, 1])  # [B, H, Dh, S]
    v = b.node("Transpose", [v], f"{prefix}.value.transpose", perm=[0, 2, 1, 3])  # [B, H, S, Dh]
    scores = b.node("MatMul", [q, k], f"{prefix}.scores")  # [B, H, S, S]
    scores = b.node("Div", [scores, b.const_f32(f"{prefix}.scale", math.sqrt(head_dim))], f"{prefix}.scale_div")
    probs = b.node("Softmax", [scores], f"{prefix}.softmax", axis=-1)
    context = b.node("MatMul", [probs, v], f"{prefix}.context")  # [B, H, S, Dh]
    context = b.node("Transpose", [context], f"{prefix}.context.transpose", perm=[0, 2, 1, 3])
    merge_shape = b.const_i64(f"{prefix}.merge_shape", [0, 0, d])
    context = b.node("Reshape", [context, merge_shape], f"{prefix}.context.reshape")
    return _linear(b, context, f"{prefix}.output", d, d)


def build_transformer(
    opset: int = 17,
    seed: int = 0,
    *,
    vocab_size: int = 1000,
    d_model: int = 128,
    heads: int = 4,
    layers: int = 2,
    d_ff: int = 512,
    max_positions: int = 512,
) -> onnx.ModelProto:
    """A small BERT-style encoder: "input_ids" int64 [batch, sequence] -> "logits" [batch, sequence, vocab]."""
    if d_model % heads:
        raise ValueError(f"d_model ({d_model}) must be a multiple of heads ({heads}).")
    if opset < 13:
        raise ValueError(f"opset {opset} is too old for this encoder; use 13 or newer.")
    b = GraphBuilder(np.random.default_rng(seed))
    # BERT initialises embeddings with std 0.02; the LayerNorm that follows brings them to O(1).
    token_table = b.normal("embeddings.word_embeddings.weight", (vocab_size, d_model), 0.02)
    pos_table = b.normal("embeddings.position_embeddings.weight", (max_positions, d_model), 0.02)
    tokens = b.node("Gather", [token_table, "input_ids"], "embeddings.word_embeddings", axis=0)
    # Position embeddings = the first `sequence` rows of the table, sliced so the sequence
    # stays dynamic (what BERT exports look like; a Range + Gather trips an ORT fusion bug).
    shape = b.node("Shape", ["input_ids"], "embeddings.shape")
    seq_len = b.node("Gather", [shape, b.const_i64("embeddings.seq_axis", [1])], "embeddings.seq_len", axis=0)
    pos = b.node(
        "Slice",
        [pos_table, b.const_i64("embeddings.zero", [0]), seq_len, b.const_i64("embeddings.axes", [0])],
        "embeddings.position_embeddings",
    )
    x = b.node("Add", [tokens, pos], "embeddings.add")
    x = _layer_norm(b, x, "embeddings.LayerNorm", d_model, opset)
    for layer in range(layers):
        prefix = f"encoder.layer.{layer}"
        attn = _attention(b, x, f"{prefix}.attention", d_model, heads)
        x = b.node("Add", [attn, x], f"{prefix}.attention.residual")
        x = _layer_norm(b, x, f"{prefix}.attention.LayerNorm", d_model, opset)
        h = _linear(b, x, f"{prefix}.intermediate", d_model, d_ff)
        h = _gelu(b, h, f"{prefix}.intermediate.gelu", opset)
        h = _linear(b, h, f"{prefix}.output", d_ff, d_model)
        x = b.node("Add", [h, x], f"{prefix}.output.residual")
        x = _layer_norm(b, x, f"{prefix}.output.LayerNorm", d_model, opset)
    head = b.normal("lm_head.weight", (d_model, vocab_size), math.sqrt(2.0 / (d_model + vocab_size)))
    logits = b.node("MatMul", [x, head], "lm_head.matmul")
    b.node("Add", [logits, b.weight("lm_head.bias", np.zeros(vocab_size, np.float32))], "logits")

    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "sequence", vocab_size])]
    return _finish(b, "transformer_small", inputs, outputs, opset, "Small BERT-style encoder (seeded sample).")


# --------------------------------------------------------------------------------------------
# Large generated graphs for open/analysis/layout benchmarks
# --------------------------------------------------------------------------------------------

# Nodes per block of build_layered_graph (see _layered_block).
_BLOCK_NODES = 8


def build_layered_graph(n_nodes: int, seed: int = 0, *, width: int = 8, opset: int = 17) -> onnx.ModelProto:
    """A valid, runnable model of about n_nodes nodes: a deep DAG with branches and skip connections.

    Each block is MatMul -> Add -> Relu in one branch, Sigmoid gating in another, a Mul joining
    them, a residual Add from an earlier block, Tanh to keep values bounded, and every fourth
    block a Softmax side path (else an affine scale and shift); tensors are [batch, width] so running it is cheap.
    """
    if n_nodes < _BLOCK_NODES:
        raise ValueError(f"n_nodes must be at least {_BLOCK_NODES}; got {n_nodes}.")
    b = GraphBuilder(np.random.default_rng(seed))
    history = ["x"]
    x = "x"
    block = 0
    while len(b.nodes) + _BLOCK_NODES <= n_nodes:
        p = f"block{block}"
        w = b.normal(f"{p}.weight", (width, width), math.sqrt(1.0 / width))
        bias = b.normal(f"{p}.bias", (width,), 0.1)
        h = b.node("MatMul", [x, w], f"{p}.matmul")
        h = b.node("Add", [h, bias], f"{p}.add")
        h = b.node("Relu", [h], f"{p}.relu")
        gate = b.node("Sigmoid", [x], f"{p}.gate")
        h = b.node("Mul", [h, gate], f"{p}.mul")
        # Skip from a few blocks back gives long edges like real residual networks.
        skip = history[max(0, len(history) - 1 - (block % 3))]
        h = b.node("Add", [h, skip], f"{p}.residual")
        if block % 4 == 3:
            side = b.node("Softmax", [h], f"{p}.softmax", axis=-1)
            h = b.node("Add", [h, side], f"{p}.side_add")
        else:
            # Affine scale-and-shift, like a folded normalisation.
            h = b.node("Mul", [h, b.normal(f"{p}.scale", (width,), 0.1, mean=0.7)], f"{p}.scale_mul")
            h = b.node("Add", [h, b.normal(f"{p}.shift", (width,), 0.1)], f"{p}.shift_add")
        x = b.node("Tanh", [h], f"{p}.tanh")
        history.append(x)
        block += 1
    b.nodes.append(helper.make_node("Identity", [x], ["y"], name="output"))
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", width])]
    return _finish(b, f"layered_{n_nodes}", inputs, outputs, opset, f"Generated {len(b.nodes)}-node DAG (benchmark).")


def write_samples(folder: Path = MODELS_DIR) -> list[Path]:
    """Write the bundled sample models into `folder` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in (("resnet_small.onnx", build_resnet()), ("transformer_small.onnx", build_transformer())):
        path = folder / name
        path.write_bytes(model.SerializeToString(deterministic=True))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_samples(Path(sys.argv[1]) if len(sys.argv) > 1 else MODELS_DIR):
        print(f"wrote {written_path} ({written_path.stat().st_size / 1e6:.2f} MB)")
