"""Qt-free layered layout of ONNX graphs for the graph view, the render command and benchmarks."""
from __future__ import annotations

import onnx

from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.pipelines.graph_layout.graph import (
    CATEGORIES,
    KIND_INPUT,
    KIND_OP,
    KIND_OUTER,
    KIND_OUTPUT,
    GraphInfo,
    extract_graph,
    op_category,
)
from onnx_workbench.pipelines.graph_layout.layered import LayoutResult, layout_graph_info

__all__ = [
    "CATEGORIES", "KIND_INPUT", "KIND_OP", "KIND_OUTER", "KIND_OUTPUT", "GraphInfo",
    "LayoutResult", "extract_graph", "layout_graph", "layout_model", "op_category",
    "subgraph_of",
]


def layout_graph(graph: onnx.GraphProto) -> LayoutResult:
    """Lay out one graph (a model's main graph or an If/Loop/Scan body)."""
    return layout_graph_info(extract_graph(graph))


def layout_model(model: onnx.ModelProto) -> LayoutResult:
    """Lay out a model's main graph."""
    return layout_graph(model.graph)


def subgraph_of(graph: onnx.GraphProto, info: GraphInfo, node_name: str, attr: str) -> onnx.GraphProto:
    """The body graph stored in attribute `attr` of node `node_name` (as named by `info`)."""
    try:
        position = info.proto_index[info.names.index(node_name)]
    except ValueError:
        raise WorkbenchError(f"There is no node called {node_name!r} in this graph; pick one from the view.") from None
    if position < 0:
        raise WorkbenchError(f"{node_name!r} is a graph input or output and has no subgraph.")
    for attribute in graph.node[position].attribute:
        if attribute.name == attr and attribute.type == onnx.AttributeProto.GRAPH:
            return attribute.g
    raise WorkbenchError(f"Node {node_name!r} has no subgraph attribute {attr!r}; use one of its graph attributes.")
