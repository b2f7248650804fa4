"""The quantization passes: CLI contract (names, category), declared help, input untouched, determinism."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from quant_models import matmul_model

from onnx_workbench.pipelines.passes.engine import get_pass, run_pass

PASSES = {
    "quantize-static": {"samples": 2},
    "quantize-dynamic": {},
    "to-fp16": {},
    "quantize-weights": {"block_size": 32},
}


@pytest.mark.parametrize("name", sorted(PASSES))
def test_declared(name: str) -> None:
    cls = get_pass(name)
    assert cls.category == "quantize"
    assert cls.description.endswith(".") and "\n" not in cls.description
    specs = {spec.name: spec for spec in cls.Config.fields()}
    assert all(spec.help for spec in specs.values())
    assert cls.Config.from_dict({}) is not None  # defaults are valid


@pytest.mark.parametrize("name", sorted(PASSES))
def test_input_untouched_and_output_deterministic(name: str, sample_transformer: Path, tmp_path: Path) -> None:
    source = sample_transformer if name != "quantize-weights" else matmul_model(tmp_path / "mlp.onnx")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    config = {**PASSES[name]}
    a = run_pass(name, source, tmp_path / "a.onnx", config)
    b = run_pass(name, source, tmp_path / "b.onnx", config)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest
    assert a.output.read_bytes() == b.output.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".onnx") == sorted(
        ["a.onnx", "b.onnx"] + (["mlp.onnx"] if name == "quantize-weights" else [])
    )
