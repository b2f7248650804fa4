"""Small models and checks for the quantization tests (the sample CNN/transformer come from assets)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.verify import verify_models


def matmul_model(path: Path, seed: int = 0, d_in: int = 128, d_hidden: int = 256, d_out: int = 64) -> Path:
    """x[batch, d_in] -> MatMul -> Relu -> MatMul: the shape weight-only quantization targets."""
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((d_in, d_hidden)) / np.sqrt(d_in)).astype(np.float32)
    w2 = (rng.standard_normal((d_hidden, d_out)) / np.sqrt(d_hidden)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["h_relu"], name="relu"),
        helper.make_node("MatMul", ["h_relu", "w2"], ["y"], name="fc2"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", d_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", d_out])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def nhwc_model(path: Path, side: int = 32) -> Path:
    """An image input in NHWC layout ([1, side, side, 3]) feeding a Transpose and a Conv."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2], name="to_nchw"),
        helper.make_node("Conv", ["nchw", "w"], ["y"], name="conv"),
    ]
    graph = helper.make_graph(
        nodes,
        "nhwc",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, side, side, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, side - 2, side - 2])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.save(model, str(path))
    return path


def break_conv(model: onnx.ModelProto, conv_index: int, factor: float = 50.0) -> str:
    """Give one Conv a single outlier weight (`factor` x its largest); returns the Conv's name.

    With per-tensor weight scales the outlier stretches the scale so far that the layer's other
    weights keep only a few levels: that layer, and no other, loses most of its precision.
    """
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    conv = convs[conv_index]
    for tensor in model.graph.initializer:
        if tensor.name == conv.input[1]:
            weights = numpy_helper.to_array(tensor).copy()
            weights.flat[0] = np.abs(weights).max() * factor
            tensor.CopyFrom(numpy_helper.from_array(weights, tensor.name))
    return conv.name


def worst_cosine(reference: Path, candidate: Path, samples: int = 4) -> float:
    """Lowest output cosine similarity of `candidate` vs `reference` on seeded random inputs.

    Random normal inputs, the same distribution the random calibration uses, but other seeds.
    """
    return verify_models(reference, candidate, samples=samples, seed=7).worst_cosine()


def op_types(path: Path) -> set[str]:
    """The op types in a saved model."""
    return {n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node}


def dynamo_linears_model(path: Path, seed: int = 0, vocab: int = 96, hidden: int = 64, inner: int = 128) -> Path:
    """A GPT-2-like stack with every linear-layer spelling a torch exporter writes, none a plain MatMul:

    `Gemm` (addmm of GPT-2's Conv1D, weight [K, N]), `Gemm` with transB=1 (nn.Linear, weight
    [N, K], with alpha/beta), `MatMul(x, Transpose(W))` (nn.Linear on 3-D input) and a tied LM
    head `MatMul(h, Transpose(wte))` whose `wte` also feeds the token `Gather`.
    """
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)  # noqa: E731
    inits = {
        "wte": w(vocab, hidden),
        "fc_in.weight": w(hidden, inner),  # Conv1D layout [K, N]
        "fc_in.bias": w(inner),
        "fc_out.weight": w(hidden, inner),  # nn.Linear layout [N, K]
        "fc_out.bias": w(hidden),
        "proj.weight": w(hidden, hidden),
        "flat_shape": np.array([-1, hidden], np.int64),
        "seq_shape": np.array([1, -1, hidden], np.int64),
    }
    n = helper.make_node
    nodes = [
        n("Gather", ["wte", "input_ids"], ["embedded"], name="embed"),
        n("Reshape", ["embedded", "flat_shape"], ["flat"], name="flatten"),
        n("Gemm", ["flat", "fc_in.weight", "fc_in.bias"], ["fc_in"], name="fc_in"),
        n("Relu", ["fc_in"], ["act"], name="act"),
        n("Gemm", ["act", "fc_out.weight", "fc_out.bias"], ["fc_out"], name="fc_out", transB=1, alpha=0.5, beta=2.0),
        n("Reshape", ["fc_out", "seq_shape"], ["hidden"], name="unflatten"),
        n("Transpose", ["proj.weight"], ["proj.weight_t"], name="proj_t", perm=[1, 0]),
        n("MatMul", ["hidden", "proj.weight_t"], ["projected"], name="proj"),
        n("Transpose", ["wte"], ["wte_t"], name="lm_head_t", perm=[1, 0]),
        n("MatMul", ["projected", "wte_t"], ["logits"], name="lm_head"),
    ]
    return _save_token_model(path, "dynamo_linears", nodes, inits, "logits", vocab)


