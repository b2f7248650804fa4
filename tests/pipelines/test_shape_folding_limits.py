"""Issue 15 item 7: the small-shape evaluator bounds the size of what it computes, not only its inputs."""
from __future__ import annotations

import resource
from pathlib import Path

import onnx

from hostile_inputs import broadcast_bomb
from onnx_workbench.pipelines.analysis import analyze
from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.shape_folding import MAX_VALUE_ELEMENTS, fold_shape_values


def test_broadcast_of_small_inputs_to_a_huge_output_is_not_evaluated(tmp_path: Path) -> None:
    model = onnx.load(str(broadcast_bomb(tmp_path / "bomb.onnx")))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    folded = fold_shape_values(model, {"x": (1, 4)})
    assert "m" not in folded and "s" not in folded
    analyze(model)  # inspect, report and render --overlay go through here
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 256 << 10  # KB; it was 8.3 GB


def test_small_broadcasts_are_still_folded(tmp_path: Path) -> None:
    model = onnx.load(str(broadcast_bomb(tmp_path / "small.onnx", size=8)))
    folded = fold_shape_values(model, {"x": (1, 4)})
    assert folded["m"].shape == (8, 8, 8) and 8**3 <= MAX_VALUE_ELEMENTS


def test_loading_does_not_fold_a_broadcast_bomb(tmp_path: Path) -> None:
    # The load-time front door folds constant sub-graphs too; it must judge the output's size
    # before evaluating (it took 4.3 GB here when it did not).
    path = broadcast_bomb(tmp_path / "bomb.onnx")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loaded = load_model(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 256 << 10  # KB
    assert {"Max"} <= {node.op_type for node in loaded.proto.graph.node}
