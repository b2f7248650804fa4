"""The one rule for every file the workbench writes (models, data files, recipes, reports, renders,
sessions): atomic, checked, never a protected file, never outside the folder asked.

- Atomic: a temp file in the target folder, then a rename, so readers never see half a file.
- Checked: the temp file is flushed to disk (fsync surfaces a full disk that buffered writes
  hid) and must not be empty; a failure is an OSError naming the target, and the old file stays.
- Protected: the user's source model and every external data file it references are never
  written; callers pass them (`source_files`) and outputs are refused before any work starts.
- Inside the folder asked: data files that travel with a model are placed by name into the
  model's own folder (`place_beside`), never by a path taken from the model.
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from onnx_workbench.pipelines.errors import ConfigError

PathLike = str | os.PathLike[str]


def _read_umask() -> int:
    # The only way to read the umask is to set it; done once, at import, before any thread
    # could create files meanwhile with a zero umask.
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def source_files(*models: PathLike | None) -> frozenset[Path]:
    """The given model files and every external data file they reference: what no write may touch.

    A model that cannot be parsed protects only its own file; loading it refuses it later.
    """
    from onnx_workbench.pipelines.errors import WorkbenchError
    from onnx_workbench.pipelines.model_graphs import external_data_files

    protected: set[Path] = set()
    for model in models:
        if model is None:
            continue
        path = Path(model)
        protected.add(path.resolve())
        if path.is_file():
            with contextlib.suppress(WorkbenchError):
                protected.update(p.resolve() for p in external_data_files(path))
    return frozenset(protected)


def _same_file(a: Path, b: Path) -> bool:
    """True when `a` and `b` name one file: the same resolved path, or hard links to one inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_targets(targets: Iterable[PathLike | None], protected: Iterable[Path] = ()) -> None:
    """Refuse outputs that are one another or a protected file, before any work starts (ConfigError)."""
    seen: list[Path] = []
    protected = list(protected)
    for target in (Path(t) for t in targets if t is not None):
        if any(_same_file(target, p) for p in protected):
            raise ConfigError(
                f"the output {target.name} is the source model or a file it references, which is never written; "
                "choose another output path.",
                "output",
            )
        if any(_same_file(target, other) for other in seen):
            raise ConfigError(f"{target.name} is given as two different outputs; give each output its own path.", "output")
        seen.append(target)


def place_beside(model_path: PathLike, name: str) -> Path:
    """Where a data file called `name` travelling with `model_path` goes: in the model's folder, by name only."""
    leaf = Path(name.replace("\\", "/")).name
    if not leaf or leaf in (".", "..") or leaf != name:
        raise ConfigError(f"data file name '{name[:80]}' is not a plain file name; it must lie beside the model.")
    return Path(model_path).parent / leaf


@contextlib.contextmanager
def atomic_path(target: PathLike, protected: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`, on error it is removed.

    The temp file keeps `target`'s suffix (tools pick the format from it), is checked to be
    non-empty and flushed to disk before the rename.
    """
    target = Path(target)
    check_targets([target], protected)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    # mkstemp creates the file private (0600); give it the mode a plain open() would.
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        yield Path(tmp)
        _check_written(Path(tmp), target)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_written(tmp: Path, target: Path) -> None:
    """fsync `tmp` (a full disk shows here when buffered writes hid it) and refuse an empty result."""
    if tmp.is_dir():
        return
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    if tmp.stat().st_size == 0:
        raise OSError(errno.EIO, "nothing was written (the disk may be full)", str(target))


def write_text_atomic(target: PathLike, text: str, protected: Iterable[Path] = ()) -> Path:
    """Write UTF-8 text to `target` atomically, checked, never over a protected file; return its path."""
    with atomic_path(target, protected) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
