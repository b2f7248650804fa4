"""Properties of the selection: a node (op, attributes, I/O, MACs) or an initializer (stats, histogram)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import helper
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from onnx_workbench.pipelines.background import JobLanes, WorkerCall
from onnx_workbench.pipelines.tensor_values import is_external, summarize_values, tensor_array
from onnx_workbench.pipelines.validation import tensor_bytes
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.built_on_use import BuiltOnUse, is_built
from onnx_workbench.widgets.model_index import ModelIndex
from onnx_workbench.widgets.one_per_turn import deferred
from onnx_workbench.widgets.property_tree import PropertyTree

if TYPE_CHECKING:
    from onnx_workbench.widgets.shown_model import ShownModel

# Statistics of bigger tensors are computed in a worker process (`statisticsWanted`), so a click
# on a multi-hundred-MB weight never stalls the window.
IN_WINDOW_STATISTICS_BYTES = 16 << 20
STATS_LANE = "tensor-stats"  # the lane of JobLanes those workers run in (`read_statistics_in`)
# Attribute values longer than this are cut in the tree (full text stays in the tooltip).
MAX_ATTRIBUTE_TEXT = 200


def _layer_figures(analysis: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """The analysis' per-layer entry for node `key`, or {} before the analysis arrived."""
    return next((layer for layer in (analysis or {}).get("layers", []) if layer["name"] == key), {})


def _attribute_text(attr: onnx.AttributeProto) -> str:
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    elif isinstance(value, onnx.TensorProto):
        value = f"tensor {list(value.dims)} {onnx.TensorProto.DataType.Name(value.data_type).lower()}"
    elif isinstance(value, onnx.GraphProto):
        value = f"graph '{value.name}' ({len(value.node)} nodes)"
    elif isinstance(value, list) and value and isinstance(value[0], bytes):
        value = [v.decode("utf-8", errors="replace") for v in value]
    return str(value)


