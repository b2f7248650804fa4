"""What a model costs: parameters, MACs/FLOPs and activation memory, per node and in total.

Conventions (so figures are comparable between versions of a model):

- params: every element of every initializer (main graph and subgraphs). Constant-node tensors
  are not parameters (exporters use them for shapes and scalars); they are reported apart as
  `constant_elements`. A shared initializer counts once, for the first node that reads it.
- MACs: multiply-accumulates of the linear ops only (Conv, ConvTranspose, Gemm, MatMul, Einsum,
  their quantized forms, RNN/GRU/LSTM).
- FLOPs: 2 x MACs plus the bias adds of those ops, plus an estimate for everything else:
  elementwise ops one per output element (more for Softmax, Gelu, normalisations, Resize),
  reductions and pooling one per input element read. Data movement (Reshape, Gather, ...) is 0.
- Dynamic dims get concrete values (batch 1, any other symbolic dim 128, overridable by name
  via `dims`); the result lists them in `assumed_dims`. Shapes come from one onnx shape
  inference pass over a copy with those input shapes fixed (a second one only when small shape
  computations had to be evaluated first, see shape_folding). Subgraph (If/Loop) bodies are
  counted as parameters but not for MACs.
"""
from __future__ import annotations

import functools
import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.contrib_ops import CONTRIB_DOMAIN, contrib_cost, contrib_output_shapes, is_contrib
from onnx_workbench.pipelines.inputs import graph_inputs, resolve_dim
from onnx_workbench.pipelines.shape_folding import fold_shape_values
from onnx_workbench.pipelines.validation import iter_graphs, tensor_bytes

# Initializers above this many elements are replaced by typed graph inputs in the copy that
# shape inference sees: their values never matter for shapes, and it keeps the copy small.
_INLINE_ELEMENTS_LIMIT = 1024

# FLOPs per output element for non-linear ops (what a straightforward kernel computes).
_ELEMENTWISE_COST = {
    "Softmax": 5, "LogSoftmax": 5, "Gelu": 8, "FastGelu": 8, "BiasGelu": 9, "QuickGelu": 5,
    "Sigmoid": 4, "HardSigmoid": 3, "HardSwish": 4, "Swish": 5, "Mish": 6, "Elu": 3, "Selu": 4,
    "Celu": 4, "Softplus": 3, "Softsign": 3, "Tanh": 5, "Erf": 5,
    "LayerNormalization": 8, "SimplifiedLayerNormalization": 5, "SkipLayerNormalization": 9,
    "InstanceNormalization": 8, "GroupNormalization": 8, "RMSNormalization": 5, "LpNormalization": 3,
    "MeanVarianceNormalization": 8,
    # Inference BatchNorm is a per-channel scale and shift.
    "BatchNormalization": 2,
    "QuantizeLinear": 3, "DequantizeLinear": 2, "DynamicQuantizeLinear": 4,
}
# One FLOP per output element.
_ELEMENTWISE_ONE = {
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Neg", "Abs", "Reciprocal", "Sqrt", "Exp", "Log",
    "Relu", "LeakyRelu", "PRelu", "ThresholdedRelu", "Clip", "Floor", "Ceil", "Round", "Sign",
    "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
    "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Not",
    "Where", "IsNaN", "IsInf", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot",
    "Max", "Min", "Sum", "Mean", "Shrink", "CumSum",
}
# Reductions and pooling: one FLOP per input element read (per kernel tap for windowed pools).
_REDUCTIONS = {
    "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
    "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "TopK",
}
_WINDOW_POOLS = {"MaxPool", "AveragePool", "LpPool"}
_RESIZE_COST = {"nearest": 1, "linear": 4, "cubic": 16}
_RNN_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
# Rounds of contrib-op shape declaration + inference (see _infer_concrete_shapes).
MAX_CONTRIB_ROUNDS = 200
_FLOAT_RESULT = {"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention"}

Shape = tuple[int, ...]


