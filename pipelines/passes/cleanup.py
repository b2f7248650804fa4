"""cleanup: remove Identity and inference Dropout, unused inputs/initializers, duplicate weights."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option

if TYPE_CHECKING:
    import onnx_ir as ir


def _dropout_is_inference(node: ir.Node) -> bool:
    """True when a Dropout passes its input through: no training_mode, or a constant false one."""
    # Opset 12+ takes training_mode as an optional input; before that Dropout was always
    # inference-time identity in ONNX Runtime. onnxscript's dropout rule only matches the
    # attribute form, so we check the input here.
    if len(node.inputs) < 3 or node.inputs[2] is None:
        return True
    value = node.inputs[2].const_value
    return value is not None and not bool(value.numpy().any())


def _dropouts_to_identity(graph: ir.Graph) -> list[ir.Node]:
    """Replace each inference Dropout whose mask is unused by an Identity (removed afterwards)."""
    import onnx_ir as ir

    replaced = []
    for node in list(graph):
        if node.op_type != "Dropout" or node.domain != "" or not _dropout_is_inference(node):
            continue
        mask = node.outputs[1] if len(node.outputs) > 1 else None
        if mask is not None and (mask.uses() or mask.is_graph_output()):
            continue
        identity = ir.Node("", "Identity", [node.inputs[0]], name=node.name)
        ir.convenience.replace_nodes_and_values(
            graph, node, [node], [identity], [node.outputs[0]], [identity.outputs[0]]
        )
        replaced.append(identity)
    return replaced


def _remove_unused_inputs(graph: ir.Graph) -> list[str]:
    """Drop graph inputs that feed no node and are not returned as outputs."""
    removed = []
    for value in list(graph.inputs):
        if not value.uses() and not value.is_graph_output() and not value.is_initializer():
            graph.inputs.remove(value)
            removed.append(value.name or "")
    return removed


def _remove_outputs(graph: ir.Graph, names: list[str]) -> None:
    """Drop the named graph outputs (the nodes that only fed them go with dead code removal)."""
    by_name = {value.name: value for value in graph.outputs}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise ConfigError(
            f"pass 'cleanup': the model has no output '{missing[0]}' (outputs: {', '.join(by_name)}).",
            "remove_outputs",
        )
    if len(set(names)) >= len(by_name):
        raise ConfigError("pass 'cleanup': removing every output would leave an empty model.", "remove_outputs")
    for name in names:
        graph.outputs.remove(by_name[name])


class Cleanup(Pass):
    """Tidy a graph without changing what it computes."""

    name = "cleanup"
    category = "cleanup"
    description = "Remove Identity and inference Dropout nodes, unused inputs and weights, and duplicate weights."

    @dataclass(frozen=True)
    class Config(PassConfig):
        identity: bool = option(True, help="Remove Identity nodes (graph output names are kept).")
        dropout: bool = option(True, help="Remove Dropout nodes that run in inference mode and whose mask is unused.")
        unused: bool = option(True, help="Remove nodes and initializers that feed no output.")
        unused_inputs: bool = option(True, help="Remove graph inputs that feed nothing.")
        deduplicate: bool = option(True, help="Share one copy of initializers with the same type, shape and bytes.")
        remove_outputs: list[str] = option(
            [], help="Graph outputs to drop (with the nodes only they need); none by default."
        )

    def transform_ir(self, model_ir: ir.Model, config: PassConfig, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Run the enabled clean-ups in an order where each exposes work for the next."""
        import onnx_ir.passes.common as common_passes

        from onnx_workbench.pipelines.passes._rewrite import eliminate_identities, eliminate_identity_nodes, op_counts, remove_dead_code

        assert isinstance(config, Cleanup.Config)
        graph = model_ir.graph
        identities_before = op_counts(graph)["Identity"]
        initializers_before = len(graph.initializers)
        details: dict[str, object] = {}
        dropouts: list[ir.Node] = []
        if config.remove_outputs:
            _remove_outputs(graph, config.remove_outputs)
            details["outputs_removed"] = list(config.remove_outputs)
        if config.dropout:
            dropouts = _dropouts_to_identity(graph)
            details["dropout_removed"] = len(dropouts)
        if config.identity:
            eliminate_identities(model_ir)
        else:
            # Dropouts became Identities above; remove those while keeping the model's own.
            eliminate_identity_nodes(dropouts)
        if config.deduplicate:
            ctx.check_cancelled()
            common_passes.DeduplicateHashedInitializersPass()(model_ir)
        if config.unused or config.remove_outputs:
            remove_dead_code(model_ir)
        if config.unused_inputs:
            details["inputs_removed"] = _remove_unused_inputs(graph)
        details["identity_removed"] = identities_before - op_counts(graph)["Identity"]
        details["initializers_removed"] = initializers_before - len(graph.initializers)
        output.details.update(details)
        return model_ir

