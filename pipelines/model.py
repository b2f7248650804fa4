"""Model I/O: load with validation, save atomically.

(Basic version; hardened by the Foundation work: see issue 2.)
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from pipelines.errors import ModelRefused

# Models whose tensors exceed this are saved with external data by default; protobuf caps a
# single message at 2 GB, so we stay well below it.
EXTERNAL_DATA_THRESHOLD_BYTES = 1 << 30


@dataclass
class LoadedModel:
    """A validated model and what we learned while loading it."""

    path: Path
    proto: onnx.ModelProto
    size_bytes: int
    has_external_data: bool = False
    warnings: list[str] = field(default_factory=list)


def load_model(path: str | os.PathLike[str], *, infer_shapes: bool = True) -> LoadedModel:
    """Load, validate and shape-infer a model; raise ModelRefused with one sentence if it is bad."""
    path = Path(path)
    if not path.is_file():
        raise ModelRefused(f"{path}: no such file; check the path.")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a model"
        raise ModelRefused(f"{path.name} is not a readable ONNX model ({exc}).") from exc
    if infer_shapes:
        proto = onnx.shape_inference.infer_shapes(proto, strict_mode=False)
    return LoadedModel(path=path, proto=proto, size_bytes=path.stat().st_size)


def save_model(
    model: onnx.ModelProto,
    path: str | os.PathLike[str],
    *,
    external_data: bool | None = None,
) -> Path:
    """Write `model` atomically (temp file in the target folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        onnx.save_model(model, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
