"""File ▸ Manage Sessions: the session cache's folders with model, size and age; open or delete them."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from onnx_workbench.pipelines.session_cache import CachedSession, delete_session, list_sessions
from onnx_workbench.widgets import formatting

COLUMNS = ("Model", "Versions", "Size", "Last used", "Folder")


class SessionsDialog(QDialog):
    """Lists the cached sessions, newest first; the open one cannot be deleted."""

    openRequested = Signal(str)  # a session folder

    def __init__(self, cache: Path, in_use: Path | None, cap_bytes: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sessions in the cache")
        self.resize(860, 420)
        self.cache, self.in_use, self.cap_bytes = Path(cache), in_use, cap_bytes
        self.sessions: list[CachedSession] = []
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.summary = QLabel(self)
        self.open_button = QPushButton("Open", self)
        self.open_button.clicked.connect(self._open)
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.clicked.connect(self.delete_selected)
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Read the cache again."""
        self.sessions = list_sessions(self.cache)
        self.tree.clear()
        now = time.time()
        for session in self.sessions:
            in_use = self.in_use is not None and session.root.resolve() == Path(self.in_use).resolve()
            name = Path(session.source).name or "(unreadable)"
            item = QTreeWidgetItem(self.tree, [name + (" (open now)" if in_use else ""), str(session.versions),
                                               formatting.size(session.size_bytes),
                                               formatting.age(now - session.last_used), session.root.name])
            item.setData(0, Qt.ItemDataRole.UserRole, str(session.root))
            item.setToolTip(0, formatting.plain_tooltip(session.source))
            item.setToolTip(4, formatting.plain_tooltip(str(session.root)))
            for column in (1, 2):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
        total = sum(s.size_bytes for s in self.sessions)
        self.summary.setText(f"{len(self.sessions)} sessions, {formatting.size(total)} "
                             f"(the oldest are deleted above {formatting.size(self.cap_bytes)})")
        self._update_buttons()

    def _selected(self) -> list[Path]:
        return [Path(item.data(0, Qt.ItemDataRole.UserRole)) for item in self.tree.selectedItems()]

    def _is_in_use(self, root: Path) -> bool:
        return self.in_use is not None and root.resolve() == Path(self.in_use).resolve()

    def _update_buttons(self) -> None:
        chosen = self._selected()
        self.open_button.setEnabled(len(chosen) == 1 and not self._is_in_use(chosen[0]))
        self.delete_button.setEnabled(bool(chosen) and not any(self._is_in_use(r) for r in chosen))

    def delete_selected(self) -> None:
        """Delete the selected sessions (never the open one)."""
        for root in self._selected():
            if not self._is_in_use(root):
                delete_session(root, self.cache)
        self.refresh()

    def _open(self) -> None:
        chosen = self._selected()
        if len(chosen) == 1:
            self.openRequested.emit(str(chosen[0]))
            self.accept()
