"""Models and checks shared by the pass tests: small real architectures built in code.

A plain module (not conftest) so test files can import it by a name no other folder uses.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.inputs import random_inputs

OPSET = 13


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array, name)


def _bn(rng: np.random.Generator, prefix: str, channels: int) -> list[onnx.TensorProto]:
    return [
        _init(f"{prefix}.gamma", rng.uniform(0.5, 1.5, channels).astype(np.float32)),
        _init(f"{prefix}.beta", rng.normal(0, 0.1, channels).astype(np.float32)),
        _init(f"{prefix}.mean", rng.normal(0, 0.1, channels).astype(np.float32)),
        _init(f"{prefix}.var", rng.uniform(0.5, 1.5, channels).astype(np.float32)),
    ]


def build_cnn(opset: int = OPSET, seed: int = 0) -> onnx.ModelProto:
    """A small CNN with Conv/ConvTranspose(group=2)/Gemm(transB) each followed by BatchNormalization."""
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) * 0.3).astype(np.float32)  # noqa: E731
    inits = [
        _init("conv1.w", w(8, 3, 3, 3)),
        _init("conv2.w", w(8, 8, 3, 3)),
        _init("conv2.b", w(8)),
        _init("deconv.w", w(8, 4, 2, 2)),
        _init("fc.w", w(10, 8)),
        _init("fc.b", w(10)),
    ]
    for prefix, channels in (("bn1", 8), ("bn2", 8), ("bn3", 8), ("bn4", 10)):
        inits += _bn(rng, prefix, channels)
    bn = lambda x, p, y: helper.make_node(  # noqa: E731
        "BatchNormalization", [x, f"{p}.gamma", f"{p}.beta", f"{p}.mean", f"{p}.var"], [y], name=p, epsilon=1e-5
    )
    nodes = [
        helper.make_node("Conv", ["image", "conv1.w"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        bn("c1", "bn1", "b1"),
        helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
        helper.make_node("Identity", ["r1"], ["r1_id"], name="id1"),
        helper.make_node("Conv", ["r1_id", "conv2.w", "conv2.b"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        bn("c2", "bn2", "b2"),
        helper.make_node("Relu", ["b2"], ["r2"], name="relu2"),
        helper.make_node("ConvTranspose", ["r2", "deconv.w"], ["d"], name="deconv", strides=[2, 2], group=2),
        bn("d", "bn3", "b3"),
        helper.make_node("Relu", ["b3"], ["r3"], name="relu3"),
        helper.make_node("GlobalAveragePool", ["r3"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["fc"], name="fc", transB=1),
        bn("fc", "bn4", "b4"),
        helper.make_node("Dropout", ["b4"], ["logits"], name="dropout"),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    # Every op here has the same form from opset 9 to 13, so one builder serves both.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_transformer(seed: int = 0, hidden: int = 32, heads: int = 4, vocab: int = 50) -> onnx.ModelProto:
    """One BERT-style encoder layer as PyTorch exports it: embedding, attention with mask, GELU FFN."""
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) * 0.1).astype(np.float32)  # noqa: E731
    head = hidden // heads
    inits = [
        _init("emb", w(vocab, hidden)),
        _init("ln0.g", np.ones(hidden, np.float32)), _init("ln0.b", np.zeros(hidden, np.float32)),
        _init("ln1.g", np.ones(hidden, np.float32)), _init("ln1.b", w(hidden)),
        _init("ln2.g", np.ones(hidden, np.float32)), _init("ln2.b", w(hidden)),
        _init("ffn1.w", w(hidden, 4 * hidden)), _init("ffn1.b", w(4 * hidden)),
        _init("ffn2.w", w(4 * hidden, hidden)), _init("ffn2.b", w(hidden)),
        _init("heads_shape", np.array([0, 0, heads, head], np.int64)),
        _init("merge_shape", np.array([0, 0, hidden], np.int64)),
        _init("scale", np.array(np.sqrt(head), np.float32)),
        _init("one", np.array(1.0, np.float32)), _init("neg", np.array(-10000.0, np.float32)),
        _init("sqrt2", np.array(np.sqrt(2.0), np.float32)), _init("half", np.array(0.5, np.float32)),
        _init("axes1", np.array([1], np.int64)), _init("axes2", np.array([2], np.int64)),
    ]
    for p in ("q", "k", "v", "o"):
        inits += [_init(f"{p}.w", w(hidden, hidden)), _init(f"{p}.b", w(hidden))]
    n = helper.make_node
    nodes = [
        n("Gather", ["emb", "input_ids"], ["e"], name="embed"),
        n("LayerNormalization", ["e", "ln0.g", "ln0.b"], ["x"], name="ln0", axis=-1, epsilon=1e-12),
        # extended attention mask: (1 - mask) * -10000, broadcast over heads and queries
        n("Unsqueeze", ["attention_mask", "axes1"], ["m1"], name="mask_unsq1"),
        n("Unsqueeze", ["m1", "axes2"], ["m2"], name="mask_unsq2"),
        n("Cast", ["m2"], ["m3"], name="mask_cast", to=TensorProto.FLOAT),
        n("Sub", ["one", "m3"], ["m4"], name="mask_sub"),
        n("Mul", ["m4", "neg"], ["mask_bias"], name="mask_mul"),
    ]
    for p, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        nodes += [
            n("MatMul", ["x", f"{p}.w"], [f"{p}_mm"], name=f"{p}_matmul"),
            n("Add", [f"{p}.b", f"{p}_mm"], [f"{p}_add"], name=f"{p}_add"),
            n("Reshape", [f"{p}_add", "heads_shape"], [f"{p}_r"], name=f"{p}_reshape"),
            n("Transpose", [f"{p}_r"], [f"{p}_t"], name=f"{p}_transpose", perm=perm),
        ]
    nodes += [
        n("MatMul", ["q_t", "k_t"], ["qk"], name="qk"),
        n("Div", ["qk", "scale"], ["qk_s"], name="qk_scale"),
        n("Add", ["qk_s", "mask_bias"], ["qk_m"], name="qk_mask"),
        n("Softmax", ["qk_m"], ["probs"], name="softmax", axis=-1),
        n("MatMul", ["probs", "v_t"], ["ctx"], name="ctx"),
        n("Transpose", ["ctx"], ["ctx_t"], name="ctx_transpose", perm=[0, 2, 1, 3]),
        n("Reshape", ["ctx_t", "merge_shape"], ["ctx_r"], name="ctx_reshape"),
        n("MatMul", ["ctx_r", "o.w"], ["o_mm"], name="o_matmul"),
        n("Add", ["o.b", "o_mm"], ["o_add"], name="o_add"),
        n("Add", ["o_add", "x"], ["res1"], name="residual1"),
        n("LayerNormalization", ["res1", "ln1.g", "ln1.b"], ["h1"], name="ln1", axis=-1, epsilon=1e-12),
        n("MatMul", ["h1", "ffn1.w"], ["f1"], name="ffn1_matmul"),
        n("Add", ["ffn1.b", "f1"], ["f1b"], name="ffn1_add"),
        # exact GELU as exported: x * 0.5 * (1 + erf(x / sqrt(2)))
        n("Div", ["f1b", "sqrt2"], ["g1"], name="gelu_div"),
        n("Erf", ["g1"], ["g2"], name="gelu_erf"),
        n("Add", ["g2", "one"], ["g3"], name="gelu_add"),
        n("Mul", ["f1b", "g3"], ["g4"], name="gelu_mul"),
        n("Mul", ["g4", "half"], ["g5"], name="gelu_half"),
        n("MatMul", ["g5", "ffn2.w"], ["f2"], name="ffn2_matmul"),
        n("Add", ["ffn2.b", "f2"], ["f2b"], name="ffn2_add"),
        n("Add", ["f2b", "h1"], ["res2"], name="residual2"),
        n("LayerNormalization", ["res2", "ln2.g", "ln2.b"], ["hidden_states"], name="ln2", axis=-1, epsilon=1e-12),
    ]
    graph = helper.make_graph(
        nodes,
        "encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("hidden_states", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_dynamo_block(trans_b: bool = False, seed: int = 0, hidden: int = 32, heads: int = 2, vocab: int = 50) -> onnx.ModelProto:
    """One pre-LayerNorm GPT-2 block as torch.onnx.export(dynamo=True) writes it (opset 18).

    Every linear layer is Reshape to 2-D -> Gemm -> Reshape back to [batch, sequence, N] through
    a shape computed from the input (`trans_b`: nn.Linear's [N, K] weights with transB=1, else
    Conv1D's [K, N]); the attention output is flattened from [batch, sequence, heads, head_dim]
    straight to 2-D; the attention scale is split as sqrt(scale) on query and key; GELU is the
    tanh form spelled (0.5 * x) * (1 + tanh(...)). Like the exporter, it declares the shapes of
    the intermediate tensors, including those only a symbolic shape engine could infer.
    """
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) * 0.1).astype(np.float32)  # noqa: E731
    head_dim, inner = hidden // heads, 4 * hidden
    n = helper.make_node
    inits = [
        _init("wte", w(vocab, hidden)),
        _init("half", np.array(0.5, np.float32)), _init("one", np.array(1.0, np.float32)),
        _init("three", np.array(3.0, np.float32)), _init("cubic", np.array(0.044715, np.float32)),
        _init("tanh_scale", np.array(np.sqrt(2 / np.pi), np.float32)),
        _init("qk_scale", np.array(head_dim ** -0.25, np.float32)),
        _init("heads_shape", np.array([0, 0, heads, head_dim], np.int64)),
    ]
    for name in ("ln_1", "ln_2", "ln_f"):
        inits += [_init(f"{name}.weight", 1 + w(hidden)), _init(f"{name}.bias", w(hidden))]
    shapes = {"embedded": ["batch", "sequence", hidden]}
    nodes = [
        n("Gather", ["wte", "input_ids"], ["embedded"], name="embed"),
        n("Shape", ["input_ids"], ["ids_shape"], name="ids_shape"),
        n("LayerNormalization", ["embedded", "ln_1.weight", "ln_1.bias"], ["ln_1"], name="ln_1", epsilon=1e-5, axis=-1),
    ]

    def linear(x: str, name: str, k: int, width: int) -> str:
        inits.extend([_init(f"{name}.weight", w(width, k) if trans_b else w(k, width)), _init(f"{name}.bias", w(width))])
        inits.extend([_init(f"{name}.flat", np.array([-1, k], np.int64)), _init(f"{name}.width", np.array([width], np.int64))])
        nodes.extend([
            n("Reshape", [x, f"{name}.flat"], [f"{name}_2d"], name=f"{name}_flatten"),
            n("Gemm", [f"{name}_2d", f"{name}.weight", f"{name}.bias"], [f"{name}_mm"], name=f"{name}_addmm", transB=int(trans_b)),
            n("Concat", ["ids_shape", f"{name}.width"], [f"{name}_shape"], name=f"{name}_shape", axis=0),
            n("Reshape", [f"{name}_mm", f"{name}_shape"], [name], name=f"{name}_view"),
        ])
        shapes[name] = ["batch", "sequence", width]
        return name

    qkv = linear("ln_1", "c_attn", hidden, 3 * hidden)
    nodes.append(n("Split", [qkv], ["q", "k", "v"], name="split_qkv", axis=2, num_outputs=3))
    for part in ("q", "k", "v"):
        nodes += [
            n("Reshape", [part, "heads_shape"], [f"{part}_heads"], name=f"{part}_heads"),
            n("Transpose", [f"{part}_heads"], [f"{part}_bhsd"], name=f"{part}_bhsd", perm=[0, 2, 1, 3]),
        ]
    nodes += [
        n("Transpose", ["k_bhsd"], ["k_t"], name="k_t", perm=[0, 1, 3, 2]),
        n("Mul", ["q_bhsd", "qk_scale"], ["q_scaled"], name="q_scale"),
        n("Mul", ["k_t", "qk_scale"], ["k_scaled"], name="k_scale"),
        n("MatMul", ["q_scaled", "k_scaled"], ["scores"], name="scores"),
        n("Softmax", ["scores"], ["probs"], name="softmax", axis=-1),
        n("MatMul", ["probs", "v_bhsd"], ["context"], name="context"),
        n("Transpose", ["context"], ["context_bshd"], name="context_bshd", perm=[0, 2, 1, 3]),
    ]
    attention = linear("context_bshd", "c_proj", hidden, hidden)
    nodes += [
        n("Add", [attention, "embedded"], ["residual_1"], name="residual_1"),
        n("LayerNormalization", ["residual_1", "ln_2.weight", "ln_2.bias"], ["ln_2"], name="ln_2", epsilon=1e-5, axis=-1),
    ]
    fc = linear("ln_2", "c_fc", hidden, inner)
    nodes += [
        n("Mul", [fc, "half"], ["gelu_half"], name="gelu_half"),
        n("Pow", [fc, "three"], ["gelu_cube"], name="gelu_cube"),
        n("Mul", ["gelu_cube", "cubic"], ["gelu_cubic"], name="gelu_cubic"),
        n("Add", [fc, "gelu_cubic"], ["gelu_inner"], name="gelu_inner"),
        n("Mul", ["gelu_inner", "tanh_scale"], ["gelu_scaled"], name="gelu_scaled"),
        n("Tanh", ["gelu_scaled"], ["gelu_tanh"], name="gelu_tanh"),
        n("Add", ["gelu_tanh", "one"], ["gelu_one"], name="gelu_one"),
        n("Mul", ["gelu_half", "gelu_one"], ["gelu"], name="gelu"),
    ]
    shapes.update({v: ["batch", "sequence", inner] for v in ("gelu_half", "gelu_cube", "gelu_cubic", "gelu_inner", "gelu_scaled", "gelu_tanh", "gelu_one", "gelu")})
    mlp = linear("gelu", "mlp_proj", inner, hidden)
    nodes += [
        n("Add", ["residual_1", mlp], ["residual_2"], name="residual_2"),
        n("LayerNormalization", ["residual_2", "ln_f.weight", "ln_f.bias"], ["hidden_states"], name="ln_f", epsilon=1e-5, axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "dynamo_block",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("hidden_states", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        inits,
        value_info=[helper.make_tensor_value_info(name, TensorProto.FLOAT, dims) for name, dims in shapes.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_mlp(seed: int = 0) -> onnx.ModelProto:
    """A 2-D MLP exported without Gemm: MatMul+Add pairs, a Transpose pair, a Reshape pair, a 3-D bias."""
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) * 0.3).astype(np.float32)  # noqa: E731
    n = helper.make_node
    inits = [
        _init("w1", w(16, 32)), _init("b1", w(32)),
        _init("w2", w(32, 8)), _init("b2", w(1, 8)),
        _init("w3", w(8, 8)), _init("b3", w(3, 1, 8)),
        _init("shape_a", np.array([2, -1], np.int64)), _init("shape_b", np.array([-1, 8], np.int64)),
    ]
    nodes = [
        n("MatMul", ["x", "w1"], ["mm1"], name="mm1"),
        n("Add", ["mm1", "b1"], ["h1"], name="add1"),
        n("Relu", ["h1"], ["r1"], name="relu1"),
        n("Transpose", ["r1"], ["t1"], name="t1", perm=[1, 0]),
        n("Transpose", ["t1"], ["t2"], name="t2", perm=[1, 0]),
        n("MatMul", ["t2", "w2"], ["mm2"], name="mm2"),
        n("Add", ["b2", "mm2"], ["h2"], name="add2"),
        n("Reshape", ["h2", "shape_a"], ["rs1"], name="reshape1"),
        n("Reshape", ["rs1", "shape_b"], ["rs2"], name="reshape2"),
        # a bias of rank 3 changes the output rank: must stay MatMul + Add
        n("MatMul", ["rs2", "w3"], ["mm3"], name="mm3"),
        n("Add", ["mm3", "b3"], ["y"], name="add3"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4, 8])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_untidy(seed: int = 0) -> onnx.ModelProto:
    """A graph with Identities (one feeding an output, one output copying another), Dropouts,
    a duplicated weight, an unused weight and an unused input."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((4, 4)).astype(np.float32)
    n = helper.make_node
    inits = [
        _init("w_a", weight), _init("w_b", weight.copy()), _init("w_unused", weight * 2),
        _init("ratio", np.array(0.5, np.float32)), _init("training", np.array(False)),
    ]
    nodes = [
        n("Identity", ["x"], ["x_id"], name="id_in"),
        n("MatMul", ["x_id", "w_a"], ["m1"], name="mm_a"),
        n("MatMul", ["x_id", "w_b"], ["m2"], name="mm_b"),
        n("Add", ["m1", "m2"], ["s"], name="add"),
        n("Dropout", ["s"], ["d1"], name="drop1"),
        n("Dropout", ["d1", "ratio", "training"], ["d2", "mask"], name="drop2"),
        n("Identity", ["d2"], ["y"], name="id_out"),
        n("Identity", ["y"], ["y_copy"], name="id_copy"),
        n("Relu", ["s"], ["aux"], name="aux_relu"),
    ]
    vi = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)  # noqa: E731
    graph = helper.make_graph(
        nodes, "untidy", [vi("x", [2, 4]), vi("unused_in", [1])], [vi("y", [2, 4]), vi("y_copy", [2, 4]), vi("aux", [2, 4])], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def op_counts(path: Path | onnx.ModelProto) -> Counter[str]:
    """Node count per op type of a model file or proto."""
    model = path if isinstance(path, onnx.ModelProto) else onnx.load(str(path))
    return Counter(node.op_type for node in model.graph.node)


def run_model(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run a model file on CPU with ONNX Runtime and return its outputs."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two arrays, flattened."""
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    if not a.any() and not b.any():
        return 1.0  # two all-zero outputs agree
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def assert_same_outputs(before: Path, after: Path, dims: dict[str, int] | None = None) -> None:
    """Both models give outputs with cosine >= 0.9999 on the same seeded random inputs."""
    feeds = random_inputs(onnx.load(str(before), load_external_data=False), dims=dims or {"sequence": 8})
    for a, b in zip(run_model(before, feeds), run_model(after, feeds), strict=True):
        assert a.shape == b.shape
        assert cosine(a, b) >= 0.9999




def _rms_norm(prefix: str, x: str, out: str, hidden: int) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Llama's RMSNorm as torch's dynamo exporter spells it: x * 1/sqrt(mean(x^2) + eps) * weight."""
    nodes = [
        helper.make_node("Pow", [x, "two"], [f"{prefix}.sq"]),
        helper.make_node("ReduceMean", [f"{prefix}.sq", "last_axis"], [f"{prefix}.ms"], keepdims=1, noop_with_empty_axes=0),
        helper.make_node("Add", [f"{prefix}.ms", "eps"], [f"{prefix}.mse"]),
        helper.make_node("Sqrt", [f"{prefix}.mse"], [f"{prefix}.rms"]),
        helper.make_node("Reciprocal", [f"{prefix}.rms"], [f"{prefix}.inv"]),
        helper.make_node("Mul", [x, f"{prefix}.inv"], [f"{prefix}.normed"]),
        helper.make_node("Mul", [f"{prefix}.weight", f"{prefix}.normed"], [out]),
    ]
    weight = np.random.default_rng(len(prefix)).uniform(0.5, 1.5, hidden).astype(np.float32)
    return nodes, [_init(f"{prefix}.weight", weight)]


def build_rms_norm_block(hidden: int = 16, seed: int = 0) -> onnx.ModelProto:
    """Opset 18 pre-norm block: RMSNorm, linear, residual Add, RMSNorm (a Llama/T5 layer's norms).

    The first norm has no residual Add before it, so fusion makes it ORT's standard-domain
    SimplifiedLayerNormalization; the second becomes SkipSimplifiedLayerNormalization.
    """
    rng = np.random.default_rng(seed)
    first, first_weights = _rms_norm("norm1", "x", "h", hidden)
    second, second_weights = _rms_norm("norm2", "res", "y", hidden)
    nodes = [
        *first,
        helper.make_node("MatMul", ["h", "proj.weight"], ["proj"]),
        helper.make_node("Add", ["x", "proj"], ["res"]),
        *second,
    ]
    initializers = [
        _init("two", np.array(2.0, np.float32)),
        _init("eps", np.array(1e-6, np.float32)),
        _init("last_axis", np.array([-1], np.int64)),
        _init("proj.weight", rng.normal(0, 0.2, (hidden, hidden)).astype(np.float32)),
        *first_weights,
        *second_weights,
    ]
    graph = helper.make_graph(
        nodes,
        "rms_norm_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