def _save_token_model(path: Path, name: str, nodes: list[onnx.NodeProto], inits: dict[str, np.ndarray], output: str, width: int) -> Path:
    """Check and save an opset-18 graph from input_ids [1, sequence] to float `output` [1, sequence, width]."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "sequence"])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, "sequence", width])],
        [numpy_helper.from_array(array, key) for key, array in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def relative_position_model(path: Path, seed: int = 0, vocab: int = 40, hidden: int = 16, buckets: int = 16) -> Path:
    """A T5-style encoder step: token embedding and linear layer plus a relative-position bias.

    The bias row is T5's bucket, computed in float and cast to int64 for a Gather:
    |i - j| if under buckets/2, else min(buckets/2 + int(Log(|i - j| / (buckets/2)) * buckets/2), buckets - 1).
    Log(0) on the diagonal is -inf; a Where discards it, as in the torch export.
    """
    rng = np.random.default_rng(seed)
    exact = buckets // 2
    inits = {
        "wte": rng.standard_normal((vocab, hidden)).astype(np.float32),
        "proj.weight": (rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)).astype(np.float32),
        "bias_table": rng.standard_normal((buckets, hidden)).astype(np.float32),
        "zero": np.array(0, np.int64), "one": np.array(1, np.int64), "one_axis": np.array([1], np.int64),
        "axis0": np.array([0], np.int64), "axis1": np.array([1], np.int64),
        "exact_i": np.array(exact, np.int64), "last_i": np.array(buckets - 1, np.int64),
        "exact_f": np.array(float(exact), np.float32),
    }
    n = helper.make_node
    nodes = [
        n("Gather", ["wte", "input_ids"], ["embedded"], name="embed"),
        n("MatMul", ["embedded", "proj.weight"], ["projected"], name="proj"),
        n("Shape", ["input_ids"], ["ids_shape"], name="shape"),
        n("Gather", ["ids_shape", "one"], ["length"], name="length", axis=0),
        n("Range", ["zero", "length", "one"], ["positions"], name="positions"),
        n("Unsqueeze", ["positions", "axis0"], ["rows"], name="rows"),
        n("Unsqueeze", ["positions", "axis1"], ["cols"], name="cols"),
        n("Sub", ["cols", "rows"], ["relative"], name="relative"),
        n("Abs", ["relative"], ["distance"], name="distance"),
        n("Less", ["distance", "exact_i"], ["is_small"], name="is_small"),
        n("Cast", ["distance"], ["distance_f"], name="distance_f", to=TensorProto.FLOAT),
        n("Div", ["distance_f", "exact_f"], ["ratio"], name="ratio"),
        n("Log", ["ratio"], ["log_ratio"], name="log_ratio"),
        n("Mul", ["log_ratio", "exact_f"], ["scaled"], name="scaled"),
        n("Cast", ["scaled"], ["scaled_i"], name="scaled_i", to=TensorProto.INT64),
        n("Add", ["scaled_i", "exact_i"], ["large"], name="large"),
        n("Min", ["large", "last_i"], ["large_capped"], name="large_capped"),
        n("Where", ["is_small", "distance", "large_capped"], ["bucket"], name="bucket"),
        n("Gather", ["bias_table", "bucket"], ["bias"], name="bias_rows"),
        n("ReduceSum", ["bias", "one_axis"], ["bias_sum"], name="bias_sum", keepdims=0),
        n("Add", ["projected", "bias_sum"], ["y"], name="add_bias"),
    ]
    return _save_token_model(path, "relative_position", nodes, inits, "y", hidden)
