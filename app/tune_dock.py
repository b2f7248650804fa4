"""The Auto-optimize dock: the tune panel (widgets/tune_panel.py) wired to the window's session."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from widgets.tune_panel import TunePanel

if TYPE_CHECKING:
    from app.main_window import MainWindow
    from pipelines.session_model import SessionModel


def attach_tune_panel(window: MainWindow, session: SessionModel) -> TunePanel:
    """Dock a TunePanel in the bottom row (the first-run layout tabs it with Profile); its candidates
    become versions of `session`, a click on one makes it current."""
    panel = TunePanel(window)
    window.docks.add("Auto-optimize", "dock-tune", panel, Qt.DockWidgetArea.BottomDockWidgetArea)
    session.workspace_changed.connect(lambda: panel.set_workspace(session.workspace))
    panel.versionAdded.connect(session.version_added.emit)
    panel.versionActivated.connect(session.go_to)
    return panel
