"""The version tree: every version of the session with its figures; branches show as children."""
from __future__ import annotations

import math

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QInputDialog, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from onnx_workbench.pipelines.results import VersionMetrics
from onnx_workbench.pipelines.session_model import SessionModel
from onnx_workbench.pipelines.versions import FLAG_OUT_OF_TOLERANCE, Version, Workspace
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.one_per_turn import deferred, later

COLUMNS = ("Version", "Pass", "Fidelity", "Top-1", "p50 latency", "Size", "Nodes", "Params", "MACs", "Notes")
FIDELITY = COLUMNS.index("Fidelity")
PASSED = QColor("#2e8b57")
FAILED = QColor("#c0392b")
NOTES_WIDTH = 360


def fidelity_badge(version: Version) -> tuple[str, str]:
    """Short badge text and its state ("pass", "fail", "none") for a version's fidelity."""
    if version.parent is None:
        return "reference", "none"
    fidelity = VersionMetrics.of(version.metrics).fidelity
    if fidelity is None:
        return "not verified", "none"
    snrs = [o.snr_db for o in fidelity.outputs if o.snr_db is not None]
    worst = f" {min(snrs):.1f} dB" if snrs else ""
    if math.isinf(min(snrs, default=0.0)):
        worst = " exact"
    return ("✓" + worst, "pass") if fidelity.passed else ("✗" + worst, "fail")


def accuracy_figures(version: Version, others: list[Version]) -> dict[str, float] | None:
    """{"top1", "top5"} in percent on the session's labelled data: a version's own, or for the
    original the reference figures any verified version carries; None without labelled data."""
    accuracy = (version.metrics.get("fidelity") or {}).get("accuracy")
    if accuracy:
        return accuracy["candidate"]
    if version.parent is None:
        for other in others:
            accuracy = (other.metrics.get("fidelity") or {}).get("accuracy")
            if accuracy:
                return accuracy["reference"]
    return None


def accuracy_text(version: Version, others: list[Version]) -> str:
    """'99.44% (−0.28)': top-1 accuracy and, for a step, its drop in points against the original."""
    figures = accuracy_figures(version, others)
    if figures is None:
        return "—"
    accuracy = (version.metrics.get("fidelity") or {}).get("accuracy")
    if not accuracy:
        return f"{figures['top1']:.2f}%"
    return f"{figures['top1']:.2f}% ({accuracy['candidate']['top1'] - accuracy['reference']['top1']:+.2f})".replace("-", "−")


def step_notes(version: Version) -> list[str]:
    """What a user must know about a step beyond its summary: why nothing changed, warnings, flags."""
    fidelity = VersionMetrics.of(version.metrics).fidelity
    failures = [f for o in fidelity.outputs for f in o.failures] if fidelity is not None else []
    notes = list(version.warnings) + [
        f"{flag}: {'; '.join(failures)}" if flag == FLAG_OUT_OF_TOLERANCE and failures else flag for flag in version.flags]
    if not version.changes or not any(version.changes.get(k) for k in ("added", "removed", "changed")):
        if not notes:
            notes.append("the pass found nothing to change in this model; the version equals its parent.")
    return notes


