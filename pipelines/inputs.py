"""Model inputs: concrete shapes for dynamic dims, seeded random data, and user data files.

Shared by analysis (shapes), verification, profiling and random calibration so that every
part of the workbench feeds a model the same way.
"""
from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.validation import short

DEFAULT_BATCH = 1
DEFAULT_DYNAMIC_DIM = 128
# One input array of a user's data file, once inflated: far above real calibration or test data.
MAX_DATA_ARRAY_BYTES = 1 << 30


@dataclass(frozen=True)
class InputSpec:
    """One graph input: name, numpy dtype and a concrete shape, with the dims we assumed."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    assumed: dict[str, int]


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Real inputs: graph inputs that are not initializers (old exporters list weights as inputs)."""
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def resolve_dim(
    dim: onnx.TensorShapeProto.Dimension, axis: int, dims: dict[str, int], assumed: dict[str, int]
) -> int:
    """A concrete size for one dimension: fixed, user-given by name, or assumed.

    A symbolic first axis is taken as the batch (the `batch` entry of `dims`, default 1);
    any other symbolic dim defaults to 128. Assumptions are recorded in `assumed`.
    """
    if dim.HasField("dim_value"):
        return dim.dim_value  # zero-size dims are legal
    name = dim.dim_param or f"unnamed_axis_{axis}"
    if name in dims:
        return dims[name]
    guess = dims.get("batch", DEFAULT_BATCH) if axis == 0 else DEFAULT_DYNAMIC_DIM
    assumed[name] = guess
    return guess


def input_specs(model: onnx.ModelProto, dims: dict[str, int] | None = None) -> list[InputSpec]:
    """Concrete specs for every real input; `dims` maps dim names (or 'batch') to sizes."""
    dims = dims or {}
    specs = []
    for value in graph_inputs(model):
        tensor_type = value.type.tensor_type
        if not value.type.HasField("tensor_type"):
            raise ConfigError(f"input '{value.name}' is not a tensor; only tensor inputs can be fed.")
        assumed: dict[str, int] = {}
        shape = tuple(
            resolve_dim(d, axis, dims, assumed) for axis, d in enumerate(tensor_type.shape.dim)
        )
        dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        specs.append(InputSpec(value.name, np.dtype(dtype), shape, assumed))
    return specs


def integer_input_bounds(model: onnx.ModelProto) -> dict[str, int]:
    """Upper bounds for integer inputs that index a table (e.g. token ids into an embedding)."""
    initializers = {t.name: t for t in model.graph.initializer}
    inputs = {i.name for i in graph_inputs(model)}
    bounds: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type == "Gather" and len(node.input) == 2 and node.input[1] in inputs:
            table = initializers.get(node.input[0])
            if table is not None and table.dims:
                axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
                size = table.dims[axis]
                bounds[node.input[1]] = min(bounds.get(node.input[1], size), size)
    return bounds


