"""convert-opset converts up, reports no-ops and refuses impossible conversions in one sentence."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from pass_models import assert_same_outputs, op_counts

from onnx_workbench.pipelines.errors import ConfigError, PassFailed
from onnx_workbench.pipelines.passes import make_config, run_pass


def _opset(path: Path) -> int:
    return next(o.version for o in onnx.load(str(path)).opset_import if o.domain in ("", "ai.onnx"))


def test_upgrade_opset9_cnn(cnn9_path: Path, tmp_path: Path) -> None:
    result = run_pass("convert-opset", cnn9_path, tmp_path / "out.onnx", {"opset": 17})
    assert _opset(result.output) == 17
    assert result.details == {"from_opset": 9, "to_opset": 17}
    onnx.checker.check_model(onnx.load(str(result.output)), full_check=True)
    assert op_counts(result.output)["Conv"] == 2
    assert_same_outputs(cnn9_path, result.output)


def test_upgrade_sample_resnet_opset9(resnet9_path: Path, tmp_path: Path) -> None:
    result = run_pass("convert-opset", resnet9_path, tmp_path / "out.onnx", {"opset": 13})
    assert _opset(result.output) == 13
    assert op_counts(result.output) == op_counts(resnet9_path)
    assert_same_outputs(resnet9_path, result.output, dims={"batch": 2})


def test_same_opset_is_reported(cnn_path: Path, tmp_path: Path) -> None:
    result = run_pass("convert-opset", cnn_path, tmp_path / "out.onnx", {"opset": 13})
    assert "already at opset 13" in result.warnings[0]
    assert result.changes.is_empty


def test_impossible_downgrade_names_the_op(cnn_path: Path, tmp_path: Path) -> None:
    with pytest.raises(PassFailed) as info:
        run_pass("convert-opset", cnn_path, tmp_path / "out.onnx", {"opset": 9})
    message = str(info.value)
    assert message.startswith("pass 'convert-opset'") and "Relu" in message
    assert message.count(".") == 1 and "\n" not in message
    assert not (tmp_path / "out.onnx").exists()


def test_bounds() -> None:
    with pytest.raises(ConfigError, match="opset"):
        make_config("convert-opset", {"opset": 6})
    with pytest.raises(ConfigError, match="opset"):
        make_config("convert-opset", {"opset": onnx.defs.onnx_opset_version() + 1})
