"""ort-optimize writes ORT's optimized graph: standard ops at basic, fused ops and a flag above."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from pass_models import assert_same_outputs, op_counts

from onnx_workbench.pipelines.errors import ConfigError, PassFailed
from onnx_workbench.pipelines.passes import make_config, run_pass


def test_basic_keeps_standard_ops(sample_cnn: Path, tmp_path: Path) -> None:
    result = run_pass("ort-optimize", sample_cnn, tmp_path / "out.onnx", {"level": "basic"})
    model = onnx.load(str(result.output))
    assert all(n.domain in ("", "ai.onnx") for n in model.graph.node)
    assert op_counts(result.output)["BatchNormalization"] == 0  # ORT folds BN into Conv at basic
    assert result.flags == []
    assert_same_outputs(sample_cnn, result.output, dims={"batch": 2})


def test_extended_fuses_and_flags(sample_cnn: Path, tmp_path: Path) -> None:
    result = run_pass("ort-optimize", sample_cnn, tmp_path / "out.onnx")
    assert result.details["runtime_ops"]["com.microsoft.FusedConv"] > 0
    assert result.flags == ["runs only on ONNX Runtime with CPUExecutionProvider"]
    assert_same_outputs(sample_cnn, result.output, dims={"batch": 2})


def test_layout_is_deterministic(cnn_path: Path, tmp_path: Path) -> None:
    # ORT names the layout nodes it inserts in hash order; the pass renames them by position.
    outputs = [run_pass("ort-optimize", cnn_path, tmp_path / f"{i}.onnx", {"level": "layout"}).output for i in range(4)]
    assert len({p.read_bytes() for p in outputs}) == 1
    assert any(k.startswith("com.microsoft.nchwc") for k in run_pass(
        "ort-optimize", cnn_path, tmp_path / "x.onnx", {"level": "layout"}).details["runtime_ops"])
    assert_same_outputs(cnn_path, outputs[0], dims={"batch": 2})


def test_opset13_layernorm_fusion_is_skipped(save, tmp_path: Path) -> None:
    from sample_models import build_transformer

    source = save(build_transformer(opset=13), "encoder13.onnx")
    result = run_pass("ort-optimize", source, tmp_path / "out.onnx")
    # ORT would write LayerNormalization, which opset 13 lacks: that fusion is turned off
    assert "LayerNormFusionL1" in result.details["disabled_optimizers"]
    assert any("opset 13 has no LayerNormalization" in w for w in result.warnings)
    onnx.checker.check_model(onnx.load(str(result.output)))
    assert result.details["runtime_ops"]["com.microsoft.BiasGelu"] == 2
    assert_same_outputs(source, result.output, dims={"batch": 2, "sequence": 16})


def test_external_data_model(cnn_external_path: Path, tmp_path: Path) -> None:
    result = run_pass("ort-optimize", cnn_external_path, tmp_path / "out.onnx", {"level": "extended"})
    assert (tmp_path / "out.onnx.data").exists()  # weights stay beside the model
    assert_same_outputs(cnn_external_path, result.output)


def test_unknown_provider_is_refused() -> None:
    with pytest.raises(ConfigError, match="provider"):
        make_config("ort-optimize", {"provider": "NoSuchExecutionProvider"})


def test_unknown_op_fails_in_one_sentence(save, tmp_path: Path) -> None:
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2])
    node = onnx.helper.make_node("Mystery", ["x"], ["y"], domain="acme.ops")
    graph = onnx.helper.make_graph([node], "g", [x], [y])
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", 13), onnx.helper.make_opsetid("acme.ops", 1)]
    )
    # onnx 1.23 writes IR 14, which ORT 1.23 (Python 3.10) refuses before it looks at the ops.
    model.ir_version = 8
    with pytest.raises(PassFailed) as info:
        run_pass("ort-optimize", save(model, "custom.onnx"), tmp_path / "out.onnx")
    message = str(info.value)
    assert message.startswith("pass 'ort-optimize': ONNX Runtime could not load custom.onnx")
    assert "acme.ops:Mystery" in message and "\n" not in message
    assert not (tmp_path / "out.onnx").exists()
