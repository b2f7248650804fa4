"""prune-magnitude: unstructured pruning, zeroing the smallest weights (smaller when compressed)."""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import onnx
import onnx_ir as ir

from pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option
from pipelines.pruning.irutil import const_array, is_initializer, set_initializer, to_checked_proto, to_ir

# Which inputs of each op are weights (when they are initializers).
WEIGHT_INPUTS = {"Conv": (1,), "ConvTranspose": (1,), "Gemm": (0, 1), "MatMul": (0, 1)}


def compressed_size(model: onnx.ModelProto) -> int:
    """Bytes of the serialized model after zlib (what a zip of the file would roughly take)."""
    return len(zlib.compress(model.SerializeToString(), 6))


def select_weights(graph: ir.Graph, op_types: list[str], exclude: set[str], min_size: int) -> list[ir.Value]:
    """Float weight initializers of the chosen ops, at least `min_size` elements, not used by excluded nodes."""
    chosen: dict[str, ir.Value] = {}
    refused: set[str] = set()
    for node in graph:
        for index, value in enumerate(node.inputs):
            if value is None or not is_initializer(value):
                continue
            weight_slot = index in WEIGHT_INPUTS.get(node.op_type, ())
            if node.name in exclude or node.op_type not in op_types or not weight_slot:
                # A weight also read by an excluded node stays whole: zeroing it would change that node too.
                if node.name in exclude:
                    refused.add(value.name)
                continue
            array = const_array(value)
            if array.dtype.kind == "f" and array.size >= min_size:
                chosen[value.name] = value
    return [v for name, v in chosen.items() if name not in refused]


def zero_smallest(arrays: list[np.ndarray], sparsity: float) -> list[np.ndarray]:
    """Zero the `sparsity` fraction of smallest-magnitude entries across `arrays` taken together."""
    flat = np.concatenate([np.abs(a.astype(np.float32)).ravel() for a in arrays])
    count = int(np.floor(sparsity * flat.size))
    if count == 0:
        return arrays
    # argpartition gives exactly `count` entries even when magnitudes tie at the threshold.
    mask = np.ones(flat.size, dtype=bool)
    mask[np.argpartition(flat, count - 1)[:count]] = False
    result, start = [], 0
    for array in arrays:
        part = mask[start : start + array.size].reshape(array.shape)
        result.append(np.where(part, array, np.zeros((), array.dtype)).astype(array.dtype))
        start += array.size
    return result


class PruneMagnitude(Pass):
    """Zero the smallest weights globally or per layer; the graph is unchanged, the file compresses better."""

    name = "prune-magnitude"
    category = "prune"
    # The pruning code infers the shapes it needs; an unchanged model is written back as it was.
    infer_shapes = False
    description = "Zero the smallest-magnitude weights (unstructured sparsity); shrinks the zipped model, not latency."

    @dataclass(frozen=True)
    class Config(PassConfig):
        sparsity: float = option(0.5, help="Fraction of the selected weights to set to zero.", min=0.0, max=0.99)
        scope: str = option("global", help="Rank weights across all layers together or within each layer.", choices=("global", "per-layer"))
        op_types: list[str] = option(["Conv", "Gemm", "MatMul"], help="Ops whose weights are pruned.", widget="op-types")
        exclude_nodes: list[str] = option([], help="Nodes whose weights are left whole.", widget="nodes")
        min_size: int = option(1024, help="Skip weights with fewer elements than this (biases, tiny layers).", min=0)

    def transform(self, model: onnx.ModelProto, config: Config, ctx: PassContext, output: PassOutput) -> onnx.ModelProto:
        """Zero weights and report achieved sparsity per tensor and zipped size before/after."""
        ir_model = to_ir(model)
        weights = select_weights(ir_model.graph, config.op_types, set(config.exclude_nodes), config.min_size)
        if not weights:
            output.warnings.append(
                f"No weight of {', '.join(config.op_types)} has at least {config.min_size} elements, so nothing was pruned."
            )
            return model
        arrays = [const_array(v) for v in weights]
        ctx.progress(0.3, f"prune-magnitude: ranking {len(arrays)} tensors")
        if config.scope == "global":
            pruned = zero_smallest(arrays, config.sparsity)
        else:
            pruned = [zero_smallest([a], config.sparsity)[0] for a in arrays]
        per_tensor = {}
        for value, array in zip(weights, pruned):
            set_initializer(value, array)
            per_tensor[value.name] = {"elements": int(array.size), "sparsity": round(float(np.mean(array == 0)), 4)}
        zeros = sum(int(np.count_nonzero(a == 0)) for a in pruned)
        total = sum(a.size for a in pruned)
        ctx.progress(0.7, "prune-magnitude: measuring compressed size")
        result = to_checked_proto(ir_model)
        output.details.update(
            sparsity=round(zeros / total, 4),
            tensors=per_tensor,
            zip_bytes_before=compressed_size(model),
            zip_bytes_after=compressed_size(result),
        )
        return result
