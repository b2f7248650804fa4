"""Labelled data and accuracy: the number users report, beside agreement with the original.

Two layouts are read, both also plain input data for everything else that takes `--data`:

- an `.npz` (or a folder of them) with arrays named after the model inputs plus `labels`, one
  integer class per sample (first axis);
- an image folder with one sub-folder per class (torchvision's ImageFolder convention): classes
  are the sub-folder names in sorted order, class i is label i, and the pictures go through the
  same Pillow preprocessing as calibration (pipelines.images.load_image).

Accuracy is top-1 / top-5 of the output that holds the class scores, over every sample given.
"""
from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.images import ImagePreprocessing, class_folders, image_input, load_image
from onnx_workbench.pipelines.inputs import input_ranks, input_specs, iter_array_samples
from onnx_workbench.pipelines.validation import short

LABELS = "labels"
TOP_K = 5
# Counting stops here: far above any held-out set, and a progress total needs no more.
MAX_SAMPLES = 10_000_000

Feed = dict[str, np.ndarray]


@dataclass(frozen=True)
class DataSource:
    """Where samples come from: arrays (.npz, labelled or not) or an image folder of classes."""

    path: Path
    kind: Literal["arrays", "images"]
    labelled: bool
    classes: tuple[str, ...] = ()

    def describe(self) -> str:
        """'digits_test.npz (labelled)' or 'pets/ (2 classes)' for summaries."""
        if self.kind == "images":
            return f"{self.path.name}/ ({len(self.classes)} classes)"
        return f"{self.path.name}{' (labelled)' if self.labelled else ''}"


def data_source(data: str | Path) -> DataSource:
    """What `data` holds: an image folder of classes, or .npz arrays with or without `labels`."""
    path = Path(data)
    if path.is_dir():
        classes = class_folders(path)
        if classes:
            return DataSource(path, "images", True, tuple(name for name, _ in classes))
        files = sorted(path.glob("*.npz"))
        return DataSource(path, "arrays", bool(files) and all(_has_labels(f) for f in files))
    return DataSource(path, "arrays", path.is_file() and _has_labels(path))


def count_samples(model: onnx.ModelProto, source: DataSource) -> int:
    """How many samples `source` holds, from file listings and array headers (nothing decoded)."""
    if source.kind == "images":
        return sum(len(pictures) for _, pictures in class_folders(source.path))
    from onnx_workbench.pipelines.calibration import count_samples as count_array_rows  # imports ONNX Runtime's quantizer

    return count_array_rows("arrays", model, str(source.path), MAX_SAMPLES)


def _has_labels(file: Path) -> bool:
    """True when the .npz holds a `labels` array (read from the archive's index, nothing inflated)."""
    try:
        with zipfile.ZipFile(file) as archive:
            return f"{LABELS}.npy" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False  # read_npz refuses the file in one sentence when the samples are read


def samples(
    model: onnx.ModelProto,
    source: DataSource,
    limit: int | None = None,
    dims: dict[str, int] | None = None,
) -> Iterator[tuple[Feed, np.ndarray | None]]:
    """(one-sample feed in the input dtypes, its labels or None) from `source`, lazily."""
    if source.kind == "images":
        yield from _image_samples(model, source, limit)
        return
    specs = input_specs(model, dims)
    dtypes = {spec.name: spec.dtype for spec in specs}
    names = [spec.name for spec in specs]
    wanted = names + ([LABELS] if source.labelled else [])
    if source.labelled and LABELS in names:
        raise ConfigError(f"the model has an input named '{LABELS}', so labels cannot be told from inputs; rename the input.", "data")
    ranks = input_ranks(model)
    for sample in iter_array_samples(source.path, wanted, limit=limit, dtypes=dtypes, ranks=ranks):
        labels = _checked_labels(sample.pop(LABELS), source.path) if source.labelled else None
        yield {name: np.ascontiguousarray(value, dtype=dtypes[name]) for name, value in sample.items()}, labels


def _image_samples(model: onnx.ModelProto, source: DataSource, limit: int | None) -> Iterator[tuple[Feed, np.ndarray]]:
    """Pictures taken round-robin over the classes, so a limit keeps every class represented."""
    name, layout, channels, height, width, dtype = image_input(model)
    prep = ImagePreprocessing()
    queues = [(index, list(pictures)) for index, (_, pictures) in enumerate(class_folders(source.path))]
    produced = 0
    while any(pictures for _, pictures in queues):
        for index, pictures in queues:
            if not pictures:
                continue
            if limit is not None and produced >= limit:
                return
            image = load_image(pictures.pop(0), layout, channels, height, width, dtype, prep)
            yield {name: image}, np.array([index], dtype=np.int64)
            produced += 1


def _checked_labels(labels: np.ndarray, path: Path) -> np.ndarray:
    """One sample's labels as int64; ConfigError when they are not whole non-negative numbers."""
    flat = labels.reshape(-1)
    if flat.dtype.kind not in "iu" and not (flat.dtype.kind in "fb" and np.all(flat == np.round(flat))):
        raise ConfigError(f"{short(path.name)}: '{LABELS}' must hold whole class numbers, not {labels.dtype} values.", "data")
    if flat.size and flat.min() < 0:
        raise ConfigError(f"{short(path.name)}: '{LABELS}' holds a negative class number; classes count from 0.", "data")
    return flat.astype(np.int64)


