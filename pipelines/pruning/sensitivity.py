"""Sensitivity scan: prune one group (or attention block) at a time and measure what it costs.

Each unit is pruned alone at each ratio, the result runs in ONNX Runtime on the same seeded
inputs as the original, and the outputs are compared with pipelines.verify's statistics.
`derive_ratios` turns the table into per-layer percentages for prune-channels/prune-neurons.
Per-unit figures do not add up exactly when several units are pruned together, so verify the
combined result too.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import onnx
import onnx_ir as ir

from onnx_workbench.pipelines.errors import Cancelled, ConfigError
from onnx_workbench.pipelines.inputs import random_inputs
from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.pruning.attention import find_attention_blocks
from onnx_workbench.pipelines.pruning.dependency import DependencyGraph
from onnx_workbench.pipelines.pruning.irutil import to_ir
from onnx_workbench.pipelines.pruning.neurons import prune_neurons
from onnx_workbench.pipelines.pruning.structured import prune_groups
from onnx_workbench.pipelines.results import SensitivityRow, SensitivityTable
from onnx_workbench.pipelines.runtime import SessionSettings, open_session
from onnx_workbench.pipelines.verify import Tolerance, compare_output

ScanMode = Literal["auto", "channels", "neurons"]
DEFAULT_RATIOS = (0.1, 0.3, 0.5)
# Several rows per run make top-1 agreement meaningful without a data set.
DEFAULT_DIMS = {"batch": 8, "sequence": 32}


def scan_sensitivity(
    model_path: str | Path,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    *,
    mode: ScanMode = "auto",
    criterion: str = "l1",
    seed: int = 0,
    dims: dict[str, int] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> SensitivityTable:
    """Prune each prunable unit alone at each ratio and measure cosine and top-1 against the original."""
    if not ratios or any(not 0 < r <= 0.9 for r in ratios):
        raise ConfigError(f"ratios must be between 0 (exclusive) and 0.9, got {list(ratios)}.", "ratios")
    # As the passes do: no value_info added, so candidates and reference run alike in ORT.
    model = load_model(model_path, infer_shapes=False).proto
    if mode == "auto":
        mode = "channels" if any(n.op_type == "Conv" for n in model.graph.node) else "neurons"
    feeds = random_inputs(model, dims={**DEFAULT_DIMS, **(dims or {})}, seed=seed)
    reference = _run(model, feeds)
    table = SensitivityTable(str(model_path), mode, [float(r) for r in ratios])
    units = _units(model, mode, table)
    total = max(len(units) * len(ratios), 1)
    done = 0
    for unit, kind in units:
        for ratio in ratios:
            if is_cancelled is not None and is_cancelled():
                raise Cancelled("Sensitivity scan cancelled by the user.")
            pruned, kept, size, removed = _prune_one(model, mode, kind, unit, float(ratio), criterion)
            outputs = _run(pruned, feeds)
            fidelity = [
                compare_output(name, name, [ref], [out], Tolerance(min_cosine=None))
                for name, ref, out in zip(reference.keys(), reference.values(), outputs.values())
            ]
            cosine = min(f.cosine for f in fidelity)
            top1s = [f.top1 for f in fidelity if f.top1 is not None]
            table.rows.append(
                SensitivityRow(unit, kind, float(ratio), kept, size, cosine, min(top1s) if top1s else None, removed)
            )
            done += 1
            if on_progress is not None:
                on_progress(done / total, f"prune-scan: {unit} at {ratio:.0%}")
    return table


def derive_ratios(table: SensitivityTable, min_cosine: float) -> dict[str, int]:
    """Per-layer percentages (for `layer_percent`) keeping each unit's cosine ≥ `min_cosine` when pruned alone.

    For each unit the largest scanned ratio is taken such that it and every smaller scanned
    ratio stay above the target; a unit that fails already at the smallest ratio gets 0.
    Attention-head units are left out: their ratio is set with `heads_ratio`.
    """
    result: dict[str, int] = {}
    for unit in table.units():
        rows = sorted((r for r in table.rows if r.unit == unit), key=lambda r: r.ratio)
        if rows[0].kind == "heads":
            continue
        best = 0.0
        for row in rows:
            if math.isnan(row.cosine) or row.cosine < min_cosine:
                break
            best = row.ratio
        # Rounded down: a whole percent never removes more channels than the scanned ratio did.
        result[unit] = int(math.floor(best * 100 + 1e-6))
    return result


def _units(model: onnx.ModelProto, mode: str, table: SensitivityTable) -> list[tuple[str, str]]:
    graph = to_ir(model).graph
    units = []
    for group in DependencyGraph(graph, mode).groups():
        if group.blocked:
            table.skipped[group.name] = group.blocked
        else:
            units.append((group.name, mode))
    if mode == "neurons":
        blocks, refused = find_attention_blocks(graph)
        units += [(block.name, "heads") for block in blocks]
        table.skipped.update(refused)
    return units


def _prune_one(
    model: onnx.ModelProto, mode: str, kind: str, unit: str, ratio: float, criterion: str
) -> tuple[onnx.ModelProto, int, int, int]:
    fresh = ir.serde.deserialize_model(model)  # pruning edits the onnx-ir model in place; the protobuf stays
    if kind == "heads":
        pruned, report, heads = prune_neurons(fresh, ratio=0.0, block_heads_ratios={unit: ratio}, criterion=criterion)
        entry = next(h for h in heads if h["block"] == unit)
        kept, size = entry["kept_heads"], entry["heads"]
    else:
        pruned, report = prune_groups(fresh, mode, ratio=0.0, layer_ratios={unit: ratio}, criterion=criterion)
        entry = next(g for g in report.groups if g["group"] == unit)
        kept, size = entry["kept"], entry["channels"]
    return ir.serde.serialize_model(pruned), kept, size, report.params_before - report.params_after


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # Two threads: the scan runs beside the GUI and other work; many small runs gain little from more.
    session = open_session(model.SerializeToString(), SessionSettings(intra_op_threads=2))
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))
