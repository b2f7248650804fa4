"""Start the GUI, refusing cleanly when there is no display or Qt cannot use it."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

# What Qt's X11 plugin needs beyond a plain desktop install (Debian/Ubuntu package names).
X11_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
    "libxcb-shape0 libxcb-xinerama0 libxkbcommon-x11-0"
)


def display_problem() -> str | None:
    """One sentence explaining why no window can open here, or None when one can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc", "eglfs", "linuxfb")):
        return None
    if not sys.platform.startswith("linux"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return (
            "No display found (neither DISPLAY nor WAYLAND_DISPLAY is set): run the window "
            "under a virtual screen with `xvfb-run onnx-workbench`, or use the headless "
            "commands (`onnx-workbench --help`)."
        )
    if platform in ("", "xcb") and not os.environ.get("WAYLAND_DISPLAY"):
        missing = missing_x11_library()
        if missing:
            return (
                f"Qt cannot open a window on this X display because {missing} is not installed: "
                f"install Qt's X11 libraries (Debian/Ubuntu: sudo apt-get install {X11_PACKAGES}), "
                "or use the headless commands (`onnx-workbench --help`)."
            )
    return None


def missing_x11_library() -> str | None:
    """The first shared library Qt's X11 platform plugin needs but cannot find, if any.

    Qt itself would abort with a generic "could not load the Qt platform plugin" message; we
    load the plugin first to name the library that is missing.
    """
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    try:
        ctypes.CDLL(str(plugins / "platforms" / "libqxcb.so"))
    except OSError as exc:
        return library_named_in(str(exc)) or "a library of Qt's X11 plugin"
    # Qt 6.5+ opens libxcb-cursor at run time, so loading the plugin does not reveal it.
    if ctypes.util.find_library("xcb-cursor") is None:
        return "libxcb-cursor.so.0"
    return None


def library_named_in(loader_error: str) -> str | None:
    """The shared library a dynamic-loader error message names ('libfoo.so.4: cannot open ...')."""
    names = re.findall(r"(lib[\w.+-]+?\.so(?:\.\d+)*)\s*:\s*cannot open", loader_error)
    return names[0] if names else None


def run_gui(model_path: str | None = None) -> int:
    """Open the main window, optionally on a model; returns the process exit code."""
    problem = display_problem()
    if problem:
        print(f"onnx-workbench: {problem}", file=sys.stderr)
        return 2
    return window_module().launch(model_path)


# How long the window's thread may wait for the interpreter lock while a background thread of
# this process (an import, a model parse, a graph layout) holds it: Python's default is 5 ms per
# hand-over, and a paint makes hundreds of them (PySide lets go of the lock in Qt calls).
LOCK_HANDOVER_S = 0.001


def window_module() -> ModuleType:
    """onnx_workbench.app.main_window, imported with garbage collection paused (see widgets.gc_pauses): its
    imports make ~100 k objects and almost no garbage, and collections among them only delay
    the window. Also makes this process hand the interpreter lock over sooner (LOCK_HANDOVER_S).

    pyqtgraph, the charts' library, is imported here too, before the window shows (~0.3-0.45 s): it
    defines Qt classes as it is imported, which must not happen on another thread once the
    window runs (see widgets.built_on_use.build_in_background)."""
    from onnx_workbench.widgets.gc_pauses import collection_paused

    sys.setswitchinterval(LOCK_HANDOVER_S)

    with collection_paused():
        import pyqtgraph  # noqa: F401 - imported for its side effect, see above

        from onnx_workbench.app import main_window
    return main_window
