"""Structural checks that onnx.checker does not make (or makes with unreadable messages).

Each check raises ModelRefused with one sentence naming the file, the problem and what to do.
They run on the parsed protobuf before any tensor data is loaded, so a hostile external-data
path is refused before anything outside the model's folder is opened.
"""
from __future__ import annotations

import heapq
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from onnx_workbench.pipelines.errors import ModelRefused

# Names in messages are cut to this length: model strings are untrusted and may be huge.
MAX_NAME_IN_MESSAGE = 80

# Types whose elements are packed below one byte in raw_data, as bits per element.
_PACKED_BITS = {
    getattr(TensorProto, name): bits
    for name, bits in (("INT4", 4), ("UINT4", 4), ("FLOAT4E2M1", 4), ("INT2", 2), ("UINT2", 2))
    if hasattr(TensorProto, name)
}
_COMPLEX = {TensorProto.COMPLEX64, TensorProto.COMPLEX128}


def short(name: str | bytes, width: int = MAX_NAME_IN_MESSAGE) -> str:
    """A name safe to put in a one-line message: cut to `width`, control characters replaced."""
    if isinstance(name, bytes):
        # protobuf hands back a string field holding invalid UTF-8 as bytes.
        name = name.decode("utf-8", errors="replace")
    name = "".join(ch if ch.isprintable() else " " for ch in name)
    return name if len(name) <= width else name[: width - 1] + "…"


def iter_graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """The graph and every subgraph (If/Loop/Scan bodies), depth first."""
    yield graph
    for node in graph.node:
        for sub in node_subgraphs(node):
            yield from iter_graphs(sub)


def node_subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    """The graphs held directly in a node's attributes (If branches, Loop/Scan bodies)."""
    if not node.attribute:
        return  # most nodes: skip the attribute scan
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == onnx.AttributeProto.GRAPHS:
            yield from attr.graphs


def check_versions(model: onnx.ModelProto, label: str) -> None:
    """Refuse IR versions and opsets newer than the installed onnx understands."""
    if model.ir_version > onnx.IR_VERSION:
        raise ModelRefused(
            f"{label} uses ONNX IR version {model.ir_version} but the installed onnx reads up to "
            f"{onnx.IR_VERSION}; upgrade onnx or re-export the model with an older IR version."
        )
    known = onnx.defs.C.schema_version_map()  # domain -> (min, max) this onnx has schemas for
    for opset in model.opset_import:
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        if domain in known and opset.version > known[domain][1]:
            shown = opset.domain or "ai.onnx"
            raise ModelRefused(
                f"{label} uses opset {opset.version} of {shown} but the installed onnx supports up to "
                f"{known[domain][1]}; upgrade onnx or re-export the model with an older opset."
            )


def _subgraph_references(node: onnx.NodeProto) -> set[str]:
    """Names a node's subgraphs read from the enclosing scope (implicit inputs)."""
    refs: set[str] = set()
    for attr in node.attribute:
        subs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for sub in subs:
            defined = {i.name for i in sub.input} | {t.name for t in sub.initializer}
            defined |= {t.values.name for t in sub.sparse_initializer}
            for inner in sub.node:
                defined.update(o for o in inner.output if o)
            for inner in sub.node:
                refs.update(i for i in inner.input if i and i not in defined)
                refs.update(r for r in _subgraph_references(inner) if r not in defined)
    return refs


