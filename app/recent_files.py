"""File ▸ Open Recent and the welcome page's list, both read from the settings' recent files."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from onnx_workbench.app.settings import Settings
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.welcome_page import WelcomePage


class RecentFiles:
    """The Open Recent menu and the welcome page's list; an entry opens its file with `open_path`."""

    def __init__(self, settings: Settings, welcome: WelcomePage, open_path: Callable[[str], object],
                 parent: QWidget) -> None:
        self.settings = settings
        self.welcome = welcome
        self.open_path = open_path
        self.menu = QMenu("Open &Recent", parent)
        self.menu.aboutToShow.connect(self.refresh)  # another window may have opened files since
        welcome.recentActivated.connect(open_path)
        self.refresh()

    def add(self, path: str | Path) -> None:
        """Put a file just opened first in the list."""
        self.settings.add_recent_file(path)
        self.refresh()

    def actions(self) -> list[QAction]:
        """The entries that open a file, newest first."""
        self.refresh()
        return [a for a in self.menu.actions() if a.data()]

    def refresh(self) -> None:
        """Fill the menu and the welcome page from the settings."""
        self.menu.clear()
        recent = self.settings.recent_files()
        self.welcome.set_recent(recent)
        for i, path in enumerate(recent):
            label = f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name
            action = self.menu.addAction(label)
            action.setToolTip(formatting.plain_tooltip(path))
            action.setData(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
        if not recent:
            self.menu.addAction("No recent files").setEnabled(False)
        else:
            self.menu.addSeparator()
            self.menu.addAction("Clear Recent Files", self._clear)

    def _clear(self) -> None:
        self.settings.clear_recent_files()
        self.refresh()