@dataclass
class AccuracyCounter:
    """Running top-1 / top-5 of one model's class scores against labels."""

    samples: int = 0
    top1_hits: int = 0
    top5_hits: int = 0
    classes: int = 0

    def add(self, scores: np.ndarray, labels: np.ndarray, where: str = "") -> None:
        """Count the rows of `scores` ([N, classes]) whose best (or five best) classes hold the label."""
        rows = np.asarray(scores, dtype=np.float64).reshape(-1, scores.shape[-1])
        if rows.shape[0] != labels.size:
            raise ConfigError(
                f"{where}: {labels.size} labels for {rows.shape[0]} rows of class scores; give one label per sample.", "data")
        if labels.size and labels.max() >= rows.shape[1]:
            raise ConfigError(
                f"{where}: label {int(labels.max())} but the model scores only {rows.shape[1]} classes; check the labels.", "data")
        self.classes = rows.shape[1]
        k = min(TOP_K, rows.shape[1])
        best = np.argpartition(-rows, k - 1, axis=1)[:, :k]
        top1 = np.argmax(rows, axis=1)
        self.top1_hits += int(np.count_nonzero(top1 == labels))
        self.top5_hits += int(np.count_nonzero((best == labels[:, None]).any(axis=1)))
        self.samples += int(labels.size)

    def to_dict(self) -> dict[str, float]:
        """{"top1": %, "top5": %} over the samples seen, in percent."""
        total = max(self.samples, 1)
        return {"top1": 100.0 * self.top1_hits / total, "top5": 100.0 * self.top5_hits / total}


@dataclass
class AccuracyComparison:
    """Top-1 / top-5 of a reference and a candidate on the same labelled samples, and the drop."""

    data: str
    output: str
    reference: AccuracyCounter = field(default_factory=AccuracyCounter)
    candidate: AccuracyCounter = field(default_factory=AccuracyCounter)
    max_drop: float | None = None  # top-1 points the candidate may lose; None: not checked

    @property
    def top1_drop(self) -> float:
        """Top-1 points lost by the candidate (negative: it gained)."""
        return self.reference.to_dict()["top1"] - self.candidate.to_dict()["top1"]

    @property
    def failure(self) -> str:
        """Why the drop is over the limit, or '' when within it (or unchecked)."""
        if self.max_drop is not None and self.top1_drop > self.max_drop + 1e-9:
            return f"top-1 accuracy dropped {self.top1_drop:.2f} points > {self.max_drop:g}"
        return ""

    def summary(self) -> str:
        """'top-1 99.72% -> 99.44% (-0.28 pts), top-5 100.00% -> 100.00%'."""
        ref, cand = self.reference.to_dict(), self.candidate.to_dict()
        return (f"top-1 {ref['top1']:.2f}% -> {cand['top1']:.2f}% ({cand['top1'] - ref['top1']:+.2f} pts), "
                f"top-5 {ref['top5']:.2f}% -> {cand['top5']:.2f}%")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for fidelity reports, version metrics and `--json`."""
        ref, cand = self.reference.to_dict(), self.candidate.to_dict()
        return {
            "data": self.data,
            "output": self.output,
            "samples": self.candidate.samples,
            "classes": self.candidate.classes,
            "reference": ref,
            "candidate": cand,
            "top1_drop": ref["top1"] - cand["top1"],
            "top5_drop": ref["top5"] - cand["top5"],
            "max_drop": self.max_drop,
            "passed": not self.failure,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccuracyComparison:
        """The comparison written by `to_dict` (stored on a version); hit counts come back from the percentages."""
        samples, classes = int(data.get("samples") or 0), int(data.get("classes") or 0)

        def counter(figures: dict[str, Any]) -> AccuracyCounter:
            return AccuracyCounter(samples, round(float(figures.get("top1") or 0.0) * samples / 100.0),
                                   round(float(figures.get("top5") or 0.0) * samples / 100.0), classes)

        max_drop = data.get("max_drop")
        return cls(str(data.get("data") or ""), str(data.get("output") or ""), counter(data.get("reference") or {}),
                   counter(data.get("candidate") or {}), float(max_drop) if max_drop is not None else None)


def scores_output(values: list[Any], labels: np.ndarray) -> int | None:
    """Index of the output that holds class scores for these labels: float, [N, classes], N = labels."""
    for index, value in enumerate(values):
        array = np.asarray(value)
        if array.dtype.kind == "f" and array.ndim == 2 and array.shape[0] == labels.size and array.shape[1] >= 2:
            return index
    return None



def labelled_stream(model: onnx.ModelProto, data: str | Path, dims: dict[str, int] | None = None
                    ) -> Iterator[tuple[Feed, np.ndarray | None]] | None:
    """Every labelled sample of `data` fed the way `model` takes it, or None when `data` has no labels."""
    source = data_source(data)
    return samples(model, source, None, dims) if source.labelled else None


def model_accuracy(run: Callable[[Feed], list[Any]], stream: Iterator[tuple[Feed, np.ndarray | None]],
                   data: str | Path) -> dict[str, Any]:
    """Top-1 / top-5 (percent) of one model over a labelled stream; `run(feed)` returns its outputs."""
    counter = AccuracyCounter()
    index: int | None = None
    name = Path(data).name
    for feed, labels in stream:
        assert labels is not None  # labelled_stream yields labelled samples only
        values = run(feed)
        if index is None:
            index = scores_output(values, labels)
            if index is None:
                raise ConfigError(f"{short(name)} has labels but no output of the model holds class scores "
                                  "([samples, classes] floats); measure without labels, or give a classifier.", "data")
        counter.add(np.asarray(values[index]), labels, name)
    return {"data": str(data), "samples": counter.samples, "classes": counter.classes, **counter.to_dict()}
