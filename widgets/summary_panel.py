"""Model summary: file, size, graph figures from the analysis, inputs/outputs and op types."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx
from PySide6.QtWidgets import QTreeWidgetItem, QVBoxLayout, QWidget

from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.model_index import ModelIndex
from onnx_workbench.widgets.one_per_turn import deferred
from onnx_workbench.widgets.property_tree import PropertyTree

if TYPE_CHECKING:
    from onnx_workbench.pipelines.opening import OpenedModel
    from onnx_workbench.widgets.shown_model import ShownModel


class SummaryPanel(QWidget):
    """Read-only tree of what a model is: size, parameters, MACs, I/O and op types."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = PropertyTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.clear()

    def bind(self, shown: ShownModel) -> None:
        """Follow the model on screen: its summary at once, its figures when they arrive."""

        def show(opened: OpenedModel | None) -> None:
            if opened is None:
                self.clear()
            else:
                main_graph = shown.index if shown.index is not None and shown.index.graph is opened.loaded.proto.graph else None
                self.set_model(opened.loaded.proto, opened.path, opened.loaded.size_bytes, opened.analysis,
                               name=shown.name, index=main_graph)

        # A turn after the graph (see one_per_turn): the graph is what the user waits for.
        shown.changed.connect(deferred(self, show))
        shown.analysed.connect(deferred(self, show))

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
        name: str | None = None,
        index: ModelIndex | None = None,
    ) -> None:
        """Show the summary of `model`; figures come from `analysis` when it is available.

        `name` is what the user calls the model (a session version's file has an internal name);
        `index`, its main graph's index when the caller has one (made here otherwise).
        """
        self.tree.clear()
        index = index or ModelIndex(model)
        a = analysis or {}
        general = self.tree.section("Model")
        self.tree.row(general, "Name", name or Path(path).name, tooltip=str(path))
        self.tree.row(general, "Size", formatting.size(a.get("size_bytes") or size_bytes))
        if model.producer_name:
            self.tree.row(general, "Producer", f"{model.producer_name} {model.producer_version}".strip())
        self.tree.row(general, "IR version", str(model.ir_version))
        opsets = ", ".join(f"{op.domain or 'ai.onnx'} {op.version}" for op in model.opset_import)
        self.tree.row(general, "Opsets", opsets)

        figures = self.tree.section("Graph")
        self.tree.row(figures, "Nodes", formatting.count(a.get("nodes", len(model.graph.node))))
        self.tree.row(figures, "Initializers", formatting.count(len(index.initializers)))
        self.tree.row(figures, "Parameters", formatting.count(a.get("params")))
        self.tree.row(figures, "MACs", formatting.count(a.get("macs")))
        self.tree.row(figures, "FLOPs", formatting.count(a.get("flops")))
        assumed = a.get("assumed_dims")
        if assumed:
            text = ", ".join(f"{k}={v}" for k, v in assumed.items())
            self.tree.row(figures, "Assumed dims", text, tooltip="Symbolic dimensions fixed to count MACs/FLOPs")

        for title, names in (("Inputs", index.graph_inputs), ("Outputs", index.graph_outputs)):
            section = self.tree.section(title)
            for name in names:
                info = index.io_tensors[name]
                self.tree.row(section, name, f"{info.dtype} {info.shape_text()}")

        op_types = Counter(node.op_type for node in model.graph.node)
        section = self.tree.section(f"Op types ({len(op_types)})")
        for op, n in sorted(op_types.items(), key=lambda kv: (-kv[1], kv[0])):
            self.tree.row(section, op, str(n))
        section.setExpanded(len(op_types) <= 12)
        self.tree.fit_labels()
