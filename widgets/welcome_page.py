"""What the central area shows with no model open: how to open one, and recent files."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from onnx_workbench.widgets.formatting import plain_tooltip

_PATH_ROLE = Qt.ItemDataRole.UserRole


class WelcomePage(QWidget):
    """An Open button, a drop hint and the recent files; emits what the user picked."""

    openRequested = Signal()
    recentActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("ONNX Workbench", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        title.setFont(font)
        hint = QLabel("Open a model (Ctrl+O) or drop an .onnx file anywhere on this window.", self)
        hint.setEnabled(False)  # the palette's muted text colour
        self.open_button = QPushButton("Open model…", self)
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self.openRequested)
        self.recent_label = QLabel("Recent", self)
        self.recent = QListWidget(self)
        self.recent.setMaximumWidth(560)
        self.recent.setMaximumHeight(220)
        self.recent.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.recent.itemActivated.connect(lambda item: self.recentActivated.emit(item.data(_PATH_ROLE)))
        self.recent.itemClicked.connect(lambda item: self.recentActivated.emit(item.data(_PATH_ROLE)))
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        for widget in (title, hint, self.open_button, self.recent_label, self.recent):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(4)
        layout.addStretch(3)
        self.set_recent([])

    def set_recent(self, paths: list[str]) -> None:
        """Show `paths` (newest first) as the recent files."""
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}    {Path(path).parent}", self.recent)
            item.setData(_PATH_ROLE, path)
            item.setToolTip(plain_tooltip(path))
        self.recent_label.setVisible(bool(paths))
        self.recent.setVisible(bool(paths))
        self.recent.setMinimumWidth(480)
