"""The version tree: every version of the session with its figures; branches show as children."""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QInputDialog, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from pipelines.versions import Version, Workspace
from widgets import formatting

COLUMNS = ("Version", "Pass", "Size", "Nodes", "Params", "MACs", "Fidelity", "p50 latency")
PASSED = QColor("#2e8b57")
FAILED = QColor("#c0392b")


def fidelity_badge(version: Version) -> tuple[str, str]:
    """Short badge text and its state ("pass", "fail", "none") for a version's fidelity."""
    if version.parent is None:
        return "reference", "none"
    fidelity = version.metrics.get("fidelity")
    if not fidelity:
        return "not verified", "none"
    snrs = [_number(o.get("snr_db")) for o in fidelity.get("outputs", [])]
    snrs = [s for s in snrs if s is not None]
    worst = f" {min(snrs):.1f} dB" if snrs else ""
    if math.isinf(min(snrs, default=0.0)):
        worst = " exact"
    return ("✓" + worst, "pass") if fidelity.get("passed") else ("✗" + worst, "fail")


def _number(value: Any) -> float | None:
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return float(value) if isinstance(value, (int, float)) else None


def version_title(version: Version) -> str:
    """'v2 my label' or 'v2'."""
    label = version.label if version.label and version.label != "original" else ""
    return f"v{version.number} {label}".strip() if version.parent is not None else "v0 original"


class VersionTree(QTreeWidget):
    """Shows a Workspace's versions as a tree; the current one is bold."""

    activated = Signal(str)  # version id to make current
    renameRequested = Signal(str, str)
    exportModelRequested = Signal(str)
    exportRecipeRequested = Signal(str)
    compareRequested = Signal(str, str)  # "a" | "b", version id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(list(COLUMNS))
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setRootIsDecorated(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.itemDoubleClicked.connect(lambda item, _col: self.activated.emit(item.data(0, Qt.ItemDataRole.UserRole)))
        self.workspace: Workspace | None = None
        self.current_id: str | None = None
        self._items: dict[str, QTreeWidgetItem] = {}

    def set_workspace(self, workspace: Workspace | None, current_id: str | None = None) -> None:
        """Show a workspace (None clears the tree)."""
        self.workspace = workspace
        self.current_id = current_id
        self.refresh()

    def refresh(self) -> None:
        """Rebuild from the workspace (a handful of rows: cheap)."""
        self.clear()
        self._items = {}
        if self.workspace is None:
            return
        for version in self.workspace.versions:  # creation order: parents come first
            parent = self._items.get(version.parent) if version.parent else None
            item = QTreeWidgetItem(parent if parent is not None else self)
            item.setData(0, Qt.ItemDataRole.UserRole, version.id)
            self._items[version.id] = item
            self._fill(item, version)
        self.expandAll()
        for column in range(len(COLUMNS)):
            self.resizeColumnToContents(column)
        self.set_current(self.current_id)

    def update_version(self, version_id: str) -> None:
        """Refresh one row after its metrics or label changed."""
        item = self._items.get(version_id)
        if item is None or self.workspace is None:
            self.refresh()
            return
        self._fill(item, self.workspace.get(version_id))

    def set_current(self, version_id: str | None) -> None:
        """Mark the current version (bold) and scroll to it."""
        self.current_id = version_id
        for vid, item in self._items.items():
            font = QFont(item.font(0))
            font.setBold(vid == version_id)
            for column in range(len(COLUMNS)):
                item.setFont(column, font)
        if version_id in self._items:
            self.setCurrentItem(self._items[version_id])

    def item_for(self, version_id: str) -> QTreeWidgetItem:
        """The row of a version."""
        return self._items[version_id]

    def _fill(self, item: QTreeWidgetItem, version: Version) -> None:
        metrics = version.metrics
        latency = (metrics.get("latency_ms") or {}).get("p50")
        badge, state = fidelity_badge(version)
        texts = [
            version_title(version),
            version.pass_name or "—",
            formatting.size(metrics.get("size_bytes")),
            formatting.count(metrics.get("nodes")),
            formatting.count(metrics.get("params")),
            formatting.count(metrics.get("macs")),
            badge,
            f"{latency:.3f} ms" if latency is not None else "—",
        ]
        for column, text in enumerate(texts):
            item.setText(column, text)
            if column >= 2:
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setTextAlignment(6, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        item.setData(6, Qt.ItemDataRole.UserRole, state)
        if state in ("pass", "fail"):
            item.setForeground(6, QBrush(PASSED if state == "pass" else FAILED))
        tips = [version.summary] + [f"warning: {w}" for w in version.warnings] + [f"flag: {f}" for f in version.flags]
        tip = "\n".join(t for t in tips if t)
        for column in range(len(COLUMNS)):
            item.setToolTip(column, tip)

    # ---- context menu -----------------------------------------------------------------------
    def _context_menu(self, position: QPoint) -> None:
        item = self.itemAt(position)
        if item is None:
            return
        vid = item.data(0, Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction("Make current", lambda: self.activated.emit(vid))
        menu.addAction("Rename…", lambda: self._rename(vid))
        menu.addSeparator()
        menu.addAction("Export model…", lambda: self.exportModelRequested.emit(vid))
        menu.addAction("Export recipe…", lambda: self.exportRecipeRequested.emit(vid))
        menu.addSeparator()
        menu.addAction("Compare as A", lambda: self.compareRequested.emit("a", vid))
        menu.addAction("Compare as B", lambda: self.compareRequested.emit("b", vid))
        menu.exec(self.viewport().mapToGlobal(position))

    def _rename(self, version_id: str) -> None:
        if self.workspace is None:
            return
        current = self.workspace.get(version_id).label
        label, ok = QInputDialog.getText(self, "Rename version", "Label:", text=current)
        if ok:
            self.renameRequested.emit(version_id, label)
