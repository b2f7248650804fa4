"""A main window for session tests (temporary cache and settings) and a session with unexported work."""
from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import QSettings

from onnx_workbench.app.main_window import MainWindow
from onnx_workbench.app.settings import Settings
from onnx_workbench.pipelines.versions import ROOT_ID, Workspace


@pytest.fixture
def session_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    win = MainWindow(Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)))
    win.show()
    yield win
    win.session_panels.commands.ask_before_close = False
    win.jobs.cancel_all()
    win.close()
    shiboken6.delete(win)


@pytest.fixture
def dirty_session(session_window, sample_cnn, tmp_path):
    """A session with unexported work, adopted directly (no worker process needed)."""
    panels = session_window.session_panels
    panels.version_display.shown_version = ROOT_ID  # nothing to load for the view
    panels.session.adopt(Workspace.create(sample_cnn, tmp_path / "ws"))
    panels.session.dirty = True
    return panels.session
