"""simplify's guard against onnxsim 0.7 (the newest on Python 3.10) emitting a model ORT cannot run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.errors import PassFailed
from onnx_workbench.pipelines.passes.simplify import _refuse_if_broken


def _model(path: Path, target_shape: list[int]) -> Path:
    """x[1,4] -> Relu -> Reshape(target_shape); a shape that does not hold 4 values fails at run time."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    shape = numpy_helper.from_array(np.array(target_shape, dtype=np.int64), name="shape")
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Reshape", ["r", "shape"], ["y"])]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [shape]), opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # ORT 1.23 reads at most IR 11
    onnx.save(model, path)
    return path


def test_a_result_ort_cannot_run_is_refused_in_one_sentence(tmp_path: Path) -> None:
    source = _model(tmp_path / "source.onnx", [4])
    broken = _model(tmp_path / "broken.onnx", [3])
    with pytest.raises(PassFailed) as caught:
        _refuse_if_broken(source, broken, onnx.load(source), "model.onnx")
    message = str(caught.value)
    assert message.startswith("pass 'simplify': onnxsim ") and "turned model.onnx into a model ONNX Runtime cannot run" in message
    assert "skipped_optimizers" in message and "\n" not in message


def test_a_source_ort_cannot_run_either_is_not_blamed_on_onnxsim(tmp_path: Path) -> None:
    source = _model(tmp_path / "source.onnx", [5])
    _refuse_if_broken(source, _model(tmp_path / "same.onnx", [5]), onnx.load(source), "model.onnx")


def test_a_working_result_passes(tmp_path: Path) -> None:
    source = _model(tmp_path / "source.onnx", [4])
    _refuse_if_broken(source, _model(tmp_path / "fine.onnx", [2, 2]), onnx.load(source), "model.onnx")
