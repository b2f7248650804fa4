"""Evaluate a graph's small shape computations once its input shapes are concrete.

onnx shape inference with data propagation follows Shape -> Gather -> Concat, but not every
op (a Slice whose `ends` is computed, as BERT's position embeddings are, stays unknown).
Once the inputs have fixed shapes those computations are constants: this module evaluates
them with onnx's reference evaluator, node by node, so a second inference pass sees them as
initializers. Only small tensors (shapes, axes, scalars) are computed, never activations.
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import numpy_helper

# Largest tensor (in elements) treated as a "shape value"; bigger ones are activations/weights.
MAX_VALUE_ELEMENTS = 1024

# Ops a shape computation is made of. Everything else (Conv, MatMul, Random*) is never run.
_SHAPE_OPS = {
    "Shape", "Size", "Constant", "Identity", "Cast", "Gather", "GatherElements", "Unsqueeze",
    "Squeeze", "Concat", "Slice", "Reshape", "Transpose", "Add", "Sub", "Mul", "Div", "Mod", "Neg",
    "Abs", "Floor", "Ceil", "Sqrt", "Max", "Min", "Equal", "Less", "Greater", "LessOrEqual",
    "GreaterOrEqual", "Not", "And", "Or", "Where", "ReduceProd", "ReduceSum", "ReduceMax",
    "ReduceMin", "Range", "ConstantOfShape", "Expand", "Tile", "Split", "ScatterND", "Flatten",
}

# Ops whose output takes the broadcast shape of all their inputs (numpy rules).
BROADCASTING_OPS = {
    "Add", "Sub", "Mul", "Div", "Mod", "Max", "Min", "Equal", "Less", "Greater", "LessOrEqual",
    "GreaterOrEqual", "And", "Or", "Where",
}


def fold_shape_values(
    model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """Values of every small tensor computable from initializers and concrete `shapes`."""
    from onnx.reference import ReferenceEvaluator

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        return {}
    values = {
        t.name: numpy_helper.to_array(t)
        for t in model.graph.initializer
        if math.prod(t.dims) <= MAX_VALUE_ELEMENTS and t.data_type != onnx.TensorProto.STRING
    }
    folded: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in _SHAPE_OPS:
            continue
        if node.op_type == "Shape":
            outputs = _shape_of(node, shapes)
        elif node.op_type == "Size":
            source = shapes.get(node.input[0])
            outputs = [np.array(math.prod(source), np.int64)] if source is not None else None
        elif all(i in values for i in node.input if i) and output_within(
            node.op_type, [values.get(i) for i in node.input], MAX_VALUE_ELEMENTS
        ):
            try:
                evaluator = ReferenceEvaluator(node, opsets={"": opset})
                outputs = evaluator.run(None, {i: values[i] for i in node.input if i})
            except Exception:  # noqa: BLE001 - an op the reference runtime rejects stays unknown
                outputs = None
        else:
            outputs = None
        if outputs is None:
            continue
        for name, value in zip(node.output, outputs):
            array = np.asarray(value)
            if name and array.size <= MAX_VALUE_ELEMENTS and array.dtype != object:
                values[name] = folded[name] = array
    return folded


def _shape_of(node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]]) -> list[np.ndarray] | None:
    source = shapes.get(node.input[0])
    if source is None:
        return None
    attrs = {a.name: a.i for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", len(source))
    # Python slicing clamps negative and out-of-range bounds the way ONNX Shape(start, end) does.
    return [np.array(source[start:end], dtype=np.int64)]


def output_within(op_type: str, inputs: list[np.ndarray | None], limit: int) -> bool:
    """Whether an op whose output size follows from its inputs' values stays within `limit` elements."""
    try:
        if op_type in ("ConstantOfShape", "Expand"):
            target = inputs[0 if op_type == "ConstantOfShape" else 1]
            return target is not None and math.prod(int(v) for v in np.ravel(target)) <= limit
        if op_type == "Range":
            start, limit_value, delta = (float(np.ravel(v)[0]) for v in inputs[:3])
            return delta != 0 and math.ceil((limit_value - start) / delta) <= limit
        if op_type == "Tile":
            return inputs[0].size * math.prod(int(v) for v in np.ravel(inputs[1])) <= limit
        if op_type in BROADCASTING_OPS:
            # Small inputs can still broadcast to a huge output: three 1024-element vectors
            # shaped [n,1,1], [1,n,1], [1,1,n] give n**3 through Max (8 GB for a 25 KB model).
            shape = np.broadcast_shapes(*(np.shape(v) for v in inputs if v is not None))
            return math.prod(shape) <= limit
    except (TypeError, ValueError, IndexError, AttributeError, OverflowError):
        return False
    return True