@dataclass
class TensorInfo:
    """A graph input or output: declared shape (may hold dim names) and the concrete one used."""

    name: str
    dtype: str
    shape: list[int | str] | None
    concrete_shape: list[int] | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass
class LayerStats:
    """Figures for one node; `name` uses the graph view's key rule (name or op_type_position)."""

    name: str
    op_type: str
    params: int
    param_bytes: int
    macs: int
    flops: int
    output_bytes: int
    output_shapes: list[list[int] | None]
    shapes_known: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass
class ModelAnalysis:
    """Totals, per-node figures and the facts a summary shows about one model."""

    params: int
    param_bytes: int
    bytes_by_dtype: dict[str, int]
    constant_elements: int
    macs: int
    flops: int
    nodes: int
    activation_bytes: int
    size_bytes: int | None
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    opsets: dict[str, int]
    op_types: dict[str, int]
    assumed_dims: dict[str, int]
    layers: list[LayerStats] = field(default_factory=list)
    unknown_shape_nodes: int = 0
    warnings: list[str] = field(default_factory=list)

    def heaviest(self, count: int = 10, key: str = "macs") -> list[LayerStats]:
        """The `count` layers with the most `key` (macs, flops, params or output_bytes)."""
        return sorted(self.layers, key=lambda layer: getattr(layer, key), reverse=True)[:count]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and the GUI (layers as a list in graph order).

        size_bytes is left out when unknown (no path given) so readers fall back to their own figure.
        """
        data = {k: v for k, v in self.__dict__.items() if k not in ("inputs", "outputs", "layers")}
        if self.size_bytes is None:
            del data["size_bytes"]
        data["inputs"] = [t.to_dict() for t in self.inputs]
        data["outputs"] = [t.to_dict() for t in self.outputs]
        data["layers"] = [layer.to_dict() for layer in self.layers]
        return data


def analyze(
    model: onnx.ModelProto, dims: dict[str, int] | None = None, *, path: str | os.PathLike[str] | None = None
) -> ModelAnalysis:
    """Count params, MACs, FLOPs and activation bytes of `model` with dynamic dims made concrete."""
    dims = dict(dims or {})
    every_initializer = [t for g in iter_graphs(model.graph) for t in g.initializer]
    initializers = {t.name: t for t in model.graph.initializer}
    concrete_inputs, assumed = _concrete_input_shapes(model, dims)
    shapes, dtypes, warnings = _infer_concrete_shapes(model, concrete_inputs)
    warnings.extend(_unused_dims(model, dims))
    for name, tensor in initializers.items():
        shapes.setdefault(name, tuple(tensor.dims))
        dtypes.setdefault(name, tensor.data_type)

    claimed: set[str] = set()
    layers = []
    for key, node in zip(node_keys(model.graph), model.graph.node):
        params = param_bytes = 0
        for name in node.input:
            if name in initializers and name not in claimed:
                claimed.add(name)
                params += math.prod(initializers[name].dims)
                param_bytes += tensor_bytes(initializers[name])
        out_shapes = [shapes.get(o) if o else None for o in node.output]
        known = all(s is not None for s, o in zip(out_shapes, node.output) if o)
        macs, flops = node_cost(node, shapes)
        output_bytes = sum(
            math.prod(s) * _itemsize(dtypes.get(o, 0)) for s, o in zip(out_shapes, node.output) if s is not None
        )
        layers.append(
            LayerStats(
                name=key,
                op_type=node.op_type,
                params=params,
                param_bytes=param_bytes,
                macs=macs,
                flops=flops,
                output_bytes=output_bytes,
                output_shapes=[list(s) if s is not None else None for s in out_shapes],
                shapes_known=known,
            )
        )

    bytes_by_dtype: Counter[str] = Counter()
    for tensor in every_initializer:
        bytes_by_dtype[_dtype_name(tensor.data_type)] += tensor_bytes(tensor)
    constant_elements = sum(
        math.prod(a.t.dims)
        for g in iter_graphs(model.graph)
        for n in g.node
        if n.op_type == "Constant"
        for a in n.attribute
        if a.type == onnx.AttributeProto.TENSOR
    )
    unknown = sum(1 for layer in layers if not layer.shapes_known)
    if unknown:
        warnings.append(f"{unknown} nodes have outputs of unknown shape; their MACs/FLOPs count as 0.")
    return ModelAnalysis(
        params=sum(math.prod(t.dims) for t in every_initializer),
        param_bytes=sum(bytes_by_dtype.values()),
        bytes_by_dtype=dict(sorted(bytes_by_dtype.items())),
        constant_elements=constant_elements,
        macs=sum(layer.macs for layer in layers),
        flops=sum(layer.flops for layer in layers),
        nodes=len(model.graph.node),
        activation_bytes=sum(layer.output_bytes for layer in layers),
        size_bytes=_size_on_disk(Path(path), sum(bytes_by_dtype.values())) if path is not None else None,
        inputs=[_tensor_info(v, concrete_inputs.get(v.name)) for v in graph_inputs(model)],
        outputs=[_tensor_info(v, shapes.get(v.name)) for v in model.graph.output],
        opsets={(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        op_types=dict(Counter(n.op_type for n in model.graph.node).most_common()),
        assumed_dims=assumed,
        layers=layers,
        unknown_shape_nodes=unknown,
        warnings=warnings,
    )


def node_keys(graph: onnx.GraphProto) -> list[str]:
    """A unique key per node: its name, else op type and first output; duplicates get '#position'.

    One rule for the whole workbench (graph view, properties, analysis, version diffs,
    profiles), so per-node figures can be looked up by the key any view uses. Unnamed nodes
    are keyed by their output rather than their position so a key survives a pass that
    inserts or removes nodes elsewhere in the graph.
    """
    keys: list[str] = []
    seen: set[str] = set()
    for position, node in enumerate(graph.node):
        key = node.name or (f"{node.op_type}:{node.output[0]}" if node.output and node.output[0] else f"{node.op_type}_{position}")
        if key in seen:
            key = f"{key}#{position}"
        seen.add(key)
        keys.append(key)
    return keys


def _concrete_input_shapes(model: onnx.ModelProto, dims: dict[str, int]) -> tuple[dict[str, Shape], dict[str, int]]:
    """Concrete shapes of the tensor inputs (inputs.resolve_dim rules) and the dims assumed."""
    assumed: dict[str, int] = {}
    shapes: dict[str, Shape] = {}
    for value in graph_inputs(model):
        if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
            continue
        shapes[value.name] = tuple(
            resolve_dim(d, axis, dims, assumed) for axis, d in enumerate(value.type.tensor_type.shape.dim)
        )
    return shapes, assumed


def _unused_dims(model: onnx.ModelProto, dims: dict[str, int]) -> list[str]:
    """Warnings for user-given dim names that match no input dimension (likely a typo)."""
    named = {
        d.dim_param
        for value in graph_inputs(model)
        if value.type.HasField("tensor_type")
        for d in value.type.tensor_type.shape.dim
        if d.dim_param
    }
    # "batch" is always meaningful: it sizes any symbolic first axis, whatever its name.
    return [f"Dim '{name}' matches no input dimension and was ignored." for name in dims if name not in named | {"batch"}]


def _infer_concrete_shapes(
    model: onnx.ModelProto, input_shapes: dict[str, Shape]
) -> tuple[dict[str, Shape], dict[str, int], list[str]]:
    """Shape inference over a light copy with concrete inputs: name -> shape, name -> dtype.

    One pass; a second one only when some output shapes stayed unknown and evaluating the
    small shape computations (see shape_folding) turned some of them into constants.
    """
    light = _light_copy(model, input_shapes)
    warnings: list[str] = []
    shapes, dtypes = _run_inference(light, warnings)
    # ONNX shape inference skips ONNX Runtime's contrib ops (fused attention, INT4 MatMul, ...):
    # give their outputs shapes and infer again, until nothing new is learnt. Each round reaches
    # one contrib op further down a chain (a BERT layer takes about three).
    for _round in range(MAX_CONTRIB_ROUNDS):
        if not _declare_contrib_outputs(light, shapes, dtypes):
            break
        shapes, dtypes = _run_inference(light, warnings)
    unknown = any(o and o not in shapes for n in light.graph.node for o in n.output)
    if unknown and not warnings:
        folded = fold_shape_values(light, shapes)
        if folded and _replace_with_constants(light, folded):
            shapes, dtypes = _run_inference(light, warnings)
        for name, value in folded.items():
            shapes.setdefault(name, tuple(value.shape))
            dtypes.setdefault(name, helper.np_dtype_to_tensor_dtype(value.dtype))
    return shapes, dtypes, warnings


def _declare_contrib_outputs(light: onnx.ModelProto, shapes: dict[str, Shape], dtypes: dict[str, int]) -> bool:
    """Add value_info for contrib-op outputs whose shapes follow from known inputs; True if any was added."""
    added = False
    # Small weights stay initializers in the light copy (inference reports only values it typed).
    inline = {t.name: tuple(t.dims) for t in light.graph.initializer}
    for node in light.graph.node:
        if node.domain != CONTRIB_DOMAIN or all(not o or o in shapes for o in node.output):
            continue
        ins = [(shapes.get(i) or inline.get(i)) if i else None for i in node.input]
        for index, (name, shape) in enumerate(zip(node.output, contrib_output_shapes(node, ins))):
            if name and shape is not None and name not in shapes:
                elem = _contrib_output_type(node, index, dtypes)
                light.graph.value_info.append(helper.make_tensor_value_info(name, elem, list(shape)))
                shapes[name] = shape
                added = True
    return added


def _contrib_output_type(node: onnx.NodeProto, index: int, dtypes: dict[str, int]) -> int:
    """Element type of a contrib output: its first input's, except the ops that yield float or a mask."""
    if node.op_type == "EmbedLayerNormalization":
        return TensorProto.INT32 if index == 1 else dtypes.get(node.input[2], TensorProto.FLOAT)
    if node.op_type in _FLOAT_RESULT:
        return TensorProto.FLOAT
    return dtypes.get(node.input[0], TensorProto.FLOAT)


