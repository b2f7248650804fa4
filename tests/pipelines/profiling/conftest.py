"""Small models built in code for profiler edge cases (string/bool inputs, custom ops, slow twins)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


def _save(graph: onnx.GraphProto, path: Path, opset: int = 17, extra_opsets: tuple = ()) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), *extra_opsets])
    model.ir_version = 8
    onnx.save(model, path)
    return path


@pytest.fixture(scope="session")
def matmul_chain(tmp_path_factory: pytest.TempPathFactory):
    """A factory: `matmul_chain(depth)` → a model of `depth` MatMul+Relu layers with a dynamic batch."""
    folder = tmp_path_factory.mktemp("chains")

    def build(depth: int, width: int = 64, batch: int | str = "batch") -> Path:
        rng = np.random.default_rng(depth)
        nodes, inits, current = [], [], "x"
        for i in range(depth):
            inits.append(numpy_helper.from_array((rng.standard_normal((width, width)) * 0.05).astype(np.float32), f"w{i}"))
            nodes.append(helper.make_node("MatMul", [current, f"w{i}"], [f"m{i}"], name=f"matmul{i}"))
            nodes.append(helper.make_node("Relu", [f"m{i}"], [f"r{i}"], name=f"relu{i}"))
            current = f"r{i}"
        nodes.append(helper.make_node("Identity", [current], ["y"], name="out"))
        graph = helper.make_graph(
            nodes, f"chain{depth}",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, width])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, width])],
            inits,
        )
        return _save(graph, folder / f"chain{depth}_{width}_{batch}.onnx")

    return build


@pytest.fixture(scope="session")
def string_bool_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inputs of type string and bool: Identity on the strings, Not on the flags."""
    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["text"], ["text_out"], name="pass_text"),
            helper.make_node("Not", ["flags"], ["flags_out"], name="flip"),
        ],
        "strings",
        [
            helper.make_tensor_value_info("text", TensorProto.STRING, ["batch", 3]),
            helper.make_tensor_value_info("flags", TensorProto.BOOL, ["batch", 4]),
        ],
        [
            helper.make_tensor_value_info("text_out", TensorProto.STRING, ["batch", 3]),
            helper.make_tensor_value_info("flags_out", TensorProto.BOOL, ["batch", 4]),
        ],
    )
    return _save(graph, tmp_path_factory.mktemp("strings") / "strings.onnx")


@pytest.fixture(scope="session")
def custom_op_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node from a custom domain whose kernel library nobody registered."""
    graph = helper.make_graph(
        [helper.make_node("MagicBlur", ["x"], ["y"], name="magic", domain="com.example.vision")],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    return _save(graph, tmp_path_factory.mktemp("custom") / "custom.onnx", extra_opsets=(helper.make_opsetid("com.example.vision", 1),))
