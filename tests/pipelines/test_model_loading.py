"""load_model refuses bad files with one sentence, opens odd-but-valid ones; save_model is safe."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from bad_models import ODD_BUT_VALID, REFUSED, with_weight_model

import onnx_workbench.pipelines.model as model_io
from onnx_workbench.pipelines.errors import ModelRefused, WorkbenchError
from onnx_workbench.pipelines.model import load_model, save_model


def _one_sentence(message: str) -> bool:
    body = message.rstrip(".")
    return "\n" not in message and message.endswith(".") and ". " not in body.replace("e.g. ", "")


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refuses_bad_model_with_one_sentence(case: str, tmp_path: Path) -> None:
    builder, words = REFUSED[case]
    path = builder(tmp_path)
    with pytest.raises(ModelRefused) as caught:
        load_model(path)
    message = str(caught.value)
    for word in words:
        assert word.lower() in message.lower(), f"{case}: {word!r} not in {message!r}"
    assert _one_sentence(message), message
    assert len(message) < 400, message


def test_hostile_external_data_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = REFUSED["external_dotdot"][0](tmp_path)
    opened: list[str] = []
    real_read = model_io.read_external_tensors
    monkeypatch.setattr(model_io, "read_external_tensors", lambda *a, **k: opened.append("x") or real_read(*a, **k))
    with pytest.raises(ModelRefused):
        load_model(path)
    assert opened == []


@pytest.mark.parametrize("case", sorted(ODD_BUT_VALID))
def test_opens_odd_but_valid_model(case: str, tmp_path: Path) -> None:
    path = ODD_BUT_VALID[case](tmp_path)
    loaded = load_model(path)
    original = onnx.load(str(path), load_external_data=False)
    assert len(loaded.proto.graph.node) == len(original.graph.node)
    assert loaded.size_bytes >= path.stat().st_size
    assert loaded.opsets.get("ai.onnx") == 17


def test_long_names_survive_and_messages_stay_short(tmp_path: Path) -> None:
    loaded = load_model(ODD_BUT_VALID["long_names"](tmp_path))
    assert len(loaded.proto.graph.node[0].name) == 100_000


def test_unsorted_nodes_are_sorted_with_a_warning(tmp_path: Path) -> None:
    loaded = load_model(ODD_BUT_VALID["unsorted_nodes"](tmp_path))
    assert [n.name for n in loaded.proto.graph.node] == ["relu", "add"]
    assert any("topological" in w for w in loaded.warnings)


def test_custom_domain_opset_is_reported(tmp_path: Path) -> None:
    loaded = load_model(ODD_BUT_VALID["custom_domain"](tmp_path))
    assert loaded.opsets == {"ai.onnx": 17, "com.example.ops": 1}


def test_shape_inference_keeps_symbolic_dims(sample_transformer: Path) -> None:
    loaded = load_model(sample_transformer)
    shapes = {v.name: v.type.tensor_type.shape for v in loaded.proto.graph.value_info}
    hidden = shapes["encoder.layer.0.output.LayerNorm"]
    dims = [d.dim_param or d.dim_value for d in hidden.dim]
    # batch survives by name; the sequence axis passes a Slice, so onnx gives it a fresh symbol.
    assert dims[0] == "batch" and isinstance(dims[1], str) and dims[2] == 128
    assert load_model(sample_transformer, infer_shapes=False).proto.graph.value_info == []


def test_external_data_is_loaded(tmp_path: Path) -> None:
    loaded = load_model(ODD_BUT_VALID["external_ok"](tmp_path))
    assert loaded.has_external_data
    assert loaded.data_files == [(tmp_path / "ext_ok.onnx.data").resolve()]
    weight = onnx.numpy_helper.to_array(loaded.proto.graph.initializer[0])
    expected = onnx.numpy_helper.to_array(with_weight_model().graph.initializer[0])
    np.testing.assert_array_equal(weight, expected)
    assert loaded.size_bytes == (tmp_path / "ext_ok.onnx").stat().st_size + weight.nbytes


def test_save_with_external_data_round_trips(tmp_path: Path) -> None:
    model = with_weight_model()
    before = model.SerializeToString()
    target = save_model(model, tmp_path / "out" / "saved.onnx", external_data=True)
    assert model.SerializeToString() == before, "save_model must not change the caller's model"
    data_file = tmp_path / "out" / "saved.onnx.data"
    assert data_file.stat().st_size >= 64 * 64 * 4
    assert target.stat().st_size < 2000, "the weight belongs in the data file"
    loaded = load_model(target)
    assert loaded.has_external_data
    x = np.ones((1, 64), np.float32)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    expected = x @ onnx.numpy_helper.to_array(model.graph.initializer[0])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], expected, rtol=1e-5)
    # Re-saving the loaded model as one file pulls the data back in.
    single = loaded.save(tmp_path / "single.onnx", external_data=False)
    assert not load_model(single).has_external_data
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == [], "no temp files left"
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == ["saved.onnx", "saved.onnx.data"]


def test_large_models_go_external_and_never_one_protobuf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = with_weight_model()
    monkeypatch.setattr(model_io, "EXTERNAL_DATA_THRESHOLD_BYTES", 1000)
    save_model(model, tmp_path / "auto.onnx")
    assert (tmp_path / "auto.onnx.data").exists()
    monkeypatch.setattr(model_io, "PROTOBUF_LIMIT_BYTES", (1 << 24) + 1000)
    with pytest.raises(WorkbenchError, match="over 2 GB"):
        save_model(model, tmp_path / "forced.onnx", external_data=False)
    assert not (tmp_path / "forced.onnx").exists()


def test_big_models_are_checked_and_inferred_from_the_file(
    sample_transformer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_memory = load_model(sample_transformer)
    checked: list[object] = []
    real_check = onnx.checker.check_model
    monkeypatch.setattr(onnx.checker, "check_model", lambda m, **k: checked.append(m) or real_check(m, **k))
    monkeypatch.setattr(model_io, "IN_MEMORY_INFERENCE_LIMIT_BYTES", 1000)
    copy = Path(shutil.copy(sample_transformer, tmp_path / "big.onnx"))  # a file this process has not checked yet
    from_file = load_model(copy)
    # The checker gets neither the file (it would parse every weight again) nor the weights.
    assert len(checked) == 1 and checked[0].ByteSize() < copy.stat().st_size / 10
    assert from_file.warnings == []
    shapes = lambda m: {v.name: str(v.type) for v in m.proto.graph.value_info}  # noqa: E731
    assert shapes(from_file) == shapes(in_memory)


def test_single_protobuf_over_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_model(with_weight_model(), tmp_path / "huge.onnx")
    monkeypatch.setattr(model_io, "PROTOBUF_LIMIT_BYTES", 1000)
    with pytest.raises(ModelRefused, match="huge.onnx is a single protobuf over 2 GB"):
        load_model(path)


def test_save_refuses_to_overwrite_source(tmp_path: Path) -> None:
    source = tmp_path / "user.onnx"
    source.write_bytes(with_weight_model().SerializeToString())
    original = source.read_bytes()
    loaded = load_model(source)
    with pytest.raises(WorkbenchError, match="user.onnx is the file this model was opened from"):
        loaded.save(source)
    with pytest.raises(WorkbenchError):
        save_model(loaded.proto, tmp_path / "." / "user.onnx", source=source)
    link = tmp_path / "alias.onnx"
    link.symlink_to(source)
    with pytest.raises(WorkbenchError):
        save_model(loaded.proto, link, source=source)
    assert source.read_bytes() == original
    save_model(loaded.proto, source, source=source, overwrite_source=True)
    assert load_model(source).proto.graph.node[0].name == "matmul"


def test_atomic_save_leaves_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.onnx"
    save_model(with_weight_model(), target)
    old = target.read_bytes()

    def half_then_fail(self: Path, data: bytes) -> int:
        with open(self, "wb") as handle:
            handle.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(OSError):
        save_model(with_weight_model(16), target)
    monkeypatch.undo()
    assert target.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_sample_models_load_and_run(sample_cnn: Path, sample_transformer: Path) -> None:
    from onnx_workbench.pipelines.inputs import random_inputs

    for path in (sample_cnn, sample_transformer):
        loaded = load_model(path)
        assert loaded.warnings == []
        onnx.checker.check_model(loaded.proto, full_check=True)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (output,) = session.run(None, random_inputs(loaded.proto, dims={"batch": 2, "sequence": 16}))
        assert np.isfinite(output).all()
        if path == sample_cnn:
            np.testing.assert_allclose(output.sum(axis=1), 1.0, rtol=1e-5)
            assert output.max() < 0.5, "class scores should not be one-hot on random images"
        else:
            assert 0.1 < float(output.std()) < 10.0


def test_sample_models_are_deterministic_and_committed(sample_cnn: Path, sample_transformer: Path) -> None:
    import sample_models

    for path, build in ((sample_cnn, sample_models.build_resnet), (sample_transformer, sample_models.build_transformer)):
        first = build().SerializeToString(deterministic=True)
        assert first == build().SerializeToString(deterministic=True)
        assert first == path.read_bytes(), f"{path.name} is stale; run python assets/sample_models.py"


def test_layered_graph_has_requested_size_and_runs() -> None:
    import sample_models

    model = sample_models.build_layered_graph(1000, seed=1)
    assert 990 <= len(model.graph.node) <= 1000
    assert len({n.op_type for n in model.graph.node}) >= 6
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": np.ones((3, 8), np.float32)})
    assert y.shape == (3, 8) and np.isfinite(y).all()


@pytest.mark.parametrize("opset", [13, 20])
def test_transformer_variants_spell_layernorm_and_gelu_per_opset(opset: int) -> None:
    import sample_models

    model = sample_models.build_transformer(opset=opset)
    ops = {n.op_type for n in model.graph.node}
    assert ("LayerNormalization" in ops) == (opset >= 17)
    assert ("Gelu" in ops) == (opset >= 20)
    names = [n.name for n in model.graph.node]
    assert all(names) and len(set(names)) == len(names), "node names must be unique and readable"
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = sample_models.build_transformer(opset=17)
    ids = np.random.default_rng(0).integers(0, 1000, (2, 9))
    expected = ort.InferenceSession(reference.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input_ids": ids})[0]
    # Same seed, same weights: only the spelling of LayerNorm/GELU differs.
    np.testing.assert_allclose(session.run(None, {"input_ids": ids})[0], expected, atol=2e-4)


def _external_weight_model(folder: Path) -> Path:
    """with_weight_model saved with its 16 KB weight in 'ext.onnx.data'."""
    return save_model(with_weight_model(), folder / "ext.onnx", external_data=True)


def test_graph_only_load_never_reads_the_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _external_weight_model(tmp_path)
    full = load_model(path)
    # Garble the weights (same length): a graph-only load must not notice, as it never reads them.
    data = path.with_name("ext.onnx.data")
    data.write_bytes(b"\xff" * data.stat().st_size)
    monkeypatch.setattr(model_io, "SMALL_TENSOR_BYTES", 1024)
    graph = load_model(path, weights=False)
    assert not graph.weights_loaded and graph.has_external_data
    weight = next(t for t in graph.proto.graph.initializer if t.name == "weight")
    assert weight.data_location == onnx.TensorProto.EXTERNAL and not weight.raw_data
    assert [n.op_type for n in graph.proto.graph.node] == [n.op_type for n in full.proto.graph.node]
    assert {v.name for v in graph.proto.graph.value_info} == {v.name for v in full.proto.graph.value_info}
    with pytest.raises(WorkbenchError, match="without its weights"):
        graph.save(tmp_path / "copy.onnx")


def test_full_load_reads_each_weight_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _external_weight_model(tmp_path)
    reads: list[int] = []
    real_read = model_io.read_external_tensors
    monkeypatch.setattr(
        model_io, "read_external_tensors", lambda *a, **k: reads.append(real_read(*a, **k)) or reads[-1]
    )
    loaded = load_model(path)
    assert sum(reads) == 64 * 64 * 4
    weight = next(t for t in loaded.proto.graph.initializer if t.name == "weight")
    assert weight.data_location == onnx.TensorProto.DEFAULT and len(weight.raw_data) == 64 * 64 * 4


def test_unsorted_model_with_external_data_is_checked_sorted(tmp_path: Path) -> None:
    path = _external_weight_model(tmp_path)
    proto = onnx.load(str(path), load_external_data=False)
    relu = onnx.helper.make_node("Relu", ["y"], ["z"], name="after")
    proto.graph.node.insert(0, relu)  # reads y before the node that writes it
    proto.graph.output[0].name = "z"
    path.write_bytes(proto.SerializeToString())
    loaded = load_model(path, weights=False)
    assert [n.op_type for n in loaded.proto.graph.node][-1] == "Relu"
    assert any("re-sorted" in w for w in loaded.warnings)
