"""Candidate recipes, generated from what the model holds.

A CNN gets onnxsim's clean-up and fusions, then static INT8 over its settings (QDQ or
QOperator, per-channel or not, 7-bit weights or not, three calibration methods); a transformer
gets attention fusion, dynamic INT8 and 4/8-bit weight-only quantization; every model also gets
ONNX Runtime's own offline optimizations. Candidates come in the order they are worth trying (most
likely to pay first), so a small time budget still sees the best ones; quantization is tried both
after the fusion prefix and alone, because which comes first matters (measured on BERT-base:
dynamic INT8 alone beat fusion + dynamic INT8). Two further stages depend on results and are
built by the search: excluding the nodes quant-debug ranks worst (`exclusion_candidate`), and
channel or neuron pruning at per-layer ratios from the sensitivity scan (`pruning_candidates`).

FP16 is not generated: the search times on the CPU, where ONNX Runtime runs float16 slower.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import onnx

from onnx_workbench.pipelines.inputs import input_specs
from onnx_workbench.pipelines.passes.engine import make_config

Step = tuple[str, dict[str, Any]]

STATIC = "quantize-static"
DYNAMIC = "quantize-dynamic"
WEIGHTS = "quantize-weights"
METHODS = ("minmax", "percentile", "entropy")


@dataclass(frozen=True)
class ModelTraits:
    """What the candidate generator needs to know about a model's graph."""

    op_types: frozenset[str]
    float_inputs: bool
    attention: bool  # Softmax between MatMuls and a layer norm: a transformer

    @property
    def conv(self) -> bool:
        """Convolutions: static INT8 and channel pruning apply."""
        return "Conv" in self.op_types

    @property
    def linear(self) -> bool:
        """MatMul or Gemm layers: dynamic INT8 and neuron pruning apply."""
        return bool({"MatMul", "Gemm"} & self.op_types)


def model_traits(model: onnx.ModelProto) -> ModelTraits:
    """Traits read from the graph alone (no weights needed)."""
    ops = frozenset(node.op_type for node in model.graph.node)
    norm = bool({"LayerNormalization", "SkipLayerNormalization"} & ops) or "ReduceMean" in ops
    attention = "Softmax" in ops and "MatMul" in ops and norm
    floats = all(spec.dtype.kind == "f" for spec in input_specs(model))
    return ModelTraits(ops, floats, attention)


@dataclass(frozen=True)
class Candidate:
    """One recipe to build, verify and time; `stage` says which part of the search made it."""

    name: str
    steps: tuple[Step, ...]
    stage: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the worker job and `--json`."""
        return {"name": self.name, "stage": self.stage, "steps": [{"pass": p, "config": c} for p, c in self.steps]}


@dataclass(frozen=True)
class CalibrationData:
    """What static quantization calibrates on: the user's data, else random samples (a preview)."""

    kind: str = "random"  # random | arrays | images
    path: str = ""
    samples: int = 32

    def config(self) -> dict[str, Any]:
        """The quantize-static fields for this data."""
        return {"calibration": self.kind, "data": self.path, "samples": self.samples}


def fusion_prefix(traits: ModelTraits) -> tuple[Step, ...]:
    """The clean-up and fusion steps quantization starts from."""
    if traits.attention:
        return (("transformer-fusion", {}),)
    return (("simplify", {}),)


def initial_candidates(traits: ModelTraits, calibration: CalibrationData, no_vnni: bool) -> list[Candidate]:
    """Every candidate that needs no earlier result, best bets first."""
    prefix = fusion_prefix(traits)
    prefix_name = " + ".join(name for name, _ in prefix)
    out = [Candidate(prefix_name, prefix, "fusion"),
           Candidate("ort-optimize", (("ort-optimize", {"level": "extended"}),), "fusion")]
    quant = _quant_configs(traits, calibration, no_vnni)
    # The two best bets of each kind come first and also run without the prefix (order matters and
    # differs by model); the rest of the grid ("grid") waits until the result-driven stages ran.
    bets = [q for kind in (STATIC, DYNAMIC, WEIGHTS) for q in [q for q in quant if q[0] == kind][:2]]
    for step in bets:
        out.append(Candidate(f"{prefix_name} + {describe(step)}", (*prefix, step), "quantize"))
        out.append(Candidate(describe(step), (step,), "quantize"))
    out += [Candidate(f"{prefix_name} + {describe(step)}", (*prefix, step), "grid") for step in quant if step not in bets]
    return out


