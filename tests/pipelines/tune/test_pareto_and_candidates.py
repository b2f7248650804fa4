"""Pareto front and candidate generation from a model's content."""
from __future__ import annotations

import onnx

from onnx_workbench.pipelines.tune.candidates import (
    STATIC,
    CalibrationData,
    Candidate,
    exclusion_candidate,
    initial_candidates,
    model_traits,
    pruning_candidates,
)
from onnx_workbench.pipelines.tune.pareto import dominates, pareto_front


def test_front_keeps_what_nothing_beats_on_every_axis():
    points = {"fast": (1.0, 9.0, 0.5), "small": (5.0, 1.0, 0.5), "exact": (6.0, 9.0, 0.0),
              "beaten": (2.0, 9.5, 0.5), "twin": (1.0, 9.0, 0.5)}
    assert pareto_front(points) == ["fast", "small", "exact", "twin"]
    assert dominates((1, 1), (1, 2)) and not dominates((1, 2), (2, 1)) and not dominates((1, 1), (1, 1))


def _steps(candidates: list[Candidate]) -> set[str]:
    return {name for c in candidates for name, _ in c.steps}


def test_a_cnn_gets_fusions_and_static_int8_calibrated_on_the_data(digits_cnn):
    traits = model_traits(onnx.load(str(digits_cnn), load_external_data=False))
    assert traits.conv and not traits.attention
    candidates = initial_candidates(traits, CalibrationData("arrays", "d.npz"), no_vnni=True)
    assert _steps(candidates) == {"simplify", "ort-optimize", STATIC}  # dynamic INT8 convolutions are slow
    first_static = next(c for c in candidates if c.steps[-1][0] == STATIC)
    config = first_static.steps[-1][1]
    assert first_static.steps[0][0] == "simplify" and config["reduce_range"]
    # The best bets try one scale per tensor (fastest) and one per channel (most faithful).
    bets = [c.steps[-1][1] for c in candidates if c.stage == "quantize" and c.steps[-1][0] == STATIC]
    assert {b["per_channel"] for b in bets} == {False, True}
    assert (config["calibration"], config["data"]) == ("arrays", "d.npz")
    # The best bets run with and without the fusion prefix, before the rest of the grid.
    stages = [c.stage for c in candidates]
    assert stages.index("grid") > max(i for i, s in enumerate(stages) if s == "quantize")
    assert any(c.steps == (first_static.steps[-1],) for c in candidates)
    grid = {(c.steps[-1][1]["format"], c.steps[-1][1]["per_channel"], c.steps[-1][1]["reduce_range"], c.steps[-1][1]["method"])
            for c in candidates if c.steps[-1][0] == STATIC}
    assert len(grid) == 2 * 2 * 2 * 3


def test_a_transformer_gets_attention_fusion_dynamic_and_weight_only(sample_transformer):
    traits = model_traits(onnx.load(str(sample_transformer), load_external_data=False))
    assert traits.attention
    candidates = initial_candidates(traits, CalibrationData(), no_vnni=False)
    assert _steps(candidates) == {"transformer-fusion", "ort-optimize", "quantize-dynamic", "quantize-weights"}
    assert {c.steps[-1][1]["bits"] for c in candidates if c.steps[-1][0] == "quantize-weights"} == {4, 8}


def test_exclusion_adds_one_group_of_worst_nodes_at_a_time():
    base = Candidate("s + q", (("simplify", {}), (STATIC, {"format": "qdq", "per_channel": True, "reduce_range": False,
                                                            "method": "minmax", "nodes_to_exclude": ["keep"]})), "quantize")
    worst = [f"n{i}" for i in range(8)]
    first, second = exclusion_candidate(base, worst, 1), exclusion_candidate(base, worst, 2)
    assert first.steps[-1][1]["nodes_to_exclude"] == ["keep", "n0", "n1"]
    assert second.steps[-1][1]["nodes_to_exclude"] == ["keep", "n0", "n1", "n2", "n3"]
    assert first.steps[0] == base.steps[0] and first.stage == "exclude"
    assert exclusion_candidate(base, worst, 5) is None  # every ranked node is already in float
    assert exclusion_candidate(Candidate("d", (("quantize-dynamic", {}),), "quantize"), worst, 1) is None


def test_pruning_uses_the_layers_that_kept_fidelity_and_the_best_quantization(digits_cnn):
    traits = model_traits(onnx.load(str(digits_cnn), load_external_data=False))
    quant = Candidate("q", ((STATIC, {"format": "qdq"}),), "quantize")
    pruned = pruning_candidates(traits, {"conv1": 25, "conv2": 0}, quant)
    assert [c.steps for c in pruned] == [
        (("prune-channels", {"layer_percent": {"conv1": 25}}), (STATIC, {"format": "qdq"})),
        (("prune-channels", {"layer_percent": {"conv1": 25}}),),
    ]
    assert pruning_candidates(traits, {"conv2": 0}, quant) == []
