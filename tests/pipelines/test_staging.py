"""The one staging helper: scratch folders beside an output, files published only on success."""
from __future__ import annotations

from pathlib import Path

import pytest

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.staging import publish_model, scratch_folder, staged_model


def test_scratch_folder_is_hidden_beside_the_target_and_removed(tmp_path: Path) -> None:
    target = tmp_path / "out" / "m.onnx"
    with scratch_folder(target, "tool") as folder:
        assert folder.parent == target.parent and folder.name.startswith(".m.onnx.tool.")
        (folder / "big.bin").write_bytes(b"x")
    assert list(target.parent.iterdir()) == []


def test_staged_model_moves_model_and_data_in_on_success(tmp_path: Path) -> None:
    target = tmp_path / "m.onnx"
    with staged_model(target) as staged:
        staged.write_bytes(b"model")
        (staged.parent / "m.onnx.data").write_bytes(b"weights")
        assert not target.exists()  # nothing visible before the end
    assert target.read_bytes() == b"model" and (tmp_path / "m.onnx.data").read_bytes() == b"weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.data"]


def test_staged_model_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), staged_model(target) as staged:
        staged.write_bytes(b"half")
        raise RuntimeError("tool failed")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_publish_refuses_a_protected_file_before_moving_anything(tmp_path: Path) -> None:
    staged = tmp_path / "stage" / "out.onnx"
    staged.parent.mkdir()
    staged.write_bytes(b"model")
    (staged.parent / "weights.data").write_bytes(b"new")
    (tmp_path / "weights.data").write_bytes(b"the user's")
    with pytest.raises(ConfigError, match="never written"):
        publish_model(staged, tmp_path / "out.onnx", protected=[(tmp_path / "weights.data").resolve()])
    assert (tmp_path / "weights.data").read_bytes() == b"the user's" and not (tmp_path / "out.onnx").exists()
