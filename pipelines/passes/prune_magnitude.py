"""prune-magnitude: unstructured pruning, zeroing the smallest weights (smaller when compressed)."""
from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option

if TYPE_CHECKING:
    import onnx_ir as ir

# Which inputs of each op are weights (when they are initializers).
WEIGHT_INPUTS = {"Conv": (1,), "ConvTranspose": (1,), "Gemm": (0, 1), "MatMul": (0, 1)}
# Bytes of weights the zipped-size figure compresses at most (see compressed_size).
ZIP_SAMPLE_BYTES = 64 << 20
_ZIP_BLOCK = 1 << 20
# Elements ranked at a time: the bit patterns and histograms of one slice, never of every weight.
_SLICE = 1 << 22
_BINS = 1 << 16


def compressed_size(model: ir.Model) -> tuple[int, bool]:
    """Bytes of the model after zlib level 6 (roughly what a zip of its files takes), and whether estimated.

    Fed the graph, then one weight at a time: the model is never serialized whole. zlib runs
    at about 10 MB/s on float weights here, so above ZIP_SAMPLE_BYTES of weights each weight
    is measured on evenly spaced 1 MB blocks (ZIP_SAMPLE_BYTES in all) and its share scaled
    to its size: two exact figures for a 2 GB model would take minutes.
    """
    from onnx_workbench.pipelines.ir_weights import detach_weights

    graph, weights = detach_weights(model)
    total = sum(weight.nbytes for weight in weights.values())
    stride = max(1, -(-total // ZIP_SAMPLE_BYTES))  # every stride-th block is compressed
    size = len(zlib.compress(graph.SerializeToString(), 6))
    for weight in weights.values():
        data = weight.numpy().reshape(-1).view(np.uint8)
        blocks = data if stride == 1 else np.concatenate(
            [data[start : start + _ZIP_BLOCK] for start in range(0, data.size, _ZIP_BLOCK * stride)]
        )
        size += round(len(zlib.compress(blocks.tobytes(), 6)) * data.size / blocks.size)
    return size, stride > 1


def select_weights(graph: ir.Graph, op_types: list[str], exclude: set[str], min_size: int) -> list[ir.Value]:
    """Float weight initializers of the chosen ops, at least `min_size` elements, not used by excluded nodes."""
    from onnx_workbench.pipelines.pruning.irutil import is_initializer

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
            tensor = value.const_value
            if tensor.dtype.is_floating_point() and tensor.size >= min_size:
                chosen[value.name] = value
    return [v for name, v in chosen.items() if name not in refused]


@dataclass(frozen=True)
class ZeroPlan:
    """Which entries of one weight become zero: magnitudes below `key`, and the first `ties` equal to it."""

    key: int  # a magnitude as the bit pattern of a float32 (ordered like the magnitudes)
    ties: int
    zeros: int  # entries that are zero afterwards


def plan_zeroing(tensors: Sequence[ir.TensorProtocol], sparsity: float) -> list[ZeroPlan]:
    """Zero exactly floor(sparsity * elements) smallest-magnitude entries across `tensors` taken together.

    An exact selection without holding the magnitudes of every weight at once: a histogram of
    the high 16 bits of each magnitude finds the bin that holds the cut, a second pass over
    the low 16 bits inside that bin finds the cut itself. Entries equal to the cut are zeroed
    in order until the count is reached.
    """
    count = int(np.floor(sparsity * sum(t.size for t in tensors)))
    high = [_histogram(t, lambda keys: keys >> 16) for t in tensors]
    cumulative = np.cumsum(np.sum(high, axis=0))
    if count == 0:
        return [ZeroPlan(0, 0, int(_histogram(t, lambda keys: keys & 0xFFFF, high_bin=0)[0])) for t in tensors]
    high_bin = int(np.searchsorted(cumulative, count))
    low = [_histogram(t, lambda keys: keys & 0xFFFF, high_bin=high_bin) for t in tensors]
    below_bin = int(cumulative[high_bin - 1]) if high_bin else 0
    low_bin = int(np.searchsorted(below_bin + np.cumsum(np.sum(low, axis=0)), count))
    key = (high_bin << 16) | low_bin
    plans, left = [], count - below_bin - int(np.sum(low, axis=0)[:low_bin].sum())
    for high_counts, low_counts in zip(high, low):
        below = int(high_counts[:high_bin].sum() + low_counts[:low_bin].sum())
        equal = int(low_counts[low_bin])
        ties = min(equal, left)
        left -= ties
        plans.append(ZeroPlan(key, ties, below + (equal if key == 0 else ties)))
    return plans


def zero_on_save(value: ir.Value, plan: ZeroPlan) -> None:
    """Zero the planned entries of an initializer, computed when the model is written."""
    import onnx_ir as ir

    original = value.const_value
    assert original is not None

    def zeroed() -> ir.TensorProtocol:
        array = original.numpy()
        keys = _magnitude_keys(array)
        mask = keys < plan.key
        if plan.ties:
            mask.flat[np.flatnonzero(keys == plan.key)[: plan.ties]] = True
        return ir.tensor(np.where(mask, np.zeros((), array.dtype), array), name=value.name)

    value.const_value = ir.LazyTensor(zeroed, dtype=original.dtype, shape=original.shape, name=value.name)


def _magnitude_keys(values: np.ndarray) -> np.ndarray:
    """|values| as float32 bit patterns: unsigned integers in the order of the magnitudes (NaN last)."""
    return np.abs(values.astype(np.float32, copy=False)).view(np.uint32)


def _histogram(tensor: ir.TensorProtocol, bins, high_bin: int | None = None) -> np.ndarray:
    """Counts of bins(keys) over the tensor's magnitude keys (only keys in `high_bin`, if given)."""
    counts = np.zeros(_BINS, np.int64)
    for keys in _key_slices(tensor):
        if high_bin is not None:
            keys = keys[(keys >> 16) == high_bin]
        counts += np.bincount(bins(keys), minlength=_BINS)
    return counts


def _key_slices(tensor: ir.TensorProtocol) -> Iterator[np.ndarray]:
    values = tensor.numpy().reshape(-1)
    for start in range(0, values.size, _SLICE):
        yield _magnitude_keys(values[start : start + _SLICE])


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

    def transform_ir(self, model_ir: ir.Model, config: Config, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Zero weights and report achieved sparsity per tensor and zipped size before/after.

        Each weight is read from its data file to be ranked and zeroed when the save writes
        it, so the weights are never all in memory.
        """
        from onnx_workbench.pipelines.pruning.irutil import check_pruned

        weights = select_weights(model_ir.graph, config.op_types, set(config.exclude_nodes), config.min_size)
        if not weights:
            output.warnings.append(
                f"No weight of {', '.join(config.op_types)} has at least {config.min_size} elements, so nothing was pruned."
            )
            return model_ir
        ctx.progress(0.1, "prune-magnitude: measuring compressed size")
        zip_before, estimated = compressed_size(model_ir)
        ctx.progress(0.4, f"prune-magnitude: ranking {len(weights)} tensors")
        tensors = [v.const_value for v in weights]
        if config.scope == "global":
            plans = plan_zeroing(tensors, config.sparsity)
        else:
            plans = [plan_zeroing([t], config.sparsity)[0] for t in tensors]
        per_tensor = {}
        for value, plan in zip(weights, plans):
            zero_on_save(value, plan)
            size = value.const_value.size
            per_tensor[value.name] = {"elements": int(size), "sparsity": round(plan.zeros / size, 4)}
        check_pruned(model_ir)
        ctx.progress(0.7, "prune-magnitude: measuring compressed size")
        output.details.update(
            sparsity=round(sum(p.zeros for p in plans) / sum(t.size for t in tensors), 4),
            tensors=per_tensor,
            zip_bytes_before=zip_before,
            zip_bytes_after=compressed_size(model_ir)[0],
            zip_bytes_estimated=estimated,
        )
        return model_ir
