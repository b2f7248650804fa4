"""Generators of hostile inputs found by the adversarial run of issue 15: each writes one file.

Shared by the trust-boundary tests and the fuzz harness; nothing here is a fixture, so any
test (or a person at a shell) can call them.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(model: onnx.ModelProto, path: Path, **kwargs) -> Path:  # noqa: ANN003 - onnx.save options
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path), **kwargs)
    return path


def conv_with_zero_strides(path: Path) -> Path:
    """A valid-looking Conv with strides=[0, 0]: ONNX Runtime and onnxsim divide by the stride (SIGFPE)."""
    weight = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], strides=[0, 0], name="conv")
    graph = helper.make_graph(
        [node], "zero_strides",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 6])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return _save(model, path)


def matmul_model(path: Path, *, data_location: str | None = None, node_name: str = "fc") -> Path:
    """x[1, 4] @ W[4, 4] -> y; with `data_location`, W lives in that external data file beside it."""
    weight = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4) / 10, "W")
    node = helper.make_node("MatMul", ["x", "W"], ["y"], name=node_name)
    graph = helper.make_graph(
        [node], "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if data_location is None:
        return _save(model, path)
    return _save(model, path, save_as_external_data=True, location=data_location, size_threshold=0)


def broadcast_bomb(path: Path, size: int = 1024) -> Path:
    """Three small initializers whose Max broadcasts to size**3 elements (25 KB file, 4 GB value)."""
    a = numpy_helper.from_array(np.ones((size, 1, 1), np.float32), "a")
    b = numpy_helper.from_array(np.ones((1, size, 1), np.float32), "b")
    c = numpy_helper.from_array(np.ones((1, 1, size), np.float32), "c")
    nodes = [
        helper.make_node("Max", ["a", "b", "c"], ["m"], name="max"),
        helper.make_node("Shape", ["m"], ["s"], name="shape"),
        helper.make_node("Reshape", ["x", "s0"], ["y"], name="reshape"),
    ]
    s0 = numpy_helper.from_array(np.array([1, 4], np.int64), "s0")
    graph = helper.make_graph(
        nodes, "broadcast_bomb",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("s", TensorProto.INT64, [3])],
        initializer=[a, b, c, s0],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return _save(model, path)


def billion_laughs_recipe(path: Path, depth: int = 8) -> Path:
    """A recipe of nested YAML aliases: a few hundred bytes that expand to 10**depth values."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, depth + 1):
        refs = ",".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("version: 1")
    lines.append(f"steps: [{{pass: simplify, config: {{skip_fuse_bn: *a{depth}}}}}]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def deep_recipe(path: Path, depth: int = 5000) -> Path:
    """A recipe nested `depth` flow sequences deep (the YAML composer recurses per level)."""
    path.write_text("version: 1\nsteps: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    return path


def npz_variants(folder: Path, input_name: str = "x", shape: tuple[int, ...] = (2, 4), bomb_mb: int = 64) -> dict[str, Path]:
    """Hostile .npz files for an input called `input_name`: each a different way to lie or crash."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def npz(name: str, **arrays: np.ndarray) -> None:
        files[name] = folder / f"{name}.npz"
        np.savez(files[name], **arrays)

    npz("nan", **{input_name: np.full(shape, np.nan, np.float32)})
    npz("inf", **{input_name: np.full(shape, np.inf, np.float32)})
    npz("strings", **{input_name: np.array(["a", "b"])})
    npz("zero_d", **{input_name: np.array(1.0, np.float32)})
    npz("pickled", **{input_name: np.array([{"a": 1}], dtype=object)})
    npz("wrong_shape", **{input_name: np.ones((2, 3, 5, 7), np.float32)})
    files["not_zip"] = folder / "not_zip.npz"
    files["not_zip"].write_bytes(b"this is not a zip archive at all")
    # A member whose .npy header claims a shape far larger than the bytes behind it.
    lying = io.BytesIO()
    np.lib.format.write_array_header_1_0(lying, {"descr": "<f4", "fortran_order": False, "shape": (400_000_000,)})
    lying.write(np.ones(4, np.float32).tobytes())
    files["lying_header"] = folder / "lying_header.npz"
    with zipfile.ZipFile(files["lying_header"], "w") as archive:
        archive.writestr(f"{input_name}.npy", lying.getvalue())
    files["zip_bomb"] = zip_bomb_npz(folder / "zip_bomb.npz", input_name, bomb_mb)
    return files


def zip_bomb_npz(path: Path, input_name: str = "x", inflated_mb: int = 2048) -> Path:
    """Compressed zeros that inflate to `inflated_mb` MB (2 GB from a 2 MB file by default)."""
    header = io.BytesIO()
    elements = inflated_mb * (1 << 20) // 4
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (elements,)})
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(f"{input_name}.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            for _ in range(inflated_mb):
                member.write(zeros)
    return path
