"""Neuron and head pruning of MLP / transformer models (the engine behind prune-neurons)."""
from __future__ import annotations

from typing import Any

import onnx_ir as ir

from onnx_workbench.pipelines.pruning.attention import find_attention_blocks, set_head_count
from onnx_workbench.pipelines.pruning.dependency import DependencyGraph
from onnx_workbench.pipelines.pruning.structured import GroupPruner, PruneReport, plan_groups, resolve_ratios


def prune_neurons(
    model: ir.Model,
    *,
    ratio: float,
    heads_ratio: float = 0.0,
    layer_ratios: dict[str, float] | None = None,
    block_heads_ratios: dict[str, float] | None = None,
    criterion: str = "l1",
    round_to: int = 1,
    skip: list[str] | None = None,
) -> tuple[ir.Model, PruneReport, list[dict[str, Any]]]:
    """Prune hidden neurons of MatMul/Gemm pairs and attention heads (in place); return model, report, head table.

    `block_heads_ratios` overrides `heads_ratio` per attention block (named after its score
    MatMul). Linear layers that cannot shrink (residual adds, head reshapes, graph outputs)
    are the norm in transformers, so they are listed in the report, not warned about.
    """
    report = PruneReport()
    pruner = GroupPruner(model, report)
    graph = pruner.ir_model.graph
    skip_set = set(skip or [])
    dependencies = DependencyGraph(graph, "neurons")
    groups = dependencies.groups()
    ratios = resolve_ratios(groups, ratio, layer_ratios or {}, "layer_percent")
    plan_groups(pruner, groups, ratios, criterion=criterion, round_to=round_to, skip=skip_set, warn_blocked=False)
    heads: list[dict[str, Any]] = []
    block_heads_ratios = block_heads_ratios or {}
    if heads_ratio > 0 or any(block_heads_ratios.values()):
        blocks, refused = find_attention_blocks(graph)
        report.warnings.extend(refused.values())
        covered = {name for block in blocks for name in block.softmax}
        for node in graph:
            # Attention that did not even reach the candidate stage (e.g. head reshapes computed
            # at run time) is named by its Softmax, unless a refused candidate already spoke.
            if node.op_type == "Softmax" and node.name not in covered and not refused:
                report.warnings.append(
                    f"Softmax node '{node.name}' is not part of a recognised attention block, so its heads were left alone."
                )
        for block in blocks:
            entry: dict[str, Any] = {"block": block.name, "heads": block.heads, "head_dim": block.head_dim}
            if block.name in skip_set:
                entry.update(kept_heads=block.heads, status="skipped by config")
            else:
                wanted = block_heads_ratios.get(block.name, heads_ratio)
                entry["kept_heads"] = pruner.prune(block.group, wanted, criterion, 1, entry)
                entry.pop("kept", None)
                if entry["kept_heads"] != block.heads:
                    set_head_count(block, entry["kept_heads"], graph)
            heads.append(entry)
    pruner.apply(dependencies.depthwise)
    return pruner.finish(), report, heads