def _notes_text(version: Version) -> str:
    """The reason beside the result: why nothing changed, or the first warning or flag."""
    notes = step_notes(version) if version.parent is not None else []
    if not notes:
        return ""
    return "⚠ " + notes[0] + (f" (+{len(notes) - 1} more)" if len(notes) > 1 else "")


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
        self.header().setStretchLastSection(True)  # Notes, last, takes the room left
        self.setRootIsDecorated(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        # A click (or arrow key) on a row makes that version current: the highlighted row is
        # always the one every action (F5, export, apply, analyses) works on. Double-click must
        # not fold a branch away under the pointer.
        self.setExpandsOnDoubleClick(False)
        self.currentItemChanged.connect(self._on_row_chosen)
        self.workspace: Workspace | None = None
        self.current_id: str | None = None
        self._items: dict[str, QTreeWidgetItem] = {}
        self._syncing = False  # rows rebuilt or marked by the session, not chosen by the user
        self._changed: set[str] = set()  # versions whose row waits for its next turn

    def bind(self, model: SessionModel) -> None:
        """Follow a session: its versions, their figures and which one is current."""

        def follow_workspace(*_args: object) -> None:
            self.set_workspace(model.workspace, model.current_id)

        model.workspace_changed.connect(follow_workspace)
        # The new row follows a turn after the step's result: that reaction is long enough.
        model.version_added.connect(deferred(self, follow_workspace))
        # A profile's or an analysis's figures reach the row a turn after their result (saving it is that turn's).
        model.version_changed.connect(self._row_changed)
        model.current_changed.connect(self.set_current)

    def set_workspace(self, workspace: Workspace | None, current_id: str | None = None) -> None:
        """Show a workspace (None clears the tree)."""
        self.workspace = workspace
        self.current_id = current_id
        self.refresh()

    def refresh(self) -> None:
        """Rebuild from the workspace (a handful of rows: cheap)."""
        self._syncing = True
        try:
            self._rebuild()
        finally:
            self._syncing = False

    def _rebuild(self) -> None:
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
        self.set_current(self.current_id)
        for column in range(len(COLUMNS)):
            self.resizeColumnToContents(column)
            # Room for the bold current row: the size hint is taken with the regular font.
            self.setColumnWidth(column, self.columnWidth(column) + 14)
        notes = COLUMNS.index("Notes")
        self.setColumnWidth(notes, min(self.columnWidth(notes), NOTES_WIDTH))  # the full text is in the tooltip
        # Accuracy needs labelled data: without it the column would only say "—" and take room.
        versions = self.workspace.versions
        self.setColumnHidden(COLUMNS.index("Top-1"), all(accuracy_figures(v, versions) is None for v in versions))

    def _row_changed(self, version_id: str) -> None:
        self._changed.add(version_id)
        later(self, self._update_changed_rows)

    def _update_changed_rows(self) -> None:
        changed, self._changed = self._changed, set()
        for version_id in changed:
            self.update_version(version_id)

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
            if font.bold() != (vid == version_id):  # only the rows that change: a font per cell is slow
                font.setBold(vid == version_id)
                for column in range(len(COLUMNS)):
                    item.setFont(column, font)
        if version_id in self._items:
            syncing, self._syncing = self._syncing, True
            try:
                self.setCurrentItem(self._items[version_id])
            finally:
                self._syncing = syncing

    def _on_row_chosen(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if self._syncing or item is None:
            return
        vid = item.data(0, Qt.ItemDataRole.UserRole)
        if vid != self.current_id:
            self.activated.emit(vid)
            # The session moved (set_current ran) or refused the move: mark the real current row.
            self.set_current(self.current_id)

    def item_for(self, version_id: str) -> QTreeWidgetItem:
        """The row of a version."""
        return self._items[version_id]

    def cell(self, version_id: str, column: str) -> str:
        """The text shown for a version in a column (by title)."""
        return self._items[version_id].text(COLUMNS.index(column))

    def badge_state(self, version_id: str) -> str:
        """"pass", "fail" or "none": the fidelity badge of a version."""
        return self._items[version_id].data(FIDELITY, Qt.ItemDataRole.UserRole)

    def _fill(self, item: QTreeWidgetItem, version: Version) -> None:
        metrics = VersionMetrics.of(version.metrics)
        latency = metrics.profile.latency_ms.get("p50") if metrics.profile is not None else None
        badge, state = fidelity_badge(version)
        texts = {
            "Version": version_title(version),
            "Pass": version.pass_name or "—",
            "Fidelity": badge,
            "Top-1": accuracy_text(version, self.workspace.versions if self.workspace is not None else []),
            "p50 latency": f"{latency:.3f} ms" if latency is not None else "—",
            "Size": formatting.size(metrics.size_bytes),
            "Nodes": formatting.count(metrics.nodes),
            "Params": formatting.count(metrics.params),
            "MACs": formatting.count(metrics.macs),
            "Notes": _notes_text(version),
        }
        for column, title in enumerate(COLUMNS):
            item.setText(column, texts[title])
            if title not in ("Version", "Pass", "Fidelity", "Notes"):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setData(FIDELITY, Qt.ItemDataRole.UserRole, state)
        if state in ("pass", "fail"):
            item.setForeground(FIDELITY, QBrush(PASSED if state == "pass" else FAILED))
        tips = [version.summary] + [f"warning: {w}" for w in version.warnings] + [f"flag: {f}" for f in version.flags]
        tip = "\n".join(t for t in tips if t)
        for column in range(len(COLUMNS)):
            item.setToolTip(column, formatting.plain_tooltip(tip) if tip else "")

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
