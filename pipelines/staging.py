"""Scratch folders beside an output: the one way the engine stages files before they are final.

Tools that only work on files (ONNX Runtime's quantizers and optimizer, onnxsim), model saves
that write a model plus its external data, the steps of a recipe and a session's new versions
all work in a hidden folder inside the output's own folder: the same disk, so finished files
move in by a rename, large intermediates never fill /tmp, and a failure or a cancel leaves
nothing behind.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from onnx_workbench.pipelines.safe_write import check_targets, place_beside


@contextmanager
def scratch_folder(target: Path, purpose: str) -> Iterator[Path]:
    """A hidden temporary folder `.<target name>.<purpose>.*` in `target`'s folder, removed afterwards."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.{purpose}.", dir=target.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def staged_model(target: Path) -> Iterator[Path]:
    """A path named like `target` in a scratch folder; on success the files written there move beside `target`.

    For writers that put a model's external data beside the model (ONNX Runtime's tools,
    onnx-ir's save): readers of `target` never see a half-written model or missing data.
    """
    with scratch_folder(target, "staged") as folder:
        yield folder / target.name
        publish_model(folder / target.name, target)


def publish_model(model: Path, target: Path, protected: Iterable[Path] = ()) -> None:
    """Move `model` to `target`, and the files beside it into `target`'s folder by name, never over a protected file.

    External data keeps its file name (the model refers to it by that name); every destination
    is checked before anything moves, and the model moves last, once its data is in place.
    """
    moves = [(item, place_beside(target, item.name)) for item in sorted(model.parent.iterdir()) if item != model]
    check_targets([target, *(destination for _, destination in moves)], protected)
    for item, destination in moves:
        os.replace(item, destination)
    os.replace(model, target)