def _quant_configs(traits: ModelTraits, calibration: CalibrationData, no_vnni: bool) -> list[Step]:
    """Quantization steps for this model, the likeliest winners first within each kind."""
    if not traits.float_inputs and not traits.linear and not traits.conv:
        return []
    steps: list[Step] = []
    # 7-bit weights first where the CPU lacks VNNI: full-range int8 saturates its 8-bit kernels.
    ranges = (True, False) if no_vnni else (False, True)
    static = traits.conv or (traits.linear and not traits.attention)
    # Dynamic INT8 of a CNN's convolutions (ConvInteger) measured 10x slower than float: linear models only.
    dynamic = traits.linear and not traits.conv
    if traits.attention:
        steps += [(DYNAMIC, {"per_channel": pc, "reduce_range": rr})
                  for pc, rr in itertools.product((False, True), ranges)]
        steps += [(WEIGHTS, {"bits": bits, "accuracy_level": 4}) for bits in (8, 4)]
    if static:
        # Per-tensor then per-channel within each setting, so the two best bets are one of each:
        # per-tensor scales are the faster kernels (legacy ResNet-50 in one run: 2.71x per-tensor,
        # as ORT's documentation has a user do it, vs 2.50x per-channel), per-channel the more
        # faithful where one scale per tensor loses too much.
        grid = itertools.product(METHODS, ranges, ("qdq", "qoperator"), (False, True))
        steps += [(STATIC, {"format": fmt, "per_channel": pc, "reduce_range": rr, "method": method,
                            **calibration.config()})
                  for method, rr, fmt, pc in grid]
    if dynamic and not traits.attention:
        steps += [(DYNAMIC, {"per_channel": pc, "reduce_range": rr})
                  for pc, rr in itertools.product((False, True), ranges)]
    return steps


def describe(step: Step) -> str:
    """A short name for a step: 'quantize-static(qdq, per-channel, 7-bit, minmax)'."""
    name, given = step
    if name not in (STATIC, DYNAMIC, WEIGHTS, "prune-channels", "prune-neurons"):
        return name
    config = make_config(name, given).to_dict()  # the pass's defaults fill what a step leaves out
    if name == STATIC:
        parts = [config["format"], "per-channel" if config["per_channel"] else "per-tensor",
                 "7-bit" if config["reduce_range"] else "8-bit", config["method"]]
        if config["nodes_to_exclude"]:
            parts.append(f"{len(config['nodes_to_exclude'])} nodes float")
    elif name == DYNAMIC:
        parts = ["per-channel" if config["per_channel"] else "per-tensor", "7-bit" if config["reduce_range"] else "8-bit"]
    elif name == WEIGHTS:
        parts = [f"{config['bits']}-bit"]
    elif name in ("prune-channels", "prune-neurons"):
        parts = [f"{len(config['layer_percent'])} layers"]
    return f"{name}({', '.join(parts)})"


def exclusion_candidate(base: Candidate, worst_nodes: list[str], groups: int) -> Candidate | None:
    """`base` (ending in static INT8) with the first `groups` groups of the worst nodes kept in float.

    Nodes are added a group at a time (a quarter of the ranked list per group, at least one),
    so the search stops at the fewest float nodes that hold the budget. None once every ranked
    node is excluded.
    """
    name, config = base.steps[-1]
    size = max(1, len(worst_nodes) // 4)
    chosen = worst_nodes[: groups * size]
    if name != STATIC or not chosen or (groups > 1 and len(chosen) == len(worst_nodes[: (groups - 1) * size])):
        return None
    step = (STATIC, {**config, "nodes_to_exclude": sorted(set(config.get("nodes_to_exclude", [])) | set(chosen))})
    return Candidate(f"{' + '.join(describe(s) for s in base.steps[:-1])} + {describe(step)}".lstrip(" +"),
                     (*base.steps[:-1], step), "exclude")


def pruning_candidates(traits: ModelTraits, layer_percent: dict[str, int], quant: Candidate | None) -> list[Candidate]:
    """Pruning at the per-layer ratios that kept fidelity alone, then the best quantization on top."""
    kept = {layer: percent for layer, percent in layer_percent.items() if percent > 0}
    if not kept:
        return []
    prune: Step = ("prune-channels", {"layer_percent": kept}) if traits.conv else ("prune-neurons", {"layer_percent": kept})
    out = [Candidate(describe(prune), (prune,), "prune")]
    if quant is not None:
        steps = (prune, *quant.steps)
        out.insert(0, Candidate(" + ".join(describe(s) for s in steps), steps, "prune"))
    return out
