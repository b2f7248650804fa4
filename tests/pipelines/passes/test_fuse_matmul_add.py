"""fuse-matmul-add makes Gemm from 2-D MatMul+Add, merges Transpose and Reshape pairs, keeps outputs."""
from __future__ import annotations

from pathlib import Path

from pass_models import assert_same_outputs, build_mlp, op_counts

from onnx_workbench.pipelines.passes import run_pass


def test_fuses_and_merges(save, tmp_path: Path) -> None:
    source = save(build_mlp(), "mlp.onnx")
    result = run_pass("fuse-matmul-add", source, tmp_path / "out.onnx")
    counts = op_counts(result.output)
    # two 2-D MatMul+Add pairs fused (one with the bias first, one with a [1, N] bias)
    assert counts["Gemm"] == 2
    # the rank-3 bias would change the output rank, so that pair stays
    assert (counts["MatMul"], counts["Add"]) == (1, 1)
    assert counts["Transpose"] == 0  # perm [1,0] twice cancels
    assert counts["Reshape"] == 1
    assert result.details["applied"] == {"transpose_pairs": 1, "reshape_pairs": 1, "gemm": 2}
    assert_same_outputs(source, result.output)


def test_options_disable_groups(save, tmp_path: Path) -> None:
    source = save(build_mlp(), "mlp.onnx")
    result = run_pass("fuse-matmul-add", source, tmp_path / "out.onnx", {"gemm": False, "reshapes": False})
    counts = op_counts(result.output)
    assert (counts["Gemm"], counts["Reshape"], counts["Transpose"]) == (0, 2, 0)


def test_transformer_3d_matmuls_are_left_alone(transformer_path: Path, tmp_path: Path) -> None:
    result = run_pass("fuse-matmul-add", transformer_path, tmp_path / "out.onnx")
    assert op_counts(result.output)["Gemm"] == 0
    assert op_counts(result.output) == op_counts(transformer_path)
    assert_same_outputs(transformer_path, result.output)


def test_deterministic(save, tmp_path: Path) -> None:
    source = save(build_mlp(), "mlp.onnx")
    a = run_pass("fuse-matmul-add", source, tmp_path / "a.onnx").output
    b = run_pass("fuse-matmul-add", source, tmp_path / "b.onnx").output
    assert a.read_bytes() == b.read_bytes()
