"""ONNX graph → a flat, Qt-free description of what the graph view draws (nodes, edges, text)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import onnx

from onnx_workbench.pipelines.analysis import node_keys

# Node kinds: operators, graph inputs/outputs, and (in subgraphs) tensors from the outer scope.
KIND_OP, KIND_INPUT, KIND_OUTPUT, KIND_OUTER = 0, 1, 2, 3

CATEGORIES = (
    "conv",
    "matmul",
    "activation",
    "normalization",
    "pooling",
    "shape",
    "quantization",
    "fused",
    "custom",
    "other",
    "io",
)

_CATEGORY_OPS = {
    "conv": {"Conv", "ConvTranspose", "ConvInteger", "DeformConv"},
    "matmul": {"MatMul", "Gemm", "MatMulInteger", "Einsum"},
    "activation": {
        "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Elu", "Selu",
        "Celu", "Gelu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish", "Clip",
        "ThresholdedRelu", "Hardmax", "Erf",
    },
    "normalization": {
        "BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
        "LpNormalization", "MeanVarianceNormalization", "RMSNormalization", "LRN",
    },
    "pooling": {
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool",
        "MaxRoiPool", "RoiAlign", "MaxUnpool",
    },
    "shape": {
        "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split", "Slice",
        "Gather", "GatherElements", "GatherND", "Shape", "Size", "Expand", "Tile", "Pad",
        "Identity", "Cast", "CastLike", "DepthToSpace", "SpaceToDepth", "Resize", "Upsample",
        "ScatterND", "ScatterElements", "Constant", "ConstantOfShape", "Range", "Where",
    },
    "quantization": {
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv",
        "QLinearMatMul", "QLinearAdd", "QLinearMul",
    },
}
_OP_TO_CATEGORY = {op: cat for cat, ops in _CATEGORY_OPS.items() for op in ops}
_STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml"}
_MS_DOMAIN = "com.microsoft"

# Attributes worth a glance on the node, with a short label; others stay in the properties panel.
_KEY_ATTRS = (
    ("kernel_shape", "k"), ("strides", "s"), ("pads", "p"), ("dilations", "d"), ("group", "g"),
    ("axis", "axis"), ("axes", "axes"), ("perm", "perm"), ("transA", "tA"), ("transB", "tB"),
    ("to", "to"), ("mode", "mode"), ("epsilon", "eps"), ("alpha", "α"),
)
MAX_INIT_LINES = 3
MAX_TEXT_CHARS = 32


def op_category(op_type: str, domain: str) -> str:
    """The colour family of an operator: conv, matmul, activation, …, fused, custom or other."""
    if domain == _MS_DOMAIN:
        # ORT's fused kernels (FusedConv, Attention, QGemm…) live in com.microsoft.
        return "fused"
    if domain not in _STANDARD_DOMAINS:
        return "custom"
    return _OP_TO_CATEGORY.get(op_type, "other")


def format_shape(dims: list[int | str]) -> str:
    """'1×64×56×56' for a shape; 'scalar' for rank 0."""
    if not dims:
        return "scalar"
    return "×".join(str(d) for d in dims)


def _value_shape(value: onnx.ValueInfoProto) -> str | None:
    """A tensor's shape from its value_info, or None when unknown."""
    if not value.type.HasField("tensor_type"):
        return None
    tensor_type = value.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    dims: list[int | str] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(dim.dim_value)
        else:
            dims.append(dim.dim_param or "?")
    return format_shape(dims)


def _attr_text(value: onnx.AttributeProto) -> str | None:
    """A compact text for one key attribute, or None if it says nothing worth showing."""
    if value.type == onnx.AttributeProto.INTS:
        ints = list(value.ints)
        if value.name == "pads" and not any(ints):
            return None
        if value.name in ("strides", "dilations") and all(i == 1 for i in ints):
            return None
        return "×".join(map(str, ints)) if value.name in ("kernel_shape", "strides", "dilations") else ",".join(map(str, ints))
    if value.type == onnx.AttributeProto.INT:
        if value.name == "group" and value.i == 1:
            return None
        if value.name == "to":
            return onnx.helper.tensor_dtype_to_np_dtype(value.i).name if value.i else None
        return str(value.i)
    if value.type == onnx.AttributeProto.FLOAT:
        return f"{value.f:g}"
    if value.type == onnx.AttributeProto.STRING:
        return value.s.decode("utf-8", "replace")[:12]
    return None


def attributes_summary(node: onnx.NodeProto) -> str:
    """'k 3×3 s 2 p 1,1,1,1' — the key attributes of a node on one short line."""
    if not node.attribute:
        return ""
    by_name = {a.name: a for a in node.attribute}
    parts = []
    for attr_name, label in _KEY_ATTRS:
        attr = by_name.get(attr_name)
        if attr is None:
            continue
        try:
            text = _attr_text(attr)
        except (ValueError, KeyError, TypeError):  # unknown dtype enum in a hostile model
            text = None
        if text is not None:
            parts.append(f"{label} {text}")
    return _clip(" ".join(parts))


