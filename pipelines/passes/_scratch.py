"""A scratch folder beside a pass's target, for tools that only work on files (onnxsim, ORT).

Declares no pass; the engine imports it like any pass module, which is harmless.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_folder(target: Path, tool: str) -> Iterator[Path]:
    """A hidden temporary folder in the target's folder (same disk, so results move cheaply), removed after."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.{tool}.", dir=target.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