def _run_inference(light: onnx.ModelProto, warnings: list[str]) -> tuple[dict[str, Shape], dict[str, int]]:
    try:
        inferred = onnx.shape_inference.infer_shapes(light, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - a bug in one op's inference must not stop analysis
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        warnings.append(f"Shape inference failed ({first[:120]}); MACs/FLOPs are incomplete.")
        inferred = light
    shapes: dict[str, Shape] = {}
    dtypes: dict[str, int] = {}
    graph = inferred.graph
    for value in [*graph.input, *graph.value_info, *graph.output]:
        if not value.type.HasField("tensor_type"):
            continue
        tensor_type = value.type.tensor_type
        dtypes[value.name] = tensor_type.elem_type
        if tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in tensor_type.shape.dim):
            shapes[value.name] = tuple(d.dim_value for d in tensor_type.shape.dim)
    return shapes, dtypes


def _replace_with_constants(light: onnx.ModelProto, folded: dict[str, np.ndarray]) -> bool:
    """Swap nodes whose every output was evaluated for initializers; True if any changed."""
    keep = []
    constants = []
    for node in light.graph.node:
        outputs = [o for o in node.output if o]
        if outputs and all(o in folded for o in outputs):
            constants.extend(numpy_helper.from_array(folded[o], o) for o in outputs)
        else:
            keep.append(node)
    if not constants:
        return False
    del light.graph.node[:]
    light.graph.node.extend(keep)
    light.graph.initializer.extend(constants)
    return True


