"""The graph of each version of a model file, parsed once per process and kept without its weights.

A step asks the same few files the same questions again and again: their size, their data
files, their inputs, whether they compute in float16. The graph of each file version (path,
inode, size, modification and change times) is parsed once, or handed over by `load_model`,
which parses it anyway, and kept without the data of its weights (initializers keep name, type
and dims), so a model with its weights inside the .onnx costs no second parse. The safety
checks on external data (inside the model's folder, present, long enough) are the ones
`load_model` applies, run again on every call (they only stat files).
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import onnx
from google.protobuf.message import Message

from onnx_workbench.pipelines.errors import ModelRefused
from onnx_workbench.pipelines.validation import check_external_data, expected_data_bytes, short

# Graphs kept per process: a step asks about its source and target (a recipe also about the
# original); weightless graphs are small (1.4 MB for GPT-2).
_GRAPHS_KEPT = 8
# Inline tensor data a kept graph still holds: what is asked of it (inputs, types, shapes, ops)
# reads none, so only scalars and shapes stay.
KEPT_TENSOR_BYTES = 1024
# A file version: the same path, inode, size, modification and change times (ns), device.
FileVersion = tuple[str, int, int, int, int, int]
# Kept per file version: the graph as the file holds it (False) and as load_model normalised it (True).
_graphs: OrderedDict[tuple[FileVersion, bool], onnx.ModelProto] = OrderedDict()
_graphs_lock = threading.Lock()  # the window asks from threads too


def external_data_files(model_path: str | Path) -> list[Path]:
    """External data files of the model, each checked to lie inside the model's folder."""
    model_path = Path(model_path)
    return check_external_data(_graph(model_path), model_path.parent, short(model_path.name))


def model_graph(model_path: str | Path) -> onnx.ModelProto:
    """The model as its file holds it, without the data of its inline weights (see `graph_without_weights`).

    For what the graph says (inputs, types, ops, initializer shapes); parsed once per file
    version in this process. Not validated: `load_model` is the front door that refuses a bad file.
    """
    return _copy(_graph(Path(model_path)))


def file_version(model_path: Path, stat: os.stat_result | None = None) -> FileVersion:
    """What identifies one version of a file: a rewrite or a replacement changes it."""
    stat = stat or model_path.stat()
    return (str(model_path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_dev)


def remember_graph(version: FileVersion, model: onnx.ModelProto, *, normalized: bool = False) -> onnx.ModelProto:
    """Keep the graph of a model parsed elsewhere (`load_model`), so questions about that file version parse nothing.

    normalized: `model` is what load_model made of the file (pipelines.quirks), not the file as written.
    """
    graph = graph_without_weights(model)
    with _graphs_lock:
        _graphs[version, normalized] = graph
        while len(_graphs) > _GRAPHS_KEPT:
            _graphs.popitem(last=False)
    return graph


def kept_graph(version: FileVersion, *, normalized: bool = False) -> onnx.ModelProto | None:
    """A copy of the graph kept for this file version (see `remember_graph`), or None."""
    graph = _kept(version, normalized)
    return None if graph is None else _copy(graph)


def _kept(version: FileVersion, normalized: bool) -> onnx.ModelProto | None:
    with _graphs_lock:
        graph = _graphs.get((version, normalized))
        if graph is not None:
            _graphs.move_to_end((version, normalized))  # kept longest: the files asked about most recently
    return graph


def _copy(graph: onnx.ModelProto) -> onnx.ModelProto:
    # Callers get their own copy: the kept one answers every later question.
    copy = onnx.ModelProto()
    copy.CopyFrom(graph)
    return copy


def _graph(model_path: Path) -> onnx.ModelProto:
    """The kept graph of the file's current version, parsed now if this process has not seen that version."""
    unreadable = f"{short(model_path.name)} is not a readable ONNX model; export it again."
    try:
        version = file_version(model_path)
    except OSError as exc:
        raise ModelRefused(unreadable) from exc
    graph = _kept(version, False)
    if graph is None:
        try:
            model = onnx.load(str(model_path), load_external_data=False)
        except Exception as exc:  # noqa: BLE001 - any parse failure means "not a model"
            raise ModelRefused(unreadable) from exc
        graph = remember_graph(version, model)
    return graph


def graph_without_weights(model: onnx.ModelProto, max_bytes: int = KEPT_TENSOR_BYTES) -> onnx.ModelProto:
    """A copy of `model` whose top-level inline initializers over `max_bytes` keep their name, type and dims but no data.

    External references and small tensors (shapes, axes: what shape inference and analysis
    read) are copied whole. Copying a model with inline weights costs one copy of every
    weight; this costs none.
    """
    copy = onnx.ModelProto()
    _copy_fields(model, copy, skip="graph")
    _copy_fields(model.graph, copy.graph, skip="initializer")
    for tensor in model.graph.initializer:
        if _inline_data_over(tensor, max_bytes):
            stub = copy.graph.initializer.add(name=tensor.name, data_type=tensor.data_type, doc_string=tensor.doc_string)
            stub.dims.extend(tensor.dims)
        else:
            copy.graph.initializer.add().CopyFrom(tensor)
    return copy


def _inline_data_over(tensor: onnx.TensorProto, max_bytes: int) -> bool:
    if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.data_type == onnx.TensorProto.STRING:
        return False
    try:
        return expected_data_bytes(tensor) > max_bytes
    except KeyError:  # an element type ONNX does not define: kept as it is, for the checks to refuse
        return False


def _copy_fields(source: Message, target: Message, skip: str) -> None:
    # Field by field: CopyFrom of the whole message would copy the skipped field's data too.
    for field, value in source.ListFields():
        if field.name == skip:
            continue
        if field.is_repeated:
            getattr(target, field.name).extend(value)
        elif field.message_type is not None:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)
