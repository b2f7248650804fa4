"""simplify folds constants and BN with onnxsim, emits only standard ops and keeps outputs."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from pass_models import assert_same_outputs, op_counts

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes import make_config, run_pass


def test_sample_cnn(sample_cnn: Path, tmp_path: Path) -> None:
    result = run_pass("simplify", sample_cnn, tmp_path / "out.onnx")
    assert op_counts(sample_cnn)["BatchNormalization"] > 0
    assert op_counts(result.output)["BatchNormalization"] == 0
    model = onnx.load(str(result.output))
    assert not [p for p in model.metadata_props if p.key.startswith("onnxsim.")]
    assert result.details["onnxsim"]["removed_nodes"] >= 1
    assert_same_outputs(sample_cnn, result.output, dims={"batch": 2})


def test_transformer_gets_no_runtime_ops(sample_transformer: Path, tmp_path: Path) -> None:
    result = run_pass("simplify", sample_transformer, tmp_path / "out.onnx")
    model = onnx.load(str(result.output))
    assert all(n.domain in ("", "ai.onnx") for n in model.graph.node)
    assert [o.domain for o in model.opset_import] == [""]
    assert_same_outputs(sample_transformer, result.output, dims={"batch": 2, "sequence": 16})


def test_skip_fuse_bn_and_opset9(cnn9_path: Path, tmp_path: Path) -> None:
    result = run_pass("simplify", cnn9_path, tmp_path / "out.onnx", {"skip_fuse_bn": True})
    assert op_counts(result.output)["BatchNormalization"] == 4
    assert op_counts(result.output)["Identity"] == 0 and op_counts(result.output)["Dropout"] == 0
    assert_same_outputs(cnn9_path, result.output)


def test_dims_and_input_shapes(sample_transformer: Path, cnn_path: Path, tmp_path: Path) -> None:
    result = run_pass("simplify", sample_transformer, tmp_path / "t.onnx", {"dims": {"batch": 1, "sequence": 16}})
    shape = onnx.load(str(result.output)).graph.input[0].type.tensor_type.shape
    assert [d.dim_value for d in shape.dim] == [1, 16]
    # a fixed sequence lets onnxsim fold the position-embedding Slice away
    assert op_counts(result.output)["Slice"] < op_counts(sample_transformer)["Slice"] + 1
    assert_same_outputs(sample_transformer, result.output, dims={"batch": 1, "sequence": 16})
    result = run_pass("simplify", cnn_path, tmp_path / "c.onnx", {"input_shapes": ["image:2x3x16x16"]})
    shape = onnx.load(str(result.output)).graph.input[0].type.tensor_type.shape
    assert [d.dim_value for d in shape.dim] == [2, 3, 16, 16]


def test_bad_shapes_are_config_errors(cnn_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NAME:1x3x224x224"):
        make_config("simplify", {"input_shapes": ["image=1,3"]})
    with pytest.raises(ConfigError, match="no dimension named 'seq'"):
        run_pass("simplify", cnn_path, tmp_path / "out.onnx", {"dims": {"seq": 4}})
    with pytest.raises(ConfigError, match="no input named 'pixels'") as info:
        run_pass("simplify", cnn_path, tmp_path / "out.onnx", {"input_shapes": ["pixels:1x3x16x16"]})
    assert info.value.field == "input_shapes"
    assert not (tmp_path / "out.onnx").exists()


def test_external_data_and_determinism(cnn_external_path: Path, tmp_path: Path) -> None:
    a = run_pass("simplify", cnn_external_path, tmp_path / "a.onnx", {"check_n": 1})
    b = run_pass("simplify", cnn_external_path, tmp_path / "b.onnx", {"check_n": 1})
    assert a.warnings == []  # onnxsim's own check passed
    assert (tmp_path / "a.onnx.data").exists()
    # the model files differ only in the name of their data file
    assert a.output.read_bytes().replace(b"a.onnx.data", b"b.onnx.data") == b.output.read_bytes()
    assert (tmp_path / "a.onnx.data").read_bytes() == (tmp_path / "b.onnx.data").read_bytes()
    assert_same_outputs(cnn_external_path, a.output)
