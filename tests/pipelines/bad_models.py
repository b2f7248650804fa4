"""Builders for model files that must be refused, and odd ones that must open.

Each builder takes a folder, writes whatever files its case needs there and returns the path
to hand to load_model. REFUSED maps a case to (builder, words the refusal must contain);
ODD_BUT_VALID maps a case to a builder.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Builder = Callable[[Path], Path]


def tiny_model(opset: int = 17) -> onnx.ModelProto:
    """x[1,4] -> Relu -> Add(bias) -> y: the smallest realistic valid model."""
    nodes = [
        helper.make_node("Relu", ["x"], ["h"], name="relu"),
        helper.make_node("Add", ["h", "bias"], ["y"], name="add"),
    ]
    bias = numpy_helper.from_array(np.arange(4, dtype=np.float32), "bias")
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def with_weight_model(size: int = 64) -> onnx.ModelProto:
    """x[1,size] @ W[size,size] -> y; W is big enough (16 KB at 64) to go to external data."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((size, size)).astype(np.float32), "weight")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "weight"], ["y"], name="matmul")],
        "with_weight",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, size])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _write(model: onnx.ModelProto, folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(model.SerializeToString())
    return path


def _external(folder: Path, name: str, location: str) -> Path:
    """A model whose weight is external, with its location entry rewritten to `location`."""
    model = with_weight_model()
    real = folder / name
    onnx.save_model(model, str(real), save_as_external_data=True, location=f"{name}.data", size_threshold=0)
    proto = onnx.load(str(real), load_external_data=False)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    real.write_bytes(proto.SerializeToString())
    return real


# ---- refused ------------------------------------------------------------------------------

def missing(folder: Path) -> Path:
    return folder / "nowhere.onnx"


def directory(folder: Path) -> Path:
    path = folder / "model_dir.onnx"
    path.mkdir()
    return path


def empty(folder: Path) -> Path:
    path = folder / "empty.onnx"
    path.write_bytes(b"")
    return path


def not_onnx(folder: Path) -> Path:
    path = folder / "page.onnx"
    path.write_text("<html><body>404 Not Found</body></html>\n")
    return path


def truncated(folder: Path) -> Path:
    data = with_weight_model().SerializeToString()
    path = folder / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])  # cut inside the weight, as an interrupted copy does
    return path


def no_graph(folder: Path) -> Path:
    model = onnx.ModelProto(ir_version=8, producer_name="exporter")
    model.opset_import.append(helper.make_opsetid("", 17))
    return _write(model, folder, "no_graph.onnx")


def dangling_input(folder: Path) -> Path:
    model = tiny_model()
    model.graph.node[1].input[1] = "ghost"
    return _write(model, folder, "dangling.onnx")


def dangling_output(folder: Path) -> Path:
    model = tiny_model()
    model.graph.output[0].name = "nothing_makes_this"
    return _write(model, folder, "dangling_output.onnx")


def cycle(folder: Path) -> Path:
    model = tiny_model()
    del model.graph.node[:]
    model.graph.node.extend(
        [
            helper.make_node("Add", ["x", "b"], ["a"], name="first"),
            helper.make_node("Relu", ["a"], ["b"], name="second"),
            helper.make_node("Add", ["a", "bias"], ["y"], name="out"),
        ]
    )
    return _write(model, folder, "cycle.onnx")


def two_writers(folder: Path) -> Path:
    model = tiny_model()
    model.graph.node.insert(1, helper.make_node("Sigmoid", ["x"], ["h"], name="also_h"))
    return _write(model, folder, "two_writers.onnx")


def unknown_op(folder: Path) -> Path:
    model = tiny_model()
    model.graph.node[0].op_type = "Reluu"  # a typo in the standard domain: onnx.checker's job
    return _write(model, folder, "unknown_op.onnx")


def newer_ir(folder: Path) -> Path:
    model = tiny_model()
    model.ir_version = onnx.IR_VERSION + 1
    return _write(model, folder, "newer_ir.onnx")


def newer_opset(folder: Path) -> Path:
    model = tiny_model()
    model.opset_import[0].version = onnx.defs.onnx_opset_version() + 5
    return _write(model, folder, "newer_opset.onnx")


def bad_initializer(folder: Path) -> Path:
    model = tiny_model()
    bias = model.graph.initializer[0]
    bias.raw_data = bias.raw_data[:8]  # 2 floats for a shape of 4
    return _write(model, folder, "bad_initializer.onnx")


def no_ir_version(folder: Path) -> Path:
    model = with_weight_model()
    model.ir_version = 0
    return _write(model, folder, "no_ir_version.onnx")


def two_value_fields(folder: Path) -> Path:
    model = with_weight_model()  # a weight over 1 KiB: onnx.checker sees only a stand-in of it
    weight = model.graph.initializer[0]
    weight.float_data.extend(np.zeros(64 * 64, np.float32))  # beside its raw_data
    return _write(model, folder, "two_value_fields.onnx")


def external_missing(folder: Path) -> Path:
    path = _external(folder, "ext_missing.onnx", "ext_missing.onnx.data")
    (folder / "ext_missing.onnx.data").unlink()
    return path


def external_short(folder: Path) -> Path:
    path = _external(folder, "ext_short.onnx", "ext_short.onnx.data")
    data = folder / "ext_short.onnx.data"
    data.write_bytes(data.read_bytes()[:100])
    return path


def external_absolute(folder: Path) -> Path:
    return _external(folder, "ext_abs.onnx", "/etc/passwd")


