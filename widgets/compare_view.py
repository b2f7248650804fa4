"""Compare two versions side by side: figures, fidelity, latency distributions, per-op-type deltas."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from onnx_workbench.pipelines.results import CompareResult, ProfileRun, VersionMetrics
from onnx_workbench.pipelines.session_model import COMPARE, SessionModel
from onnx_workbench.pipelines.versions import Version, Workspace
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.built_on_use import BuiltOnUse, build_when_seen, is_built
from onnx_workbench.widgets.chart_theme import style_charts
from onnx_workbench.widgets.one_per_turn import deferred
from onnx_workbench.widgets.profile_dashboard import cache_axes
from onnx_workbench.widgets.version_tree import accuracy_figures, fidelity_badge, version_title

COLOUR_A = QColor(76, 114, 176)
COLOUR_B = QColor(221, 132, 82)
BETTER = QColor("#2e8b57")
WORSE = QColor("#c0392b")
TOP_OPS = 10


def measured_when(profile: ProfileRun | None, now: float | None = None) -> str:
    """When and under which conditions a stored profile was taken: '12 min ago · 1 thread · load 0.8'."""
    if profile is None:
        return "not profiled"
    parts = []
    if profile.measured_at is not None:
        parts.append(formatting.age((now if now is not None else time.time()) - profile.measured_at))
    threads = profile.options.get("intra_op_threads")
    parts.append(f"{threads} thread{'s' if threads != 1 else ''}" if threads else "auto threads")
    if profile.load_avg is not None:
        parts.append(f"load {profile.load_avg:.1f}")
    return " · ".join(parts)


def _rows(a: Version, b: Version, interleaved: CompareResult | None = None
          ) -> list[tuple[str, str, str, str, float | None]]:
    """(figure, A text, B text, change text, signed change where lower is better; None: not coloured).

    Latencies come from `interleaved` (one comparison run timing both) when given. Otherwise
    they are the versions' separate profiles, taken at other times under other load: they are
    labelled so, with when and how each was measured, and their change is not coloured as a verdict.
    """
    rows = []
    ma, mb = VersionMetrics.of(a.metrics), VersionMetrics.of(b.metrics)
    for key, title, fmt in (("size_bytes", "Size", formatting.size), ("nodes", "Nodes", formatting.count),
                            ("params", "Parameters", formatting.count), ("macs", "MACs", formatting.count)):
        va, vb = getattr(ma, key), getattr(mb, key)
        change = (vb - va) / va if va and vb is not None else None
        rows.append((title, fmt(va), fmt(vb), f"{change:+.1%}" if change is not None else "—", change))
    rows.append(("Fidelity", fidelity_badge(a)[0], fidelity_badge(b)[0], "", None))
    for key, title in (("top1", "Top-1 accuracy"), ("top5", "Top-5 accuracy")):
        va, vb = (accuracy_figures(v, [a, b]) for v in (a, b))
        if va is not None or vb is not None:
            change = vb[key] - va[key] if va is not None and vb is not None else None
            # Accuracy lost is worse: the sign is flipped so that "lower is better" holds for colouring.
            rows.append((title, f"{va[key]:.2f}%" if va else "—", f"{vb[key]:.2f}%" if vb else "—",
                         f"{change:+.2f} pts" if change is not None else "—", -change if change is not None else None))
    if interleaved is not None:
        latency_a, latency_b = interleaved.a.latency_ms, interleaved.b.latency_ms
        kind = "interleaved"
    else:
        latency_a, latency_b = (m.profile.latency_ms if m.profile is not None else {} for m in (ma, mb))
        kind = "separate runs"
        rows.append(("Profiled", measured_when(ma.profile), measured_when(mb.profile), "", None))
    for pct in ("p50", "p99"):
        va, vb = latency_a.get(pct), latency_b.get(pct)
        change = (vb - va) / va if va and vb is not None else None
        change_text = "—" if change is None else f"{change:+.1%}" + ("" if interleaved is not None else " ?")
        rows.append((f"{pct} latency ({kind})", f"{va:.3f} ms" if va is not None else "—",
                     f"{vb:.3f} ms" if vb is not None else "—", change_text,
                     change if interleaved is not None else None))
    return rows


def _profile(version: Version) -> ProfileRun | None:
    """The profile stored on a version, if it was profiled."""
    return VersionMetrics.of(version.metrics).profile


def op_type_deltas(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    """Per-op-type time B − A in ms per run (an op type missing on one side counts as 0)."""
    ta = {o["op_type"]: float(o.get("ms_per_run", 0.0)) for o in a.get("op_types", [])}
    tb = {o["op_type"]: float(o.get("ms_per_run", 0.0)) for o in b.get("op_types", [])}
    return {op: tb.get(op, 0.0) - ta.get(op, 0.0) for op in set(ta) | set(tb)}


class CompareView(QWidget):
    """Pick A and B, see their figures; Compare runs both interleaved in one worker."""

    compareRequested = Signal(str, str, dict)  # a id, b id, options
    cancelRequested = Signal()
    # The distribution and per-op delta charts (a pg.GraphicsLayoutWidget, with dist_plot and
    # delta_plot), built when first shown or read: the view usually starts in a hidden tab.
    charts = BuiltOnUse("_build_charts")
    dist_plot = BuiltOnUse("_build_charts")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.result: CompareResult | None = None
        self.combo_a = QComboBox(self)
        self.combo_b = QComboBox(self)
        for combo in (self.combo_a, self.combo_b):
            combo.currentIndexChanged.connect(lambda _i: self.refresh_table())
        self.runs = QSpinBox(self)
        self.runs.setRange(10, 100_000)
        self.runs.setValue(200)
        self.runs.setToolTip("interleaved rounds (A and B alternate)")
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.clicked.connect(self._on_compare)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.cancelRequested)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.progress.hide()
        pickers = QHBoxLayout()
        pickers.addWidget(QLabel("A", self))
        pickers.addWidget(self.combo_a, 1)
        pickers.addWidget(QLabel("B", self))
        pickers.addWidget(self.combo_b, 1)
        pickers.addWidget(QLabel("Rounds", self))
        pickers.addWidget(self.runs)
        pickers.addWidget(self.compare_button)
        pickers.addWidget(self.stop_button)

        self.verdict = QLabel("Pick two versions and press Compare to time them interleaved.", self)
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["", "A", "B", "Change"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        self.table.setMinimumWidth(360)
        # What the charts show; drawn into them when they exist (built when first shown).
        self._distributions: tuple[list[float], list[float]] = ([], [])
        self._distributions_title = "Latency distributions (separate runs)"
        self._per_op: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(pickers)
        layout.addWidget(self.progress)
        layout.addWidget(self.verdict)
        layout.addWidget(self.splitter, 1)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """The charts are built when the view is first shown."""
        super().showEvent(event)
        build_when_seen(self, "charts")

    def _build_charts(self) -> None:
        import pyqtgraph as pg

        self.charts = pg.GraphicsLayoutWidget(self)
        self.charts.setMinimumSize(320, 360)
        self.dist_plot = self.charts.addPlot(row=0, col=0, title="Latency distributions (separate runs)",
                                            enableMenu=False)  # no menu: it costs 3/4 of a plot's making
        self.dist_plot.setLabel("bottom", "ms")
        self.dist_plot.setLabel("left", "runs")
        self.delta_plot = self.charts.addPlot(row=1, col=0, title="Per-op-type time, B − A (separate profiles)",
                                             enableMenu=False)
        self.delta_plot.setLabel("bottom", "ms per run")
        self.delta_plot.invertY(True)
        for plot in (self.dist_plot, self.delta_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            cache_axes(plot)
        self.dist_plot.addLegend(offset=(-10, 10))
        style_charts(self, [self.charts], [self.dist_plot, self.delta_plot])
        fill_a, fill_b = QColor(COLOUR_A), QColor(COLOUR_B)
        fill_a.setAlpha(110)
        fill_b.setAlpha(110)
        self.curve_a = self.dist_plot.plot(stepMode="center", fillLevel=0, brush=fill_a, pen=pg.mkPen(COLOUR_A, width=2), name="A")
        self.curve_b = self.dist_plot.plot(stepMode="center", fillLevel=0, brush=fill_b, pen=pg.mkPen(COLOUR_B, width=2), name="B")
        self.delta_bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.7, brushes=[])
        self.delta_plot.addItem(self.delta_bars)

        self.splitter.addWidget(self.charts)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([440, 660])  # the table needs ~440 px with its "(separate runs)" labels
        self._paint_distributions()
        self._paint_deltas()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        """Follow a theme change (View ▸ Theme or the system's)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and is_built(self, "charts"):
            style_charts(self, [self.charts], [self.dist_plot, self.delta_plot])

    # ---- versions -----------------------------------------------------------------------------
    def set_workspace(self, workspace: Workspace | None) -> None:
        """List the workspace's versions in both pickers (keeping the picks where possible)."""
        self.workspace = workspace
        picks = (self.combo_a.currentData(), self.combo_b.currentData())
        for combo in (self.combo_a, self.combo_b):
            combo.blockSignals(True)
            combo.clear()
            for version in workspace.versions if workspace else []:
                combo.addItem(f"{version_title(version)} · {version.pass_name or 'source'}", version.id)
            combo.blockSignals(False)
        versions = workspace.versions if workspace else []
        self.pick("a", picks[0] if picks[0] else (versions[0].id if versions else None))
        self.pick("b", picks[1] if picks[1] else (versions[-1].id if versions else None))
        self.refresh_table()

    def pick(self, side: str, version_id: str | None) -> None:
        """Set the A or B picker."""
        combo = self.combo_a if side == "a" else self.combo_b
        index = combo.findData(version_id)
        if index >= 0:
            combo.setCurrentIndex(index)

    def picked(self) -> tuple[str | None, str | None]:
        """The version ids picked as A and B."""
        return self.combo_a.currentData(), self.combo_b.currentData()

    def _on_compare(self) -> None:
        a, b = self.picked()
        if a is None or b is None:
            return
        self.compareRequested.emit(a, b, {"runs": self.runs.value(), "warmup": 5})

    def bind(self, model: SessionModel) -> None:
        """Follow a session: its versions, the picks, its comparisons and the compare job."""

        def follow_workspace(*_args: object) -> None:
            self.set_workspace(model.workspace)
            if model.comparison is None:
                self.clear_result()

        model.workspace_changed.connect(follow_workspace)
        model.version_added.connect(deferred(self, follow_workspace))  # a turn after the step's row (see one_per_turn)
        model.version_changed.connect(deferred(self, lambda _vid: self.refresh_table()))
        model.compared.connect(self.show_result)
        lane = model.jobs.lane(COMPARE)
        lane.busy.connect(self.set_running)
        lane.progress.connect(self.set_progress)
        lane.cancelled.connect(lambda _request: self.verdict.setText("Comparison stopped."))
        self.cancelRequested.connect(lambda: model.jobs.cancel(COMPARE))

    def set_running(self, running: bool) -> None:
        """Compare off while the comparison runs."""
        self.compare_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setValue(0)
            self.verdict.setText("Timing A and B interleaved…")

    def set_progress(self, fraction: float, _message: str = "") -> None:
        """A worker's progress."""
        self.progress.setValue(int(fraction * 1000))

    def clear_result(self) -> None:
        """Forget the last interleaved comparison (the model changed)."""
        self.result = None
        self.verdict.setText("Pick two versions and press Compare to time them interleaved.")
        self._draw_distributions([], [])

    # ---- showing --------------------------------------------------------------------------------
    def refresh_table(self) -> None:
        """Fill the table and per-op deltas from the picked versions' stored figures."""
        a, b = self.picked()
        if self.workspace is None or a is None or b is None:
            self.table.setRowCount(0)
            return
        va, vb = self.workspace.get(a), self.workspace.get(b)
        interleaved = self.result if self.result is not None and self.result.is_about(a, b) else None
        rows = _rows(va, vb, interleaved)
        self.table.setRowCount(len(rows))
        for r, (title, text_a, text_b, change_text, change) in enumerate(rows):
            for c, text in enumerate((title, text_a, text_b, change_text)):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 3 and change:
                    item.setForeground(QBrush(BETTER if change < 0 else WORSE))
                if title.endswith("(separate runs)") or title == "Profiled":
                    item.setToolTip("Measured in separate profiles, at other times and perhaps under other load; "
                                    "press Compare to time A and B interleaved.")
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        pa, pb = _profile(va), _profile(vb)
        if interleaved is None:
            self._draw_distributions(pa.latencies_ms if pa else [], pb.latencies_ms if pb else [],
                                     "Latency distributions (separate runs)")
            if self.result is not None:
                # The verdict above was about another pair: it must not sit over this table.
                self.verdict.setText("Press Compare to time A and B interleaved; the latencies below are "
                                     "from separate runs (see Profiled).")
        self._draw_deltas(pa.per_op if pa else None, pb.per_op if pb else None)

    def show_result(self, result: CompareResult) -> None:
        """Show an interleaved comparison's distributions and verdict."""
        self.result = result
        self.pick("a", result.a_id)
        self.pick("b", result.b_id)
        self.refresh_table()  # the table's latencies become this run's
        self._draw_distributions(result.a.latencies_ms, result.b.latencies_ms, "Latency distributions (interleaved)")
        speedup = result.speedup if result.speedup is not None else float("nan")
        self.verdict.setText(f"{result.verdict}  ({result.rounds} interleaved rounds; "
                             f"speed-up {speedup:.2f}x = A time / B time)")

    def _draw_distributions(self, a: list[float], b: list[float], title: str | None = None) -> None:
        self._distributions = (list(a), list(b))
        self._distributions_title = title or self._distributions_title
        if is_built(self, "charts"):
            self._paint_distributions()

    def _paint_distributions(self) -> None:
        self.dist_plot.setTitle(self._distributions_title)
        values = [np.asarray(v, dtype=float) for v in self._distributions]
        present = [v for v in values if v.size]
        if not present:
            self.curve_a.setData([], [])
            self.curve_b.setData([], [])
            return
        # Shared bins so the two distributions are comparable; the far tail (a preempted run)
        # is clipped into the last bin so it does not squeeze the bodies into one bar.
        everything = np.concatenate(present)
        edges = np.linspace(everything.min(), np.percentile(everything, 99), 50)
        for curve, v in ((self.curve_a, values[0]), (self.curve_b, values[1])):
            if v.size:
                counts, _ = np.histogram(np.clip(v, edges[0], edges[-1]), bins=edges)
                curve.setData(edges, counts)
            else:
                curve.setData([], [])

    def _draw_deltas(self, a: dict[str, Any] | None, b: dict[str, Any] | None) -> None:
        self._per_op = (a, b)
        if is_built(self, "charts"):
            self._paint_deltas()

    def _paint_deltas(self) -> None:
        import pyqtgraph as pg

        a, b = self._per_op
        if not a or not b:
            self.delta_bars.setOpts(x0=[], y=[], width=[], brushes=[])
            self.delta_plot.getAxis("left").setTicks([[]])
            return
        top = sorted(op_type_deltas(a, b).items(), key=lambda kv: abs(kv[1]), reverse=True)[:TOP_OPS]
        widths = [d for _op, d in top]
        self.delta_bars.setOpts(
            x0=[min(0.0, w) for w in widths], y=list(range(len(top))), width=[abs(w) for w in widths],
            height=0.7, brushes=[pg.mkBrush(BETTER if w < 0 else WORSE) for w in widths],
        )
        self.delta_plot.getAxis("left").setTicks([[(i, op) for i, (op, _d) in enumerate(top)]])
        if top:
            self.delta_plot.setYRange(-0.6, len(top) - 0.4, padding=0)

    def deltas(self) -> dict[str, float]:
        """Per-op-type time change B − A shown now (ms per run), for tests."""
        a, b = self.picked()
        if self.workspace is None or a is None or b is None:
            return {}
        pa, pb = _profile(self.workspace.get(a)), _profile(self.workspace.get(b))
        return op_type_deltas(pa.per_op, pb.per_op) if pa and pb and pa.per_op and pb.per_op else {}
