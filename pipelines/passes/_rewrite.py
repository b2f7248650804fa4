"""Shared graph-surgery helpers for passes built on onnx-ir and the onnxscript rewriter.

Declares no pass; the engine imports it like any pass module, which is harmless.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import numpy as np
import onnx
import onnx_ir as ir
import onnx_ir.passes.common as common_passes
from onnx_ir.passes.common.identity_elimination import IdentityEliminationPass
from onnxscript.rewriter import RewriteRule, RewriteRuleSet

_T = TypeVar("_T")


def to_ir(model: onnx.ModelProto) -> ir.Model:
    """The onnx-ir view of a protobuf model (tensors are wrapped, not copied)."""
    return ir.serde.deserialize_model(model)


def to_proto(model: ir.Model) -> onnx.ModelProto:
    """Serialize an onnx-ir model back to protobuf."""
    return ir.serde.serialize_model(model)


def op_counts(graph: onnx.GraphProto | ir.Graph) -> Counter[str]:
    """Node count per op type (domain-qualified for non-standard domains) of a graph, protobuf or onnx-ir."""
    nodes = graph.node if isinstance(graph, onnx.GraphProto) else graph
    return Counter(f"{n.domain}.{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type for n in nodes)


def apply_rules(model: ir.Model, rules: Sequence[RewriteRule], *, commute: bool = False) -> int:
    """Apply rewrite rules until none matches; return how many rewrites happened."""
    if not rules:
        return 0
    return RewriteRuleSet(list(rules), commute=commute).apply_to_model(model)


def remove_dead_code(model: ir.Model) -> None:
    """Drop nodes and initializers that no longer feed a graph output (signature kept)."""
    common_passes.RemoveUnusedNodesPass()(model)
    common_passes.RemoveUnusedOpsetsPass()(model)


class SafeIdentityEliminationPass(IdentityEliminationPass):
    """onnx-ir's Identity elimination, keeping Identities whose removal would merge two graph outputs.

    onnx-ir renames the Identity's input to the output's name when the output is a graph
    output; if that input is itself a graph output (y = Identity(x) with both x and y
    returned), the rename would silently drop output x, so such nodes are kept.
    """

    def _try_eliminate_identity_node(self, node: ir.Node) -> bool:
        if (
            node.op_type == "Identity"
            and node.domain == ""
            and len(node.inputs) == 1
            and node.inputs[0] is not None
            and node.inputs[0].is_graph_output()
            and node.outputs[0].is_graph_output()
        ):
            return False
        return super()._try_eliminate_identity_node(node)


def eliminate_identities(model: ir.Model) -> int:
    """Remove Identity nodes, keeping graph output names stable; return how many went."""
    before = sum(1 for n in ir.traversal.RecursiveGraphIterator(model.graph) if n.op_type == "Identity")
    SafeIdentityEliminationPass()(model)
    after = sum(1 for n in ir.traversal.RecursiveGraphIterator(model.graph) if n.op_type == "Identity")
    return before - after


def eliminate_identity_nodes(nodes: Iterable[ir.Node]) -> int:
    """Remove just these Identity nodes (same output-name rules); return how many went."""
    eliminator = SafeIdentityEliminationPass()
    return sum(eliminator._try_eliminate_identity_node(node) for node in nodes)



def producer_names(model: ir.Model, consumer_op: str, producer_ops: set[str]) -> dict[str, str]:
    """Map each `consumer_op` node's output name to the name of its `producer_ops` input node.

    Recorded before a fusion so the fused node can take the producer's name afterwards: the
    rewriter names new nodes 'node_Conv_0', which would make a folded Conv look like a
    removed and an added node instead of a changed one.
    """
    names = {}
    for node in model.graph:
        if node.op_type != consumer_op or not node.inputs or node.inputs[0] is None:
            continue
        producer = node.inputs[0].producer()
        if producer is not None and producer.op_type in producer_ops and producer.name and node.outputs[0].name:
            names[node.outputs[0].name] = producer.name
    return names


def restore_names(model: ir.Model, names: dict[str, str]) -> None:
    """Give each node whose first output is in `names` that name, unless another node has it."""
    taken = {node.name for node in model.graph}
    for node in model.graph:
        wanted = names.get(node.outputs[0].name or "") if node.outputs else None
        if wanted and wanted not in taken and node.name != wanted:
            taken.discard(node.name)
            node.name = wanted
            taken.add(wanted)


# Where a stand-in with the weight's shape points: no file by that name is ever read or written.
_STAND_IN_LOCATION = "weights-left-in-onnx-ir"
# Initializers above this size are left out of the protobufs handed to onnx's and ONNX Runtime's
# graph tools; smaller ones (shapes, axes, scales) travel with the graph, because tools read them.
DETACH_MIN_BYTES = 1024


def call_without_weights(func: Callable[[onnx.ModelProto], _T], model: ir.Model) -> _T:
    """Call a function of onnx's C API (shape inference, the checker, the version converter) on the graph alone.

    Those functions take a ModelProto, and serializing every weight into one would copy the
    whole model (and fail above 2 GB). onnx-ir's own passes use this helper: it turns the
    initializers over 1 KB into graph inputs for the call and puts them back afterwards.
    """
    from onnx_ir.passes.common._c_api_utils import call_onnx_api

    return call_onnx_api(func, model)


def detach_weights(model: ir.Model, *, keep_shapes: bool = True) -> tuple[onnx.ModelProto, dict[str, ir.TensorProtocol]]:
    """The model as a protobuf whose large initializers are stand-ins without data, and those weights by name.

    For graph tools that rewrite a ModelProto and must still see the weights as initializers
    (ONNX Runtime's shape helpers and float16 converter): each initializer over
    DETACH_MIN_BYTES keeps its name and type, so no weight is read or copied, and
    `attach_weights` puts the real ones back into the tool's result. keep_shapes: the stand-in
    is a reference to a data file that does not exist, with the weight's shape (for shape
    inference); else an empty tensor (for tools that read every weight they touch, such as
    the float16 converter, which reads each one only to learn its shape). `model` itself is
    left as it was.
    """
    weights: dict[str, ir.TensorProtocol] = {}
    values = [
        value
        for graph in model.graphs()
        for value in graph.initializers.values()
        if value.const_value is not None and value.const_value.nbytes > DETACH_MIN_BYTES and value.name
    ]
    for value in values:
        tensor = value.const_value
        assert tensor is not None and value.name is not None
        weights[value.name] = tensor
        if keep_shapes:
            value.const_value = ir.ExternalTensor(
                _STAND_IN_LOCATION, 0, tensor.nbytes, tensor.dtype, shape=tensor.shape, name=value.name
            )
        else:
            value.const_value = ir.tensor(np.empty(0, tensor.dtype.numpy()), dtype=tensor.dtype, name=value.name)
    try:
        return ir.serde.serialize_model(model), weights
    finally:
        for value in values:
            value.const_value = weights[value.name or ""]


def attach_weights(
    proto: onnx.ModelProto,
    weights: dict[str, ir.TensorProtocol],
    adapt: Callable[[ir.TensorProtocol, ir.DataType], ir.TensorProtocol] | None = None,
) -> ir.Model:
    """The onnx-ir model of a tool's output, with the weights `detach_weights` left out put back by name.

    A tool may have changed a weight's type (float16 conversion): `adapt(weight, new_type)`
    then returns the weight in that type (lazily, so nothing is computed before the save).
    """
    model = ir.serde.deserialize_model(proto)
    for graph in model.graphs():
        for value in graph.initializers.values():
            original, tensor = weights.get(value.name or ""), value.const_value
            if original is None or tensor is None or not _is_stand_in(tensor):
                continue  # not detached, or replaced by the tool
            if tensor.dtype != original.dtype:
                if adapt is None:
                    raise RuntimeError(f"weight '{value.name}' changed type from {original.dtype} to {tensor.dtype}")
                original = adapt(original, tensor.dtype)
            value.const_value = original
            value.shape = ir.Shape(original.shape)
    return model


def _is_stand_in(tensor: ir.TensorProtocol) -> bool:
    if isinstance(tensor, ir.ExternalTensor):
        return tensor.location == _STAND_IN_LOCATION
    return tensor.size == 0