def random_inputs(
    model: onnx.ModelProto, *, dims: dict[str, int] | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Seeded inputs that respect dtypes and known index ranges (token ids below the vocabulary)."""
    rng = np.random.default_rng(seed)
    bounds = integer_input_bounds(model)
    feeds: dict[str, np.ndarray] = {}
    for spec in input_specs(model, dims):
        if spec.dtype.kind == "f":
            feeds[spec.name] = rng.standard_normal(spec.shape).astype(spec.dtype)
        elif spec.dtype.kind in "iu":
            high = bounds.get(spec.name, 2 if "mask" in spec.name.lower() else 100)
            low = 1 if "mask" in spec.name.lower() else 0
            feeds[spec.name] = rng.integers(low, max(high, low + 1), size=spec.shape).astype(spec.dtype)
        elif spec.dtype.kind == "b":
            feeds[spec.name] = rng.integers(0, 2, size=spec.shape).astype(bool)
        elif spec.dtype.kind in "OUS":
            feeds[spec.name] = np.array(
                [f"sample {i}" for i in range(int(np.prod(spec.shape)))], dtype=object
            ).reshape(spec.shape)
        else:
            raise ConfigError(f"input '{spec.name}' has type {spec.dtype}, which we cannot generate.")
    return feeds


def input_ranks(model: onnx.ModelProto) -> dict[str, int]:
    """Rank of every real input (what `iter_array_samples` needs to read stacked samples)."""
    return {v.name: len(v.type.tensor_type.shape.dim) for v in graph_inputs(model)}


def iter_array_samples(
    path: str | Path,
    input_names: list[str],
    limit: int | None = None,
    dtypes: dict[str, np.dtype] | None = None,
    ranks: dict[str, int] | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Stream samples from a `.npz` (arrays named after inputs, first axis = samples) or a folder of them.

    Each yielded dict holds one sample with a batch axis of 1; files are opened one at a time
    so a large data set never sits in memory whole. Data files are untrusted: see `read_npz`.
    `dtypes` (input name -> the model's dtype) lets text arrays through only for text inputs.
    `ranks` (input name -> rank): an input of rank r also takes an (N, 1, ...) array of rank
    r + 1, N batch-1 samples stacked the way most people save them.
    """
    path = Path(path)
    files = sorted(path.glob("*.npz")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise ConfigError(f"{short(str(path))}: no .npz data found; give a .npz file or a folder of them.")
    produced = 0
    for file in files:
        arrays = {name: _batch_one_rows(array, (ranks or {}).get(name, 0)) for name, array in read_npz(file, input_names, dtypes).items()}
        count = min(len(array) for array in arrays.values())
        for index in range(count):
            if limit is not None and produced >= limit:
                return
            yield {name: array[index : index + 1] for name, array in arrays.items()}
            produced += 1
        del arrays


def _batch_one_rows(array: np.ndarray, rank: int) -> np.ndarray:
    """(N, 1, ...) stacked batch-1 samples as (N, ...) rows (a view); other arrays as they are."""
    if rank >= 1 and array.ndim == rank + 1 and array.shape[1] == 1:
        return array.reshape(array.shape[:1] + array.shape[2:])
    return array


def read_npz(file: Path, names: list[str], dtypes: dict[str, np.dtype] | None = None) -> dict[str, np.ndarray]:
    """The arrays `names` from one .npz, each checked before it is inflated; ConfigError in one sentence.

    Refused: a file that is not a zip archive, a member larger than MAX_DATA_ARRAY_BYTES once
    inflated (a 2 MB zip of zeros can inflate to 2 GB), pickled objects, a header whose shape
    does not match the bytes behind it, a single value without a samples axis, text for a
    numeric input and NaN or infinite values (verification would "agree" on them).
    """
    label = short(file.name)
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConfigError(f"{label} is not a .npz archive ({_reason(exc)}); write it with numpy.savez.", "data") from None
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for name in names:
            try:
                info = archive.getinfo(f"{name}.npy")
            except KeyError:
                raise ConfigError(
                    f"{label} has no array named '{short(name)}'; arrays must be named after the model inputs "
                    f"({short(', '.join(names), 200)}).", "data",
                ) from None
            arrays[name] = _read_member(archive, info, f"{label}, array '{short(name)}'", (dtypes or {}).get(name))
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, wanted: np.dtype | None) -> np.ndarray:
    """One .npy member: header checked against its size and type first, then read and checked for NaN/Inf."""
    if info.file_size > MAX_DATA_ARRAY_BYTES:
        raise ConfigError(
            f"{label} inflates to {info.file_size} bytes, over the {MAX_DATA_ARRAY_BYTES}-byte limit for one input; "
            "split the data over several .npz files.", "data",
        )
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _fortran, dtype = read_header(member)
            header_bytes = member.tell()
        if dtype.hasobject:
            raise ConfigError(f"{label} holds Python objects (pickled data), which are never loaded; save plain arrays.", "data")
        if not shape:
            raise ConfigError(f"{label} is a single value; give an array whose first axis counts the samples.", "data")
        expected = math.prod(shape) * dtype.itemsize
        if header_bytes + expected != info.file_size:
            raise ConfigError(
                f"{label} claims shape {list(shape)} ({expected} bytes) but holds {info.file_size - header_bytes}; "
                "the file is damaged, write it again.", "data",
            )
        text = dtype.kind in "USV"
        if dtype.kind not in "biufUS" or (text and (wanted is None or wanted.kind not in "OUS")):
            raise ConfigError(f"{label} holds {dtype} values, which this model input cannot take; save numbers.", "data")
        with archive.open(info) as member:
            array = np.lib.format.read_array(member, allow_pickle=False)
    except ConfigError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ConfigError(f"{label} cannot be read ({_reason(exc)}); write the file again with numpy.savez.", "data") from None
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        raise ConfigError(f"{label} holds NaN or infinite values; inputs must be finite numbers.", "data")
    return array


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return short(text[0] if text else type(exc).__name__, 120).rstrip(".")
