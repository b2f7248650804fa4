"""Structured pruning of dependency groups: choose channels, slice every member, rewrite the model."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx_ir as ir

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.pruning.dependency import DependencyGraph, Group, Mode
from onnx_workbench.pipelines.pruning.importance import channels_to_keep, folded_keep, group_importance, kept_count
from onnx_workbench.pipelines.pruning.irutil import check_pruned, count_params, delete_on_save, infer_shapes


@dataclass
class PruneReport:
    """What a structured prune did, group by group."""

    params_before: int = 0
    params_after: int = 0
    groups: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data for PassOutput.details."""
        return {
            "params_before": self.params_before,
            "params_after": self.params_after,
            "params_removed": self.params_before - self.params_after,
            "groups": self.groups,
        }


def resolve_ratios(
    groups: list[Group], ratio: float, layer_ratios: dict[str, float], field_name: str
) -> dict[str, float]:
    """Ratio per group name: a per-layer entry (by group or member layer name) overrides `ratio`.

    When several layers of one coupled group are named, the smallest ratio wins: the group
    can only lose what every member tolerates.
    """
    names = {g.name: g for g in groups}
    by_layer = {layer: g.name for g in groups for layer in g.layers}
    result = {g.name: ratio for g in groups}
    given: dict[str, list[float]] = defaultdict(list)
    for key, value in layer_ratios.items():
        group = key if key in names else by_layer.get(key)
        if group is None:
            known = ", ".join(sorted(names)) or "none"
            raise ConfigError(
                f"field '{field_name}' names '{key}', which is not a prunable layer; known groups: {known}.",
                field_name,
            )
        given[group].append(value)
    for group, values in given.items():
        result[group] = min(values)
    return result


class GroupPruner:
    """Collects channel removals for groups of one onnx-ir model, then applies them all at once.

    Removals are gathered first and applied per tensor and axis at the end, so a weight touched
    by two groups (a Conv's output and input channels) is sliced once on each axis.
    """

    def __init__(self, model: ir.Model, report: PruneReport) -> None:
        infer_shapes(model)
        self.ir_model = model
        self.report = report
        report.params_before = count_params(model)
        self._removals: dict[ir.Value, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))

    def prune(self, group: Group, ratio: float, criterion: str, round_to: int, entry: dict[str, Any]) -> int:
        """Remove the least important `ratio` of `group`'s channels; return how many are kept."""
        scores, used = group_importance(group, criterion)
        if group.fold > 1:
            kept = folded_keep(scores, ratio, round_to, group.fold)
        else:
            kept = channels_to_keep(scores, kept_count(group.size, ratio, round_to))
        keep = len(kept)
        removed = np.setdiff1d(np.arange(group.size), kept)
        entry.update(kept=keep, status="pruned" if len(removed) else "unchanged", criterion=used)
        if used != criterion and len(removed):
            self.report.warnings.append(
                f"Group '{group.name}' has no BatchNormalization, so it was ranked by l1 instead of bn-gamma."
            )
        for member in group.members if len(removed) else []:
            indices = self._removals[member.value][member.axis]
            for channel in removed:
                slot = int(channel) % member.modulo if member.modulo else int(channel)
                start = member.offset + slot * member.block
                indices.update(range(start, start + member.block))
        return keep

    @property
    def changed(self) -> bool:
        """True when at least one channel will be removed."""
        return bool(self._removals)

    def apply(self, depthwise: list[ir.Node]) -> None:
        """Slice every touched tensor and keep depthwise convs' `group` equal to their filter count."""
        for value, by_axis in self._removals.items():
            delete_on_save(value, by_axis)
        for node in depthwise:
            filters = node.inputs[1].const_value.shape[0]
            node.attributes["group"] = ir.AttrInt64("group", int(filters))

    def finish(self) -> ir.Model:
        """The checked pruned model (or the untouched input when nothing was removed)."""
        if self.changed:
            check_pruned(self.ir_model)
        self.report.params_after = count_params(self.ir_model)
        return self.ir_model


def plan_groups(
    pruner: GroupPruner,
    groups: list[Group],
    ratios: dict[str, float],
    *,
    criterion: str,
    round_to: int,
    skip: set[str],
    warn_blocked: bool,
    quiet_reasons: tuple[str, ...] = ("graph output",),
) -> None:
    """Prune each group by its ratio, skipping configured and blocked groups (with a warning)."""
    for group in groups:
        entry: dict[str, Any] = {"group": group.name, "layers": group.layers, "channels": group.size}
        wanted = ratios.get(group.name, 0.0)
        if skip & ({group.name} | set(group.layers)):
            entry.update(kept=group.size, status="skipped by config")
        elif group.blocked:
            entry.update(kept=group.size, status=f"not pruned: {group.blocked}")
            if warn_blocked and wanted > 0 and not any(q in group.blocked for q in quiet_reasons):
                pruner.report.warnings.append(f"Group '{group.name}' was not pruned because {group.blocked}.")
        else:
            pruner.prune(group, wanted, criterion, round_to, entry)
        pruner.report.groups.append(entry)


def prune_groups(
    model: ir.Model,
    mode: Mode,
    *,
    ratio: float,
    layer_ratios: dict[str, float] | None = None,
    criterion: str = "l1",
    round_to: int = 1,
    skip: list[str] | None = None,
    field_name: str = "layer_percent",
    warn_blocked: bool = True,
) -> tuple[ir.Model, PruneReport]:
    """Prune every prunable dependency group of `model` (in place); blocked groups are skipped with a warning."""
    report = PruneReport()
    pruner = GroupPruner(model, report)
    graph = DependencyGraph(pruner.ir_model.graph, mode)
    groups = graph.groups()
    ratios = resolve_ratios(groups, ratio, layer_ratios or {}, field_name)
    plan_groups(pruner, groups, ratios, criterion=criterion, round_to=round_to, skip=set(skip or []), warn_blocked=warn_blocked)
    pruner.apply(graph.depthwise)
    return pruner.finish(), report
