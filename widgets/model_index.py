"""A read-only index over a ModelProto for the panels: nodes by key, tensor types, initializers.

Pure Python (no Qt) so the search and properties panels share one lookup instead of each
walking the protobuf.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import onnx
from onnx import helper

# The one key rule shared with the graph view and the analysis' per-layer figures.
from onnx_workbench.pipelines.analysis import node_keys


@dataclass(frozen=True)
class TensorInfo:
    """Element type and shape of a graph value as text (shape dims: ints or symbolic names)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...] | None

    def shape_text(self) -> str:
        """The shape as `[N, 3, 224, 224]`, or `?` when unknown."""
        if self.shape is None:
            return "?"
        return "[" + ", ".join(str(d) for d in self.shape) + "]"


@cache  # a numpy dtype made per tensor was a fifth of indexing a model
def _dtype_name(elem_type: int) -> str:
    try:
        return helper.tensor_dtype_to_np_dtype(elem_type).name
    except Exception:  # noqa: BLE001 - undefined/exotic element types: fall back to ONNX's name
        return onnx.TensorProto.DataType.Name(elem_type).lower() if elem_type else "?"


def _value_info(vi: onnx.ValueInfoProto) -> TensorInfo:
    tensor_type = vi.type.tensor_type
    shape: tuple[int | str, ...] | None = None
    if tensor_type.HasField("shape"):
        shape = tuple(
            d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in tensor_type.shape.dim
        )
    return TensorInfo(vi.name, _dtype_name(tensor_type.elem_type), shape)


def subgraph_at(model: onnx.ModelProto, crumbs: list[str]) -> onnx.GraphProto:
    """The graph reached from the main graph through `crumbs` ("node_key/attribute" each).

    The crumbs are the graph view's breadcrumb after its first entry. Node keys may contain
    "/" (exported names often do) but attribute names never do, hence the split from the right.
    Raises KeyError when a step does not exist.
    """
    graph = model.graph
    for crumb in crumbs:
        key, _, attr = crumb.rpartition("/")
        node = dict(zip(node_keys(graph), graph.node))[key]
        graph = next(a.g for a in node.attribute if a.name == attr and a.type == onnx.AttributeProto.GRAPH)
    return graph


class ModelIndex:
    """Lookups over one graph of a model: the main graph, or a subgraph shown in the view."""

    def __init__(self, model: onnx.ModelProto, graph: onnx.GraphProto | None = None) -> None:
        graph = model.graph if graph is None else graph
        self.model = model
        self.graph = graph
        self.nodes: dict[str, onnx.NodeProto] = {}
        for key, node in zip(node_keys(graph), graph.node):
            self.nodes[key] = node
        self.initializers: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
        if graph is not model.graph:
            # A subgraph reads outer-scope weights by name; inner ones shadow them.
            self.initializers = {**{t.name: t for t in model.graph.initializer}, **self.initializers}
        self.tensors: dict[str, TensorInfo] = {}
        # Outer-scope values first, so a subgraph's own declarations win.
        for g in (model.graph, graph) if graph is not model.graph else (graph,):
            for vi in list(g.input) + list(g.value_info) + list(g.output):
                self.tensors[vi.name] = _value_info(vi)
        for t in self.initializers.values():
            self.tensors[t.name] = TensorInfo(t.name, _dtype_name(t.data_type), tuple(t.dims))
        self.producer: dict[str, str] = {}
        self.consumers: dict[str, list[str]] = {}
        for key, node in self.nodes.items():
            for out in node.output:
                if out:
                    self.producer[out] = key
            for inp in node.input:
                if inp:
                    self.consumers.setdefault(inp, []).append(key)
        self.graph_inputs = [vi.name for vi in graph.input if vi.name not in self.initializers]
        self.graph_outputs = [vi.name for vi in graph.output]

    def tensor(self, name: str) -> TensorInfo:
        """Type information for tensor `name` (unknown dtype and shape when inference found none)."""
        return self.tensors.get(name, TensorInfo(name, "?", None))

    def node_for_tensor(self, name: str) -> str | None:
        """The node that produces `name`, else the first that consumes it, else None."""
        if name in self.producer:
            return self.producer[name]
        consumers = self.consumers.get(name)
        return consumers[0] if consumers else None
