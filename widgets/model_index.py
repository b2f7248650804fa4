"""A read-only index over a ModelProto for the panels: nodes by key, tensor types, initializers.

Pure Python (no Qt) so the search and properties panels share one lookup instead of each
walking the protobuf.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

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
    """Lookups over one graph of a model: the main graph, or a subgraph shown in the view.

    Built on first use, not when made: a model shown makes one at once, and its panels read it
    a turn later (see one_per_turn), so the walk over the graph is not part of showing it.
    """

    def __init__(self, model: onnx.ModelProto, graph: onnx.GraphProto | None = None) -> None:
        self.model = model
        self.graph = model.graph if graph is None else graph

    @cached_property
    def nodes(self) -> dict[str, onnx.NodeProto]:
        """Node key -> node."""
        return dict(zip(node_keys(self.graph), self.graph.node))

    @cached_property
    def initializers(self) -> dict[str, onnx.TensorProto]:
        """Weight name -> tensor; a subgraph reads outer-scope weights by name, its own shadow them."""
        own = {t.name: t for t in self.graph.initializer}
        if self.graph is self.model.graph:
            return own
        return {**{t.name: t for t in self.model.graph.initializer}, **own}

    @cached_property
    def tensors(self) -> dict[str, TensorInfo]:
        """Value name -> type and shape, from declarations and weights."""
        model, graph = self.model, self.graph
        tensors: dict[str, TensorInfo] = {}
        # Outer-scope values first, so a subgraph's own declarations win.
        for g in (model.graph, graph) if graph is not model.graph else (graph,):
            for vi in list(g.input) + list(g.value_info) + list(g.output):
                tensors[vi.name] = _value_info(vi)
        for t in self.initializers.values():
            tensors[t.name] = TensorInfo(t.name, _dtype_name(t.data_type), tuple(t.dims))
        return tensors

    @cached_property
    def io_tensors(self) -> dict[str, TensorInfo]:
        """Type and shape of the graph's inputs and outputs, from their declarations alone:
        `tensors` walks every value of the graph (~37 ms on a quantized BERT-base)."""
        return {vi.name: _value_info(vi) for vi in [*self.graph.input, *self.graph.output]}

    @cached_property
    def producer(self) -> dict[str, str]:
        """Value name -> key of the node that writes it."""
        return {out: key for key, node in self.nodes.items() for out in node.output if out}

    @cached_property
    def consumers(self) -> dict[str, list[str]]:
        """Value name -> keys of the nodes that read it, in graph order."""
        consumers: dict[str, list[str]] = {}
        for key, node in self.nodes.items():
            for inp in node.input:
                if inp:
                    consumers.setdefault(inp, []).append(key)
        return consumers

    @cached_property
    def graph_inputs(self) -> list[str]:
        """The graph's real inputs (weights listed as inputs, as old exports do, left out)."""
        return [vi.name for vi in self.graph.input if vi.name not in self.initializers]

    @cached_property
    def graph_outputs(self) -> list[str]:
        """The graph's outputs."""
        return [vi.name for vi in self.graph.output]

    def tensor(self, name: str) -> TensorInfo:
        """Type information for tensor `name` (unknown dtype and shape when inference found none)."""
        return self.tensors.get(name, TensorInfo(name, "?", None))

    def node_for_tensor(self, name: str) -> str | None:
        """The node that produces `name`, else the first that consumes it, else None."""
        if name in self.producer:
            return self.producer[name]
        consumers = self.consumers.get(name)
        return consumers[0] if consumers else None
