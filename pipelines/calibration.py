"""Calibration data for static quantization: random previews, image folders and .npz arrays.

Every source is a generator of one-sample feeds; `StreamingReader` wraps it in ONNX Runtime's
`CalibrationDataReader` interface so samples are produced one at a time (never all in memory)
and each one is a progress report and a cancellation point.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.images import IMAGE_SUFFIXES, ImagePreprocessing, class_folders, image_input, load_image
from onnx_workbench.pipelines.inputs import graph_inputs, input_ranks, iter_array_samples, random_inputs
from onnx_workbench.pipelines.step_context import PassContext

Feed = dict[str, np.ndarray]

RANDOM_PREVIEW_WARNING = "calibrated on random data: a preview, not real calibration"


class StreamingReader(CalibrationDataReader):
    """ONNX Runtime calibration reader over a lazy sample stream, with progress and cancel."""

    def __init__(
        self,
        samples: Iterator[Feed],
        total: int,
        ctx: PassContext | None = None,
        span: tuple[float, float] = (0.0, 1.0),
        label: str = "calibrating",
    ) -> None:
        self._samples = samples
        self._total = max(total, 1)
        self._ctx = ctx
        self._span = span
        self._label = label
        self.produced = 0

    def get_next(self) -> Feed | None:
        """The next one-sample feed, or None when the stream is exhausted."""
        if self._ctx is not None:
            start, end = self._span
            self._ctx.progress(
                start + (end - start) * self.produced / self._total,
                f"{self._label}: sample {self.produced + 1} of {self._total}",
            )
        feed = next(self._samples, None)
        if feed is not None:
            self.produced += 1
        return feed

    def __len__(self) -> int:
        return self._total


def random_samples(model: onnx.ModelProto, count: int, dims: dict[str, int] | None = None) -> Iterator[Feed]:
    """Seeded random feeds, a different seed per sample, shaped from the model's input specs."""
    for index in range(count):
        yield random_inputs(model, dims=dims, seed=1000 + index)


def array_samples(model: onnx.ModelProto, path: str | Path, count: int) -> Iterator[Feed]:
    """One-sample feeds from a .npz (or folder of them), checked against the model's inputs."""
    specs = {value.name: value for value in graph_inputs(model)}
    for feed in iter_array_samples(path, list(specs), limit=count, ranks=input_ranks(model)):
        yield {name: _checked_array(specs[name], array, Path(path).name) for name, array in feed.items()}


def image_samples(
    model: onnx.ModelProto, folder: str | Path, count: int, prep: ImagePreprocessing
) -> Iterator[Feed]:
    """One-sample feeds made from the pictures in `folder`, one image opened at a time."""
    name, layout, channels, height, width, dtype = image_input(model, prep.layout)
    for file in image_files(folder)[:count]:
        yield {name: load_image(file, layout, channels, height, width, dtype, prep)}


def image_files(folder: str | Path) -> list[Path]:
    """The pictures in `folder` (jpg/png/bmp/webp) or its class sub-folders, sorted; ConfigError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder; give a folder of calibration images.", "data")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        # A labelled image folder (one sub-folder per class) calibrates on all its pictures.
        files = [picture for _, pictures in class_folders(folder) for picture in pictures]
    if not files:
        raise ConfigError(
            f"{folder} holds no jpg, png, bmp or webp images; add some or choose another folder.", "data"
        )
    return files


def count_samples(kind: str, model: onnx.ModelProto, data: str, limit: int) -> int:
    """How many samples a source will give (at most `limit`), without loading them."""
    if kind == "random":
        return limit
    if kind == "images":
        return min(limit, len(image_files(data)))
    path = Path(data)
    files = sorted(path.glob("*.npz")) if path.is_dir() else [path]
    names = [v.name for v in graph_inputs(model)]
    if not files:
        raise ConfigError(f"{path}: no .npz data found; give a .npz file or a folder of them.", "data")
    total = 0
    for file in files:
        if not file.is_file():
            raise ConfigError(f"{path}: no .npz data found; give a .npz file or a folder of them.", "data")
        total += min(_npz_rows(file, name, names) for name in names) if names else 0
        if total >= limit:
            break
    if total == 0:
        raise ConfigError(f"{path} holds no samples for inputs {', '.join(names)}; check the file.", "data")
    return min(total, limit)


def _npz_rows(file: Path, name: str, names: list[str]) -> int:
    """Length of the first axis of array `name` in a .npz, read from the .npy header only."""
    import zipfile

    try:
        with zipfile.ZipFile(file) as archive:
            members = set(archive.namelist())
            if f"{name}.npy" not in members:
                raise ConfigError(
                    f"{file.name} has no array named '{name}'; arrays must be named after the model inputs ({', '.join(names)}).",
                    "data",
                )
            with archive.open(f"{name}.npy") as member:
                version = np.lib.format.read_magic(member)
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, _, _ = read_header(member)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConfigError(f"{file.name} is not a readable .npz file ({exc}); check the data field.", "data") from exc
    return int(shape[0]) if shape else 0


def make_samples(
    kind: str, model: onnx.ModelProto, data: str, count: int, prep: ImagePreprocessing | None = None
) -> Iterator[Feed]:
    """A fresh sample stream of the chosen kind (each call starts from the first sample)."""
    if kind == "random":
        return random_samples(model, count)
    if not data:
        raise ConfigError(f"calibration '{kind}' needs a data path; set the data field.", "data")
    if kind == "images":
        return image_samples(model, data, count, prep or ImagePreprocessing())
    if kind == "arrays":
        return array_samples(model, data, count)
    raise ConfigError(f"calibration must be random, images or arrays, not '{kind}'.", "calibration")


def make_reader(
    kind: str,
    model: onnx.ModelProto,
    data: str,
    count: int,
    *,
    prep: ImagePreprocessing | None = None,
    ctx: PassContext | None = None,
    span: tuple[float, float] = (0.0, 1.0),
) -> StreamingReader:
    """A calibration reader for ONNX Runtime; checks the first sample so bad data fails early."""
    total = count_samples(kind, model, data, count)
    first = next(make_samples(kind, model, data, 1, prep), None)
    if first is None:
        raise ConfigError(f"{data or 'the data source'} gave no calibration sample; check the data field.", "data")
    return StreamingReader(make_samples(kind, model, data, total, prep), total, ctx, span)


def _checked_array(value: onnx.ValueInfoProto, array: np.ndarray, source: str) -> np.ndarray:
    dims = value.type.tensor_type.shape.dim
    expected = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    shape_ok = len(expected) == array.ndim and all(
        e is None or e == a for e, a in zip(expected, array.shape)
    )
    if not shape_ok:
        wanted = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
        raise ConfigError(
            f"{source}: array '{value.name}' gives samples of shape {tuple(array.shape)} but the input takes {wanted}; store one sample per row of the first axis, or N batch-1 samples as (N, 1, ...).",
            "data",
        )
    elem = value.type.tensor_type.elem_type
    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem))
    if array.dtype != dtype and not np.can_cast(array.dtype, dtype, casting="same_kind"):
        raise ConfigError(
            f"{source}: array '{value.name}' is {array.dtype} but the input takes {dtype}; convert the data.",
            "data",
        )
    # Same-kind data (float64 for a float32 input, int32 for int64 ids) is converted, not refused.
    return array.astype(dtype, copy=False)
