"""Small onnx-ir helpers for the pruning code: read and replace constant tensors, round-trip models."""
from __future__ import annotations


import numpy as np
import onnx
import onnx_ir as ir
from onnx_ir.passes.common import ShapeInferencePass

from onnx_workbench.pipelines.ir_weights import call_without_weights


def to_ir(model: onnx.ModelProto) -> ir.Model:
    """The model in onnx-ir form (the agreed IR for graph surgery), with inferred shapes.

    Shapes are inferred here (not trusted from the caller) because channel tracing needs the
    rank of every tensor and the spatial size before each Flatten.
    """
    return ir.from_proto(onnx.shape_inference.infer_shapes(model, strict_mode=False))


def infer_shapes(model: ir.Model) -> None:
    """Infer every tensor's shape in place, from the graph alone (the weights never go to onnx).

    Channel tracing needs the rank of every tensor and the spatial size before each Flatten,
    so shapes are inferred here rather than trusted from the caller.
    """
    ShapeInferencePass(check_type=False, strict_mode=False, data_prop=False)(model)


def check_pruned(model: ir.Model) -> None:
    """Prove the pruned graph valid: strict shape inference from scratch, then onnx's checker.

    Intermediate shapes recorded before pruning are stale once channels are gone, so they are
    dropped (the model is saved without them, like most exported models: with them, ONNX
    Runtime picked slower kernels for the pruned transformer, measured ~20%); strict inference
    turns any inconsistency into an error here instead of a broken file later. Both run on
    the graph with the weights as typed inputs: their data is never serialized.
    """
    outputs = set(model.graph.outputs)
    for node in ir.traversal.RecursiveGraphIterator(model.graph):
        for value in node.outputs:
            if value not in outputs:
                value.shape, value.type = None, None

    def check(proto: onnx.ModelProto) -> None:
        onnx.checker.check_model(onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True))

    call_without_weights(check, model)


def const_array(value: ir.Value | None) -> np.ndarray | None:
    """The constant behind `value` (initializer or Constant node) as numpy, else None."""
    if value is None:
        return None
    tensor = ir.convenience.get_const_tensor(value)
    return None if tensor is None else tensor.numpy()


def is_initializer(value: ir.Value | None) -> bool:
    """True when `value` is a graph initializer whose data we may replace."""
    return value is not None and value.is_initializer() and value.const_value is not None


def set_initializer(value: ir.Value, array: np.ndarray) -> None:
    """Replace an initializer's data (and recorded shape) with `array`, keeping its name and dtype."""
    value.const_value = ir.tensor(np.ascontiguousarray(array), name=value.name)
    value.shape = ir.Shape(array.shape)


def delete_on_save(value: ir.Value, removals: dict[int, set[int]]) -> None:
    """Remove the given indices along each axis of an initializer, computed when the model is written.

    The weight stays where it is (memory-mapped from its data file) until the save streams
    the smaller one into the new file, so pruning never holds every weight in memory.
    """
    original = value.const_value
    assert original is not None
    shape = list(original.shape.numpy())
    for axis, indices in removals.items():
        shape[axis] -= len(indices)

    def sliced() -> ir.TensorProtocol:
        array = original.numpy()
        for axis, indices in removals.items():
            array = np.delete(array, sorted(indices), axis=axis)
        return ir.tensor(np.ascontiguousarray(array), name=value.name)

    value.const_value = ir.LazyTensor(sliced, dtype=original.dtype, shape=ir.Shape(shape), name=value.name)
    value.shape = ir.Shape(shape)


def count_params(model: ir.Model) -> int:
    """Number of elements in all initializers (the model's parameters), from their shapes."""
    return int(sum(v.const_value.size for v in model.graph.initializers.values() if v.const_value is not None))


def static_shape(value: ir.Value | None) -> tuple[int, ...] | None:
    """The value's shape when every dim is a known integer, else None."""
    if value is None or value.shape is None:
        return None
    dims = tuple(value.shape)
    if not all(isinstance(d, int) for d in dims):
        return None
    return dims


def rank(value: ir.Value | None) -> int | None:
    """The value's rank when known (symbolic dims are fine), else None."""
    if value is None or value.shape is None:
        return None
    return len(value.shape)


def ints_attribute_or_input(node: ir.Node, attribute: str, index: int) -> list[int] | None:
    """Integers an op takes as an attribute in old opsets and as a constant input in new ones
    (Unsqueeze/Reduce* axes, Pad pads); None when neither is there or the input is not constant."""
    if len(node.inputs) > index and node.inputs[index] is not None:
        array = const_array(node.inputs[index])
        return None if array is None else [int(a) for a in array.ravel()]
    values = node.attributes.get_ints(attribute, None)
    return None if values is None else list(values)
