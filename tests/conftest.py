"""Test-wide set-up: headless Qt, sandbox-free QtWebEngine, and shared model fixtures."""
from __future__ import annotations

import os

# Must be set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

import tempfile  # noqa: E402

# Opening a model in the window starts a session folder in the platformdirs cache
# (pipelines/session_model.py): keep the tests' sessions out of the user's cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="onnx-workbench-test-cache-")

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "assets" / "models"
# assets/sample_models.py builds the sample models (and variants such as opset 9) in code.
sys.path.insert(0, str(ROOT / "assets"))


@pytest.fixture(scope="session")
def sample_cnn() -> Path:
    """The bundled ResNet-style CNN (opset 13, dynamic batch)."""
    return MODELS / "resnet_small.onnx"


@pytest.fixture(scope="session")
def sample_transformer() -> Path:
    """The bundled transformer encoder (opset 17+, dynamic batch and sequence)."""
    return MODELS / "transformer_small.onnx"


@pytest.fixture(scope="session")
def digits_cnn() -> Path:
    """The trained digit classifier (scripts/train_digits.py; 10 classes, 1x1x32x32 input 'image')."""
    return MODELS / "digits_cnn.onnx"


@pytest.fixture(scope="session")
def digits_data() -> Path:
    """Its labelled held-out split: 360 pictures as 'image' and their 'labels'."""
    return ROOT / "assets" / "data" / "digits_test.npz"


@pytest.fixture(scope="session")
def branchy_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A main graph holding only an If ("choose") whose branches hold a Relu and a Neg reading outer "x"."""
    import onnx
    from onnx import TensorProto, helper

    def branch(name: str, op: str) -> onnx.GraphProto:
        return helper.make_graph(
            [helper.make_node(op, ["x"], [f"{name}_out"], name=f"{name}/{op.lower()}")],
            name, [], [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [2])],
        )

    graph = helper.make_graph(
        [helper.make_node("If", ["cond"], ["y"], name="choose", then_branch=branch("then", "Relu"), else_branch=branch("else", "Neg"))],
        "main",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []), helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    path = tmp_path_factory.mktemp("branchy") / "branchy.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path
