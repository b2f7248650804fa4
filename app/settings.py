"""Persistent GUI settings (QSettings): window geometry, dock layout, recent files, last provider."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "onnx-workbench"
APPLICATION = "onnx-workbench"
MAX_RECENT = 10


class Settings:
    """Typed access to the app's QSettings; one instance per window."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self._qs = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)

    # Geometry and dock layout are opaque blobs produced by Qt itself.
    def geometry(self) -> QByteArray | None:
        """The saved main-window geometry, or None."""
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, value: QByteArray) -> None:
        """Remember the main-window geometry."""
        self._qs.setValue("window/geometry", value)

    def window_state(self) -> QByteArray | None:
        """The saved dock and toolbar layout, or None."""
        value = self._qs.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_state(self, value: QByteArray) -> None:
        """Remember the dock and toolbar layout."""
        self._qs.setValue("window/state", value)

    def recent_files(self) -> list[str]:
        """Recently opened model paths, newest first, only those that still exist."""
        value = self._qs.value("files/recent", [])
        if isinstance(value, str):  # QSettings returns a bare string for one-element lists
            value = [value]
        return [p for p in (value or []) if isinstance(p, str) and Path(p).is_file()]

    def add_recent_file(self, path: str | Path) -> list[str]:
        """Put `path` first in the recent list (deduplicated, capped) and return the list."""
        resolved = str(Path(path).resolve())
        recent = [p for p in self.recent_files() if p != resolved]
        recent.insert(0, resolved)
        recent = recent[:MAX_RECENT]
        self._qs.setValue("files/recent", recent)
        return recent

    def clear_recent_files(self) -> None:
        """Forget all recent files."""
        self._qs.setValue("files/recent", [])

    def export_dir(self) -> Path | None:
        """The folder the user last exported or saved into, when it still exists."""
        value = self._qs.value("files/export_dir")
        return Path(value) if isinstance(value, str) and value and Path(value).is_dir() else None

    def set_export_dir(self, folder: str | Path) -> None:
        """Remember where the user exports to; the next export dialog starts there."""
        self._qs.setValue("files/export_dir", str(Path(folder).resolve()))

    def theme(self) -> str:
        """"system", "light" or "dark" (View ▸ Theme)."""
        value = self._qs.value("view/theme", "system")
        return value if value in ("system", "light", "dark") else "system"

    def set_theme(self, theme: str) -> None:
        """Remember the chosen theme."""
        self._qs.setValue("view/theme", theme)

    def cache_cap_bytes(self) -> int:
        """The most the session cache may hold; older sessions are deleted above it."""
        from onnx_workbench.pipelines.session_cache import DEFAULT_CAP_BYTES

        value = self._qs.value("cache/cap_bytes", DEFAULT_CAP_BYTES)
        try:
            return max(0, int(value))
        except (TypeError, ValueError):
            return DEFAULT_CAP_BYTES

    def sync(self) -> None:
        """Flush to disk."""
        self._qs.sync()
