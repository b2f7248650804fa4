"""quantize-dynamic on the transformer, to-fp16, quantize-weights (MatMulNBits) and their refusals."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from quant_models import matmul_model, nhwc_model, op_types, worst_cosine

from onnx_workbench.pipelines.errors import ConfigError, PassFailed
from onnx_workbench.pipelines.passes.engine import make_config, run_pass


def test_dynamic_on_transformer(sample_transformer: Path, tmp_path: Path) -> None:
    target = tmp_path / "t.int8.onnx"
    result = run_pass("quantize-dynamic", sample_transformer, target)
    ops = op_types(target)
    assert "MatMulInteger" in ops and "DynamicQuantizeLinear" in ops
    assert result.details["size_bytes"]["quantized"] < result.details["size_bytes"]["parent"] / 2
    assert worst_cosine(sample_transformer, target) >= 0.99


def test_dynamic_per_channel_uint8_excluding_a_node(sample_transformer: Path, tmp_path: Path) -> None:
    target = tmp_path / "t.int8pc.onnx"
    run_pass(
        "quantize-dynamic",
        sample_transformer,
        target,
        {"per_channel": True, "weight_type": "uint8", "nodes_to_exclude": ["lm_head.matmul"]},
    )
    nodes = {n.name: n.op_type for n in onnx.load(str(target)).graph.node}
    assert nodes["lm_head.matmul"] == "MatMul"
    assert worst_cosine(sample_transformer, target) >= 0.99


def test_dynamic_on_a_cnn_warns_that_conv_integer_is_slow(sample_cnn: Path, tmp_path: Path) -> None:
    result = run_pass("quantize-dynamic", sample_cnn, tmp_path / "cnn.dyn.onnx")
    assert any("ConvInteger" in w and "quantize-static" in w for w in result.warnings)


def test_dynamic_with_nothing_to_quantize_fails_and_writes_nothing(sample_transformer: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PassFailed, match="nothing to quantize"):
        run_pass("quantize-dynamic", sample_transformer, out / "t.onnx", {"op_types": ["LSTM"]})
    assert list(out.iterdir()) == []


def test_fp16_keeps_io_types_and_fidelity(sample_cnn: Path, tmp_path: Path) -> None:
    target = tmp_path / "cnn.fp16.onnx"
    run_pass("to-fp16", sample_cnn, target, {})
    model = onnx.load(str(target))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    assert worst_cosine(sample_cnn, target) >= 0.99


def test_fp16_with_float16_io_and_a_blocked_op(sample_transformer: Path, tmp_path: Path) -> None:
    target = tmp_path / "t.fp16.onnx"
    run_pass("to-fp16", sample_transformer, target, {"keep_io_types": False, "op_block_list": ["Softmax"]})
    model = onnx.load(str(target))
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    assert worst_cosine(sample_transformer, target) >= 0.99


def test_a_float16_model_is_refused_by_every_quantization_pass(sample_transformer: Path, tmp_path: Path) -> None:
    half = tmp_path / "t.fp16.onnx"
    run_pass("to-fp16", sample_transformer, half)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("quantize-static", "quantize-dynamic", "quantize-weights", "to-fp16"):
        with pytest.raises(ConfigError, match="16-bit floats|no float32"):
            run_pass(name, half, out / "q.onnx")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "values",
    [
        {"bits": 4, "block_size": 32},
        {"bits": 8, "block_size": 64, "symmetric": False, "accuracy_level": 4},
        {"bits": 4, "block_size": 32, "algorithm": "rtn"},
    ],
)
def test_weights_only_on_matmul_model(tmp_path: Path, values: dict) -> None:
    source = matmul_model(tmp_path / "mlp.onnx")
    target = tmp_path / "mlp.q.onnx"
    result = run_pass("quantize-weights", source, target, values)
    assert result.details["matmuls_quantized"] == 2
    assert "MatMul" not in op_types(target)
    assert worst_cosine(source, target) >= 0.99


def test_weights_only_on_transformer(sample_transformer: Path, tmp_path: Path) -> None:
    target = tmp_path / "t.q4.onnx"
    result = run_pass("quantize-weights", sample_transformer, target, {"block_size": 32})
    assert result.details["matmuls_quantized"] >= 10
    assert worst_cosine(sample_transformer, target) >= 0.99


def test_weights_only_without_linear_layers_fails(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PassFailed, match="no MatMul or Gemm"):
        run_pass("quantize-weights", nhwc_model(tmp_path / "conv.onnx"), out / "x.onnx", {})
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"block_size": 48}, "block_size"),
        ({"block_size": 8}, "block_size"),
        ({"bits": 8, "algorithm": "rtn"}, "bits"),
        ({"bits": 2}, "bits"),
        ({"algorithm": "hqq"}, "algorithm"),
    ],
)
def test_weights_only_bad_settings(values: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_config("quantize-weights", values)
    assert info.value.field == field


def test_dynamic_refuses_unknown_weight_type() -> None:
    with pytest.raises(ConfigError) as info:
        make_config("quantize-dynamic", {"weight_type": "int4"})
    assert info.value.field == "weight_type"


@pytest.mark.parametrize(
    ("name", "model", "config"),
    [
        ("quantize-static", "cnn", {"samples": 2}),
        ("quantize-dynamic", "transformer", {}),
        ("to-fp16", "transformer", {}),
        ("quantize-weights", "transformer", {"block_size": 32}),
    ],
)
def test_external_data_models_keep_external_data_under_their_own_name(
    sample_cnn: Path, sample_transformer: Path, tmp_path: Path, name: str, model: str, config: dict
) -> None:
    source_dir, out = tmp_path / "src", tmp_path / "out"
    source_dir.mkdir()
    out.mkdir()
    source = source_dir / "m.onnx"
    onnx.save(
        onnx.load(str(sample_cnn if model == "cnn" else sample_transformer)),
        str(source),
        save_as_external_data=True,
        location="m.onnx.data",  # tensors of 1 KiB and more; ORT needs small shape tensors inline
    )
    target = out / "m.q.onnx"
    run_pass(name, source, target, {**config})
    assert sorted(p.name for p in out.iterdir()) == ["m.q.onnx", "m.q.onnx.data"]
    locations = {
        e.value
        for t in onnx.load(str(target), load_external_data=False).graph.initializer
        for e in t.external_data
        if e.key == "location"
    }
    assert locations == {"m.q.onnx.data"}
    assert worst_cosine(source, target, samples=2) >= 0.99


def test_weights_only_reads_external_weights_one_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx_workbench.pipelines.model as model_io

    inline = matmul_model(tmp_path / "inline.onnx")
    source = model_io.save_model(onnx.load(str(inline)), tmp_path / "user" / "mlp.onnx", external_data=True)
    limits: list[int | None] = []
    real_read = model_io.read_external_tensors
    monkeypatch.setattr(
        model_io, "read_external_tensors", lambda *a, **k: limits.append(k.get("max_bytes")) or real_read(*a, **k)
    )
    target = tmp_path / "out" / "mlp.q.onnx"
    result = run_pass("quantize-weights", source, target, {"block_size": 32})
    assert None not in limits  # the float weights were never all read into one protobuf
    assert result.details["matmuls_quantized"] == 2
    stored = onnx.load(str(target), load_external_data=False)
    locations = {e.value for t in stored.graph.initializer for e in t.external_data if e.key == "location"}
    assert locations <= {"mlp.q.onnx.data"}  # relative, beside the new model: never the source's absolute path
    assert worst_cosine(inline, target) >= 0.99
