"""Properties of the selection: a node (op, attributes, I/O, MACs) or an initializer (stats, histogram)."""
from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pyqtgraph as pg
from onnx import helper, numpy_helper
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from widgets import formatting
from widgets.model_index import ModelIndex
from widgets.property_tree import PropertyTree

HISTOGRAM_BINS = 64
# Statistics run on the GUI thread: min/max/sparsity are exact but read the tensor in chunks of
# this many elements (no float64 copy of a huge tensor); mean, std and the histogram use an
# evenly strided sample of at most SAMPLE_LIMIT elements.
CHUNK_ELEMENTS = 1 << 20
SAMPLE_LIMIT = 1_000_000
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


def value_sample(array: np.ndarray, limit: int = SAMPLE_LIMIT) -> np.ndarray:
    """The flattened array, or an evenly strided view of at most `limit` of its elements."""
    flat = np.asarray(array).reshape(-1)
    step = -(-flat.size // limit) if flat.size > limit else 1
    return flat[::step]


def tensor_statistics(array: np.ndarray) -> dict[str, float]:
    """Exact min/max and sparsity (fraction of exact zeros); mean/std from `value_sample`.

    "sampled" is 1.0 when mean and std come from a sample rather than every element.
    """
    flat = np.asarray(array).reshape(-1)
    if flat.size == 0:
        return {"min": float("nan"), "max": float("nan"), "mean": float("nan"), "std": float("nan"),
                "sparsity": 0.0, "sampled": 0.0}
    low, high, zeros = flat[0], flat[0], 0
    for start in range(0, flat.size, CHUNK_ELEMENTS):
        chunk = flat[start:start + CHUNK_ELEMENTS]
        # np.minimum/maximum, unlike min()/max(), keep a NaN once one was seen.
        low, high = np.minimum(low, chunk.min()), np.maximum(high, chunk.max())
        zeros += int(np.count_nonzero(chunk == 0))
    sample = value_sample(flat)
    values = sample.astype(np.float64)
    return {
        "min": float(low),
        "max": float(high),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "sparsity": zeros / flat.size,
        "sampled": float(sample.size < flat.size),
    }


class PropertiesPanel(QWidget):
    """Shows the node or initializer selected in the graph or search."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index: ModelIndex | None = None
        self._analysis: dict[str, Any] | None = None
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # node names are untrusted
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title.setFont(font)
        self.tree = PropertyTree(self)
        self.histogram = pg.PlotWidget(self)
        self.histogram.setMinimumHeight(140)
        self.histogram.setMenuEnabled(False)
        self.histogram.setLabel("bottom", "value")
        self.histogram.setLabel("left", "count")
        self.histogram.hide()
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.histogram)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(splitter)
        self.clear()

    def set_model(self, index: ModelIndex | None, analysis: dict[str, Any] | None = None) -> None:
        """Use `index` (and per-layer figures from `analysis`) for later selections."""
        self._index, self._analysis = index, analysis
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
        self.histogram.clear()
        self.histogram.hide()


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
        self.histogram.clear()
        self.histogram.hide()
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
        self.histogram.clear()
        self.histogram.hide()
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
        try:
            array = numpy_helper.to_array(tensor)
        except Exception as exc:  # noqa: BLE001 - e.g. missing external data: show what we know
            self.tree.row(general, "Values", f"unavailable ({exc})")
            self.histogram.hide()
            return True
        self.tree.row(general, "Elements", formatting.count(array.size))
        self.tree.row(general, "Bytes", formatting.size(array.nbytes))
        consumers = self._index.consumers.get(name, [])  # type: ignore[union-attr]
        if consumers:
            self.tree.row(general, "Used by", ", ".join(consumers[:8]) + (" …" if len(consumers) > 8 else ""))
        if array.dtype.kind not in "biuf":
            self.histogram.hide()
            return True
        stats = tensor_statistics(array)
        sampled = bool(stats["sampled"])
        section = self.tree.section("Statistics")
        for key in ("min", "max", "mean", "std"):
            note = " (sampled)" if sampled and key in ("mean", "std") else ""
            self.tree.row(section, key, f"{stats[key]:.6g}{note}")
        self.tree.row(section, "sparsity", f"{stats['sparsity'] * 100:.1f} %")
        self.tree.fit_labels()
        sample = value_sample(array)
        self.histogram.setLabel("left", f"count (sampled, {formatting.count(sample.size)} values)" if sampled else "count")
        self._plot_histogram(sample)
        return True

    def _plot_histogram(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        values = values[np.isfinite(values)]
        self.histogram.clear()
        if values.size == 0:
            self.histogram.hide()
            return
        counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
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
