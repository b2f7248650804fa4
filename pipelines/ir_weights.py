"""onnx-ir models handed to protobuf tools without their weights.

onnx's C API (shape inference, the checker, the version converter) and ONNX Runtime's Python
graph tools (float16 converter, shape helpers) take a ModelProto. Serializing every weight into
one would copy the whole model, and fails above protobuf's 2 GB: these helpers give the tools
the graph alone and put the weights back afterwards, untouched where they were (memory-mapped
from their data file) or converted lazily, when the save writes them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import onnx
import onnx_ir as ir

_T = TypeVar("_T")

# Where a stand-in with the weight's shape points: no file by that name is ever read or written.
_STAND_IN_LOCATION = "weights-left-in-onnx-ir"
# Initializers above this size are left out of the protobufs handed to onnx's and ONNX Runtime's
# graph tools; smaller ones (shapes, axes, scales) travel with the graph, because tools read them.
DETACH_MIN_BYTES = 1024


def call_without_weights(func: Callable[[onnx.ModelProto], _T], model: ir.Model) -> _T:
    """Call a function of onnx's C API (shape inference, the checker, the version converter) on the graph alone.

    Those functions take a ModelProto, and serializing every weight into one would copy the
    whole model (and fail above 2 GB). onnx-ir's own passes use this helper: it turns the
    initializers over 1 KB into graph inputs for the call and puts them back afterwards.
    """
    from onnx_ir.passes.common._c_api_utils import call_onnx_api

    return call_onnx_api(func, model)


def detach_weights(model: ir.Model, *, keep_shapes: bool = True) -> tuple[onnx.ModelProto, dict[str, ir.TensorProtocol]]:
    """The model as a protobuf whose large initializers are stand-ins without data, and those weights by name.

    For graph tools that rewrite a ModelProto and must still see the weights as initializers
    (ONNX Runtime's shape helpers and float16 converter): each initializer over
    DETACH_MIN_BYTES keeps its name and type, so no weight is read or copied, and
    `attach_weights` puts the real ones back into the tool's result. keep_shapes: the stand-in
    is a reference to a data file that does not exist, with the weight's shape (for shape
    inference); else an empty tensor (for tools that read every weight they touch, such as
    the float16 converter, which reads each one only to learn its shape). `model` itself is
    left as it was.
    """
    weights: dict[str, ir.TensorProtocol] = {}
    values = []
    for graph in model.graphs():
        for value in graph.initializers.values():
            tensor = value.const_value
            # Weights are put back by name: a subgraph's initializer named like another stays in place.
            if tensor is not None and tensor.nbytes > DETACH_MIN_BYTES and value.name and value.name not in weights:
                weights[value.name] = tensor
                values.append(value)
    for value in values:
        tensor = weights[value.name or ""]
        if keep_shapes:
            value.const_value = ir.ExternalTensor(
                _STAND_IN_LOCATION, 0, tensor.nbytes, tensor.dtype, shape=tensor.shape, name=value.name
            )
        else:
            value.const_value = ir.tensor(np.empty(0, tensor.dtype.numpy()), dtype=tensor.dtype, name=value.name)
    try:
        return ir.serde.serialize_model(model), weights
    finally:
        for value in values:
            value.const_value = weights[value.name or ""]


def attach_weights(
    proto: onnx.ModelProto,
    weights: dict[str, ir.TensorProtocol],
    adapt: Callable[[ir.TensorProtocol, ir.DataType], ir.TensorProtocol] | None = None,
) -> ir.Model:
    """The onnx-ir model of a tool's output, with the weights `detach_weights` left out put back by name.

    A tool may have changed a weight's type (float16 conversion): `adapt(weight, new_type)`
    then returns the weight in that type (lazily, so nothing is computed before the save).
    """
    model = ir.serde.deserialize_model(proto)
    for graph in model.graphs():
        for value in graph.initializers.values():
            original, tensor = weights.get(value.name or ""), value.const_value
            if original is None or tensor is None or not _is_stand_in(tensor):
                continue  # not detached, or replaced by the tool
            if tensor.dtype != original.dtype:
                if adapt is None:
                    raise RuntimeError(f"weight '{value.name}' changed type from {original.dtype} to {tensor.dtype}")
                original = adapt(original, tensor.dtype)
            value.const_value = original
            value.shape = ir.Shape(original.shape)
    return model


def _is_stand_in(tensor: ir.TensorProtocol) -> bool:
    if isinstance(tensor, ir.ExternalTensor):
        return tensor.location == _STAND_IN_LOCATION
    return tensor.size == 0