def _light_copy(model: onnx.ModelProto, input_shapes: dict[str, Shape]) -> onnx.ModelProto:
    """The model with fixed input shapes, no stale value_info and big weights as typed inputs.

    Dropping stale value_info matters: symbolic shapes recorded at load time would otherwise
    be merged with (and block) the concrete ones.
    """
    light = onnx.ModelProto()
    light.ir_version = max(model.ir_version, 4)
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    graph = light.graph
    graph.name = model.graph.name
    graph.node.extend(model.graph.node)
    initializer_names = set()
    for tensor in model.graph.initializer:
        initializer_names.add(tensor.name)
        if math.prod(tensor.dims) <= _INLINE_ELEMENTS_LIMIT:
            graph.initializer.append(tensor)  # small: may be a shape or axes that inference reads
        else:
            graph.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims)))
    graph.sparse_initializer.extend(model.graph.sparse_initializer)
    for value in model.graph.input:
        if value.name in initializer_names:
            continue
        fixed = graph.input.add()
        fixed.CopyFrom(value)
        if value.name in input_shapes:
            shape = fixed.type.tensor_type.shape
            for dim, size in zip(shape.dim, input_shapes[value.name]):
                dim.Clear()
                dim.dim_value = size
    for value in model.graph.output:
        out = graph.output.add()
        out.name = value.name
        if value.type.HasField("tensor_type"):
            # Only the element type: the declared symbolic shape would be merged with, and
            # could conflict with, the concrete shape inference finds.
            out.type.tensor_type.elem_type = value.type.tensor_type.elem_type
        else:
            out.type.CopyFrom(value.type)
    return light


