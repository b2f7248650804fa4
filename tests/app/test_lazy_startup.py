"""Start-up builds what is on screen only: pyqtgraph and QtWebEngine wait until a chart or Netron is shown.

Run in a fresh interpreter: this test process has imported both long before.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("pyqtgraph", "PySide6.QtWebEngineCore")

SCRIPT = """
import json, sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from app.main_window import MainWindow
from app.settings import Settings
from widgets.netron_view import ensure_webengine_environment

ensure_webengine_environment()
app = QApplication(sys.argv[:1])
window = MainWindow(Settings(QSettings(sys.argv[2], QSettings.Format.IniFormat)))
window.session_panels.commands.ask_before_close = False
window.show()
seen = {}

def imported(moment):
    seen[moment] = [name for name in %r if name in sys.modules]

def opened(_opened):
    imported("model open")
    window.session_panels.compare_dock.raise_()
    app.processEvents()
    imported("Compare shown")
    print(json.dumps(seen), flush=True)
    window.close()

window.modelAnalyzed.connect(lambda opened_model: QTimer.singleShot(0, lambda: opened(opened_model)))
window.openFailed.connect(lambda *_args: app.exit(1))
imported("window shown")
window.open_path(sys.argv[1])
sys.exit(app.exec())
""" % (WATCHED,)


def test_charts_and_web_engine_are_imported_only_when_shown(tmp_path, sample_cnn):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(sample_cnn), str(tmp_path / "settings.ini")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    assert seen["window shown"] == [] and seen["model open"] == []
    assert seen["Compare shown"] == ["pyqtgraph"]  # its charts were built; Netron's tab was never opened