class PropertiesPanel(QWidget):
    """Shows the node or initializer selected in the graph or search."""

    histogram = BuiltOnUse("_build_histogram")  # a pg.PlotWidget under the tree, once a weight's values are shown

    # (model path, initializer name): its statistics are wanted from a worker; answer with
    # `show_statistics` (or `statistics_failed`).
    statisticsWanted = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index: ModelIndex | None = None
        self._model_path: Path | None = None
        # The shown initializer's "Tensor" section and its "Values" placeholder, until values arrive.
        self._tensor_section: QTreeWidgetItem | None = None
        self._values_row: QTreeWidgetItem | None = None
        self._analysis: dict[str, Any] | None = None
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # node names are untrusted
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title.setFont(font)
        self.tree = PropertyTree(self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.tree)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.splitter)
        self.clear()

    def _build_histogram(self) -> None:
        import pyqtgraph as pg

        self.histogram = pg.PlotWidget(self, enableMenu=False)  # no menu: it costs 3/4 of a plot's making
        self.histogram.setMinimumHeight(140)
        self.histogram.setLabel("bottom", "value")
        self.histogram.setLabel("left", "count")
        self.histogram.hide()
        self.splitter.addWidget(self.histogram)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

    def read_statistics_in(self, jobs: JobLanes) -> None:
        """Read the statistics this panel wants in a worker of `jobs` (the window holds no weights)."""
        self.statisticsWanted.connect(lambda model, name: jobs.submit(
            STATS_LANE, WorkerCall("tensor-stats", {"model": model, "tensor": name}), about=(name,)))
        lane = jobs.lane(STATS_LANE)
        lane.succeeded.connect(lambda request, result: self.show_statistics(request.about[0], result))
        lane.failed.connect(lambda request, text: self.statistics_failed(request.about[0], text))

    def bind(self, shown: ShownModel) -> None:
        """Follow the model on screen: the graph shown (main graph or subgraph), and its figures when they arrive."""
        shown.index_changed.connect(deferred(  # a turn after the graph (see one_per_turn)
            self, lambda index: self.set_model(index, shown.layer_figures(), shown.opened.path if shown.opened else None)))
        shown.analysed.connect(lambda opened: self.set_analysis(opened.analysis))

    def set_model(
        self, index: ModelIndex | None, analysis: dict[str, Any] | None = None, model_path: str | Path | None = None
    ) -> None:
        """Use `index` (and per-layer figures from `analysis`) for later selections.

        `model_path`: the file the index was built from, where external weights are read on demand.
        """
        self._index, self._analysis = index, analysis
        self._model_path = Path(model_path) if model_path is not None else None
        self.clear()

    def set_analysis(self, analysis: dict[str, Any] | None) -> None:
        """Per-layer figures arrived (after the model): refresh what is shown."""
        self._analysis = analysis
        kind, name = self._shown
        if kind == "node":
            self.show_node(name)

    def clear(self) -> None:
        """Show the empty state."""
        self._shown: tuple[str, str] = ("", "")
        self.title.setText("Nothing selected")
        self.tree.clear()
        self._hide_histogram()

    def _hide_histogram(self) -> None:
        if is_built(self, "histogram"):  # never built just to be hidden
            self.histogram.clear()
            self.histogram.hide()

    def show_graph_key(self, key: str) -> bool:
        """Show what the graph view selected: a node, or a graph input/output it names "input:x" / "output:y"."""
        kind, _, tensor = key.partition(":")
        if kind in ("input", "output") and tensor and key not in (self._index.nodes if self._index else {}):
            return self.show_tensor(tensor)
        return self.show_node(key)

    def show_node(self, key: str) -> bool:
        """Show node `key`; False (and the empty state) if the model has no such node."""
        node = self._index.nodes.get(key) if self._index else None
        if node is None:
            self.clear()
            return False
        index = self._index
        assert index is not None
        self._shown = ("node", key)
        self.title.setText(f"{node.op_type} — {key}")
        self.tree.clear()
        self._hide_histogram()
        general = self.tree.section("Node")
        self.tree.row(general, "Op type", node.op_type)
        self.tree.row(general, "Domain", node.domain or "ai.onnx")
        self.tree.row(general, "Name", node.name or "(unnamed)")
        figures = _layer_figures(self._analysis, key)
        self.tree.row(general, "MACs", formatting.count(figures.get("macs")))
        params = figures.get("params")
        if params is None:  # parameters can be counted from the initializers it reads
            params = sum(
                int(np.prod(index.initializers[i].dims)) for i in node.input if i in index.initializers
            )
        self.tree.row(general, "Params", formatting.count(params))
        if node.attribute:
            attrs = self.tree.section(f"Attributes ({len(node.attribute)})")
            for attr in node.attribute:
                text = _attribute_text(attr)
                self.tree.row(attrs, attr.name, text[:MAX_ATTRIBUTE_TEXT], text[:4000])
        for title, names in (("Inputs", node.input), ("Outputs", node.output)):
            section = self.tree.section(f"{title} ({len([n for n in names if n])})")
            for name in names:
                if not name:
                    continue  # an omitted optional input
                info = index.tensor(name)
                kind = " (initializer)" if name in index.initializers else ""
                self.tree.row(section, name, f"{info.dtype} {info.shape_text()}{kind}")
        self.tree.fit_labels()
        return True

    def show_tensor(self, name: str) -> bool:
        """Show a graph value (e.g. a graph input or output): type, producer and consumers."""
        index = self._index
        if index is None or name not in index.tensors and name not in index.producer and name not in index.consumers:
            self.clear()
            return False
        if name in index.initializers:
            return self.show_initializer(name)
        self._shown = ("tensor", name)
        info = index.tensor(name)
        role = "Input" if name in index.graph_inputs else "Output" if name in index.graph_outputs else "Tensor"
        self.title.setText(f"{role} — {name}")
        self.tree.clear()
        self._hide_histogram()
        general = self.tree.section(role)
        self.tree.row(general, "Name", name)
        self.tree.row(general, "Dtype", info.dtype)
        self.tree.row(general, "Shape", info.shape_text())
        if name in index.producer:
            self.tree.row(general, "Produced by", index.producer[name])
        consumers = index.consumers.get(name, [])
        if consumers:
            self.tree.row(general, "Used by", ", ".join(consumers[:8]) + (" …" if len(consumers) > 8 else ""))
        self.tree.fit_labels()
        return True

    def show_initializer(self, name: str) -> bool:
        """Show initializer `name` with statistics and a histogram; False if there is none."""
        tensor = self._index.initializers.get(name) if self._index else None
        if tensor is None:
            self.clear()
            return False
        self._shown = ("initializer", name)
        self.title.setText(f"Initializer — {name}")
        self.tree.clear()
        general = self.tree.section("Tensor")
        self.tree.row(general, "Name", name)
        self.tree.row(general, "Shape", "[" + ", ".join(str(d) for d in tensor.dims) + "]")
        self.tree.row(general, "Dtype", self._index.tensor(name).dtype)  # type: ignore[union-attr]
        consumers = self._index.consumers.get(name, [])  # type: ignore[union-attr]
        if consumers:
            self.tree.row(general, "Used by", ", ".join(consumers[:8]) + (" …" if len(consumers) > 8 else ""))
        self._tensor_section, self._values_row = general, None
        if is_external(tensor) and self._model_path is None:
            self._values_row = self.tree.row(general, "Values", "unavailable (stored outside a model file this panel knows)")
            return True
        if is_external(tensor) and tensor_bytes(tensor) > IN_WINDOW_STATISTICS_BYTES:
            self._values_row = self.tree.row(general, "Values", "reading in the background…")
            self.tree.fit_labels()
            self.statisticsWanted.emit(str(self._model_path), name)
            return True
        try:
            summary = summarize_values(tensor_array(tensor, self._model_path.parent if self._model_path else "."))
        except Exception as exc:  # noqa: BLE001 - e.g. missing external data: show what we know
            self._values_row = self.tree.row(general, "Values", f"unavailable ({exc})")
            return True
        self.show_statistics(name, summary)
        return True

    def show_statistics(self, name: str, summary: dict[str, Any]) -> None:
        """Fill in the values of initializer `name` (from `summarize_values`) if it is still shown."""
        if self._shown != ("initializer", name) or self._tensor_section is None:
            return  # the user moved on while a worker read the tensor
        general = self._tensor_section
        if self._values_row is not None:
            general.removeChild(self._values_row)
            self._values_row = None
        self.tree.row(general, "Elements", formatting.count(summary["elements"]))
        self.tree.row(general, "Bytes", formatting.size(summary["bytes"]))
        if not summary["numeric"]:
            self._hide_histogram()
            self.tree.fit_labels()
            return
        stats = summary["stats"]
        sampled = bool(stats["sampled"])
        section = self.tree.section("Statistics")
        for key in ("min", "max", "mean", "std"):
            note = " (sampled)" if sampled and key in ("mean", "std") else ""
            self.tree.row(section, key, f"{stats[key]:.6g}{note}")
        self.tree.row(section, "sparsity", f"{stats['sparsity'] * 100:.1f} %")
        self.tree.fit_labels()
        counts = summary["histogram"]["counts"]
        plotted = int(sum(counts))
        self.histogram.setLabel("left", f"count (sampled, {formatting.count(plotted)} values)" if sampled else "count")
        self._plot_histogram(summary["histogram"]["edges"], counts)

    def statistics_failed(self, name: str, message: str) -> None:
        """The worker could not read initializer `name`: say so if it is still shown."""
        if self._shown == ("initializer", name) and self._values_row is not None:
            self._values_row.setText(1, f"unavailable ({message})")

    def _plot_histogram(self, edges: list[float], counts: list[float]) -> None:
        if not counts:
            self._hide_histogram()
            return
        import pyqtgraph as pg

        self.histogram.clear()
        # Follow the current (light or dark) palette rather than pyqtgraph's black default.
        palette = self.palette()
        self.histogram.setBackground(palette.color(QPalette.ColorRole.Base))
        ink = palette.color(QPalette.ColorRole.Text)
        for axis in ("left", "bottom"):
            self.histogram.getAxis(axis).setPen(ink)
            self.histogram.getAxis(axis).setTextPen(ink)
        # stepMode="center" draws bars between edges: len(edges) == len(counts) + 1.
        self.histogram.plot(edges, counts, stepMode="center", fillLevel=0, brush=(60, 130, 220, 150), pen=pg.mkPen(60, 130, 220))
        self.histogram.show()
