"""The files that make up a model on disk: the .onnx file and the external data files it names."""
from __future__ import annotations

import shutil
from pathlib import Path

import onnx
from onnx.external_data_helper import ExternalDataInfo, _get_all_tensors, uses_external_data

from pipelines.errors import ModelRefused


def external_data_files(model_path: str | Path) -> list[Path]:
    """External data files of the model, each checked to lie inside the model's folder."""
    model_path = Path(model_path)
    folder = model_path.parent.resolve()
    try:
        # Only the graph: weights stay on disk, so this is cheap even for multi-GB models.
        proto = onnx.load(str(model_path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a model"
        raise ModelRefused(f"{model_path.name} is not a readable ONNX model ({exc}).") from exc
    files: dict[Path, None] = {}
    # onnx has no public iterator over initializers *and* tensor attributes (subgraphs
    # included); the private helper is the one onnx.load itself uses.
    for tensor in _get_all_tensors(proto):
        if not uses_external_data(tensor):
            continue
        location = (folder / ExternalDataInfo(tensor).location).resolve()
        if not location.is_relative_to(folder):
            raise ModelRefused(
                f"{model_path.name} names external data outside its folder "
                f"({ExternalDataInfo(tensor).location}); move the data next to the model."
            )
        if not location.is_file():
            raise ModelRefused(
                f"{model_path.name} needs external data file {ExternalDataInfo(tensor).location}, "
                "which is missing; put it next to the model."
            )
        files[location] = None
    return list(files)


def model_size_bytes(model_path: str | Path) -> int:
    """Bytes on disk of the model file plus its external data."""
    model_path = Path(model_path)
    return model_path.stat().st_size + sum(f.stat().st_size for f in external_data_files(model_path))


def copy_model(source: str | Path, target: str | Path) -> Path:
    """Copy a model and its external data (same relative locations) to `target`; never writes `source`."""
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = source.parent.resolve()
    for data_file in external_data_files(source):
        destination = target.parent / data_file.relative_to(folder)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_file, destination)
    # A copy, not a hard link: tools that rewrite the user's file in place would otherwise
    # change version 0 behind our back.
    shutil.copyfile(source, target)
    return target
