"""Icons drawn for the workbench (assets/icons/), found in a source checkout and in the bundle."""
from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

APP_ICON = "onnx-workbench"
APP_ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
TOOLBAR_ICONS = (
    "open", "save", "export", "undo", "redo", "zoom-in", "zoom-out", "fit",
    "search", "profile", "stop", "compare", "apply", "settings",
)


def icon_dirs() -> list[Path]:
    """Folders that may hold assets/icons, most specific first."""
    dirs = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:  # PyInstaller unpacks data files under this folder (spec: "assets/icons")
        dirs.append(Path(bundle) / "assets" / "icons")
    # A source checkout or an editable install: assets/ sits next to app/.
    dirs.append(Path(__file__).resolve().parents[1] / "assets" / "icons")
    return dirs


def icon_path(name: str) -> Path | None:
    """The SVG (or else PNG) file for icon `name`, or None when no folder has it."""
    for folder in icon_dirs():
        for suffix in (".svg", ".png"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


@cache
def icon(name: str) -> QIcon:
    """The named toolbar icon; an empty QIcon if it is missing, so a stripped install still runs."""
    path = icon_path(name)
    return QIcon(str(path)) if path else QIcon()


@cache
def app_icon() -> QIcon:
    """The application icon at every rendered size (sharp PNGs), with the SVG as the scalable fallback."""
    result = QIcon()
    svg = icon_path(APP_ICON)
    for folder in icon_dirs():
        for size in APP_ICON_SIZES:
            png = folder / f"{APP_ICON}-{size}.png"
            if png.is_file():
                result.addFile(str(png))
        if not result.isNull():
            break
    if svg is not None and svg.suffix == ".svg":
        result.addFile(str(svg))
    return result
