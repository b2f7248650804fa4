"""prune-neurons: structured pruning of MLP / FFN neurons and whole attention heads."""
from __future__ import annotations

from dataclasses import dataclass

import onnx

from pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option
from pipelines.passes.prune_channels import MAX_RATIO, check_layer_percent
from pipelines.pruning.attention import find_attention_blocks, set_head_count
from pipelines.pruning.dependency import DependencyGraph
from pipelines.pruning.structured import GroupPruner, PruneReport, plan_groups, resolve_ratios


class PruneNeurons(Pass):
    """Remove FFN hidden neurons (and optionally attention heads) with the smallest weights."""

    name = "prune-neurons"
    category = "prune"
    description = (
        "Remove the least important hidden neurons between two MatMul/Gemm layers (FFN, MLP) and, "
        "with heads_ratio, whole attention heads."
    )

    @dataclass(frozen=True)
    class Config(PassConfig):
        ratio: float = option(0.3, help="Fraction of hidden neurons to remove from every prunable layer pair.", min=0.0, max=MAX_RATIO)
        heads_ratio: float = option(0.0, help="Fraction of attention heads to remove from every recognised attention block.", min=0.0, max=MAX_RATIO)
        layer_percent: dict[str, int] = option(
            {}, help="Percent to remove per layer (the first MatMul/Gemm of a pair), overriding ratio."
        )
        criterion: str = option("l1", help="How neurons and heads are ranked: l1 or l2 norm of their weights.", choices=("l1", "l2"))
        round_to: int = option(1, help="Keep a multiple of this many neurons (e.g. 8 for fast kernels).", min=1, max=256)
        skip_layers: list[str] = option([], help="MatMul/Gemm nodes whose outputs are left alone.", widget="nodes")

        def validate(self) -> None:
            """Field bounds plus the per-layer percentages."""
            super().validate()
            check_layer_percent(self.layer_percent)

    def transform(self, model: onnx.ModelProto, config: Config, ctx: PassContext, output: PassOutput) -> onnx.ModelProto:
        """Prune neuron groups, then attention heads; unrecognised attention is skipped with a warning."""
        report = PruneReport()
        pruner = GroupPruner(model, report)
        graph = pruner.ir_model.graph
        ctx.progress(0.1, "prune-neurons: finding layer pairs")
        dependencies = DependencyGraph(graph, "neurons")
        groups = dependencies.groups()
        ratios = resolve_ratios(groups, config.ratio, {k: v / 100 for k, v in config.layer_percent.items()}, "layer_percent")
        # Blocked linear layers are the norm in transformers (residual adds, head reshapes), so
        # they are listed in details rather than warned about one by one.
        plan_groups(pruner, groups, ratios, criterion=config.criterion, round_to=config.round_to,
                    skip=set(config.skip_layers), warn_blocked=False)
        heads: list[dict] = []
        if config.heads_ratio > 0:
            ctx.progress(0.5, "prune-neurons: finding attention heads")
            blocks, warnings = find_attention_blocks(graph)
            output.warnings.extend(warnings)
            covered = {name for block in blocks for name in block.softmax}
            for node in graph:
                if node.op_type == "Softmax" and node.name not in covered and not any(node.name in w for w in warnings):
                    output.warnings.append(
                        f"Softmax node '{node.name}' is not part of a recognised attention block, so its heads were left alone."
                    )
            for block in blocks:
                entry = {"block": block.name, "heads": block.heads, "head_dim": block.head_dim}
                if set(config.skip_layers) & {block.name}:
                    entry.update(kept_heads=block.heads, status="skipped by config")
                else:
                    kept = pruner.prune(block.group, config.heads_ratio, config.criterion, 1, entry)
                    entry["kept_heads"] = kept
                    if kept != block.heads:
                        set_head_count(block, kept, graph)
                entry.pop("kept", None)
                heads.append(entry)
        pruner.apply(dependencies.depthwise)
        pruned = pruner.finish()
        output.warnings.extend(report.warnings)
        output.details.update(report.to_dict())
        output.details["attention"] = heads
        return pruned
