"""One initializer's values and statistics, read on demand.

The window and the analysis load models without their weights (`load_model(weights=False)`);
when the user clicks an initializer, only that tensor is read: memory-mapped from its data file
when numpy can view the bytes directly, so statistics walk the file in chunks instead of copying
a multi-hundred-MB tensor into the process.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.validation import check_external_data, iter_graphs, short, tensor_bytes

# min/max/sparsity are exact but read the tensor in chunks of this many elements (no float64
# copy of a huge tensor); mean, std and the histogram use an evenly strided sample of at most
# SAMPLE_LIMIT elements.
CHUNK_ELEMENTS = 1 << 20
SAMPLE_LIMIT = 1_000_000
HISTOGRAM_BINS = 64
# Element types whose stored bytes numpy reads as they are (others, e.g. bfloat16 or 4-bit, are decoded).
_PLAIN_TYPES = {
    TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.INT8, TensorProto.UINT8,
    TensorProto.INT16, TensorProto.UINT16, TensorProto.INT32, TensorProto.UINT32, TensorProto.INT64,
    TensorProto.UINT64, TensorProto.BOOL,
}


def is_external(tensor: onnx.TensorProto) -> bool:
    """True when the tensor's data lives in a data file rather than in the model."""
    return tensor.data_location == TensorProto.EXTERNAL


def tensor_array(tensor: onnx.TensorProto, folder: str | Path) -> np.ndarray:
    """The values of `tensor`; external data (checked to lie inside `folder`) is memory-mapped when possible."""
    if not is_external(tensor):
        return numpy_helper.to_array(tensor)
    folder = Path(folder)
    holder = onnx.ModelProto()
    holder.graph.initializer.add().CopyFrom(tensor)  # no data to copy: it is a reference
    check_external_data(holder, folder, short(tensor.name))
    info = {entry.key: entry.value for entry in tensor.external_data}
    path = folder / info["location"].replace("\\", "/")
    offset = int(info.get("offset", 0))
    shape = tuple(tensor.dims)
    if tensor.data_type in _PLAIN_TYPES:
        dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
        if math.prod(shape) == 0:
            return np.zeros(shape, dtype)
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    with path.open("rb") as data:
        data.seek(offset)
        loaded = TensorProto()
        loaded.CopyFrom(tensor)
        del loaded.external_data[:]
        loaded.data_location = TensorProto.DEFAULT
        loaded.raw_data = data.read(tensor_bytes(tensor))
    return numpy_helper.to_array(loaded)


def value_sample(array: np.ndarray, limit: int = SAMPLE_LIMIT) -> np.ndarray:
    """The flattened array, or an evenly strided view of at most `limit` of its elements."""
    flat = np.asarray(array).reshape(-1)
    step = -(-flat.size // limit) if flat.size > limit else 1
    return flat[::step]


def tensor_statistics(array: np.ndarray) -> dict[str, float]:
    """Exact min/max and sparsity (fraction of exact zeros); mean/std from `value_sample`.

    "sampled" is 1.0 when mean and std come from a sample rather than every element.
    """
    flat = np.asarray(array).reshape(-1)  # a view: a memory-mapped tensor stays on disk
    if flat.size == 0:
        return {"min": float("nan"), "max": float("nan"), "mean": float("nan"), "std": float("nan"),
                "sparsity": 0.0, "sampled": 0.0}
    low, high, zeros = flat[0], flat[0], 0
    for start in range(0, flat.size, CHUNK_ELEMENTS):
        chunk = flat[start:start + CHUNK_ELEMENTS]
        # np.minimum/maximum, unlike min()/max(), keep a NaN once one was seen.
        low, high = np.minimum(low, chunk.min()), np.maximum(high, chunk.max())
        zeros += int(np.count_nonzero(chunk == 0))
    sample = value_sample(flat)
    values = sample.astype(np.float64)
    return {
        "min": float(low),
        "max": float(high),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "sparsity": zeros / flat.size,
        "sampled": float(sample.size < flat.size),
    }


def value_histogram(array: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[list[float], list[float]]:
    """(counts, edges) of the finite values of `value_sample(array)`; both empty when there are none."""
    values = value_sample(array).astype(np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [], []
    counts, edges = np.histogram(values, bins=bins)
    return counts.astype(np.float64).tolist(), edges.tolist()


def summarize_values(array: np.ndarray) -> dict[str, Any]:
    """What the window shows of a tensor: element and byte counts; statistics and histogram when numeric."""
    result: dict[str, Any] = {"elements": int(array.size), "bytes": int(array.nbytes), "numeric": array.dtype.kind in "biuf"}
    if result["numeric"]:
        result["stats"] = tensor_statistics(array)
        result["histogram"] = dict(zip(("counts", "edges"), value_histogram(array)))
    return result


def initializer_statistics(model_path: str | Path, name: str) -> dict[str, Any]:
    """`summarize_values` of initializer `name` of a model file, reading only that tensor."""
    from onnx_workbench.pipelines.model import load_model

    loaded = load_model(model_path, infer_shapes=False, weights=False)
    tensor = next((t for g in iter_graphs(loaded.proto.graph) for t in g.initializer if t.name == name), None)
    if tensor is None:
        raise ConfigError(f"{short(loaded.path.name)} has no initializer '{short(name)}'; pick one from the graph.")
    return summarize_values(tensor_array(tensor, loaded.path.parent))