def node_cost(node: onnx.NodeProto, shapes: dict[str, Shape]) -> tuple[int, int]:
    """(MACs, FLOPs) of one node from concrete tensor shapes; (0, 0) when a shape is unknown."""
    op = node.op_type
    ins = [shapes.get(i) if i else None for i in node.input]
    out = shapes.get(node.output[0]) if node.output and node.output[0] else None
    out_elems = math.prod(out) if out is not None else None
    if is_contrib(node):
        return contrib_cost(node, ins, out) or (0, 0)

    if op in ("Conv", "ConvInteger", "QLinearConv"):
        weight = ins[3] if op == "QLinearConv" else (ins[1] if len(ins) > 1 else None)
        if weight is None or out_elems is None or len(weight) < 2:
            return 0, 0
        macs = out_elems * weight[1] * math.prod(weight[2:])  # weight[1] = C_in / groups
        bias_index = {"Conv": 2, "QLinearConv": 8}.get(op)
        has_bias = bias_index is not None and len(node.input) > bias_index and bool(node.input[bias_index])
        return macs, 2 * macs + (out_elems if has_bias else 0)
    if op == "ConvTranspose":
        x, weight = ins[0], ins[1] if len(ins) > 1 else None
        if x is None or weight is None or out_elems is None:
            return 0, 0
        # Every input element is scattered through a kernel into (C_out / groups) channels.
        macs = math.prod(x) * weight[1] * math.prod(weight[2:])
        has_bias = len(node.input) > 2 and bool(node.input[2])
        return macs, 2 * macs + (out_elems if has_bias else 0)
    if op == "Gemm":
        a = ins[0]
        if a is None or out_elems is None or len(a) != 2:
            return 0, 0
        k = a[0] if _attr(node, "transA", 0) else a[1]
        macs = out_elems * k
        has_c = len(node.input) > 2 and bool(node.input[2])
        return macs, 2 * macs + (out_elems if has_c else 0)
    if op in ("MatMul", "MatMulInteger", "QLinearMatMul", "FusedMatMul"):
        a = ins[0]
        if a is None or out_elems is None or not a:
            return 0, 0
        macs = out_elems * a[-1]
        return macs, 2 * macs
    if op == "Einsum":
        macs = _einsum_macs(node, ins)
        return macs, 2 * macs
    if op in _RNN_GATES:
        x, weight = ins[0], ins[1] if len(ins) > 1 else None
        if x is None or weight is None or len(x) != 3 or len(weight) != 3:
            return 0, 0
        hidden = weight[1] // _RNN_GATES[op]
        seq, batch, features = (x[1], x[0], x[2]) if _attr(node, "layout", 0) else x
        macs = seq * batch * weight[0] * weight[1] * (features + hidden)
        return macs, 2 * macs
    if out_elems is None:
        return 0, 0
    if op in _WINDOW_POOLS:
        return 0, out_elems * math.prod(_attr(node, "kernel_shape", [1]))
    if op in _REDUCTIONS:
        return 0, math.prod(ins[0]) if ins and ins[0] is not None else out_elems
    if op in ("Resize", "Upsample"):
        mode = _attr(node, "mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        return 0, out_elems * _RESIZE_COST.get(mode, 4)
    if op in _ELEMENTWISE_COST:
        return 0, out_elems * _ELEMENTWISE_COST[op]
    if op in _ELEMENTWISE_ONE:
        if op in ("Sum", "Max", "Min", "Mean"):
            # Variadic: (inputs - 1) operations per output element.
            return 0, out_elems * max(1, len([i for i in node.input if i]) - 1)
        return 0, out_elems
    return 0, 0


def _einsum_macs(node: onnx.NodeProto, ins: list[Shape | None]) -> int:
    # Contraction cost = product of the sizes of every distinct index letter.
    equation = _attr(node, "equation", b"")
    equation = equation.decode() if isinstance(equation, bytes) else equation
    operands = equation.replace(" ", "").split("->")[0].split(",")
    if len(operands) < 2 or any(s is None for s in ins) or "..." in equation:
        return 0
    sizes: dict[str, int] = {}
    for letters, shape in zip(operands, ins):
        for letter, size in zip(letters, shape):
            sizes[letter] = max(sizes.get(letter, 1), size)
    return math.prod(sizes.values())


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


@functools.lru_cache(maxsize=None)
def _itemsize(data_type: int) -> int:
    if data_type in (TensorProto.UNDEFINED, TensorProto.STRING):
        return 0
    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(data_type)).itemsize
    except (KeyError, TypeError):
        return 0


