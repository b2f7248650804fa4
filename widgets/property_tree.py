"""A two-column Property/Value tree: bold sections of plain-text rows (model strings are untrusted)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from onnx_workbench.widgets.formatting import fit_label_column, plain_tooltip


class PropertyTree(QTreeWidget):
    """Rows grouped in sections; QTreeWidgetItem shows plain text, never rich text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["Property", "Value"])
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().setStretchLastSection(True)
        # Tensor names are long and share prefixes; keep both ends visible.
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)

    def section(self, title: str) -> QTreeWidgetItem:
        """A bold, expanded top-level group spanning both columns."""
        item = QTreeWidgetItem(self, [title, ""])
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        item.setFirstColumnSpanned(True)
        item.setExpanded(True)
        return item

    @staticmethod
    def row(parent: QTreeWidgetItem, label: str, value: str, tooltip: str | None = None) -> QTreeWidgetItem:
        """One label/value row under `parent`; the tooltip shows the full value (or `tooltip`)."""
        item = QTreeWidgetItem(parent, [label, value])
        item.setToolTip(0, plain_tooltip(label))
        item.setToolTip(1, plain_tooltip(tooltip or value))
        return item

    def value(self, label: str) -> str | None:
        """The text shown for row `label` (first match at any depth), for tests and copy actions."""
        items = self.findItems(label, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 0)
        return items[0].text(1) if items else None

    def fit_labels(self) -> None:
        """Size the label column to its contents, leaving most of the width to values."""
        fit_label_column(self)
