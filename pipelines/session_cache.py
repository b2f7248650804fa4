"""The session cache: every model opened starts a session folder there (versions, their files).

Without a policy it only grows (a 98 MB model adds 98 MB per open). This module lists the
sessions with their size and age, deletes the ones asked for, and keeps the whole cache under
a cap by deleting the least recently used sessions first, never one that is in use.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from onnx_workbench.pipelines.versions import WORKSPACE_FILE

DEFAULT_CAP_BYTES = 5 * 2**30


@dataclass(frozen=True)
class CachedSession:
    """One session folder in the cache."""

    root: Path
    source: str  # the model it was started on ("" when workspace.json cannot be read)
    versions: int
    size_bytes: int
    last_used: float  # seconds since the epoch: workspace.json's last write


def _folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def list_sessions(cache: Path) -> list[CachedSession]:
    """The sessions in `cache`, most recently used first."""
    sessions = []
    for root in cache.iterdir() if cache.is_dir() else []:
        state = root / WORKSPACE_FILE
        if not root.is_dir() or not state.is_file():
            continue  # not a session (or one still being created)
        try:
            data = json.loads(state.read_text(encoding="utf-8"))
            source, versions = str(data.get("source", "")), len(data.get("versions", []))
        except (OSError, ValueError):
            source, versions = "", 0
        sessions.append(CachedSession(root, source, versions, _folder_size(root), state.stat().st_mtime))
    return sorted(sessions, key=lambda s: s.last_used, reverse=True)


def delete_session(session: CachedSession | Path, cache: Path) -> None:
    """Delete one session folder, which must lie inside `cache` (nothing else is ever removed)."""
    root = Path(session.root if isinstance(session, CachedSession) else session).resolve()
    if root.parent != Path(cache).resolve() or not (root / WORKSPACE_FILE).is_file():
        raise ValueError(f"{root} is not a session of the cache {cache}; nothing was deleted.")
    shutil.rmtree(root)


def enforce_cap(cache: Path, cap_bytes: int = DEFAULT_CAP_BYTES, keep: Collection[Path] = ()) -> list[Path]:
    """Delete least recently used sessions until the cache holds at most `cap_bytes`; the deleted roots.

    Sessions in `keep` (the one open now) are never deleted, even when they alone exceed the cap.
    """
    kept = {Path(k).resolve() for k in keep}
    sessions = list_sessions(cache)
    total = sum(s.size_bytes for s in sessions)
    deleted = []
    for session in reversed(sessions):  # oldest first
        if total <= cap_bytes:
            break
        if session.root.resolve() in kept:
            continue
        delete_session(session, cache)
        total -= session.size_bytes
        deleted.append(session.root)
    return deleted
