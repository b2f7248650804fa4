"""The main window as the end-to-end flows drive it: sessions in a temporary cache, no close prompt."""
from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QSettings

from onnx_workbench.app.main_window import MainWindow
from onnx_workbench.app.settings import Settings

WAIT_MS = 60_000  # worker processes on a loaded 2-core CI machine


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # sessions go to a temp cache
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings)
    win.session_panels.commands.ask_before_close = False
    win.resize(1400, 900)
    win.show()
    yield win
    win.jobs.cancel_all()
    win.close()
    shiboken6.delete(win)  # web pages must go before QApplication drops their profile


@pytest.fixture
def apply_step(qtbot, window):
    """Apply one pass through the Optimize panel and wait until its new version is shown."""

    def apply(pass_name: str, values: dict) -> None:
        panels = window.session_panels
        count = len(panels.session.workspace.versions)
        panels.optimize_panel.select_pass(pass_name)
        panels.optimize_panel.form().set_values(values)
        panels.optimize_panel.apply_button.click()
        assert panels.optimize_panel.cancel_button.isEnabled()  # running, cancellable
        qtbot.waitUntil(lambda: len(panels.session.workspace.versions) == count + 1, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: panels.version_display.shown_version == panels.session.current_id, timeout=WAIT_MS)

    return apply
