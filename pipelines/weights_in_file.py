"""Parse a model file without its inline weights: they stay in the file, referenced like external data.

A graph-only load (the window's open) needs every weight's name, type and dims, never its
values; parsing a 100 MB CNN whose weights are inside the .onnx copies all of them (read, then
protobuf's own copy: ~0.2 s of the window's open and 100 MB of its memory). Here the file is
memory-mapped and its protobuf walked field by field, and only the bytes around the big
weights are parsed: each top-level initializer whose raw_data exceeds the threshold becomes an
external tensor whose data file is the model file itself (location = its own name, offset =
where the values start), so everything that reads external data on demand (tensor statistics,
onnx-ir's memory maps) reads these too. Anything this walk does not expect (a field twice, a
tensor already external, data that does not fit its shape, a damaged file) keeps the bytes as
they are or gives up, and the caller parses the whole file as usual.
"""
from __future__ import annotations

import mmap
from pathlib import Path

import onnx

from onnx_workbench.pipelines.validation import VALUE_FIELDS, expected_data_bytes

# Field numbers and wire types of onnx.proto3 that the walk reads.
_MODEL_GRAPH = 7  # ModelProto.graph
_GRAPH_INITIALIZER = 5  # GraphProto.initializer
_TENSOR_RAW_DATA = 9  # TensorProto.raw_data
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class _Unexpected(Exception):
    """The bytes are not laid out as this walk expects: parse the whole file instead."""


def parse_leaving_weights(path: Path, min_bytes: int) -> tuple[onnx.ModelProto, list[str]] | None:
    """The model at `path` with top-level inline weights over `min_bytes` left in the file, and their names.

    None when the file is not laid out as expected (or not a model at all): parse it whole,
    which also says what is wrong with it. The protobuf is parsed only: whether it is a
    whole model (a graph, an IR version) is the caller's to check.
    """
    try:
        with path.open("rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # unreadable, empty or not mappable: the whole parse says which
        return None
    view = memoryview(data)
    try:
        kept, left = _model_without_weights(view, path.name, min_bytes)
    except _Unexpected:
        return None
    finally:
        view.release()  # before the map closes: it refuses while a view of it is alive
        data.close()
    try:  # with nothing left in the file, `kept` is the file's bytes: the usual parse, without reading it again
        return onnx.ModelProto.FromString(kept), left
    except Exception:  # noqa: BLE001 - protobuf's DecodeError and its kin: the whole parse reports it
        return None


def _model_without_weights(data: memoryview, location: str, min_bytes: int) -> tuple[bytes, list[str]]:
    """The model's bytes with the graph's big weights replaced by references into the file at `location`."""
    out, left, graphs = bytearray(), [], 0
    for number, wire, start, value_start, end in _fields(data, 0, len(data)):
        if number == _MODEL_GRAPH and wire == _LENGTH:
            graphs += 1
            if graphs > 1:
                raise _Unexpected("two graph fields (protobuf would merge them)")
            graph = _graph_without_weights(data, value_start, end, location, min_bytes, left)
            out += _tag(number, _LENGTH) + _varint(len(graph)) + graph
        else:
            out += data[start:end]
    return bytes(out), left


def _graph_without_weights(
    data: memoryview, begin: int, end: int, location: str, min_bytes: int, left: list[str]
) -> bytes:
    out = bytearray()
    for number, wire, start, value_start, field_end in _fields(data, begin, end):
        if number == _GRAPH_INITIALIZER and wire == _LENGTH:
            reference = _reference(data, value_start, field_end, location, min_bytes)
            if reference is not None:
                body = reference.SerializeToString()
                out += _tag(number, _LENGTH) + _varint(len(body)) + body
                left.append(reference.name)
                continue
        out += data[start:field_end]
    return bytes(out)


def _reference(data: memoryview, begin: int, end: int, location: str, min_bytes: int) -> onnx.TensorProto | None:
    """The tensor at data[begin:end] as a reference to its raw_data in the file; None to keep it as it is."""
    raw: tuple[int, int] | None = None
    rest = bytearray()
    for number, wire, start, value_start, field_end in _fields(data, begin, end):
        if number == _TENSOR_RAW_DATA and wire == _LENGTH:
            if raw is not None:
                return None  # raw_data twice: protobuf keeps the last; let it
            raw = (value_start, field_end - value_start)
        else:
            rest += data[start:field_end]
    if raw is None or raw[1] <= min_bytes:
        return None
    tensor = onnx.TensorProto.FromString(bytes(rest))
    try:
        fits = expected_data_bytes(tensor) == raw[1]
    except KeyError:  # an element type ONNX does not define: the checks refuse it from the whole parse
        return None
    stored_elsewhere = tensor.external_data or tensor.data_location != onnx.TensorProto.DEFAULT
    stored_twice = any(len(getattr(tensor, name)) for name in VALUE_FIELDS)
    odd = stored_elsewhere or stored_twice or tensor.HasField("segment") or tensor.data_type == onnx.TensorProto.STRING
    if odd or not fits:
        return None  # the usual checks say what is wrong with it
    tensor.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(raw[0])), ("length", str(raw[1]))):
        tensor.external_data.add(key=key, value=value)
    return tensor


def _fields(data: memoryview, begin: int, end: int):  # noqa: ANN202 - a generator of 5-tuples
    """(field number, wire type, field start, value start, field end) of each field in data[begin:end]."""
    position = begin
    while position < end:
        start = position
        tag, value_start = _read_varint(data, position, end)
        number, wire = tag >> 3, tag & 7
        if wire == _VARINT:
            _, position = _read_varint(data, value_start, end)
        elif wire == _LENGTH:
            length, value_start = _read_varint(data, value_start, end)
            position = value_start + length
        elif wire in (_FIXED64, _FIXED32):
            position = value_start + (8 if wire == _FIXED64 else 4)
        else:
            raise _Unexpected(f"wire type {wire}")  # groups: no ONNX writer uses them
        if number == 0 or position > end:
            raise _Unexpected("damaged or truncated")
        yield number, wire, start, value_start, position


def _read_varint(data: memoryview, position: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= end or shift > 63:
            raise _Unexpected("damaged varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)
