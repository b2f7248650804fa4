"""Passes on the in-memory onnx-ir contract never load a model's weights into one protobuf.

Each runs on a CNN whose every weight lives in an external data file; loading the weights
in (what a protobuf pass does, and what fails above 2 GB) raises here. The output keeps
its weights in its own data file and computes what the pass promises.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir
import pytest
from onnxruntime.transformers.float16 import convert_np_to_float16
from pass_models import assert_same_outputs, build_transformer

import onnx_workbench.pipelines.model as model_io
from onnx_workbench.pipelines.passes import get_pass, run_pass

IR_PASSES = {
    "fold-batchnorm": {},
    "convert-opset": {"opset": 17},
    "fix-shapes": {"dims": {"batch": 2}},
    "to-fp16": {},
    "prune-channels": {"ratio": 0.5, "round_to": 1},
    "prune-magnitude": {"sparsity": 0.5, "min_size": 16},
    "prune-neurons": {"ratio": 0.5, "heads_ratio": 0.5},
}


@pytest.fixture()
def no_full_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading every external tensor into the protobuf fails the test (small ones may be read)."""
    real_read = model_io.read_external_tensors

    def read(model: onnx.ModelProto, folder: Path, *, max_bytes: int | None = None) -> int:
        assert max_bytes is not None, "a pass read every weight into the protobuf"
        return real_read(model, folder, max_bytes=max_bytes)

    def load_all(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pass loaded every weight into the protobuf (onnx.load with external data)")

    monkeypatch.setattr(model_io, "read_external_tensors", read)
    monkeypatch.setattr(onnx.external_data_helper, "load_external_data_for_model", load_all)
    # So the CNN's weights count as big (a load still reads what onnx-ir hands the C API, 1 KB or less).
    monkeypatch.setattr(model_io, "SMALL_TENSOR_BYTES", 1024)


@pytest.fixture(scope="module")
def transformer_external_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One encoder layer (FFN neurons and attention heads) with its weights external (small constants inline, as ONNX Runtime needs)."""
    path = tmp_path_factory.mktemp("external") / "encoder_ext.onnx"
    onnx.save_model(build_transformer(), str(path), save_as_external_data=True, location="encoder_ext.weights", size_threshold=1024)
    return path


@pytest.mark.parametrize("name", sorted(IR_PASSES))
def test_pass_works_on_ir_without_reading_all_weights(
    name: str, cnn_external_path: Path, transformer_external_path: Path, tmp_path: Path, no_full_loads: None
) -> None:
    assert get_pass(name).works_on_ir()
    source = transformer_external_path if name == "prune-neurons" else cnn_external_path
    result = run_pass(name, source, tmp_path / "out.onnx", IR_PASSES[name])
    if get_pass(name).category == "prune":
        assert result.details["params_removed" if name != "prune-magnitude" else "sparsity"] > 0
    assert (tmp_path / "out.onnx.data").stat().st_size > 0
    written = onnx.load(str(result.output), load_external_data=False)
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in written.graph.initializer)


@pytest.mark.parametrize("name", ["fold-batchnorm", "convert-opset"])
def test_rewrites_keep_the_outputs(name: str, cnn_external_path: Path, tmp_path: Path) -> None:
    result = run_pass(name, cnn_external_path, tmp_path / "out.onnx", IR_PASSES[name])
    assert_same_outputs(cnn_external_path, result.output, dims={"batch": 2})


def test_to_fp16_converts_each_weight_as_onnx_runtime_does(cnn_external_path: Path, tmp_path: Path) -> None:
    result = run_pass("to-fp16", cnn_external_path, tmp_path / "out.onnx", IR_PASSES["to-fp16"])
    before = ir.load(str(cnn_external_path))
    after = ir.load(str(result.output))
    converted = 0
    for name, value in after.graph.initializers.items():
        original = before.graph.initializers[name].const_value.numpy()
        if value.const_value.dtype == ir.DataType.FLOAT16 and original.dtype == np.float32:
            np.testing.assert_array_equal(value.const_value.numpy(), convert_np_to_float16(original))
            converted += 1
    assert converted >= 4
    nodes = onnx.load(str(result.output), load_external_data=False).graph.node
    produced = {o for n in nodes for o in n.output}
    seen: set[str] = set()
    for node in nodes:  # sorted: every node's inputs are produced before it
        assert not (set(node.input) & produced) - seen, node.name
        seen.update(node.output)


def test_transformer_fusion_from_1gb_runs_onnxscript_on_ir(
    transformer_external_path: Path, tmp_path: Path, no_full_loads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx_workbench.pipelines.model_files as model_files
    from onnx_workbench.pipelines.errors import ConfigError

    monkeypatch.setattr(model_files, "model_size_bytes", lambda path: 1 << 30)  # as if 1 GB
    result = run_pass("transformer-fusion", transformer_external_path, tmp_path / "out.onnx")
    assert result.details["engine"] == "onnxscript" and result.details["fused"]
    assert any("only the onnxscript engine ran" in w for w in result.warnings)
    assert_same_outputs(transformer_external_path, result.output)
    with pytest.raises(ConfigError, match="onnxruntime engine holds the whole model in one protobuf several times"):
        run_pass("transformer-fusion", transformer_external_path, tmp_path / "ort.onnx", {"engine": "onnxruntime"})
