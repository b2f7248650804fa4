"""Start the GUI, refusing cleanly when there is no display."""
from __future__ import annotations

import os
import sys


def display_problem() -> str | None:
    """One sentence explaining why no window can open here, or None when one can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal", "vnc", "eglfs", "linuxfb")):
        return None
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return (
            "No display found (neither DISPLAY nor WAYLAND_DISPLAY is set): run the window "
            "under a virtual screen with `xvfb-run onnx-workbench`, or use the headless "
            "commands (`onnx-workbench --help`)."
        )
    return None


def run_gui(model_path: str | None = None) -> int:
    """Open the main window, optionally on a model; returns the process exit code."""
    problem = display_problem()
    if problem:
        print(f"onnx-workbench: {problem}", file=sys.stderr)
        return 2
    from app.main_window import launch

    return launch(model_path)
