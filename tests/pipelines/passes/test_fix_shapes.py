"""fix-shapes pins dims by name or per input, or makes the batch dynamic, consistently."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from pass_models import assert_same_outputs, op_counts

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes import make_config, run_pass


def _shape(path: Path, index: int = 0, output: bool = False) -> list[int | str]:
    graph = onnx.load(str(path)).graph
    value = (graph.output if output else graph.input)[index]
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_fix_named_dims(sample_transformer: Path, tmp_path: Path) -> None:
    result = run_pass("fix-shapes", sample_transformer, tmp_path / "out.onnx", {"dims": {"batch": 1, "sequence": 16}})
    assert _shape(result.output) == [1, 16]
    assert _shape(result.output, output=True) == [1, 16, 1000]
    # every intermediate shape was re-inferred: none still mentions the fixed names
    model = onnx.load(str(result.output))
    params = {d.dim_param for v in model.graph.value_info for d in v.type.tensor_type.shape.dim}
    assert not params & {"batch", "sequence"}
    assert any(d.dim_value == 16 for v in model.graph.value_info for d in v.type.tensor_type.shape.dim)
    assert result.details == {"dynamic_before": ["batch", "sequence"], "dynamic_after": []}
    assert op_counts(result.output) == op_counts(sample_transformer)
    assert_same_outputs(sample_transformer, result.output, dims={"batch": 1, "sequence": 16})


def test_fix_input_shape(sample_transformer: Path, tmp_path: Path) -> None:
    result = run_pass("fix-shapes", sample_transformer, tmp_path / "out.onnx", {"input_shapes": ["input_ids:2x8"]})
    assert _shape(result.output) == [2, 8]
    assert _shape(result.output, output=True) == [2, 8, 1000]


def test_make_batch_dynamic_round_trip(cnn_path: Path, tmp_path: Path) -> None:
    fixed = run_pass("fix-shapes", cnn_path, tmp_path / "fixed.onnx", {"dims": {"batch": 1}}).output
    assert _shape(fixed) == [1, 3, 16, 16]
    dynamic = run_pass("fix-shapes", fixed, tmp_path / "dynamic.onnx", {"make_batch_dynamic": True})
    assert _shape(dynamic.output) == ["batch", 3, 16, 16]
    assert _shape(dynamic.output, output=True) == ["batch", 10]
    assert_same_outputs(cnn_path, dynamic.output, dims={"batch": 3})


def test_errors_name_the_field(cnn_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        run_pass("fix-shapes", cnn_path, tmp_path / "out.onnx", {"dims": {"sequence": 4}})
    assert info.value.field == "dims" and "named dimensions: batch" in str(info.value)
    with pytest.raises(ConfigError) as info:
        run_pass("fix-shapes", cnn_path, tmp_path / "out.onnx", {"input_shapes": ["image:1x3"]})
    assert info.value.field == "input_shapes" and "Rank mismatch" in str(info.value)
    with pytest.raises(ConfigError, match="no input named 'pixels'"):
        run_pass("fix-shapes", cnn_path, tmp_path / "out.onnx", {"input_shapes": ["pixels:1x3x16x16"]})
    with pytest.raises(ConfigError, match="cannot be combined"):
        make_config("fix-shapes", {"make_batch_dynamic": True, "dims": {"batch": 1}})
    with pytest.raises(ConfigError, match="at least 1"):
        make_config("fix-shapes", {"dims": {"batch": 0}})
    assert not (tmp_path / "out.onnx").exists()


def test_nothing_to_do_warns(cnn_path: Path, tmp_path: Path) -> None:
    result = run_pass("fix-shapes", cnn_path, tmp_path / "out.onnx")
    assert "nothing changed" in result.warnings[0]
