"""Regenerate docs/screenshots/main_window_*.png offscreen: `python docs/screenshots/make_main_window_screenshots.py`."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import shiboken6  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from onnx_workbench.app.settings import Settings  # noqa: E402
from onnx_workbench.app.theme import apply_theme  # noqa: E402

MODELS = ROOT / "assets" / "models"
OUT = Path(__file__).resolve().parent


def main() -> None:
    """Open the sample models in a 1440x900 window and save light and dark screenshots."""
    app = QApplication([])
    from onnx_workbench.app.main_window import MainWindow

    def spin(seconds: float, until=lambda: False) -> None:
        end = time.time() + seconds
        while time.time() < end and not until():
            app.processEvents()
            time.sleep(0.02)

    for dark in (False, True):
        apply_theme(app, dark=dark)
        with tempfile.TemporaryDirectory() as tmp:
            window = MainWindow(Settings(QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat)))
            window.resize(1440, 900)
            window.show()
            window.session_panels.optimize_panel.ensure_loaded()  # the pass list, not its loading line
            window.open_path(MODELS / "transformer_small.onnx")
            # Until the model's figures are in and its session is open (the version tree, Profile).
            spin(90, lambda: window.shown.opened is not None and window.shown.opened.analysis is not None
                 and window.session_panels.session.current is not None)
            window.search_panel.query.setText("softmax")
            window.select_node(next(k for k, n in window.shown.index.nodes.items() if n.op_type == "Softmax"))
            spin(0.5)
            if dark:
                window.grab().save(str(OUT / "main_window_dark.png"))
            else:
                window.grab().save(str(OUT / "main_window_transformer.png"))
                window.tabs.setCurrentIndex(1)
                spin(30, lambda: any("data/transformer_small.onnx" in r.url for r in window.netron_view.requests()))
                spin(10)  # Netron draws the graph some seconds after the file arrives
                window.grab().save(str(OUT / "main_window_netron.png"))
                window.tabs.setCurrentIndex(0)
                window.open_path(MODELS / "resnet_small.onnx")
                spin(60, lambda: window.shown.opened.path.name == "resnet_small.onnx")
                window.focus_search()
                window.search_panel.query.setText("weight")
                window.select_initializer("layer2.0.conv1.weight")
                spin(0.5)
                window.grab().save(str(OUT / "main_window_cnn.png"))
            window.close()
            shiboken6.delete(window)


if __name__ == "__main__":
    main()
