"""Shared by the screenshot scripts: run the window's event loop while waiting for it."""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QApplication


def spin(app: QApplication, seconds: float, until: Callable[[], bool] = lambda: False, step_s: float = 0.02) -> None:
    """Process events for `seconds`, or until `until()` holds."""
    end = time.time() + seconds
    while time.time() < end and not until():
        app.processEvents()
        time.sleep(step_s)
