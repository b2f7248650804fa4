"""Find nodes by name or op type and tensors by name; activate a result to jump to its node."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from onnx_workbench.widgets.formatting import plain_tooltip
from onnx_workbench.widgets.model_index import ModelIndex
from onnx_workbench.widgets.one_per_turn import deferred

if TYPE_CHECKING:
    from onnx_workbench.widgets.shown_model import ShownModel

MAX_RESULTS = 500
_KIND_ROLE = Qt.ItemDataRole.UserRole
_TARGET_ROLE = Qt.ItemDataRole.UserRole + 1


class SearchPanel(QWidget):
    """A query box over node names, op types and tensor names, with a result list."""

    nodeActivated = Signal(str)  # node key
    initializerActivated = Signal(str)  # initializer name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index: ModelIndex | None = None
        self.query = QLineEdit(self)
        self.query.setPlaceholderText("Node name, op type or tensor name")
        self.query.setClearButtonEnabled(True)
        self.results = QListWidget(self)
        # Long dotted names: elide in the middle rather than scroll sideways.
        self.results.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.setUniformItemSizes(True)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.query)
        layout.addWidget(self.results)
        layout.addWidget(self.status)
        self.query.textChanged.connect(self.search)
        self.query.returnPressed.connect(self._activate_first)
        self.results.itemActivated.connect(self._activate)
        self.results.itemClicked.connect(self._activate)
        self.query.installEventFilter(self)  # Down arrow moves from the query into the results
        self.set_model(None)

    def bind(self, shown: ShownModel) -> None:
        """Search the graph on screen (the main graph or the subgraph entered)."""
        shown.index_changed.connect(deferred(self, self.set_model))  # a turn after the graph (see one_per_turn)

    def set_model(self, index: ModelIndex | None) -> None:
        """Search `index` from now on (None: nothing to search)."""
        self._index = index
        self.query.setEnabled(index is not None)
        self.search(self.query.text())

    def focus_query(self) -> None:
        """Put the cursor in the query box with its text selected (Ctrl+F)."""
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()

    def search(self, text: str) -> list[tuple[str, str]]:
        """Fill the result list for `text`; returns (kind, target) per result, kind node/initializer."""
        self.results.clear()
        found: list[tuple[str, str, str]] = []  # (kind, target, label)
        needle = text.strip().lower()
        if self._index is not None and needle:
            index = self._index
            for key, node in index.nodes.items():
                if needle in key.lower() or needle in node.op_type.lower():
                    found.append(("node", key, f"{key}  ·  {node.op_type}"))
            seen = {t for _, t, _ in found}
            for name in index.tensors:
                if needle not in name.lower():
                    continue
                if name in index.initializers:
                    found.append(("initializer", name, f"{name}  ·  initializer"))
                else:
                    owner = index.node_for_tensor(name)
                    if owner is not None and owner not in seen:
                        found.append(("node", owner, f"{name}  ·  tensor of {owner}"))
                        seen.add(owner)
        for kind, target, label in found[:MAX_RESULTS]:
            item = QListWidgetItem(label, self.results)
            item.setData(_KIND_ROLE, kind)
            item.setData(_TARGET_ROLE, target)
            item.setToolTip(plain_tooltip(label))
        if not needle:
            self.status.setText("")
        elif len(found) > MAX_RESULTS:
            self.status.setText(f"First {MAX_RESULTS} of {len(found)} results")
        else:
            self.status.setText(f"{len(found)} result{'s' if len(found) != 1 else ''}")
        return [(k, t) for k, t, _ in found[:MAX_RESULTS]]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """Down in the query box walks into the result list."""
        if (
            watched is self.query
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Down
            and self.results.count()
        ):
            self.results.setFocus(Qt.FocusReason.OtherFocusReason)
            self.results.setCurrentRow(0)
            return True
        return super().eventFilter(watched, event)

    def _activate_first(self) -> None:
        if self.results.count():
            self.results.setCurrentRow(0)
            self._activate(self.results.item(0))

    def _activate(self, item: QListWidgetItem) -> None:
        target = item.data(_TARGET_ROLE)
        if item.data(_KIND_ROLE) == "initializer":
            self.initializerActivated.emit(target)
        else:
            self.nodeActivated.emit(target)