def external_dotdot(folder: Path) -> Path:
    model_dir = folder / "models"
    model_dir.mkdir()
    (folder / "secret.data").write_bytes(b"\0" * 16384)
    return _external(model_dir, "ext_dotdot.onnx", "../secret.data")


def external_windows_path(folder: Path) -> Path:
    return _external(folder, "ext_win.onnx", "..\\..\\Windows\\win.ini")


def external_symlink(folder: Path) -> Path:
    model_dir = folder / "models"
    model_dir.mkdir()
    outside = folder / "outside.data"
    outside.write_bytes(b"\0" * 16384)
    (model_dir / "link.data").symlink_to(outside)
    return _external(model_dir, "ext_link.onnx", "link.data")


# (builder, words the refusal must contain, case-insensitive)
REFUSED: dict[str, tuple[Builder, tuple[str, ...]]] = {
    "missing": (missing, ("nowhere.onnx", "no such file")),
    "directory": (directory, ("model_dir.onnx", "folder")),
    "empty": (empty, ("empty.onnx", "empty")),
    "not_onnx": (not_onnx, ("page.onnx", "not an onnx model")),
    "truncated": (truncated, ("truncated.onnx", "truncated")),
    "no_graph": (no_graph, ("no_graph.onnx", "no graph")),
    "dangling_input": (dangling_input, ("dangling.onnx", "ghost", "no node")),
    "dangling_output": (dangling_output, ("dangling_output.onnx", "nothing_makes_this", "not produced")),
    "cycle": (cycle, ("cycle.onnx", "cycle")),
    "two_writers": (two_writers, ("two_writers.onnx", "'h'", "two nodes")),
    "unknown_op": (unknown_op, ("unknown_op.onnx", "failed onnx validation", "reluu")),
    "newer_ir": (newer_ir, ("newer_ir.onnx", "ir version", "upgrade onnx")),
    "newer_opset": (newer_opset, ("newer_opset.onnx", "opset", "upgrade onnx")),
    "bad_initializer": (bad_initializer, ("bad_initializer.onnx", "bias", "shape 4")),
    "no_ir_version": (no_ir_version, ("no_ir_version.onnx", "no IR version")),
    "two_value_fields": (two_value_fields, ("two_value_fields.onnx", "weight", "raw_data and float_data")),
    "external_missing": (external_missing, ("ext_missing.onnx", "missing")),
    "external_short": (external_short, ("ext_short.onnx", "truncated")),
    "external_absolute": (external_absolute, ("ext_abs.onnx", "outside the model's folder")),
    "external_dotdot": (external_dotdot, ("ext_dotdot.onnx", "outside the model's folder")),
    "external_windows_path": (external_windows_path, ("ext_win.onnx", "outside the model's folder")),
    "external_symlink": (external_symlink, ("ext_link.onnx", "outside the model's folder")),
}


# ---- odd but valid ------------------------------------------------------------------------

def custom_domain(folder: Path) -> Path:
    node = helper.make_node("FancyNorm", ["x"], ["y"], name="fancy", domain="com.example.ops", alpha=0.5)
    graph = helper.make_graph(
        [node],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example.ops", 1)]
    return _write(helper.make_model(graph, opset_imports=opsets, ir_version=8), folder, "custom_domain.onnx")


def zero_size_dims(folder: Path) -> Path:
    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["h"], name="relu"),
            helper.make_node("Concat", ["h", "empty"], ["y"], name="concat", axis=0),
        ],
        "zero",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [0, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [0, 4])],
        [numpy_helper.from_array(np.zeros((0, 4), np.float32), "empty")],
    )
    return _write(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), folder, "zero.onnx")


def string_tensors(folder: Path) -> Path:
    labels = numpy_helper.from_array(np.array(["cat", "dog", "<b>bird</b>"], dtype=object), "labels")
    graph = helper.make_graph(
        [helper.make_node("Identity", ["labels"], ["y"], name="copy")],
        "strings",
        [],
        [helper.make_tensor_value_info("y", TensorProto.STRING, [3])],
        [labels],
    )
    return _write(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), folder, "strings.onnx")


def no_nodes(folder: Path) -> Path:
    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([], "empty_graph", [value], [value])
    return _write(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), folder, "no_nodes.onnx")


def long_names(folder: Path) -> Path:
    model = tiny_model()
    long = "n" * 100_000
    model.graph.node[0].name = long
    model.graph.node[0].output[0] = long + "_out"
    model.graph.node[1].input[0] = long + "_out"
    return _write(model, folder, "long_names.onnx")


def html_names(folder: Path) -> Path:
    model = tiny_model()
    model.graph.node[0].name = "<script>alert('x')</script>"
    model.graph.node[0].doc_string = "<img src=x onerror=alert(1)>"
    model.doc_string = "<h1>hi</h1>"
    helper.set_model_props(model, {"<b>author</b>": "<a href='javascript:alert(1)'>me</a>"})
    return _write(model, folder, "html.onnx")


def unsorted_nodes(folder: Path) -> Path:
    model = tiny_model()
    nodes = list(model.graph.node)[::-1]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return _write(model, folder, "unsorted.onnx")


def external_ok(folder: Path) -> Path:
    return _external(folder, "ext_ok.onnx", "ext_ok.onnx.data")


ODD_BUT_VALID: dict[str, Builder] = {
    "custom_domain": custom_domain,
    "zero_size_dims": zero_size_dims,
    "string_tensors": string_tensors,
    "no_nodes": no_nodes,
    "long_names": long_names,
    "html_names": html_names,
    "unsorted_nodes": unsorted_nodes,
    "external_ok": external_ok,
}
