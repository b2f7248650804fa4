"""quantize-static: sample CNN, opset-9 auto-upgrade, calibration kinds, bad input, cancel."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image
from quant_models import op_types, relative_position_model, worst_cosine

from onnx_workbench.pipelines.errors import Cancelled, ConfigError
from onnx_workbench.pipelines.passes.engine import make_config, run_pass


def test_sample_cnn_keeps_fidelity_and_reports_sizes(sample_cnn: Path, tmp_path: Path) -> None:
    target = tmp_path / "cnn.int8.onnx"
    result = run_pass("quantize-static", sample_cnn, target, {"samples": 8})
    assert {"QuantizeLinear", "DequantizeLinear"} <= op_types(target)
    assert "calibrated on random data: a preview, not real calibration" in result.warnings
    assert result.details["calibration"] == {"kind": "random", "samples": 8, "preview": True}
    assert "latency" not in result.details  # the engine times steps, not the pass
    assert result.details["size_bytes"]["quantized"] < result.details["size_bytes"]["parent"] / 2
    assert worst_cosine(sample_cnn, target) >= 0.99


def test_opset9_per_channel_is_upgraded_to_a_valid_model(cnn_opset9: Path, tmp_path: Path) -> None:
    target = tmp_path / "cnn9.int8.onnx"
    # 7-bit weights: full-range per-channel int8 weights saturate ORT's u8s8 kernels on x86
    # CPUs without VNNI (see test_per_channel_warns_about_u8s8_saturation), which would
    # measure the CPU here rather than the upgraded model.
    settings = {"samples": 8, "per_channel": True, "reduce_range": True}
    result = run_pass("quantize-static", cnn_opset9, target, settings)
    assert any("opset 9 to 13" in w for w in result.warnings)
    model = onnx.load(str(target))
    onnx.checker.check_model(model, full_check=True)
    assert next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 13
    # Per-channel weights: some DequantizeLinear has a 1-D scale with one entry per channel.
    inits = {t.name: t for t in model.graph.initializer}
    scales = [inits[n.input[1]] for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[1] in inits]
    assert any(len(s.dims) == 1 and s.dims[0] > 1 for s in scales)
    ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    assert worst_cosine(cnn_opset9, target) >= 0.99


@pytest.mark.parametrize(
    ("settings", "no_vnni", "warned"),
    [
        ({"per_channel": True}, True, True),
        ({"per_channel": True}, False, False),
        ({"per_channel": True, "reduce_range": True}, True, False),
        ({"per_channel": True, "weight_type": "uint8"}, True, False),
        ({"per_channel": False}, True, False),
    ],
)
def test_per_channel_warns_about_u8s8_saturation(
    settings: dict, no_vnni: bool, warned: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onnx_workbench.pipelines.passes import quantize_static
    from onnx_workbench.pipelines import machine

    monkeypatch.setattr(machine, "x86_without_vnni", lambda: no_vnni)
    message = quantize_static.u8s8_saturation_warning(make_config("quantize-static", settings))
    assert bool(message) == warned
    assert not warned or "reduce_range=true" in message


def test_excluded_node_reads_float_input_so_ort_cannot_requantize_it(sample_cnn: Path, tmp_path: Path) -> None:
    conv = next(n.name for n in onnx.load(str(sample_cnn)).graph.node if n.op_type == "Conv" and "layer2" in n.name)
    target = tmp_path / "cnn.excluded.onnx"
    run_pass("quantize-static", sample_cnn, target, {"samples": 4, "nodes_to_exclude": [conv]})
    model = onnx.load(str(target))
    producers = {o: n.op_type for n in model.graph.node for o in n.output}
    node = next(n for n in model.graph.node if n.name == conv)
    assert producers.get(node.input[0]) != "DequantizeLinear"
    # What ONNX Runtime runs: the excluded Conv's weight is still float after its basic-level
    # transformers (WeightBiasQuantization among them) have run.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(tmp_path / "as_run.onnx")
    ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
    as_run = onnx.load(str(tmp_path / "as_run.onnx"))
    assert not [n for n in as_run.graph.node if n.name.startswith(f"{conv}_weight")]


def test_qoperator_format(sample_cnn: Path, tmp_path: Path) -> None:
    target = tmp_path / "cnn.qop.onnx"
    run_pass("quantize-static", sample_cnn, target, {"samples": 4, "format": "qoperator"})
    assert "QLinearConv" in op_types(target)
    assert worst_cosine(sample_cnn, target) >= 0.99


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"format": "qoperator", "activation_type": "uint16"}, "activation_type"),
        ({"format": "qoperator", "weight_type": "int16"}, "weight_type"),
        ({"activation_type": "int8", "weight_type": "uint8"}, "weight_type"),
        ({"calibration": "images"}, "data"),
        ({"image_mean": "0.5,0.5"}, "image_mean"),
        ({"image_std": "1,0,1"}, "image_std"),
        ({"method": "histogram"}, "method"),
        ({"percentile": 50.0}, "percentile"),
    ],
)
def test_bad_settings_fail_before_work_naming_the_field(values: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_config("quantize-static", values)
    assert info.value.field == field
    assert str(info.value).count(". ") == 0  # one sentence


def test_already_quantized_model_is_refused(quantized_cnn: Path, tmp_path: Path) -> None:
    target = tmp_path / "twice.onnx"
    for name in ("quantize-static", "quantize-dynamic", "to-fp16"):
        with pytest.raises(ConfigError, match="already quantized"):
            run_pass(name, quantized_cnn, target)
    assert list(tmp_path.iterdir()) == []


def test_images_calibration(sample_cnn: Path, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index, suffix in enumerate((".png", ".jpg", ".bmp", ".webp", ".png")):
        pixels = rng.integers(0, 256, size=(70 + 10 * index, 90, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{index}{suffix}")
    (folder / "notes.txt").write_text("not a picture")
    out = tmp_path / "out"
    out.mkdir()
    target = out / "cnn.int8.onnx"
    result = run_pass(
        "quantize-static",
        sample_cnn,
        target,
        {"calibration": "images", "data": str(folder), "samples": 4},
    )
    assert result.details["calibration"] == {"kind": "images", "samples": 4, "preview": False}
    assert not any("random data" in w for w in result.warnings)
    assert worst_cosine(sample_cnn, target) >= 0.98  # real-looking data, judged on random inputs


def test_arrays_calibration_uses_every_sample_up_to_the_limit(sample_cnn: Path, tmp_path: Path) -> None:
    data = tmp_path / "calib.npz"
    np.savez(data, input=np.random.default_rng(0).standard_normal((5, 3, 64, 64)).astype(np.float32))
    target = tmp_path / "cnn.int8.onnx"
    result = run_pass(
        "quantize-static", sample_cnn, target, {"calibration": "arrays", "data": str(data)}
    )
    assert result.details["calibration"] == {"kind": "arrays", "samples": 5, "preview": False}
    assert worst_cosine(sample_cnn, target) >= 0.99


@pytest.mark.parametrize(
    ("make_data", "message"),
    [
        (lambda d: d.mkdir(), "holds no jpg"),
        (lambda d: (d.mkdir(), (d / "broken.jpg").write_bytes(b"\x00not a jpeg")), "broken.jpg is not a readable image"),
    ],
)
def test_bad_image_folders_are_refused_and_write_nothing(sample_cnn: Path, tmp_path: Path, make_data, message: str) -> None:
    folder = tmp_path / "images"
    make_data(folder)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConfigError, match=message):
        run_pass("quantize-static", sample_cnn, out / "q.onnx", {"calibration": "images", "data": str(folder)})
    assert list(out.iterdir()) == []


def test_wrong_array_shape_is_refused(sample_cnn: Path, tmp_path: Path) -> None:
    data = tmp_path / "calib.npz"
    np.savez(data, input=np.zeros((3, 3, 32, 32), np.float32))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConfigError, match=r"shape \(1, 3, 32, 32\) but the input takes \(\?, 3, 64, 64\)"):
        run_pass("quantize-static", sample_cnn, out / "q.onnx", {"calibration": "arrays", "data": str(data)})
    assert list(out.iterdir()) == []


def test_cancel_during_calibration_leaves_nothing(sample_cnn: Path, tmp_path: Path) -> None:
    messages: list[str] = []

    def cancelled() -> bool:
        return sum("sample" in m for m in messages) >= 3

    with pytest.raises(Cancelled):
        run_pass(
            "quantize-static",
            sample_cnn,
            tmp_path / "q.onnx",
            {"samples": 16},
            on_progress=lambda f, m: messages.append(m),
            is_cancelled=cancelled,
        )
    assert any("sample 3 of 16" in m for m in messages)
    assert list(tmp_path.iterdir()) == []


def test_static_on_transformer_preprocesses_without_littering_the_working_folder(
    sample_transformer: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    target = tmp_path / "t.int8.onnx"
    result = run_pass("quantize-static", sample_transformer, target, {"samples": 2})
    assert not any("pre-processing skipped" in w for w in result.warnings)
    assert list(cwd.iterdir()) == []  # ORT's symbolic shape inference drops temp files in the cwd
    assert Path.cwd() == cwd
    assert worst_cosine(sample_transformer, target) >= 0.99


def test_relative_paths_are_pre_processed(sample_cnn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI user passes relative paths; pre-processing must still find the model."""
    (tmp_path / "model.onnx").write_bytes(sample_cnn.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = run_pass("quantize-static", Path("model.onnx"), Path("out") / "int8.onnx", {"samples": 2})
    assert not [w for w in result.warnings if "pre-processing skipped" in w]


def test_output_imports_only_the_domains_it_uses(sample_cnn: Path, tmp_path: Path) -> None:
    """ORT's pre-processing imports every domain it knows; the quantized CNN needs only ai.onnx."""
    result = run_pass("quantize-static", sample_cnn, tmp_path / "int8.onnx", {"samples": 2})
    model = onnx.load(str(result.output))
    used = {node.domain for node in model.graph.node}
    assert {o.domain for o in model.opset_import} <= used | {""}


def test_index_arithmetic_stays_float_so_t5_buckets_gather_the_right_rows(tmp_path: Path) -> None:
    """T5's relative-position bucket (float Log maths cast to int64) is kept out of quantization.

    Quantized, Log(0) = -inf made the range infinite and the scale NaN; the Cast turned NaN
    into index -2**63 and the quantized model failed in its Gather.
    """
    source = relative_position_model(tmp_path / "t5ish.onnx")
    result = run_pass("quantize-static", source, tmp_path / "q.onnx", {"samples": 4})
    assert worst_cosine(source, result.output) > 0.99
    quantized = onnx.load(str(result.output))
    scaled = next(n for n in quantized.graph.node if n.name == "scaled_i")
    assert scaled.input[0] == "scaled"  # the Cast reads the float Mul, not a DequantizeLinear
    assert "QuantizeLinear" in op_types(result.output)
    assert result.details["kept_float_index_arithmetic"] == 4  # Cast to float, Div, Log, Mul