def _dtype_name(data_type: int) -> str:
    """numpy's name (float32, int64, bfloat16 via ml_dtypes), else ONNX's lower-cased name."""
    try:
        name = np.dtype(helper.tensor_dtype_to_np_dtype(data_type)).name
    except (KeyError, TypeError, ValueError):
        name = "object"
    return TensorProto.DataType.Name(data_type).lower() if name == "object" else name


def _tensor_info(value: onnx.ValueInfoProto, concrete: Shape | None) -> TensorInfo:
    if not value.type.HasField("tensor_type"):
        return TensorInfo(value.name, value.type.WhichOneof("value") or "unknown", None, None)
    tensor_type = value.type.tensor_type
    shape: list[int | str] | None = None
    if tensor_type.HasField("shape"):
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor_type.shape.dim]
    return TensorInfo(
        name=value.name,
        dtype=_dtype_name(tensor_type.elem_type) if tensor_type.elem_type else "unknown",
        shape=shape,
        concrete_shape=list(concrete) if concrete is not None else None,
    )


def _size_on_disk(path: Path, param_bytes: int) -> int | None:
    """Model file plus the external data files it names (read without loading the weights)."""
    if not path.is_file():
        return None
    if path.stat().st_size >= param_bytes:
        return path.stat().st_size  # the weights fit in the file: no external data to look up
    from onnx_workbench.pipelines.model_graphs import external_data_files

    try:
        return path.stat().st_size + sum(f.stat().st_size for f in external_data_files(path))
    except Exception:  # noqa: BLE001 - size is informative; a bad file is load_model's to report
        return path.stat().st_size
