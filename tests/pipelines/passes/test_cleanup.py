"""cleanup removes Identity/Dropout, unused inputs and weights, duplicates; output names stay."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from pass_models import assert_same_outputs, build_untidy, op_counts

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes import run_pass


def _names(path: Path) -> tuple[list[str], list[str], list[str]]:
    model = onnx.load(str(path))
    return (
        [i.name for i in model.graph.input],
        [o.name for o in model.graph.output],
        sorted(t.name for t in model.graph.initializer),
    )


def test_default_cleanup(save, tmp_path: Path) -> None:
    source = save(build_untidy(), "untidy.onnx")
    result = run_pass("cleanup", source, tmp_path / "out.onnx")
    counts = op_counts(result.output)
    assert counts["Dropout"] == 0
    # y = Identity(y_prev) with both returned must stay, or output y_copy would vanish
    assert counts["Identity"] == 1
    inputs, outputs, initializers = _names(result.output)
    assert inputs == ["x"]
    assert outputs == ["y", "y_copy", "aux"]
    assert initializers == ["w_a"]  # duplicate w_b, unused w_unused and Dropout's inputs gone
    assert result.details["dropout_removed"] == 2
    assert result.details["inputs_removed"] == ["unused_in"]
    onnx.checker.check_model(onnx.load(str(result.output)))
    feeds_model = save(_without_input(build_untidy(), "unused_in"), "untidy_fed.onnx")
    assert_same_outputs(feeds_model, result.output)


def _without_input(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    # the reference model minus the unused input, so both take the same feeds
    kept = [i for i in model.graph.input if i.name != name]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    return model


def test_toggles(save, tmp_path: Path) -> None:
    source = save(build_untidy(), "untidy.onnx")
    result = run_pass(
        "cleanup", source, tmp_path / "out.onnx",
        {"identity": False, "deduplicate": False, "unused_inputs": False},
    )
    counts = op_counts(result.output)
    assert counts["Identity"] == 3 and counts["Dropout"] == 0
    inputs, _, initializers = _names(result.output)
    assert inputs == ["x", "unused_in"]
    assert initializers == ["w_a", "w_b"]


def test_remove_outputs_option(save, tmp_path: Path) -> None:
    source = save(build_untidy(), "untidy.onnx")
    result = run_pass("cleanup", source, tmp_path / "out.onnx", {"remove_outputs": ["aux"]})
    assert _names(result.output)[1] == ["y", "y_copy"]
    assert op_counts(result.output)["Relu"] == 0


def test_unknown_output_is_a_config_error(save, tmp_path: Path) -> None:
    source = save(build_untidy(), "untidy.onnx")
    with pytest.raises(ConfigError, match="no output 'nope'"):
        run_pass("cleanup", source, tmp_path / "out.onnx", {"remove_outputs": ["nope"]})
    assert not (tmp_path / "out.onnx").exists()


def test_cnn_keeps_outputs(cnn_path: Path, tmp_path: Path) -> None:
    result = run_pass("cleanup", cnn_path, tmp_path / "out.onnx")
    counts = op_counts(result.output)
    assert counts["Identity"] == 0 and counts["Dropout"] == 0
    assert _names(result.output)[1] == ["logits"]
    assert_same_outputs(cnn_path, result.output)


def test_training_dropout_is_kept(save, tmp_path: Path) -> None:
    model = build_untidy()
    for tensor in model.graph.initializer:
        if tensor.name == "training":
            tensor.CopyFrom(onnx.numpy_helper.from_array(np.array(True), "training"))
    result = run_pass("cleanup", save(model, "train.onnx"), tmp_path / "out.onnx")
    assert op_counts(result.output)["Dropout"] == 1
