"""Model summary: file, size, graph figures from the analysis, inputs/outputs and op types."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from widgets import formatting
from widgets.formatting import fit_label_column
from widgets.model_index import ModelIndex


def _io_rows(entries: Any) -> list[tuple[str, str]]:
    """(name, 'dtype [shape]') rows from the analysis' inputs/outputs, whatever their form."""
    rows: list[tuple[str, str]] = []
    if isinstance(entries, dict):
        entries = [{"name": k, **v} if isinstance(v, dict) else {"name": k, "shape": v} for k, v in entries.items()]
    for entry in entries or []:
        if isinstance(entry, dict):
            shape = entry.get("shape")
            shape_text = "[" + ", ".join(str(d) for d in shape) + "]" if isinstance(shape, (list, tuple)) else str(shape or "?")
            rows.append((str(entry.get("name", "?")), f"{entry.get('dtype', entry.get('type', '?'))} {shape_text}"))
        else:
            rows.append((str(entry), ""))
    return rows


class SummaryPanel(QWidget):
    """Read-only tree of what a model is: size, parameters, MACs, I/O and op types."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Property", "Value"])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        # Tensor names are long and share prefixes; keep both ends visible.
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.clear()

    def clear(self) -> None:
        """Show the empty state."""
        self.tree.clear()
        QTreeWidgetItem(self.tree, ["No model open", ""]).setFirstColumnSpanned(True)

    def set_model(
        self,
        model: onnx.ModelProto,
        path: str | Path,
        size_bytes: int,
        analysis: dict[str, Any] | None = None,
    ) -> None:
        """Show the summary of `model`; figures come from `analysis` when it is available."""
        self.tree.clear()
        index = ModelIndex(model)
        a = analysis or {}
        general = self._section("Model")
        self._row(general, "File", Path(path).name, tooltip=str(path))
        self._row(general, "Size", formatting.size(a.get("size_bytes") or size_bytes))
        if model.producer_name:
            self._row(general, "Producer", f"{model.producer_name} {model.producer_version}".strip())
        self._row(general, "IR version", str(model.ir_version))
        opsets = a.get("opsets") or {op.domain or "ai.onnx": op.version for op in model.opset_import}
        self._row(general, "Opsets", ", ".join(f"{d} {v}" for d, v in dict(opsets).items()))

        figures = self._section("Graph")
        self._row(figures, "Nodes", formatting.count(a.get("nodes", len(model.graph.node))))
        self._row(figures, "Initializers", formatting.count(len(index.initializers)))
        self._row(figures, "Parameters", formatting.count(a.get("params")))
        self._row(figures, "MACs", formatting.count(a.get("macs")))
        self._row(figures, "FLOPs", formatting.count(a.get("flops")))
        assumed = a.get("assumed_dims")
        if assumed:
            text = ", ".join(f"{k}={v}" for k, v in assumed.items()) if isinstance(assumed, dict) else str(assumed)
            self._row(figures, "Assumed dims", text, tooltip="Symbolic dimensions fixed to count MACs/FLOPs")

        for title, key, names in (("Inputs", "inputs", index.graph_inputs), ("Outputs", "outputs", index.graph_outputs)):
            section = self._section(title)
            rows = _io_rows(a.get(key)) if a.get(key) else [
                (n, f"{index.tensor(n).dtype} {index.tensor(n).shape_text()}") for n in names
            ]
            for name, text in rows:
                self._row(section, name, text)

        op_types = a.get("op_types")
        if not op_types:
            op_types = {}
            for node in model.graph.node:
                op_types[node.op_type] = op_types.get(node.op_type, 0) + 1
        section = self._section(f"Op types ({len(op_types)})")
        for op, n in sorted(dict(op_types).items(), key=lambda kv: (-kv[1], kv[0])):
            self._row(section, op, str(n))
        section.setExpanded(len(op_types) <= 12)
        fit_label_column(self.tree)

    def value(self, label: str) -> str | None:
        """The text shown for row `label` (first match), for tests and copy actions."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).text(0) == label:
                    return top.child(j).text(1)
        return None

    def _section(self, title: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [title, ""])
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        item.setFirstColumnSpanned(True)
        item.setExpanded(True)
        return item

    @staticmethod
    def _row(parent: QTreeWidgetItem, label: str, value: str, tooltip: str | None = None) -> QTreeWidgetItem:
        # Model strings are untrusted: QTreeWidgetItem shows plain text, never rich text.
        item = QTreeWidgetItem(parent, [label, value])
        item.setToolTip(0, label)
        item.setToolTip(1, tooltip or value)
        return item
