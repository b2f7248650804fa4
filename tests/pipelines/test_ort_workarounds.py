"""ONNX Runtime 1.32 crashes creating a CPU session for a float16 Transpose -> MatMul; ours must not."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.ort_workarounds import crashing_optimizers

ROOT = Path(__file__).resolve().parents[2]


def _transpose_matmul(path: Path, dtype: int) -> Path:
    """Transpose(perm=[1, 0, 2]) -> MatMul(constant weight): every attention block of a ViT after to-fp16."""
    weight = numpy_helper.from_array(np.ones((8, 16), helper.tensor_dtype_to_np_dtype(dtype)), "w")
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2]), helper.make_node("MatMul", ["t", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", dtype, [1, 5, 8])],
        [helper.make_tensor_value_info("y", dtype, None)],
        [weight],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10), str(path))
    return path


def test_float16_models_disable_the_crashing_optimizer(tmp_path: Path) -> None:
    fp16 = _transpose_matmul(tmp_path / "fp16.onnx", TensorProto.FLOAT16)
    assert crashing_optimizers(fp16) == crashing_optimizers(fp16.read_bytes()) == ["NchwcTransformer"]
    assert crashing_optimizers(_transpose_matmul(tmp_path / "fp32.onnx", TensorProto.FLOAT)) == []


def test_the_one_session_maker_opens_the_float16_model(tmp_path: Path) -> None:
    path = _transpose_matmul(tmp_path / "fp16.onnx", TensorProto.FLOAT16)
    # In a child process: without the workaround the crash is a SIGSEGV, which would end pytest.
    code = "import sys; from onnx_workbench.pipelines.runtime import open_session; open_session(sys.argv[1]); print('opened')"
    run = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "opened" in run.stdout, (run.returncode, run.stderr[-500:])
