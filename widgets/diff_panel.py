"""The Diff panel: what the last step added, removed and changed, with a graph-highlight toggle."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QCheckBox, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from onnx_workbench.pipelines.session_model import SessionModel
from onnx_workbench.widgets.one_per_turn import deferred

GROUPS = (("added", "Added", "#2e8b57"), ("removed", "Removed", "#c0392b"), ("changed", "Changed", "#d35400"))
# Long diffs (a quantized transformer) list this many names per group; the count says the rest.
MAX_LISTED = 500


class DiffPanel(QWidget):
    """Names of nodes a version added/removed/changed against its parent."""

    highlightToggled = Signal(bool)
    nodeActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("No step applied yet.", self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.toggle = QCheckBox("Ring in graph", self)
        self.toggle.setChecked(True)
        self.toggle.setToolTip("Ring added, changed and removed nodes in the graph")
        self.toggle.toggled.connect(self.highlightToggled)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.itemActivated.connect(self._on_activated)
        self.tree.itemClicked.connect(self._on_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.toggle)
        layout.addWidget(self.tree, 1)
        self.sets: dict[str, set[str]] = {"added": set(), "removed": set(), "changed": set()}

    def bind(self, model: SessionModel) -> None:
        """Follow a session: show what the current version changed against its parent."""

        def on_current(_vid: str) -> None:
            version = model.current
            if version is not None:
                self.set_changes(version.changes,
                                 version.summary or ("The original model." if version.parent is None else ""))

        def on_workspace() -> None:
            if model.workspace is None:
                self.set_changes(None, "No session.")

        model.current_changed.connect(deferred(self, on_current))  # a turn after the graph (see one_per_turn)
        model.workspace_changed.connect(on_workspace)

    def set_changes(self, changes: dict[str, Any] | None, summary: str = "") -> None:
        """Show a GraphDiff.to_dict() (None or empty: nothing changed / the original)."""
        changes = changes or {}
        self.tree.clear()
        self.sets = {key: set(changes.get(key) or []) for key, _title, _colour in GROUPS}
        if not any(self.sets.values()):
            self.summary.setText(summary or "No node changes against the parent version.")
            return
        self.summary.setText(summary)
        for key, title, colour in GROUPS:
            names = sorted(self.sets[key])
            if not names:
                continue
            group = QTreeWidgetItem(self.tree, [f"{title} ({len(names)})"])
            group.setForeground(0, QBrush(QColor(colour)))
            for name in names[:MAX_LISTED]:
                child = QTreeWidgetItem(group, [name])
                child.setData(0, Qt.ItemDataRole.UserRole, name)
                child.setData(0, Qt.ItemDataRole.UserRole + 1, key)
            if len(names) > MAX_LISTED:
                QTreeWidgetItem(group, [f"… and {len(names) - MAX_LISTED} more"])
            group.setExpanded(len(names) <= 40)  # long lists start folded so every group shows

    def _on_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole)
        # Removed nodes are not in the graph on screen: nothing to select.
        if name and item.data(0, Qt.ItemDataRole.UserRole + 1) != "removed":
            self.nodeActivated.emit(name)