@lru_cache(maxsize=512)
def _input_roles(op_type: str, domain: str) -> tuple[tuple[str, ...], bool]:
    """Formal input names of an op from the ONNX schema (e.g. Conv → X, W, B), last one variadic?"""
    try:
        schema = onnx.defs.get_schema(op_type, domain=domain)
    except Exception:  # noqa: BLE001 - custom or unknown ops have no schema
        return (), False
    names = tuple(i.name for i in schema.inputs)
    variadic = bool(schema.inputs) and schema.inputs[-1].option == onnx.defs.OpSchema.FormalParameterOption.Variadic
    return names, variadic


def _role(op_type: str, domain: str, position: int, tensor: str) -> str:
    """The short label of an initializer on its consumer: the schema's input name, else the tensor's."""
    names, variadic = _input_roles(op_type, domain)
    if position < len(names):
        return names[position]
    if variadic and names:
        return names[-1]
    return _clip(tensor, 12)


def _clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Shorten text for a node box, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class GraphInfo:
    """What the graph view draws: one entry per node (ops, inputs, outputs) and per edge."""

    names: list[str] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # op type, or the tensor name for I/O nodes
    categories: list[str] = field(default_factory=list)
    details: list[list[str]] = field(default_factory=list)  # name, attributes, initializer lines
    subgraphs: list[tuple[str, ...]] = field(default_factory=list)  # graph-valued attribute names
    proto_index: list[int] = field(default_factory=list)  # position in graph.node, -1 for I/O
    edge_src: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    edge_dst: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    edge_labels: list[str] = field(default_factory=list)  # tensor shape (or name) per edge

    def __len__(self) -> int:
        return len(self.names)


def extract_graph(graph: onnx.GraphProto) -> GraphInfo:
    """Nodes, edges and box text of one ONNX graph; initializers become lines on their consumers."""
    info = GraphInfo()
    initializers = {t.name: format_shape(list(t.dims)) for t in graph.initializer}
    initializers.update(
        (t.values.name, format_shape(list(t.dims))) for t in graph.sparse_initializer
    )
    shapes: dict[str, str] = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        shape = _value_shape(value)
        if shape is not None:
            shapes[value.name] = shape
    producer: dict[str, int] = {}

    def add(
        name: str, kind: int, title: str, category: str, details: list[str], subs=(), proto=-1
    ) -> int:
        info.names.append(name)
        info.kinds.append(kind)
        info.titles.append(title)
        info.categories.append(category)
        info.details.append(details)
        info.subgraphs.append(tuple(subs))
        info.proto_index.append(proto)
        return len(info.names) - 1

    for value in graph.input:
        if value.name in initializers:
            continue  # IR < 4 lists weights as inputs too
        producer[value.name] = add(f"input:{value.name}", KIND_INPUT, _clip(value.name), "io", [shapes.get(value.name, "")])

    src: list[int] = []
    dst: list[int] = []
    tensors: list[str] = []
    op_index: list[int] = []
    # The same unique keys as the analysis and properties panel, so overlays match by name.
    for position, (name, node) in enumerate(zip(node_keys(graph), graph.node)):
        lines = [_clip(name)]
        attrs = attributes_summary(node)
        if attrs:
            lines.append(attrs)
        init_lines = [
            f"{_role(node.op_type, node.domain, i, t)} {initializers[t]}"
            for i, t in enumerate(node.input)
            if t in initializers
        ]
        if len(init_lines) > MAX_INIT_LINES:
            init_lines = init_lines[: MAX_INIT_LINES - 1] + [f"+{len(init_lines) - MAX_INIT_LINES + 1} more"]
        lines.extend(init_lines)
        subs = [a.name for a in node.attribute if a.type == onnx.AttributeProto.GRAPH]
        index = add(
            name, KIND_OP, _clip(node.op_type, 24), op_category(node.op_type, node.domain),
            lines, subs, position,
        )
        for tensor in node.output:
            if tensor:
                producer[tensor] = index
        op_index.append(index)

    # Edges after all producers are known: a graph that is not topologically sorted (or, when
    # broken, has a cycle) still gets its real edges.
    for index, node in zip(op_index, graph.node):
        for tensor in node.input:
            if not tensor or tensor in initializers:
                continue
            if tensor not in producer:
                # Only in subgraphs (or broken models): a tensor from the enclosing scope.
                producer[tensor] = add(f"outer:{tensor}", KIND_OUTER, _clip(tensor), "io", [shapes.get(tensor, "")])
            src.append(producer[tensor])
            dst.append(index)
            tensors.append(tensor)

    for value in graph.output:
        out = add(f"output:{value.name}", KIND_OUTPUT, _clip(value.name), "io", [shapes.get(value.name, "")])
        if value.name in producer:
            src.append(producer[value.name])
            dst.append(out)
            tensors.append(value.name)

    info.edge_src = np.asarray(src, dtype=np.int64)
    info.edge_dst = np.asarray(dst, dtype=np.int64)
    info.edge_labels = [shapes.get(t, "") for t in tensors]
    return info
