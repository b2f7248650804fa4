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
UNFOLDED_UP_TO = 40  # longer groups start folded, so every group shows
GROUP_ROLE = Qt.ItemDataRole.UserRole + 2  # a group row's key ("added", ...)


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
        self.tree.itemExpanded.connect(self._list_group)
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
            if not self.sets[key]:
                continue
            group = QTreeWidgetItem(self.tree, [f"{title} ({len(self.sets[key])})"])
            group.setForeground(0, QBrush(QColor(colour)))
            group.setData(0, GROUP_ROLE, key)
            # A folded group's rows are made when it is unfolded: a quantized BERT-base's 1,000
            # rows were ~20 ms of the GUI thread whenever its version became current.
            group.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            group.setExpanded(len(self.sets[key]) <= UNFOLDED_UP_TO)

    def _list_group(self, group: QTreeWidgetItem) -> None:
        """Make a group's rows the first time it is unfolded."""
        key = group.data(0, GROUP_ROLE)
        if not key or group.childCount():
            return
        names = sorted(self.sets[key])
        for name in names[:MAX_LISTED]:
            child = QTreeWidgetItem(group, [name])
            child.setData(0, Qt.ItemDataRole.UserRole, name)
            child.setData(0, Qt.ItemDataRole.UserRole + 1, key)
        if len(names) > MAX_LISTED:
            QTreeWidgetItem(group, [f"… and {len(names) - MAX_LISTED} more"])

    def _on_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole)
        # Removed nodes are not in the graph on screen: nothing to select.
        if name and item.data(0, Qt.ItemDataRole.UserRole + 1) != "removed":
            self.nodeActivated.emit(name)
