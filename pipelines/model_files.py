"""The files that make up a model on disk: the .onnx file and the external data files it names.

Cheap on large models: only the graph is read (pipelines.model_graphs, once per file version
in a process), the weights stay on disk. The safety checks (data inside the model's folder,
present, long enough) are the ones `load_model` applies.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from onnx_workbench.pipelines.model_graphs import external_data_files
from onnx_workbench.pipelines.safe_write import atomic_path, source_files
from onnx_workbench.pipelines.validation import disk_size


def model_size_bytes(model_path: str | Path) -> int:
    """Bytes on disk of the model file plus its external data."""
    model_path = Path(model_path)
    return disk_size(model_path, external_data_files(model_path))


def copy_model(source: str | Path, target: str | Path, *, link: bool = False) -> list[Path]:
    """Copy a model and its external data (same relative locations) to `target`; never writes `source`.

    With `link`, the .onnx file is hard-linked where the file system allows (no bytes copied:
    a 100 MB model with inline weights costs nothing more in the session cache) and copied
    otherwise. External data is always copied: onnx refuses to read a data file with several
    links (its guard against hard-link attacks). A link shares the user's file: a tool that
    rewrites it in place changes the linked copy too, so the caller must notice
    (file_fingerprints). Returns the files written.
    """
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = source.parent.resolve()
    protected = source_files(source)
    written = []
    for data_file in external_data_files(source):
        destination = target.parent / data_file.relative_to(folder)
        with atomic_path(destination, protected) as staged:
            shutil.copyfile(data_file, staged)
        written.append(destination)
    # The model goes last, once its data is in place.
    with atomic_path(target, protected) as staged:
        if not (link and _hard_link(source, staged)):
            shutil.copyfile(source, staged)
    written.append(target)
    return written


def _hard_link(origin: Path, staged: Path) -> bool:
    """Make `staged` (an empty temp file) a hard link to `origin`; False where the file system refuses."""
    staged.unlink()
    try:
        os.link(origin, staged)
    except OSError:  # another device, no link support (FAT, some network shares), permissions
        staged.touch()  # atomic_path expects its temp file back; the caller copies instead
        return False
    return True


def file_fingerprints(files: list[Path], root: Path) -> dict[str, list[int]]:
    """Size and modification time (ns) of each file, keyed by its path under `root`."""
    return {f.relative_to(root).as_posix(): [f.stat().st_size, f.stat().st_mtime_ns] for f in files}
