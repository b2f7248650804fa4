"""Regenerate the Auto-optimize screenshots offscreen: `python docs/screenshots/make_tune_screenshot.py [MINUTES]`.

Opens the trained digit classifier in the window, runs the Auto-optimize panel on its labelled
held-out split (top-1 drop at most 0.5 points, latency objective) for the budget given (default
4 minutes) and saves the panel (tune_panel.png) and the window with the candidates in the
version tree (main_window_tune.png).
"""
from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QDockWidget  # noqa: E402

import event_loop  # noqa: E402 - beside this script
from onnx_workbench.app.settings import Settings  # noqa: E402
from onnx_workbench.app.theme import apply_theme  # noqa: E402

MODEL = ROOT / "assets" / "models" / "digits_cnn.onnx"
DATA = ROOT / "assets" / "data" / "digits_test.npz"
OUT = Path(__file__).resolve().parent


def main() -> None:
    """Run the search in the window and save the two screenshots."""
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    app = QApplication([])
    apply_theme(app, dark=False)
    from onnx_workbench.app.main_window import MainWindow

    spin = functools.partial(event_loop.spin, app)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp
        window = MainWindow(Settings(QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat)))
        window.session_panels.ask_before_close = False
        session = window.session_panels.session
        window.resize(1600, 1000)
        window.show()
        window.open_path(MODEL)
        spin(60, lambda: session.workspace is not None)
        panel = window.session_panels.tune_panel
        window.findChild(QDockWidget, "dock-tune").raise_()
        panel.data.setText(str(DATA))
        panel.limit.setValue(0.5)
        panel.budget.setValue(minutes)
        panel.start()
        spin(minutes * 60 + 120, lambda: panel.search is None)
        spin(1.0)
        panel.grab().save(str(OUT / "tune_panel.png"))
        window.grab().save(str(OUT / "main_window_tune.png"))
        print(panel.status.text())
        window.close()


if __name__ == "__main__":
    main()
