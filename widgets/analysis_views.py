"""Analysis views: quantization error per node (heat map, exclude the worst N and quantize again)
and pruning sensitivity (cosine vs ratio per layer, apply the ratios that keep fidelity ≥ X)."""
from __future__ import annotations

import html
import math

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from onnx_workbench.pipelines.results import QuantErrorReport, SensitivityRow, SensitivityTable
from onnx_workbench.pipelines.session_model import ANALYSIS, Analysis, SessionModel
from onnx_workbench.widgets.built_on_use import BuiltOnUse, build_when_seen, is_built
from onnx_workbench.widgets.chart_theme import style_charts
from onnx_workbench.widgets.profile_dashboard import cache_axes

# pipelines.pruning and pipelines.quant_debug import onnx-ir (with sympy) and ONNX Runtime:
# ~3 s of a cold start on a busy machine. The window needs them only when a result arrives,
# so they are imported there, not when the window is built.

SHOWN_WORST = 12
LINE_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")


def error_overlay(report: QuantErrorReport) -> dict[str, float]:
    """Noise each node adds (relative error, %), keyed by the quantized model's node names."""
    return {name: 100.0 * float(f["relative_error"]) for name, f in report.by_quant_node().items()}


class AnalysisViews(QWidget):
    """Quantization error and pruning sensitivity of the current version."""

    quantErrorRequested = Signal()
    requantizeRequested = Signal(list)  # quantized-model node names to keep in float
    overlayRequested = Signal(dict, str)  # node -> value, label ({}: clear)
    scanRequested = Signal(list)  # ratios
    pruneRequested = Signal(str, dict)  # pass name, config values
    cancelRequested = Signal()
    # The sensitivity chart (a pg.PlotWidget), built when the views are first shown or drawn into.
    chart = BuiltOnUse("_build_chart")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.quant_report: QuantErrorReport | None = None
        self.sensitivity: SensitivityTable | None = None
        # Quantization error.
        self.quant_button = QPushButton("Analyse quantization error", self)
        self.quant_button.setToolTip("Run the current (quantized) version and its float parent on the same inputs")
        self.quant_button.clicked.connect(self.quantErrorRequested)
        self.worst_n = QSpinBox(self)
        self.worst_n.setRange(1, 100)
        self.worst_n.setValue(3)
        self.requantize_button = QPushButton("Exclude the worst N and quantize again", self)
        self.requantize_button.setEnabled(False)
        self.requantize_button.clicked.connect(self._on_requantize)
        self.worst_table = QTableWidget(0, 4, self)
        self.worst_table.setHorizontalHeaderLabels(["Node", "Op", "SQNR (dB)", "Added noise"])
        self.worst_table.verticalHeader().hide()
        self.worst_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # Room for the worst eight regions before scrolling (a squeezed dock showed two).
        rows = self.worst_table.verticalHeader().defaultSectionSize()
        self.worst_table.setMinimumHeight(self.worst_table.horizontalHeader().sizeHint().height() + 8 * rows + 4)
        quant_row = QHBoxLayout()
        quant_row.addWidget(self.quant_button)
        quant_row.addStretch(1)
        quant_row.addWidget(QLabel("N", self))
        quant_row.addWidget(self.worst_n)
        quant_row.addWidget(self.requantize_button)
        quant_box = QGroupBox("Quantization error (worst first)", self)
        quant_layout = QVBoxLayout(quant_box)
        quant_layout.addLayout(quant_row)
        quant_layout.addWidget(self.worst_table)

        # Pruning sensitivity.
        self.scan_button = QPushButton("Scan pruning sensitivity", self)
        self.scan_button.clicked.connect(lambda: self.scanRequested.emit([0.1, 0.3, 0.5]))
        self.min_cosine = QDoubleSpinBox(self)
        self.min_cosine.setDecimals(3)
        self.min_cosine.setRange(0.0, 1.0)
        self.min_cosine.setSingleStep(0.005)
        self.min_cosine.setValue(0.99)
        self.prune_button = QPushButton("Apply per-layer ratios", self)
        self.prune_button.setEnabled(False)
        self.prune_button.clicked.connect(self._on_prune)
        self.min_cosine.valueChanged.connect(self._on_threshold)
        self.ratios_label = QLabel(self)
        self.ratios_label.setWordWrap(True)
        self.ratios_label.setTextFormat(Qt.TextFormat.PlainText)
        prune_row = QHBoxLayout()
        prune_row.addWidget(self.scan_button)
        prune_row.addStretch(1)
        prune_row.addWidget(QLabel("keep cosine ≥", self))
        prune_row.addWidget(self.min_cosine)
        prune_row.addWidget(self.prune_button)
        prune_box = QGroupBox("Pruning sensitivity", self)
        self._prune_layout = QVBoxLayout(prune_box)
        self._prune_layout.addLayout(prune_row)
        self._prune_layout.addWidget(self.ratios_label)  # the chart goes above it when built

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.progress.hide()
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.cancelRequested)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(quant_box, 1)
        layout.addWidget(prune_box, 2)
        layout.addLayout(progress_row)
        layout.addWidget(self.status)

    def _build_chart(self) -> None:
        import pyqtgraph as pg

        self.chart = pg.PlotWidget(self, enableMenu=False)  # no menu: it costs 3/4 of a plot's making
        plot = self.chart.getPlotItem()
        plot.setTitle("Cosine to the original, each layer pruned alone")
        plot.setLabel("bottom", "pruned ratio")
        plot.setLabel("left", "cosine")
        plot.showGrid(x=True, y=True, alpha=0.25)
        cache_axes(plot)
        style_charts(self, [self.chart], [plot])
        self.threshold_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen("#c0392b", style=Qt.PenStyle.DashLine))
        self.threshold_line.setValue(self.min_cosine.value())
        plot.addItem(self.threshold_line)
        self._prune_layout.insertWidget(1, self.chart, 1)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """The chart is built when the views first come on screen."""
        super().showEvent(event)
        build_when_seen(self, "chart")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        """Follow a theme change (View ▸ Theme or the system's)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and is_built(self, "chart"):
            style_charts(self, [self.chart], [self.chart.getPlotItem()])

    def bind(self, model: SessionModel) -> None:
        """Follow a session: show only the analyses of the current version, and the analysis job."""

        def on_current(vid: str) -> None:
            self.clear()
            for kind, result in model.analyses.get(vid, {}).items():
                self.show_analysis(kind, result)

        def on_analysed(kind: str, vid: str, result: Analysis) -> None:
            if vid == model.current_id:  # one of another version waits until that version is current
                self.show_analysis(kind, result)

        def on_workspace() -> None:
            if model.workspace is None:
                self.clear()

        lane = model.jobs.lane(ANALYSIS)
        lane.busy.connect(self.set_running)
        lane.progress.connect(self.set_progress)
        lane.cancelled.connect(lambda _request: self.status.setText("Analysis stopped."))
        self.cancelRequested.connect(lambda: model.jobs.cancel(ANALYSIS))
        model.analysed.connect(on_analysed)
        model.current_changed.connect(on_current)
        model.workspace_changed.connect(on_workspace)

    def show_analysis(self, kind: str, result: Analysis) -> None:
        """Show a "quant-debug" or "prune-scan" result."""
        if kind == "quant-debug":
            assert isinstance(result, QuantErrorReport)
            self.show_quant_report(result)
        else:
            assert isinstance(result, SensitivityTable)
            self.show_sensitivity(result)

    # ---- progress -----------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        """Buttons off and progress shown while an analysis runs."""
        self.quant_button.setEnabled(not running)
        self.scan_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setValue(0)

    def set_progress(self, fraction: float, message: str) -> None:
        """A worker's progress."""
        self.progress.setValue(int(fraction * 1000))
        if message:
            self.status.setText(message)

    def clear(self) -> None:
        """Forget every result (another version or model is shown)."""
        self.quant_report = None
        self.sensitivity = None
        self.worst_table.setRowCount(0)
        self.requantize_button.setEnabled(False)
        if is_built(self, "chart"):
            plot = self.chart.getPlotItem()
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
            if plot.legend is not None:
                plot.legend.clear()
        self.prune_button.setEnabled(False)
        self.ratios_label.clear()
        self.status.clear()

    # ---- quantization -------------------------------------------------------------------------
    def show_quant_report(self, report: QuantErrorReport) -> None:
        """List the worst regions and colour the graph by the noise each node adds."""
        self.quant_report = report
        tensors = report.worst(SHOWN_WORST)
        self.worst_table.setRowCount(len(tensors))
        for r, entry in enumerate(tensors):
            values = (entry.quant_node or entry.node, entry.op_type, f"{entry.sqnr_db:.1f}", f"{entry.added_noise:.2e}")
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.worst_table.setItem(r, c, item)
        self.worst_table.resizeColumnsToContents()
        self.requantize_button.setEnabled(bool(tensors))
        self.status.setText(f"{len(report.tensors)} tensors compared over {report.samples} samples.")
        self.overlayRequested.emit(error_overlay(report), "relative error")

    def worst_nodes(self, n: int | None = None) -> list[str]:
        """The quantized model's node names of the `n` worst regions (as exclude_worst_and_requantize picks)."""
        return self.quant_report.worst_quant_nodes(n or self.worst_n.value()) if self.quant_report else []

    def _on_requantize(self) -> None:
        names = self.worst_nodes()
        if names:
            self.requantizeRequested.emit(names)

    # ---- pruning ------------------------------------------------------------------------------
    def show_sensitivity(self, table: SensitivityTable) -> None:
        """Draw cosine vs ratio per unit (the 10 most sensitive labelled)."""
        import pyqtgraph as pg

        self.sensitivity = table
        plot = self.chart.getPlotItem()
        for item in list(plot.listDataItems()):
            plot.removeItem(item)
        if plot.legend is None:
            plot.addLegend(offset=(-10, -10))
            style_charts(self, [self.chart], [plot])
        plot.legend.clear()
        by_unit: dict[str, list[SensitivityRow]] = {}
        for row in table.rows:
            by_unit.setdefault(row.unit, []).append(row)
        # Most sensitive first: the lowest cosine at the largest ratio.
        ordered = sorted(by_unit.items(), key=lambda kv: min((r.cosine for r in kv[1] if not math.isnan(r.cosine)), default=1.0))
        for i, (unit, rows) in enumerate(ordered):
            rows = sorted(rows, key=lambda r: r.ratio)
            colour = QColor(LINE_COLOURS[i % len(LINE_COLOURS)])
            if i >= len(LINE_COLOURS):
                colour.setAlpha(70)
            plot.plot([r.ratio for r in rows], [r.cosine for r in rows], pen=pg.mkPen(colour, width=2),
                      symbol="o", symbolSize=5, symbolBrush=colour,
                      # The legend's LabelItem renders HTML; layer names are untrusted model strings.
                      name=html.escape(unit) if i < len(LINE_COLOURS) else None)
        self.prune_button.setEnabled(bool(table.rows))
        self._on_threshold(self.min_cosine.value())
        skipped = f"; {len(table.skipped)} skipped" if table.skipped else ""
        self.status.setText(f"Scanned {len(table.units())} layers at ratios {', '.join(f'{r:g}' for r in table.ratios)}{skipped}.")

    def layer_percent(self) -> dict[str, int]:
        """Per-layer percentages that keep each layer's cosine ≥ the threshold (0 dropped)."""
        if self.sensitivity is None:
            return {}
        from onnx_workbench.pipelines.pruning.sensitivity import derive_ratios

        return {unit: pct for unit, pct in derive_ratios(self.sensitivity, self.min_cosine.value()).items() if pct > 0}

    def _on_threshold(self, value: float) -> None:
        if is_built(self, "chart"):
            self.threshold_line.setValue(value)
        if self.sensitivity is not None:
            ratios = self.layer_percent()
            self.ratios_label.setText(
                f"{len(ratios)} of {len(self.sensitivity.units())} layers can be pruned: "
                + ", ".join(f"{u} {p}%" for u, p in list(ratios.items())[:8]) + (" …" if len(ratios) > 8 else "")
            )

    def _on_prune(self) -> None:
        if self.sensitivity is None:
            return
        ratios = self.layer_percent()
        if not ratios:
            self.status.setText("No layer keeps the cosine at that threshold even at the smallest ratio; lower it.")
            return
        # ratio 0: only the listed layers are pruned, each by its own percentage, exactly as the
        # scan measured them (round_to 1: no rounding up to kernel-friendly channel counts).
        name = "prune-channels" if self.sensitivity.mode == "channels" else "prune-neurons"
        self.pruneRequested.emit(name, {"ratio": 0.0, "round_to": 1, "layer_percent": ratios})
