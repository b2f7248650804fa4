"""fold-batchnorm folds BN into Conv, group ConvTranspose and transB Gemm and keeps the outputs."""
from __future__ import annotations

import hashlib
from pathlib import Path

import onnx
import pytest
from pass_models import assert_same_outputs, build_cnn, op_counts
from onnx import helper

from onnx_workbench.pipelines.passes import run_pass


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_folds_every_batchnorm_and_keeps_outputs(cnn_path: Path, tmp_path: Path) -> None:
    before_digest = _digest(cnn_path)
    result = run_pass("fold-batchnorm", cnn_path, tmp_path / "out.onnx")
    counts = op_counts(result.output)
    assert counts["BatchNormalization"] == 0
    assert (counts["Conv"], counts["ConvTranspose"], counts["Gemm"]) == (2, 1, 1)
    assert result.details["folded"] == {"Conv": 2, "ConvTranspose": 1, "Gemm": 1}
    # the folded producers keep their names, so the diff shows them as changed, not replaced
    assert result.changes.summary() == "-4 BatchNormalization, ~2 Conv, ~1 ConvTranspose, ~1 Gemm"
    assert_same_outputs(cnn_path, result.output, dims={"batch": 3})
    assert _digest(cnn_path) == before_digest  # input untouched


@pytest.mark.parametrize("fixture", ["cnn9_path", "resnet9_path", "sample_cnn"])
def test_sample_and_opset9_cnns(fixture: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source = request.getfixturevalue(fixture)
    batchnorms = op_counts(source)["BatchNormalization"]
    result = run_pass("fold-batchnorm", source, tmp_path / "out.onnx")
    assert batchnorms > 0 and op_counts(result.output)["BatchNormalization"] == 0
    assert sum(result.details["folded"].values()) == batchnorms
    assert op_counts(result.output)["Conv"] == op_counts(source)["Conv"]
    assert_same_outputs(source, result.output, dims={"batch": 2})


def test_deterministic(cnn_path: Path, tmp_path: Path) -> None:
    a = run_pass("fold-batchnorm", cnn_path, tmp_path / "a.onnx").output
    b = run_pass("fold-batchnorm", cnn_path, tmp_path / "b.onnx").output
    assert a.read_bytes() == b.read_bytes()


def test_options_limit_what_is_folded(cnn_path: Path, tmp_path: Path) -> None:
    result = run_pass("fold-batchnorm", cnn_path, tmp_path / "out.onnx", {"conv_transpose": False, "gemm": False})
    assert result.details["folded"] == {"Conv": 2}
    assert op_counts(result.output)["BatchNormalization"] == 2
    assert result.warnings and "2 BatchNormalization" in result.warnings[0]


def test_conv_output_with_second_consumer_is_not_folded(save, tmp_path: Path) -> None:
    model = build_cnn()
    # conv1's output also feeds a second graph output: folding would change that output.
    model.graph.output.append(helper.make_tensor_value_info("c1", onnx.TensorProto.FLOAT, ["batch", 8, 16, 16]))
    path = save(model, "shared.onnx")
    result = run_pass("fold-batchnorm", path, tmp_path / "out.onnx")
    assert result.details["folded"]["Conv"] == 1
    assert op_counts(result.output)["BatchNormalization"] == 1
    assert_same_outputs(path, result.output)


def test_model_without_batchnorm_warns(save, tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]))
    result = run_pass("fold-batchnorm", save(model, "relu.onnx"), tmp_path / "out.onnx")
    assert "no BatchNormalization" in result.warnings[0]
    assert op_counts(result.output)["Relu"] == 1
