"""A step parses each model file once: later questions about the same file version reuse that parse."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines import model as model_io
from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.model_files import model_size_bytes
from onnx_workbench.pipelines.model_graphs import external_data_files, graph_without_weights, model_graph
from onnx_workbench.pipelines.ort_workarounds import crashing_optimizers


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model files parsed from now on, by any reader of ours (load_model or the graph cache)."""
    seen: list[str] = []
    real_parse, real_load = model_io._parse, onnx.load

    def parse(path: Path, label: str) -> onnx.ModelProto:
        seen.append(Path(path).name)
        return real_parse(path, label)

    def load(path: str, *args: object, **kwargs: object) -> onnx.ModelProto:
        seen.append(Path(path).name)
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(model_io, "_parse", parse)
    monkeypatch.setattr(onnx, "load", load)
    return seen


def _matmul_model(path: Path, dtype: int) -> Path:
    """x @ w with a 128 KiB inline weight (over the size whose data graph copies keep)."""
    weight = numpy_helper.from_array(np.ones((256, 128), helper.tensor_dtype_to_np_dtype(dtype)), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", dtype, ["batch", 256])], [helper.make_tensor_value_info("y", dtype, ["batch", 128])],
        [weight],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


def test_questions_about_a_loaded_file_parse_nothing_more(
    tmp_path: Path, sample_cnn: Path, parses: list[str]
) -> None:
    path = Path(shutil.copy(sample_cnn, tmp_path / "cnn.onnx"))
    load_model(path, weights=False)
    assert parses == ["cnn.onnx"]
    questions: list[Callable[[], object]] = [
        lambda: model_size_bytes(path), lambda: external_data_files(path),
        lambda: crashing_optimizers(path), lambda: model_graph(path),
    ]
    for ask in questions:
        ask()
    assert parses == ["cnn.onnx"], "size, data files, float16 and inputs come from the load's parse"
    assert model_size_bytes(path) == path.stat().st_size
    assert [i.name for i in model_graph(path).graph.input] == [i.name for i in onnx.load(str(path)).graph.input]


def test_a_rewritten_file_is_parsed_again(tmp_path: Path, parses: list[str]) -> None:
    path = _matmul_model(tmp_path / "m.onnx", TensorProto.FLOAT)
    assert crashing_optimizers(path) == []
    assert crashing_optimizers(path) == []
    assert parses == ["m.onnx"]
    _matmul_model(path, TensorProto.FLOAT16)  # the same name, new content
    assert crashing_optimizers(path) == ["NchwcTransformer"]
    assert parses == ["m.onnx", "m.onnx"]


def test_graph_copies_keep_types_and_shapes_but_no_weight_data(tmp_path: Path) -> None:
    model = onnx.load(str(_matmul_model(tmp_path / "m.onnx", TensorProto.FLOAT)))
    copy = graph_without_weights(model, max_bytes=1024)
    (weight,) = copy.graph.initializer
    assert (weight.name, list(weight.dims), weight.data_type) == ("w", [256, 128], TensorProto.FLOAT)
    assert not weight.raw_data and copy.ByteSize() < 1024
    assert copy.graph.node == model.graph.node and copy.opset_import == model.opset_import
    assert len(model.graph.initializer[0].raw_data) == 256 * 128 * 4, "the original keeps its weight"
    model.graph.initializer[0].data_type = 2147483647  # no ONNX type: kept whole, for load_model to refuse
    assert graph_without_weights(model).graph.initializer == model.graph.initializer


def test_shape_inference_never_copies_inline_weights(
    tmp_path: Path, sample_cnn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inferred_sizes: list[int] = []
    real_infer = onnx.shape_inference.infer_shapes

    def infer(model: onnx.ModelProto | bytes, *args: object, **kwargs: object) -> onnx.ModelProto:
        inferred_sizes.append(len(model) if isinstance(model, bytes) else model.ByteSize())
        return real_infer(model, *args, **kwargs)

    whole = real_infer(onnx.load(str(sample_cnn)), strict_mode=False, data_prop=True)
    monkeypatch.setattr(onnx.shape_inference, "infer_shapes", infer)
    loaded = load_model(sample_cnn)
    assert inferred_sizes and inferred_sizes[0] < sample_cnn.stat().st_size / 10
    assert loaded.proto.graph.value_info == whole.graph.value_info
    assert loaded.proto.graph.output == whole.graph.output
    assert onnx.load(str(sample_cnn)).graph.initializer == loaded.proto.graph.initializer


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files onnx.checker checks from now on (by the label load_model gives them: their names)."""
    seen: list[str] = []
    real_check = model_io._run_checker

    def check(model: onnx.ModelProto, label: str) -> None:
        seen.append(label)
        real_check(model, label)

    monkeypatch.setattr(model_io, "_run_checker", check)
    return seen


def test_a_step_parses_and_checks_each_file_once(
    tmp_path: Path, sample_cnn: Path, parses: list[str], checked: list[str]
) -> None:
    from onnx_workbench.pipelines.passes.engine import run_pass
    from onnx_workbench.pipelines.speed import quick_latency_comparison
    from onnx_workbench.pipelines.verify import verify_models

    source = Path(shutil.copy(sample_cnn, tmp_path / "cnn.onnx"))
    target = tmp_path / "out" / "clean.onnx"
    run_pass("fold-batchnorm", source, target)
    # The engine's look at the file as written (quirks check, diff), the pass's load, the diff's look at the output.
    assert sorted(parses) == ["clean.onnx", "cnn.onnx", "cnn.onnx"]
    assert sorted(checked) == ["clean.onnx", "cnn.onnx"]
    assert verify_models(source, target, samples=1).passed
    quick_latency_comparison(source, target, runs=1, warmup=0)
    assert sorted(parses) == ["clean.onnx", "cnn.onnx", "cnn.onnx"], "verification and timing parse nothing again"
    assert sorted(checked) == ["clean.onnx", "cnn.onnx"]


def test_a_changed_file_is_checked_again(tmp_path: Path) -> None:
    path = _matmul_model(tmp_path / "m.onnx", TensorProto.FLOAT)
    load_model(path)
    model = onnx.load(str(path))
    model.graph.initializer[0].raw_data = bytes(12)  # a weight cut short: the tensor-data check refuses it
    path.write_bytes(model.SerializeToString())
    with pytest.raises(model_io.ModelRefused, match="stores 12 bytes"):
        load_model(path)
