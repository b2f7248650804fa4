"""Output shapes and costs of ONNX Runtime's contrib ops (domain com.microsoft).

ONNX shape inference does not know these ops, so after transformer fusion or quantization
their outputs (and everything downstream) had no shape and counted 0 MACs. Each rule here
follows the op's documented semantics (onnxruntime docs/ContribOperators.md) and needs only
the input shapes and attributes; a rule returns None where a shape it needs is unknown.

Conventions: MACs are the multiply-accumulates of the matrix products; FLOPs are 2 per MAC
plus the elementwise work (bias adds, softmax, normalization, (de)quantization) per element.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import onnx
from onnx import helper

Shape = tuple[int, ...]
Shapes = Sequence[Shape | None]

# FLOPs per element of the elementwise pieces, matching pipelines.analysis's table.
SOFTMAX = 5
LAYER_NORM = 8
GELU = 8
QUANTIZE = 3  # x / scale, round, + zero point (then saturate)
DEQUANTIZE = 2  # (q - zero point) * scale

CONTRIB_DOMAIN = "com.microsoft"


def _attr(node: onnx.NodeProto, name: str, default: object) -> object:
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


def _given(ins: Shapes, index: int) -> Shape | None:
    return ins[index] if index < len(ins) else None


def _elements(shape: Shape | None) -> int | None:
    return math.prod(shape) if shape is not None else None


def _broadcast(a: Shape | None, b: Shape | None) -> Shape | None:
    if a is None or b is None:
        return None
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        return None
    return tuple(max(x, y) for x, y in zip(a, b))


# ---- output shapes ---------------------------------------------------------------------------

def _same_as_first(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    return [ins[0] if ins else None]


def _layer_norm_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    # output, mean, inv_std_var (reduced over the last axis), input_skip_bias_sum.
    x = ins[0] if ins else None
    reduced = x[:-1] + (1,) if x is not None else None
    return [x, reduced, reduced, x][: len(node.output)]


def _attention_qkv(node: onnx.NodeProto, ins: Shapes) -> tuple[int, int, int] | None:
    """(q, k, v) hidden sizes of Attention / QAttention from qkv_hidden_sizes or the weight."""
    sizes = _attr(node, "qkv_hidden_sizes", None)
    if sizes:
        q, k, v = (int(s) for s in sizes)
        return q, k, v
    weights = _given(ins, 1)
    if weights is None or len(weights) != 2 or weights[1] % 3:
        return None
    hidden = weights[1] // 3
    return hidden, hidden, hidden


def _attention_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    x, qkv = ins[0] if ins else None, _attention_qkv(node, ins)
    if x is None or qkv is None or len(x) != 3:
        return [None]
    return [(x[0], x[1], qkv[2])]


def _multi_head_attention_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    query, value = ins[0] if ins else None, _given(ins, 2)
    if query is None or len(query) != 3:
        return [None]
    # Packed query/key/value or key/value inputs carry v in the query; else value is [B, L, Hv].
    v_hidden = value[2] if value is not None and len(value) == 3 else query[2]
    return [(query[0], query[1], v_hidden)]


def _matmul_nbits_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    a = ins[0] if ins else None
    n = int(_attr(node, "N", 0))
    return [a[:-1] + (n,) if a is not None and n else None]


def _matmul_by_b_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    a, b = ins[0] if ins else None, _given(ins, 1)
    if a is None or b is None or len(b) != 2:
        return [None]
    return [a[:-1] + (b[1],)]


def _qlinear_binary_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    # Inputs: A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point.
    return [_broadcast(ins[0] if ins else None, _given(ins, 3))]


def _embed_layer_norm_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    ids, words = ins[0] if ins else None, _given(ins, 2)
    if ids is None or words is None or len(ids) != 2 or len(words) != 2:
        return [None] * len(node.output)
    # output [B, S, H], mask_index [B], embedding_sum [B, S, H].
    return [(ids[0], ids[1], words[1]), (ids[0],), (ids[0], ids[1], words[1])][: len(node.output)]


def _fused_matmul_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    a, b = ins[0] if ins else None, _given(ins, 1)
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        return [None]
    rows = a[-1] if _attr(node, "transA", 0) else a[-2]
    cols = b[-2] if _attr(node, "transB", 0) else b[-1]
    batch = _broadcast(a[:-2], b[:-2])
    return [batch + (rows, cols) if batch is not None else None]


def _bias_split_gelu_outputs(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    x = ins[0] if ins else None
    return [x[:-1] + (x[-1] // 2,) if x is not None else None]


# ---- costs -----------------------------------------------------------------------------------

Cost = tuple[int, int]


def _attention_cost(node: onnx.NodeProto, ins: Shapes) -> Cost | None:
    x, qkv = ins[0] if ins else None, _attention_qkv(node, ins)
    if x is None or qkv is None or len(x) != 3:
        return None
    batch, seq, in_hidden = x
    q, _k, v = qkv
    heads = max(1, int(_attr(node, "num_heads", 1)))
    past = _given(ins, 4)  # [2, B, heads, past_seq, head_size]
    total = seq + (past[3] if past is not None and len(past) == 5 else 0)
    projection = batch * seq * in_hidden * sum(qkv)
    scores = batch * seq * total * q  # Q·Kᵀ over every head: heads * head_size = q
    context = batch * seq * total * v
    macs = projection + scores + context
    bias = batch * seq * sum(qkv)
    softmax = batch * heads * seq * total * (SOFTMAX + 1)  # + the 1/sqrt(d) scale
    return macs, 2 * macs + bias + softmax


def _multi_head_attention_cost(node: onnx.NodeProto, ins: Shapes) -> Cost | None:
    query, key, value = ins[0] if ins else None, _given(ins, 1), _given(ins, 2)
    if query is None or len(query) != 3:
        return None
    batch, seq, hidden = query
    kv_seq = key[1] if key is not None and len(key) == 3 else seq
    v_hidden = value[2] if value is not None and len(value) == 3 else hidden
    heads = max(1, int(_attr(node, "num_heads", 1)))
    macs = batch * seq * kv_seq * (hidden + v_hidden)
    return macs, 2 * macs + batch * heads * seq * kv_seq * (SOFTMAX + 1)


def _matmul_nbits_cost(node: onnx.NodeProto, ins: Shapes) -> Cost | None:
    a = ins[0] if ins else None
    k, n = int(_attr(node, "K", 0)), int(_attr(node, "N", 0))
    if a is None or not k or not n:
        return None
    macs = math.prod(a[:-1]) * k * n
    has_bias = len(node.input) > 5 and bool(node.input[5])
    # The weights are dequantized block by block once per call.
    return macs, 2 * macs + k * n * DEQUANTIZE + (math.prod(a[:-1]) * n if has_bias else 0)


def _matmul_by_b_cost(quantizes_a: bool, bias_index: int) -> Callable[[onnx.NodeProto, Shapes], Cost | None]:
    def cost(node: onnx.NodeProto, ins: Shapes) -> Cost | None:
        a, b = ins[0] if ins else None, _given(ins, 1)
        if a is None or b is None or len(b) != 2:
            return None
        rows = math.prod(a[:-1])
        macs = rows * b[0] * b[1]
        out = rows * b[1]
        has_bias = len(node.input) > bias_index and bool(node.input[bias_index])
        # Integer products are scaled back to float per output; DynamicQuantizeMatMul first
        # quantizes A (its range found by a pass over A).
        extra = out * DEQUANTIZE + (math.prod(a) * (QUANTIZE + 1) if quantizes_a else 0)
        return macs, 2 * macs + extra + (out if has_bias else 0)

    return cost


def _per_output(flops_per_element: int) -> Callable[[onnx.NodeProto, Shapes, Shape | None], Cost | None]:
    def cost(node: onnx.NodeProto, ins: Shapes, out: Shape | None) -> Cost | None:
        elements = _elements(out)
        return (0, elements * flops_per_element) if elements is not None else None

    return cost


def _skip_layer_norm_flops(node: onnx.NodeProto, ins: Shapes, out: Shape | None) -> Cost | None:
    elements = _elements(out)
    if elements is None:
        return None
    has_bias = len(node.input) > 4 and bool(node.input[4])
    return 0, elements * (1 + int(has_bias) + LAYER_NORM)  # + skip, + bias, then normalize


# Ops whose cost follows from the output size alone (FLOPs per output element).
_ELEMENTWISE: dict[str, int] = {
    "BiasGelu": GELU + 1, "FastGelu": GELU, "Gelu": GELU, "QuickGelu": 5, "BiasAdd": 2,
    "BiasSplitGelu": GELU + 1, "BiasDropout": 2,
    "SkipSimplifiedLayerNormalization": 1 + 5,
    "EmbedLayerNormalization": 2 + LAYER_NORM,  # word + position (+ segment) embeddings, then normalize
    # Dequantize the inputs, compute in float, quantize the result.
    "QLinearAdd": 2 * DEQUANTIZE + 1 + QUANTIZE, "QLinearMul": 2 * DEQUANTIZE + 1 + QUANTIZE,
    "QLinearSigmoid": DEQUANTIZE + 4 + QUANTIZE, "QLinearLeakyRelu": DEQUANTIZE + 1 + QUANTIZE,
    "QLinearSoftmax": DEQUANTIZE + SOFTMAX + QUANTIZE, "QLinearConcat": DEQUANTIZE + QUANTIZE,
    "QLinearGlobalAveragePool": DEQUANTIZE + QUANTIZE,
}

OUTPUT_SHAPES: dict[str, Callable[[onnx.NodeProto, Shapes], list[Shape | None]]] = {
    "Attention": _attention_outputs, "QAttention": _attention_outputs,
    "MultiHeadAttention": _multi_head_attention_outputs,
    "SkipLayerNormalization": _layer_norm_outputs, "SkipSimplifiedLayerNormalization": _layer_norm_outputs,
    "EmbedLayerNormalization": _embed_layer_norm_outputs,
    "BiasGelu": _same_as_first, "FastGelu": _same_as_first, "Gelu": _same_as_first, "QuickGelu": _same_as_first,
    "BiasAdd": _same_as_first, "BiasDropout": _same_as_first, "BiasSplitGelu": _bias_split_gelu_outputs,
    "MatMulNBits": _matmul_nbits_outputs, "FusedMatMul": _fused_matmul_outputs,
    "DynamicQuantizeMatMul": _matmul_by_b_outputs, "MatMulIntegerToFloat": _matmul_by_b_outputs,
    "QLinearAdd": _qlinear_binary_outputs, "QLinearMul": _qlinear_binary_outputs,
    "QLinearSigmoid": _same_as_first, "QLinearLeakyRelu": _same_as_first, "QLinearSoftmax": _same_as_first,
}

_INPUT_COSTS: dict[str, Callable[[onnx.NodeProto, Shapes], Cost | None]] = {
    "Attention": _attention_cost, "QAttention": _attention_cost,
    "MultiHeadAttention": _multi_head_attention_cost,
    "MatMulNBits": _matmul_nbits_cost,
    "DynamicQuantizeMatMul": _matmul_by_b_cost(quantizes_a=True, bias_index=4),
    "MatMulIntegerToFloat": _matmul_by_b_cost(quantizes_a=False, bias_index=6),
}
_OUTPUT_COSTS: dict[str, Callable[[onnx.NodeProto, Shapes, Shape | None], Cost | None]] = {
    "SkipLayerNormalization": _skip_layer_norm_flops,
    **{op: _per_output(flops) for op, flops in _ELEMENTWISE.items()},
}


def is_contrib(node: onnx.NodeProto) -> bool:
    """Whether `node` is an ONNX Runtime contrib op this module knows."""
    return node.domain == CONTRIB_DOMAIN and (node.op_type in _INPUT_COSTS or node.op_type in _OUTPUT_COSTS)


def contrib_output_shapes(node: onnx.NodeProto, ins: Shapes) -> list[Shape | None]:
    """Output shapes of a contrib node from its input shapes (None where unknown or not a known op)."""
    rule = OUTPUT_SHAPES.get(node.op_type) if node.domain == CONTRIB_DOMAIN else None
    shapes = rule(node, ins) if rule is not None else []
    return list(shapes) + [None] * (len(node.output) - len(shapes))


def contrib_cost(node: onnx.NodeProto, ins: Shapes, out: Shape | None) -> Cost | None:
    """(MACs, FLOPs) of a contrib node; None when it is not one or a needed shape is unknown."""
    if node.domain != CONTRIB_DOMAIN:
        return None
    if node.op_type in _INPUT_COSTS:
        return _INPUT_COSTS[node.op_type](node, ins)
    if node.op_type in _OUTPUT_COSTS:
        return _OUTPUT_COSTS[node.op_type](node, ins, out)
    return None
