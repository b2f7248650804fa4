"""The files that make up a model on disk: the .onnx file and the external data files it names.

Cheap on large models: only the graph is parsed, the weights stay on disk. The safety checks
(data inside the model's folder, present, long enough) are the ones `load_model` applies.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import onnx

from pipelines.errors import ModelRefused
from pipelines.safe_write import atomic_path, source_files
from pipelines.validation import check_external_data, disk_size, short


def external_data_files(model_path: str | Path) -> list[Path]:
    """External data files of the model, each checked to lie inside the model's folder."""
    model_path = Path(model_path)
    try:
        proto = onnx.load(str(model_path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a model"
        raise ModelRefused(f"{short(model_path.name)} is not a readable ONNX model; export it again.") from exc
    return check_external_data(proto, model_path.parent, short(model_path.name))


def model_size_bytes(model_path: str | Path) -> int:
    """Bytes on disk of the model file plus its external data."""
    model_path = Path(model_path)
    return disk_size(model_path, external_data_files(model_path))


def copy_model(source: str | Path, target: str | Path) -> Path:
    """Copy a model and its external data (same relative locations) to `target`; never writes `source`."""
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = source.parent.resolve()
    protected = source_files(source)
    for data_file in external_data_files(source):
        destination = target.parent / data_file.relative_to(folder)
        with atomic_path(destination, protected) as staged:
            shutil.copyfile(data_file, staged)
    # A copy, not a hard link: tools that rewrite the user's file in place would otherwise
    # change version 0 behind our back. The model goes last, once its data is in place.
    with atomic_path(target, protected) as staged:
        shutil.copyfile(source, staged)
    return target
