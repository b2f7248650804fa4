"""Shared graph-surgery helpers for passes built on onnx-ir and the onnxscript rewriter.

Declares no pass; the engine imports it like any pass module, which is harmless.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import onnx
import onnx_ir as ir
import onnx_ir.passes.common as common_passes
from onnx_ir.passes.common.identity_elimination import IdentityEliminationPass
from onnxscript.rewriter import RewriteRule, RewriteRuleSet



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
