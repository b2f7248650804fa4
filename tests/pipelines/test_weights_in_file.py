"""The window's open leaves the weights inside a .onnx in the file: same graph, same refusals, values on demand."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from bad_models import REFUSED

import onnx_workbench.pipelines.model as model_io
from onnx_workbench.pipelines.errors import ModelRefused, WorkbenchError
from onnx_workbench.pipelines.model import SMALL_TENSOR_BYTES, load_model
from onnx_workbench.pipelines.model_graphs import model_graph
from onnx_workbench.pipelines.tensor_values import initializer_statistics, tensor_array
from onnx_workbench.pipelines.weights_in_file import parse_leaving_weights


def _window_load(path: Path) -> model_io.LoadedModel:
    return load_model(path, weights=False, inline_weights=False)


def test_big_inline_weights_stay_in_the_file_and_the_graph_is_the_same(sample_cnn: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(sample_cnn, tmp_path / "cnn.onnx"))
    whole = load_model(path, weights=False)
    left = _window_load(path)
    big = {t.name for t in whole.proto.graph.initializer if len(t.raw_data) > SMALL_TENSOR_BYTES}
    assert big, "the sample should have weights over the threshold"
    assert {t.name for t in left.proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL} == big
    assert left.proto.ByteSize() < path.stat().st_size / 5
    # Everything else is what the whole parse gives: nodes, shapes, small tensors, figures.
    assert left.proto.graph.node == whole.proto.graph.node
    assert left.proto.graph.value_info == whole.proto.graph.value_info
    for tensor, full in zip(left.proto.graph.initializer, whole.proto.graph.initializer, strict=True):
        assert (tensor.name, list(tensor.dims), tensor.data_type) == (full.name, list(full.dims), full.data_type)
        if tensor.name not in big:
            assert tensor == full
        # Read on demand from the model file itself, as the properties panel does.
        np.testing.assert_array_equal(tensor_array(tensor, path.parent), onnx.numpy_helper.to_array(full))
    # The file has no data files, its size counts once, and a load without weights cannot be saved.
    assert (left.data_files, left.has_external_data, left.size_bytes) == ([], False, path.stat().st_size)
    assert not left.weights_loaded
    with pytest.raises(WorkbenchError, match="without its weights"):
        left.save(tmp_path / "copy.onnx")


def test_later_questions_about_the_file_see_it_as_written(sample_cnn: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(sample_cnn, tmp_path / "cnn.onnx"))
    _window_load(path)  # keeps the file's graph for later questions (pipelines.model_graphs)
    kept = model_graph(path)
    assert all(t.data_location == onnx.TensorProto.DEFAULT for t in kept.graph.initializer)
    assert kept == model_io.graph_without_weights(onnx.load(str(path)))
    name = max(kept.graph.initializer, key=lambda t: np.prod(t.dims)).name
    weight = next(t for t in onnx.load(str(path)).graph.initializer if t.name == name)
    assert initializer_statistics(path, name)["stats"]["max"] == pytest.approx(onnx.numpy_helper.to_array(weight).max())


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_window_refuses_what_a_whole_parse_refuses(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every tensor of these small models counts as a weight to leave in the file.
    monkeypatch.setattr(model_io, "SMALL_TENSOR_BYTES", 0)
    path = REFUSED[case][0](tmp_path)
    with pytest.raises(ModelRefused) as whole:
        load_model(path, weights=False)
    model_io._validated.clear()
    with pytest.raises(ModelRefused) as left:
        _window_load(path)
    assert str(left.value) == str(whole.value)


def test_odd_layouts_are_parsed_whole(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    weight = onnx.numpy_helper.from_array(np.arange(64, dtype=np.float32), "w")
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["w"], ["y"])], "g", [],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [64])], [weight])
    data = onnx.helper.make_model(graph).SerializeToString()
    path.write_bytes(data)
    assert parse_leaving_weights(path, 16)[1] == ["w"]
    assert parse_leaving_weights(path, 1024) == (onnx.ModelProto.FromString(data), [])  # nothing to leave
    path.write_bytes(data[:-40])  # cut: the usual parse says so
    assert parse_leaving_weights(path, 16) is None
    path.write_bytes(data + data)  # two graph fields, which protobuf merges
    assert parse_leaving_weights(path, 16) is None
