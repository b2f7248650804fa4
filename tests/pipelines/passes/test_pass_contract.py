"""The cleanup, fusion and convert passes: names and categories (CLI contract), input untouched, determinism.

Runs on the sample CNN and transformer and on a CNN whose weights live in an external data file.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from onnx_workbench.pipelines.passes import get_pass, run_pass

PASSES = {
    "simplify": ("cleanup", {}),
    "cleanup": ("cleanup", {}),
    "convert-opset": ("convert", {"opset": 17}),
    "fix-shapes": ("convert", {"dims": {"batch": 2}}),
    "fold-batchnorm": ("fusion", {}),
    "fuse-matmul-add": ("fusion", {}),
    "ort-optimize": ("fusion", {"level": "extended"}),
    "transformer-fusion": ("fusion", {}),
}


@pytest.mark.parametrize("name", sorted(PASSES))
def test_declared(name: str) -> None:
    cls = get_pass(name)
    assert cls.category == PASSES[name][0]
    assert cls.description.endswith(".") and "\n" not in cls.description
    assert all(spec.help for spec in cls.Config.fields())
    cls.Config.from_dict({})  # defaults are valid


@pytest.mark.parametrize("name", sorted(PASSES))
@pytest.mark.parametrize("model", ["sample_cnn", "sample_transformer", "cnn_external_path"])
def test_input_untouched_and_output_deterministic(
    name: str, model: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source: Path = request.getfixturevalue(model)
    files = sorted(source.parent.glob(f"{source.stem}*"))  # the model and its external data
    digest = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    config = PASSES[name][1]
    a = run_pass(name, source, tmp_path / "a.onnx", config)
    b = run_pass(name, source, tmp_path / "b.onnx", config)
    assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in files] == digest
    # files differ only in the name of their external data file, when they have one
    assert a.output.read_bytes().replace(b"a.onnx.data", b"b.onnx.data") == b.output.read_bytes()
    if (tmp_path / "a.onnx.data").exists():
        assert (tmp_path / "a.onnx.data").read_bytes() == (tmp_path / "b.onnx.data").read_bytes()