def check_graph_structure(graph: onnx.GraphProto, label: str, outer: frozenset[str] = frozenset()) -> bool:
    """Refuse dangling inputs, tensors written twice and cycles; sort nodes if merely out of order.

    Returns True when the nodes had to be re-sorted (the graph is edited in place). Subgraphs are
    checked with the enclosing scope's names visible, as ONNX scoping rules say.
    """
    available = set(outer) | {i.name for i in graph.input} | {t.name for t in graph.initializer}
    available |= {t.values.name for t in graph.sparse_initializer}
    producer: dict[str, int] = {}
    for index, node in enumerate(graph.node):
        for out in node.output:
            if not out:
                continue  # an omitted optional output
            if out in producer:
                first = graph.node[producer[out]].name or graph.node[producer[out]].op_type
                raise ModelRefused(
                    f"{label}: tensor '{short(out)}' is written by two nodes ('{short(first)}' and "
                    f"'{short(node.name or node.op_type)}'); the graph is corrupt, re-export the model."
                )
            if out in available and out not in outer:
                raise ModelRefused(
                    f"{label}: node '{short(node.name or node.op_type)}' writes '{short(out)}', which is already "
                    "a graph input or initializer; the graph is corrupt, re-export the model."
                )
            producer[out] = index
    # Edges: node -> nodes that read its outputs (including reads from inside subgraphs).
    readers: list[list[int]] = [[] for _ in graph.node]
    pending = [0] * len(graph.node)
    for index, node in enumerate(graph.node):
        needed = {i for i in node.input if i}
        has_subgraph = any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)
        if has_subgraph:
            needed |= _subgraph_references(node)
        for name in needed:
            if name in producer:
                readers[producer[name]].append(index)
                pending[index] += 1
            elif name not in available:
                raise ModelRefused(
                    f"{label}: node '{short(node.name or node.op_type)}' reads '{short(name)}', which no node, "
                    "input or initializer provides; the graph is incomplete, re-export the model."
                )
    for value in graph.output:
        if value.name not in producer and value.name not in available:
            raise ModelRefused(
                f"{label}: graph output '{short(value.name)}' is not produced by any node, input or initializer; "
                "the graph is incomplete, re-export the model."
            )
    order = _topological_order(readers, pending)
    if len(order) < len(graph.node):
        placed = set(order)
        stuck = next(i for i in range(len(graph.node)) if i not in placed)
        node = graph.node[stuck]
        raise ModelRefused(
            f"{label}: the graph has a cycle through node '{short(node.name or node.op_type)}'; "
            "ONNX graphs must be acyclic, re-export the model."
        )
    resorted = order != list(range(len(graph.node)))
    if resorted:
        nodes = [graph.node[i] for i in order]
        del graph.node[:]
        graph.node.extend(nodes)
    for node in graph.node:
        for attr in node.attribute:
            subs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
            for sub in subs:
                resorted |= check_graph_structure(sub, label, frozenset(available | set(producer)))
    return resorted


