"""Fixtures of the quantization tests: the sample models and variants built from assets/sample_models.py."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest


@pytest.fixture(scope="session")
def cnn_opset9(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample ResNet-style CNN at opset 9 (BatchNormalization-9), as old exporters wrote it."""
    from sample_models import build_resnet

    path = tmp_path_factory.mktemp("opset9") / "resnet_opset9.onnx"
    onnx.save(build_resnet(opset=9), str(path))
    return path


@pytest.fixture(scope="session")
def quantized_cnn(sample_cnn: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample CNN after quantize-static with default settings (shared by several tests)."""
    from onnx_workbench.pipelines.passes.engine import run_pass

    target = tmp_path_factory.mktemp("qcnn") / "resnet_small.int8.onnx"
    run_pass("quantize-static", sample_cnn, target, {"samples": 8})
    return target
