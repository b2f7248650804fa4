"""The front door for exporter quirks: each habit of real exporters, and what every step makes of it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from legacy_models import LEGACY_CNN_INPUT, LEGACY_CNN_MACS, legacy_cnn, save
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.analysis import analyze
from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.passes import engine
from onnx_workbench.pipelines.passes.engine import run_pass


def _run(path: Path, model: onnx.ModelProto | None = None) -> np.ndarray:
    """The model's output on a fixed input (from `path`, or `model` written beside it)."""
    if model is not None:
        path = save(model, path.with_name(f"{path.stem}.normalized.onnx"))
    name, shape = LEGACY_CNN_INPUT
    feed = {name: np.random.default_rng(3).standard_normal(shape).astype(np.float32)}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


def _weights_in_inputs(model: onnx.ModelProto) -> list[str]:
    initializers = {t.name for t in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name in initializers]


@pytest.fixture()
def ir3(tmp_path: Path) -> Path:
    """The zoo-style CNN at opset 9, IR 3, every weight also a graph input."""
    return save(legacy_cnn(opset=9, ir_version=3), tmp_path / "ir3.onnx")


def test_weights_listed_as_inputs_become_constants_in_memory_only(ir3: Path) -> None:
    written = ir3.read_bytes()
    loaded = load_model(ir3)
    assert _weights_in_inputs(loaded.proto) == []
    assert [v.name for v in loaded.proto.graph.input] == ["data"]
    assert loaded.proto.ir_version == 4  # the first IR where initializers need not be inputs
    assert any("11 weights listed as graph inputs" in note and "IR version 3 -> 4" in note for note in loaded.notes)
    onnx.checker.check_model(loaded.proto, full_check=True)
    np.testing.assert_allclose(_run(ir3, loaded.proto), _run(ir3), rtol=1e-5, atol=1e-6)
    assert ir3.read_bytes() == written
    raw = load_model(ir3, normalize=False)
    assert len(_weights_in_inputs(raw.proto)) == 11 and raw.notes == []


def test_constant_subgraphs_are_folded_into_initializers(ir3: Path) -> None:
    model = load_model(ir3).proto
    ops = [n.op_type for n in model.graph.node]
    assert "Constant" not in ops and "Unsqueeze" not in ops
    initializers = {t.name: t for t in model.graph.initializer}
    mul = next(n for n in model.graph.node if n.name == "affine_mul")
    assert list(initializers[mul.input[1]].dims) == [4, 1, 1]  # caffe2's per-channel scale, now a constant
    reshape = next(n for n in model.graph.node if n.op_type == "Reshape")
    assert numpy_helper.to_array(initializers[reshape.input[1]]).tolist() == [1, -1]
    assert "affine_scale" not in initializers  # the (C,) original is read by nothing any more


def test_dropout_ratio_input_is_folded(tmp_path: Path) -> None:
    path = save(legacy_cnn(opset=13, ir_version=7), tmp_path / "opset13.onnx")
    model = load_model(path).proto
    dropout = next(n for n in model.graph.node if n.op_type == "Dropout")
    assert dropout.input[1] in {t.name for t in model.graph.initializer}
    assert "Constant" not in {n.op_type for n in model.graph.node}


def test_spatial_attribute_is_dropped_and_batchnorm_folds(tmp_path: Path) -> None:
    path = save(legacy_cnn(opset=8, ir_version=3), tmp_path / "opset8.onnx")
    model = load_model(path).proto
    bn = next(n for n in model.graph.node if n.op_type == "BatchNormalization")
    assert [a.name for a in bn.attribute] == ["epsilon"]
    target = tmp_path / "folded.onnx"
    result = run_pass("fold-batchnorm", path, target)
    written = onnx.load(str(target))
    assert "BatchNormalization" not in {n.op_type for n in written.graph.node}
    assert result.details["folded"] == {"Conv": 1}
    np.testing.assert_allclose(_run(target), _run(path), rtol=1e-4, atol=1e-5)


def test_pre_runtime_opset_with_is_test_is_upgraded(tmp_path: Path) -> None:
    path = save(legacy_cnn(opset=6, ir_version=3), tmp_path / "opset6.onnx")
    loaded = load_model(path)
    assert next(o.version for o in loaded.proto.opset_import if o.domain == "") == 7
    assert not [a for n in loaded.proto.graph.node for a in n.attribute if a.name in ("is_test", "spatial")]
    target = tmp_path / "folded.onnx"
    run_pass("fold-batchnorm", path, target)
    assert "BatchNormalization" not in {n.op_type for n in onnx.load(str(target)).graph.node}
    _run(target)  # ONNX Runtime runs it (it runs no opset-6 BatchNormalization)


@pytest.mark.parametrize(
    ("pass_name", "settings"),
    [
        ("fold-batchnorm", {}),
        ("cleanup", {}),
        ("ort-optimize", {}),
        ("quantize-dynamic", {}),
        ("quantize-static", {"samples": 4}),
    ],
)
def test_every_new_version_lists_weights_only_as_initializers(ir3: Path, tmp_path: Path, pass_name: str, settings: dict) -> None:
    written = ir3.read_bytes()
    target = tmp_path / f"{pass_name}.onnx"
    result = run_pass(pass_name, ir3, target, settings)
    model = onnx.load(str(target))
    assert _weights_in_inputs(model) == []
    assert model.ir_version >= 4
    assert any("weights listed as graph inputs" in w for w in result.warnings)
    onnx.checker.check_model(str(target), full_check=True)
    _run(target)
    assert ir3.read_bytes() == written