def _topological_order(readers: list[list[int]], pending: list[int]) -> list[int]:
    # Kahn's algorithm taking the lowest ready index first, so an already sorted graph keeps
    # its order exactly and an unsorted one changes as little as possible.
    pending = list(pending)
    ready = [i for i, n in enumerate(pending) if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for reader in readers[index]:
            pending[reader] -= 1
            if pending[reader] == 0:
                heapq.heappush(ready, reader)
    return order


def expected_data_bytes(tensor: onnx.TensorProto) -> int:
    """Bytes the tensor's raw data must have for its dims and type (strings excluded)."""
    count = math.prod(tensor.dims)
    if tensor.data_type in _PACKED_BITS:
        return math.ceil(count * _PACKED_BITS[tensor.data_type] / 8)
    itemsize = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    return count * itemsize


def tensor_bytes(tensor: onnx.TensorProto) -> int:
    """Bytes of a tensor's data: strings by their length, packed 2/4-bit types by their bits."""
    if tensor.data_type == onnx.TensorProto.STRING:
        return sum(len(s) for s in tensor.string_data)
    return expected_data_bytes(tensor)


def _typed_values_expected(tensor: onnx.TensorProto) -> int:
    count = math.prod(tensor.dims)
    if tensor.data_type in _COMPLEX:
        return 2 * count
    if tensor.data_type in _PACKED_BITS:
        # Packed types share int32_data words between several elements.
        return math.ceil(count * _PACKED_BITS[tensor.data_type] / 8)
    return count


# TensorProto's fields that hold values; a stored tensor uses exactly one (or raw_data).
VALUE_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")


def check_tensor_data(tensor: onnx.TensorProto, label: str) -> None:
    """Refuse an in-file tensor whose stored data does not match its shape."""
    if tensor.data_location == TensorProto.EXTERNAL or tensor.HasField("segment"):
        return
    if tensor.data_type == TensorProto.UNDEFINED:
        raise ModelRefused(f"{label}: tensor '{short(tensor.name)}' has no data type; re-export the model.")
    stored = [name for name in VALUE_FIELDS if len(getattr(tensor, name))]
    if len(stored) + tensor.HasField("raw_data") > 1:
        # onnx.checker refuses this too, but it sees only stand-ins of the weights (model._weightless_copy).
        places = " and ".join(["raw_data"] * tensor.HasField("raw_data") + stored)
        raise ModelRefused(
            f"{label}: tensor '{short(tensor.name)}' stores its values twice (in {places}); the file is corrupt, "
            "re-export the model."
        )
    shape = "x".join(str(d) for d in tensor.dims) or "scalar"
    if tensor.data_type == TensorProto.STRING:
        found, expected, unit = len(tensor.string_data), math.prod(tensor.dims), "strings"
    elif tensor.HasField("raw_data"):
        found, expected, unit = len(tensor.raw_data), expected_data_bytes(tensor), "bytes"
    else:
        field = helper.tensor_dtype_to_field(tensor.data_type)
        found, expected, unit = len(getattr(tensor, field)), _typed_values_expected(tensor), "values"
        if tensor.data_type in _PACKED_BITS and field == "int32_data" and found == math.prod(tensor.dims):
            return  # some writers store one sub-byte element per int32 word
    if found != expected:
        raise ModelRefused(
            f"{label}: tensor '{short(tensor.name)}' has shape {shape} but stores {found} {unit} instead of "
            f"{expected}; the file is corrupt, re-export the model."
        )


_KNOWN_TYPES = frozenset(TensorProto.DataType.values())


def _type_elements(value_type: onnx.TypeProto) -> Iterator[int]:
    """Every element type named in a type (tensors, and inside sequences, optionals and maps)."""
    kind = value_type.WhichOneof("value")
    if kind in ("tensor_type", "sparse_tensor_type"):
        yield getattr(value_type, kind).elem_type
    elif kind in ("sequence_type", "optional_type"):
        yield from _type_elements(getattr(value_type, kind).elem_type)
    elif kind == "map_type":
        yield value_type.map_type.key_type
        yield from _type_elements(value_type.map_type.value_type)


def check_element_types(model: onnx.ModelProto, label: str) -> None:
    """Refuse element types this ONNX release does not define (e.g. 999): every tool would raise on them."""
    for graph in iter_graphs(model.graph):
        values = [*graph.input, *graph.output, *graph.value_info]
        named = [(v.name, t) for v in values for t in _type_elements(v.type)]
        tensors = [*graph.initializer, *(t for node in graph.node for a in node.attribute for t in [a.t, *a.tensors])]
        named += [(t.name, t.data_type) for t in tensors]
        for name, elem_type in named:
            if elem_type not in _KNOWN_TYPES:
                raise ModelRefused(
                    f"{label}: '{short(name)}' has element type {elem_type}, which ONNX does not define; "
                    "re-export the model with a supported type."
                )


def check_initializers(model: onnx.ModelProto, label: str) -> None:
    """Check the stored data of every initializer in every graph."""
    for graph in iter_graphs(model.graph):
        for tensor in graph.initializer:
            check_tensor_data(tensor, label)


def external_tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    """Every tensor whose data lives outside the model file (initializers and Constant attributes)."""
    for graph in iter_graphs(model.graph):
        for tensor in graph.initializer:
            if tensor.data_location == TensorProto.EXTERNAL:
                yield tensor
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_location == TensorProto.EXTERNAL:
                    yield attr.t


# Longest external data location accepted (Linux PATH_MAX); longer names cannot be opened anyway.
MAX_LOCATION_CHARS = 4096


def check_external_data(model: onnx.ModelProto, folder: Path, label: str) -> list[Path]:
    """Refuse external data that is missing, too short or outside `folder`; return the data files."""
    root = folder.resolve()
    files: dict[Path, int] = {}
    for tensor in external_tensors(model):
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        name = short(tensor.name)
        if not location:
            raise ModelRefused(f"{label}: tensor '{name}' is stored externally but names no data file; re-export the model.")
        if "\x00" in location or len(location) > MAX_LOCATION_CHARS:
            # No file system takes these; os.path would raise instead of answering.
            raise ModelRefused(
                f"{label}: tensor '{name}' names an impossible data file ('{short(location)}'); re-export the model."
            )
        # Written on Windows or Linux: treat backslashes and drive letters as the path syntax they are.
        relative = Path(location.replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts or re.match(r"^[A-Za-z]:", location):
            raise ModelRefused(
                f"{label}: tensor '{name}' points to '{short(location)}', outside the model's folder; "
                "refused for safety, keep external data beside the model."
            )
        target = root / relative
        resolved = target.resolve()
        if not resolved.is_relative_to(root):
            raise ModelRefused(
                f"{label}: tensor '{name}' data file '{short(location)}' links outside the model's folder; "
                "refused for safety, keep external data beside the model."
            )
        if not resolved.is_file():
            raise ModelRefused(
                f"{label}: external data file '{short(location)}' for tensor '{name}' is missing; "
                "copy it next to the model file."
            )
        size = files.setdefault(resolved, resolved.stat().st_size)
        try:
            offset = int(info.get("offset", 0))
            length = int(info["length"]) if "length" in info else None
        except ValueError:
            raise ModelRefused(f"{label}: tensor '{name}' has an unreadable external data offset or length; re-export the model.") from None
        expected = None if tensor.data_type == TensorProto.STRING else expected_data_bytes(tensor)
        if length is not None and expected is not None and length != expected:
            raise ModelRefused(
                f"{label}: tensor '{name}' needs {expected} bytes for its shape but its external data holds {length}; "
                "the files do not match, re-export the model."
            )
        needed = length if length is not None else (expected or 0)
        if offset < 0 or offset + needed > size:
            raise ModelRefused(
                f"{label}: external data file '{short(location)}' is shorter than tensor '{name}' needs; "
                "it is truncated, copy it again."
            )
    return sorted(files)


def disk_size(path: Path, data_files: list[Path]) -> int:
    """Bytes on disk of the model file and its external data files."""
    return os.stat(path).st_size + sum(os.stat(f).st_size for f in data_files)
