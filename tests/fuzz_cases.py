"""Seeded mutations of small and sample models for the fuzz harness (tests/test_fuzz.py).

Every case is a file plus the name of the mutation that made it, reproducible from its seed:
byte flips, truncations and structural edits of the protobuf (types, shapes, attributes, names,
opsets, external data locations, graph wiring) that a hostile or broken exporter could write.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from hostile_inputs import conv_with_zero_strides, matmul_model

MODELS = Path(__file__).resolve().parents[1] / "assets" / "models"


def _conv_relu(path: Path) -> Path:
    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32) / 27, "w")
    bias = numpy_helper.from_array(np.zeros(4, np.float32), "b")
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
        helper.make_node("Reshape", ["p", "shape"], ["y"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes, "conv_relu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])], initializer=[weight, bias, shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _with_subgraph(path: Path) -> Path:
    branch = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["out"], name="inner")], "branch", [],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])],
    )
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0, name="sum"),
        helper.make_node("Greater", ["s", "zero"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch, name="if"),
    ]
    graph = helper.make_graph(
        nodes, "with_if", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def seed_models(folder: Path) -> list[Path]:
    """The models mutated: small generated ones (most cases) and the two bundled samples."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        matmul_model(folder / "matmul.onnx"),
        _conv_relu(folder / "conv.onnx"),
        _with_subgraph(folder / "if.onnx"),
        conv_with_zero_strides(folder / "stride0.onnx"),
        MODELS / "resnet_small.onnx",
        MODELS / "transformer_small.onnx",
    ]


# ---- mutations: each edits a parsed model in place, or returns new bytes ------------------------

def _pick_node(model: onnx.ModelProto, rng: random.Random) -> onnx.NodeProto | None:
    return rng.choice(model.graph.node) if model.graph.node else None


def _elem_type(model: onnx.ModelProto, rng: random.Random) -> None:
    values = [*model.graph.input, *model.graph.output]
    rng.choice(values).type.tensor_type.elem_type = rng.choice([0, 8, 999, -1, 2**31 - 1, 16, 23])


def _init_type(model: onnx.ModelProto, rng: random.Random) -> None:
    if model.graph.initializer:
        rng.choice(model.graph.initializer).data_type = rng.choice([0, 2, 8, 11, 999, 2**31 - 1])


def _dims(model: onnx.ModelProto, rng: random.Random) -> None:
    value = rng.choice([*model.graph.input, *model.graph.output])
    for dim in value.type.tensor_type.shape.dim:
        dim.dim_value = rng.choice([0, -1, -(2**62), 2**40, 2**62, 7])


def _init_dims(model: onnx.ModelProto, rng: random.Random) -> None:
    if model.graph.initializer:
        tensor = rng.choice(model.graph.initializer)
        tensor.dims[:] = [rng.choice([0, -3, 2**31, 2**40, 3]) for _ in range(rng.randint(0, 5))]


def _attribute(model: onnx.ModelProto, rng: random.Random) -> None:
    node = _pick_node(model, rng)
    if node is None:
        return
    name = rng.choice(["strides", "pads", "kernel_shape", "axis", "axes", "perm", "group", "dilations", "keepdims"])
    value = rng.choice([[0, 0], [-1, -1], [2**62, 1], [], 0, -(2**40), 2**62, [1] * 64])
    node.attribute.append(helper.make_attribute(name, value) if value != [] else helper.make_attribute(name, [], attr_type=onnx.AttributeProto.INTS))


def _op_type(model: onnx.ModelProto, rng: random.Random) -> None:
    node = _pick_node(model, rng)
    if node is not None:
        node.op_type = rng.choice(["", "NoSuchOp", "Loop", "Scan", "If", "Conv", "Reshape", "MatMul\x1b[31m"])
        if rng.random() < 0.3:
            node.domain = rng.choice(["com.microsoft", "ai.onnx.ml", "evil.domain"])