def test_only_passes_that_hand_the_file_to_a_tool_get_a_normalised_copy(
    ir3: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-memory passes read through load_model, which normalises; a scratch copy would write the model twice."""
    copied: list[str] = []
    real = engine._quirk_free

    def spy(source: Path, graph: onnx.ModelProto, folder: Path):  # noqa: ANN202 - a context manager, like the real one
        copied.append(source.name)
        return real(source, graph, folder)

    monkeypatch.setattr(engine, "_quirk_free", spy)
    run_pass("cleanup", ir3, tmp_path / "cleanup.onnx")
    assert copied == []
    run_pass("ort-optimize", ir3, tmp_path / "ort.onnx")
    assert copied == ["ir3.onnx"]


def test_convert_opset_upgrades_ir_and_opset_together(ir3: Path, tmp_path: Path) -> None:
    target = tmp_path / "opset17.onnx"
    run_pass("convert-opset", ir3, target, {"opset": 17})
    model = onnx.load(str(target))
    assert next(o.version for o in model.opset_import if o.domain == "") == 17
    assert model.ir_version == 8  # onnx's release table: opset 17 came with IR 8
    assert _weights_in_inputs(model) == []
    np.testing.assert_allclose(_run(target), _run(ir3), rtol=1e-5, atol=1e-6)


def test_quantize_static_on_opset9_ir3_is_one_valid_step(ir3: Path, tmp_path: Path) -> None:
    target = tmp_path / "int8.onnx"
    run_pass("quantize-static", ir3, target, {"samples": 8})
    onnx.checker.check_model(str(target), full_check=True)
    model = onnx.load(str(target))
    assert next(o.version for o in model.opset_import if o.domain == "") == 13
    assert model.ir_version == 7  # upgraded with the opset (onnx's release table), not left at 4
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in model.graph.node}
    assert "BatchNormalization" not in {n.op_type for n in model.graph.node}  # folded by ORT's pre-processing
    reference, quantized = _run(ir3), _run(target)
    cosine = float(np.dot(reference.ravel(), quantized.ravel()) / np.linalg.norm(reference) / np.linalg.norm(quantized))
    assert cosine > 0.99


@pytest.mark.parametrize("normalize", [True, False])
def test_every_shape_is_inferred_and_macs_match_the_hand_count(ir3: Path, normalize: bool) -> None:
    # Also without the front door: analysis must not lose shapes on an IR-3 graph by itself.
    analysis = analyze(load_model(ir3, normalize=normalize).proto)
    assert analysis.unknown_shape_nodes == 0
    assert analysis.macs == LEGACY_CNN_MACS
    assert analysis.layers[-1].output_shapes == [[1, 10]]


def test_a_weight_read_twice_is_not_copied_by_folding(tmp_path: Path) -> None:
    """A tied LM head: Gather(embedding) and MatMul(..., Transpose(embedding)) share one weight."""
    embedding = numpy_helper.from_array(np.random.default_rng(0).standard_normal((300, 40)).astype(np.float32), "embedding")
    nodes = [
        helper.make_node("Gather", ["embedding", "ids"], ["hidden"], name="embed"),
        helper.make_node("Transpose", ["embedding"], ["head"], name="tie", perm=[1, 0]),
        helper.make_node("MatMul", ["hidden", "head"], ["logits"], name="lm_head"),
    ]
    graph = helper.make_graph(
        nodes,
        "tied",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 5])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5, 300])],
        [embedding],
    )
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), tmp_path / "tied.onnx")
    model = load_model(path).proto
    assert [t.name for t in model.graph.initializer] == ["embedding"]
    assert "Transpose" in {n.op_type for n in model.graph.node}


def test_graph_only_load_of_external_weights_is_normalised_the_same(ir3: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx_workbench.pipelines.model as model_io

    monkeypatch.setattr(model_io, "SMALL_TENSOR_BYTES", 0)  # every external tensor stays in the data file
    external = tmp_path / "ext" / "ir3.onnx"
    external.parent.mkdir()
    onnx.save(onnx.load(str(ir3)), str(external), save_as_external_data=True, location="ir3.onnx.data", size_threshold=0)
    full, graph = load_model(ir3), load_model(external, weights=False)
    assert graph.notes == full.notes and not graph.weights_loaded
    assert [n.op_type for n in graph.proto.graph.node] == [n.op_type for n in full.proto.graph.node]
    locations = {e.value for t in graph.proto.graph.initializer for e in t.external_data if e.key == "location"}
    assert locations == {"ir3.onnx.data"}  # relative again after the folder read the folded weights
    model_io.read_external_tensors(graph.proto, external.parent)
    np.testing.assert_allclose(_run(external, graph.proto), _run(ir3), rtol=1e-5, atol=1e-6)


def test_calibration_and_verify_take_stacked_batch_one_arrays(ir3: Path, tmp_path: Path) -> None:
    """N batch-1 samples saved as (N, 1, C, H, W) mean the same as (N, C, H, W) rows."""
    from onnx_workbench.pipelines.verify import verify_models

    name, shape = LEGACY_CNN_INPUT
    rows = np.random.default_rng(5).standard_normal((6, *shape[1:])).astype(np.float32)
    flat, stacked = tmp_path / "flat.npz", tmp_path / "stacked.npz"
    np.savez(flat, **{name: rows})
    np.savez(stacked, **{name: rows[:, None]})
    outputs = []
    for data in (flat, stacked):
        target = tmp_path / f"{data.stem}.int8.onnx"
        settings = {"calibration": "arrays", "data": str(data)}
        result = run_pass("quantize-static", ir3, target, settings)
        assert result.details["calibration"]["samples"] == 6
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    report = verify_models(ir3, tmp_path / "stacked.int8.onnx", data=stacked, samples=6)
    assert report.samples == 6 and report.outputs[0].shape == [1, 10]
