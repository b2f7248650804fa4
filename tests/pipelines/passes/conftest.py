"""Fixtures for the pass tests: model files built once per session."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
from pass_models import build_cnn, build_transformer


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save_model(model, str(path))
    return path


@pytest.fixture()
def save(tmp_path: Path) -> Callable[[onnx.ModelProto, str], Path]:
    """Save a proto into the test's folder under a name and return the path."""
    return lambda model, name: _save(model, tmp_path / name)


@pytest.fixture(scope="session")
def cnn_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small BN-heavy CNN at opset 13 (dynamic batch)."""
    return _save(build_cnn(), tmp_path_factory.mktemp("models") / "cnn.onnx")


@pytest.fixture(scope="session")
def cnn9_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same CNN down-converted to opset 9."""
    return _save(build_cnn(opset=9), tmp_path_factory.mktemp("models") / "cnn9.onnx")


@pytest.fixture(scope="session")
def transformer_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One BERT-style encoder layer with dynamic batch and sequence."""
    return _save(build_transformer(), tmp_path_factory.mktemp("models") / "encoder.onnx")


@pytest.fixture(scope="session")
def cnn_external_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CNN with every weight in an external data file beside it."""
    path = tmp_path_factory.mktemp("external") / "cnn_ext.onnx"
    onnx.save_model(
        build_cnn(), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
        location="cnn_ext.weights", size_threshold=0,
    )
    return path


@pytest.fixture(scope="session")
def resnet9_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled ResNet-style sample CNN built at opset 9 (assets/sample_models.py)."""
    from sample_models import build_resnet

    return _save(build_resnet(opset=9), tmp_path_factory.mktemp("models") / "resnet9.onnx")