def _rewire(model: onnx.ModelProto, rng: random.Random) -> None:
    node = _pick_node(model, rng)
    if node is None:
        return
    names = [n for other in model.graph.node for n in other.output] + ["", "missing"]
    if node.input:
        node.input[rng.randrange(len(node.input))] = rng.choice([*names, *node.output])  # may form a cycle
    else:
        node.input.append(rng.choice(names))


def _drop(model: onnx.ModelProto, rng: random.Random) -> None:
    field = rng.choice(["initializer", "node", "input", "output"])
    items = getattr(model.graph, field)
    if items:
        del items[rng.randrange(len(items))]


def _opset(model: onnx.ModelProto, rng: random.Random) -> None:
    model.opset_import[0].version = rng.choice([0, 1, 6, 99, 10_000, -5])
    if rng.random() < 0.3:
        model.ir_version = rng.choice([0, 1, 3, 99])


def _names(model: onnx.ModelProto, rng: random.Random) -> None:
    node = _pick_node(model, rng)
    if node is not None:
        node.name = rng.choice(["\x1b]0;pwned\x07", "=cmd|' /C calc'!A0", "\u202egnp.exe", "x" * 100_000, "a\nb", ""])
    if rng.random() < 0.5:
        model.metadata_props.add(key="\x1b[2J", value="<script>" * 100)


def _external(model: onnx.ModelProto, rng: random.Random) -> None:
    if not model.graph.initializer:
        return
    tensor = rng.choice(model.graph.initializer)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    location = rng.choice(["../../../etc/passwd", "/etc/passwd", "missing.bin", "C:\\x.bin", "", "a\x00b"])
    del tensor.external_data[:]
    tensor.external_data.add(key="location", value=location)
    if rng.random() < 0.5:
        tensor.external_data.add(key="offset", value=rng.choice(["-1", "1e30", "abc", "99999999999"]))
        tensor.external_data.add(key="length", value=rng.choice(["-1", "7", "abc"]))


def _raw_data(model: onnx.ModelProto, rng: random.Random) -> None:
    if model.graph.initializer:
        tensor = rng.choice(model.graph.initializer)
        if tensor.raw_data:
            tensor.raw_data = tensor.raw_data[: rng.randrange(len(tensor.raw_data))]


STRUCTURAL: dict[str, Callable[[onnx.ModelProto, random.Random], None]] = {
    "elem_type": _elem_type, "init_type": _init_type, "dims": _dims, "init_dims": _init_dims,
    "attribute": _attribute, "op_type": _op_type, "rewire": _rewire, "drop": _drop, "opset": _opset,
    "names": _names, "external": _external, "raw_data": _raw_data,
}


def _byte_flips(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    # Most of a sample model is weights; flip in the first 64 KB (graph, names, small tensors) too.
    for _ in range(rng.randint(1, 12)):
        window = len(buffer) if rng.random() < 0.5 else min(len(buffer), 1 << 16)
        buffer[rng.randrange(window)] = rng.randrange(256)
    return bytes(buffer)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def make_cases(folder: Path, count: int, seed: int = 15) -> list[tuple[str, Path]]:
    """`count` mutated models written into `folder`: (mutation name, file); the same seed, the same files."""
    rng = random.Random(seed)
    seeds = seed_models(folder / "seeds")
    originals = {path: path.read_bytes() for path in seeds}
    cases: list[tuple[str, Path]] = []
    for index in range(count):
        # Three in four cases mutate the small models: they cost milliseconds each.
        source = rng.choice(seeds[:4]) if rng.random() < 0.75 else rng.choice(seeds[4:])
        kind = rng.choice(["flip", "flip", "truncate", *STRUCTURAL])
        if kind == "flip":
            data = _byte_flips(originals[source], rng)
        elif kind == "truncate":
            data = _truncate(originals[source], rng)
        else:
            model = onnx.load_from_string(originals[source])
            for _ in range(rng.randint(1, 3)):
                STRUCTURAL[rng.choice([kind, *STRUCTURAL])](model, rng)
            data = model.SerializeToString()
        path = folder / f"case{index:04d}-{kind}-{source.stem}.onnx"
        path.write_bytes(data)
        cases.append((kind, path))
    return cases
