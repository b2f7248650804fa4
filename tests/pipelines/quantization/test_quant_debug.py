"""Quantization error analysis: a layer broken on purpose ranks first; exclude-and-requantize; CLI."""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from quant_models import break_conv

from onnx_workbench.app.cli import main
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes.engine import run_pass
from onnx_workbench.pipelines.passes.quantize_static import QuantizeStaticConfig
from onnx_workbench.pipelines.quant_debug import analyze_quantization, exclude_worst_and_requantize
from onnx_workbench.pipelines.results import QuantErrorReport


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(float model with one outlier weight, its quantize-static version, the broken Conv's name)."""
    from sample_models import build_resnet

    folder = tmp_path_factory.mktemp("broken")
    model = build_resnet()
    conv = break_conv(model, conv_index=5)
    source = folder / "broken.onnx"
    onnx.save(model, str(source))
    quant = folder / "broken.int8.onnx"
    run_pass("quantize-static", source, quant, {"samples": 8})
    return source, quant, conv


def test_broken_layer_ranks_first(broken: tuple[Path, Path, str]) -> None:
    source, quant, conv = broken
    report = analyze_quantization(source, quant, samples=4)
    worst = report.worst(3)
    assert worst[0].quant_node == conv
    assert conv in worst[0].region
    # The damage is local: the next region adds far less noise than the broken one.
    assert worst[0].added_noise > 3 * worst[1].added_noise
    by_node = report.by_node()
    assert by_node[conv]["rank"] == 0
    assert set(by_node) >= {t.node for t in report.tensors}


def test_healthy_quantization_has_high_sqnr(sample_cnn: Path, quantized_cnn: Path) -> None:
    report = analyze_quantization(sample_cnn, quantized_cnn, samples=2)
    assert report.samples == 2
    assert min(t.sqnr_db for t in report.tensors) > 15
    # Typed again on the far side of the worker boundary: the same ranking.
    again = QuantErrorReport.from_worker(json.loads(json.dumps(report.to_dict(), allow_nan=False)))
    assert [t.tensor for t in again.tensors] == [t.tensor for t in report.tensors] and again.samples == 2
    assert again.worst_quant_nodes(3) == report.worst_quant_nodes(3) and again.by_quant_node() == report.by_quant_node()


def test_exclude_worst_and_requantize_improves_fidelity(broken: tuple[Path, Path, str], tmp_path: Path) -> None:
    source, _, conv = broken
    result = exclude_worst_and_requantize(source, QuantizeStaticConfig(samples=8), 1, workdir=tmp_path, samples=4)
    assert result.excluded == [conv]
    assert result.fidelity.worst_cosine() > result.before.worst_cosine()
    model = onnx.load(str(result.path))
    producers = {o: n for n in model.graph.node for o in n.output}
    node = next(n for n in model.graph.node if n.name == conv)
    weight_source = producers.get(node.input[1])
    assert weight_source is None or weight_source.op_type != "DequantizeLinear"  # kept in float
    assert json.dumps(result.to_dict())


def test_exclude_worst_needs_static_settings(sample_cnn: Path) -> None:
    with pytest.raises(ConfigError):
        exclude_worst_and_requantize(sample_cnn, {"samples": 4}, 1, workdir=sample_cnn.parent)


def test_quant_debug_cli_json_and_table(broken: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    source, quant, conv = broken
    assert main(["quant-debug", str(source), str(quant), "--samples", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tensors"][0]["quant_node"] == conv and data["by_node"][conv]["rank"] == 0
    assert data["by_quant_node"][conv]["rank"] == 0
    assert main(["quant-debug", str(source), str(quant), "--samples", "2", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and conv in lines[2]


def test_qoperator_models_are_refused_with_a_hint(sample_cnn: Path, tmp_path: Path) -> None:
    target = tmp_path / "qop.onnx"
    run_pass("quantize-static", sample_cnn, target, {"samples": 2, "format": "qoperator"})
    with pytest.raises(ConfigError, match="QOperator"):
        analyze_quantization(sample_cnn, target, samples=1)


def test_quant_debug_cli_refuses_unrelated_models(sample_cnn: Path, sample_transformer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quant-debug", str(sample_cnn), str(sample_transformer), "--samples", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("onnx-workbench: ") and len(err.splitlines()) == 1
