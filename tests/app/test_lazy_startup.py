"""Start-up does what showing the graph needs only: charts and passes wait until it is shown, QtWebEngine for Netron's tab.

Run in a fresh interpreter: this test process has imported both long before.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Charts, the Netron tab, the passes (ONNX Runtime, onnx-ir, onnxscript), recipes' PyYAML and reports' psutil.
WATCHED = ("pyqtgraph", "PySide6.QtWebEngineCore", "onnxruntime", "yaml", "psutil")

SCRIPT = """
import json, sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from onnx_workbench.app.main_window import MainWindow
from onnx_workbench.app.settings import Settings
from onnx_workbench.widgets.built_on_use import is_built
from onnx_workbench.widgets.netron_view import ensure_webengine_environment

ensure_webengine_environment()
app = QApplication(sys.argv[:1])
window = MainWindow(Settings(QSettings(sys.argv[2], QSettings.Format.IniFormat)))
window.session_panels.commands.ask_before_close = False
panels = window.session_panels
seen = {}

def note(moment):
    seen[moment] = [name for name in %r if name in sys.modules]
    seen[moment + ": charts built"] = [view for view in ("profile_dashboard", "compare_view")
                                       if is_built(getattr(panels, view), "charts")]

def when(condition, then):
    QTimer.singleShot(20, lambda: then() if condition() else when(condition, then))

def compare_shown():
    note("Compare shown")
    print(json.dumps(seen), flush=True)
    window.close()

def profile_ready():
    note("Profile charts ready")
    panels.compare_dock.raise_()
    when(lambda: is_built(panels.compare_view, "charts"), compare_shown)

def graph_shown():
    note("graph shown")
    when(lambda: is_built(panels.profile_dashboard, "charts"), profile_ready)

window.modelOpened.connect(lambda _opened: QTimer.singleShot(0, graph_shown))
window.openFailed.connect(lambda *_args: app.exit(1))
QTimer.singleShot(60_000, lambda: app.exit(2))
window.show()
note("window shown")
window.open_path(sys.argv[1])
sys.exit(app.exec())
""" % (WATCHED,)


def test_charts_and_web_engine_wait_until_the_graph_is_shown(tmp_path, sample_cnn):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(sample_cnn), str(tmp_path / "settings.ini")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    for moment in ("window shown", "graph shown"):
        assert seen[moment] == [] and seen[moment + ": charts built"] == []
    # Once a session is open the Profile charts are built in the background; Compare's only when shown.
    assert "pyqtgraph" in seen["Profile charts ready"]
    assert seen["Profile charts ready: charts built"] == ["profile_dashboard"]
    assert seen["Compare shown: charts built"] == ["profile_dashboard", "compare_view"]
    assert "PySide6.QtWebEngineCore" not in seen["Compare shown"]  # the Netron tab was never opened
