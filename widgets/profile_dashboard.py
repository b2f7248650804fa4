"""The Profile dashboard: live latency, histogram, memory, per-op time and sweep charts (pyqtgraph).

Worker records are only buffered by `feed()`; a QTimer redraws at most REDRAW_HZ times a
second and only when something new arrived, so a fast model (thousands of runs a second)
never costs one redraw per sample (pyqtgraph's scrolling-plot advice).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from onnx_workbench.pipelines.background import Request
from onnx_workbench.pipelines.results import ProfileRun, SweepResult
from onnx_workbench.pipelines.session_model import PROFILE, SessionModel
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.built_on_use import BuiltOnUse, build_in_background, is_built
from onnx_workbench.widgets.chart_theme import ink, style_charts
from onnx_workbench.widgets.one_per_turn import later

if TYPE_CHECKING:  # imported where the charts are built (the app imports it before its window shows, app.gui)
    import pyqtgraph as pg

# A tick draws one chart (~5-15 ms of the GUI thread): 20 a second keep each live chart moving
# ~7 times a second and leave the cores to the window and to the model being measured.
REDRAW_HZ = 20
ROLLING_WINDOW = 50  # runs in the rolling p50/p99
ROLLING_POINTS = 200  # run indices the rolling lines are evaluated at
MAX_PLOTTED_RUNS = 5000  # the run chart shows the latest runs only
TOP_OPS = 10
CHARTS_MIN_HEIGHT = 280  # two rows of readable charts; the dock scrolls when it is smaller
# What a redraw draws: only the charts whose data changed, since every chart drawn again is
# repainted (most of the GUI thread's time while a profile streams in). A timer tick draws one
# of them, in this order, so no single tick holds the window up for long.
RUNS, HISTOGRAM, MEMORY, OPS, SWEEP = "runs", "histogram", "memory", "ops", "sweep"
DRAW_ORDER = (RUNS, HISTOGRAM, MEMORY, OPS, SWEEP)
EVERYTHING = frozenset(DRAW_ORDER)
COLOURS = {"latency": "#4c72b0", "p50": "#55a868", "p99": "#c44e52", "rss": "#8172b2", "gpu": "#dd8452", "bar": "#4c72b0"}


def rolling_percentiles(values: np.ndarray, window: int = ROLLING_WINDOW, points: int = ROLLING_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rolling p50 and p99 over the last `window` runs, at no more than `points` run indices.

    Returns (indices, p50, p99). Evaluating every run would cost a sort per run at 30 Hz;
    a few hundred points draw the same line.
    """
    if values.size == 0:
        return values, values, values
    ends = np.unique(np.linspace(1, values.size, min(points, values.size)).astype(int))
    p50 = np.empty(ends.size)
    p99 = np.empty(ends.size)
    short = ends < window  # the first runs: growing windows
    if short.any():
        # One sort for all of them (a percentile call each cost ~50 calls per redraw): row i
        # holds the first ends[i] runs, padded with +inf that sorts after them.
        lengths = ends[short]
        width = int(lengths.max())
        rows = np.where(np.arange(width) < lengths[:, None], values[:width], np.inf)
        rows.sort(axis=1)
        p50[short], p99[short] = (_sorted_percentile(rows, lengths, q) for q in (50, 99))
    if (~short).any():
        windows = np.lib.stride_tricks.sliding_window_view(values, window)[ends[~short] - window]
        p50[~short], p99[~short] = np.percentile(windows, (50, 99), axis=1)
    return ends - 1, p50, p99


# Steps a chart's axis limit takes: a limit that moves with every new run redraws the axis
# (ticks, labels) every frame, most of a frame's cost; one that jumps a step at a time rarely does.
NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
# Limits that grow all the while runs stream in (runs per histogram bin, seconds of memory
# samples) take bigger steps while they do: each is an axis drawn again (~5 ms of the GUI thread).
GROWING_STEPS = (1.0, 2.0, 5.0, 10.0)
HEADROOM = 1.05  # above a chart's highest value, so a line at the maximum is not drawn on the frame


def nice_ceiling(value: float, steps: tuple[float, ...] = NICE_STEPS) -> float:
    """The smallest of `steps` (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8) times a power of ten that is >= `value` (> 0)."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    scale = 10.0 ** np.floor(np.log10(value))
    return next(step * scale for step in steps if step * scale >= value * (1 - 1e-12))


def nice_floor(value: float) -> float:
    """The largest of the same steps that is <= `value` (0 for values <= 0)."""
    if not np.isfinite(value) or value <= 0:
        return 0.0
    scale = 10.0 ** np.floor(np.log10(value))
    return max(step * scale for step in NICE_STEPS if step * scale <= value * (1 + 1e-12))


def shown_runs(total: int, planned: int = 0, most: int = MAX_PLOTTED_RUNS) -> tuple[int, int]:
    """The first run index the run chart shows and its x-axis limit.

    Up to `most` runs all are shown, on an axis as long as the runs `planned` (known when the
    profile starts; the chart fills from left to right) or else one that grows in nice steps;
    past that the latest ones, the window moving on by tenths so the axis changes once per
    `most // 10` runs.
    """
    if total <= most:
        limit = planned if planned >= max(total, 1) else nice_ceiling(max(total, 1))
        return 0, int(min(limit, most))
    step = max(1, most // 10)
    first = -(-(total - most) // step) * step
    return first, first + most


def _sorted_percentile(rows: np.ndarray, lengths: np.ndarray, q: float) -> np.ndarray:
    """Percentile `q` of the first `lengths[i]` values of each sorted row, interpolated linearly
    between the closest ranks as np.percentile does by default."""
    rank = (lengths - 1) * q / 100
    below = np.floor(rank).astype(int)
    above = np.minimum(below + 1, lengths - 1)
    pick = np.arange(len(rows))
    low, high = rows[pick, below], rows[pick, above]
    return low + (high - low) * (rank - below)


def _plot(charts: QWidget, row: int, col: int, title: str, x: str, y: str, colspan: int = 1) -> Iterator[None]:
    """A plot on its own canvas in `charts`' grid, made in three steps (returned by `yield from`).

    One canvas (and scene) per chart, not one for all: a chart drawn again makes Qt walk the
    items of its scene, each asked its bounds in Python, so one shared scene cost every tick
    the items of all five charts.
    """
    import pyqtgraph as pg

    # The axes, the plot, then its canvas: ~10-15 ms of the GUI thread each (the first plot's
    # twice that in one step made the window stutter while it settled).
    axes = {side: pg.AxisItem(side) for side in ("left", "bottom", "top", "right")}
    yield
    # No context menu: making it is 3/4 of the cost of a plot, which is built while the window runs.
    plot = pg.PlotItem(title=title, enableMenu=False, axisItems=axes)
    for side in ("top", "right"):  # given, they show; the plot's own would not
        plot.hideAxis(side)
    yield
    canvas = pg.PlotWidget(charts, plotItem=plot)
    # Hidden, it keeps its cell: charts shown one at a time never resize the others (see redraw).
    policy = canvas.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    canvas.setSizePolicy(policy)
    charts.layout().addWidget(canvas, row, col, 1, colspan)
    plot.setLabel("bottom", x)
    plot.setLabel("left", y)
    plot.showGrid(x=True, y=True, alpha=0.25)
    cache_axes(plot)
    return plot


def cache_axes(plot: pg.PlotItem) -> None:
    """Paint axes from a pixmap cache: re-drawing tick text every frame cost ~40 ms a frame.

    Major ticks only: an axis drawn again (its limits moved) costs ~5 ms instead of ~9 with the
    minor ticks and their grid lines, which a chart a few hundred pixels high hardly shows.
    Also no automatic SI prefix: "ms (x0.001)" reads worse than plain decimals.
    """
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setCacheMode(axis.CacheMode.DeviceCoordinateCache)
        axis.setStyle(maxTickLevel=0)
        axis.enableAutoSIPrefix(False)


def fix_value_axis_width(plot: pg.PlotItem, widest: str = "0000.0") -> None:
    """Reserve the left axis room for tick labels as wide as `widest`, instead of fitting each new set.

    A live chart's labels grow ("8" -> "10", "80" -> "100"); each time the axis widened, the
    whole chart grid was laid out and painted again (~50 ms, against ~5 ms for one chart).
    """
    axis = plot.getAxis("left")
    axis.setStyle(autoExpandTextSpace=False, tickTextWidth=QFontMetrics(axis.font()).horizontalAdvance(widest) + 2)


class ProfileDashboard(QWidget):
    """Start/stop profiling and watch it live; shows stored results of the current version."""

    # The five charts (a widget with a pyqtgraph canvas each), built when first needed or in the
    # background once a session has started: until something is measured the placeholder stands
    # in for them, and start-up does not wait for pyqtgraph.
    charts = BuiltOnUse("_build_charts")

    startRequested = Signal(dict)  # ProfileOptions values
    stopRequested = Signal()
    sweepRequested = Signal(dict, list, list)  # options, batches, threads
    # The version measured, node -> share of time (empty: clear the heat map).
    overlayRequested = Signal(str, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.redraw_count = 0
        self.version_id = ""  # the session version whose figures are shown ("" alone or when none)
        self._dirty: set[str] = set()  # the charts to draw at the next ticks
        self._limits: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}  # chart -> (x, y) limits set
        self._next_part = 0  # index in DRAW_ORDER where the next tick starts looking
        self._rolling_fresh = False  # the last drawing of the run chart drew the rolling lines too
        self._reset_buffers()
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REDRAW_HZ))
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.set_running(False)

    # ---- construction -----------------------------------------------------------------------
    def _build(self) -> None:
        self.start_button = QPushButton("Profile (F5)", self)
        self.start_button.clicked.connect(self._on_start)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.clicked.connect(self.stopRequested)
        self.runs = QSpinBox(self)
        self.runs.setRange(1, 1_000_000)
        self.runs.setValue(200)
        self.runs.setToolTip("timed runs")
        self.warmup = QSpinBox(self)
        self.warmup.setRange(0, 100_000)
        self.warmup.setValue(10)
        self.warmup.setToolTip("untimed warm-up runs")
        self.threads = QSpinBox(self)
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("auto")
        self.threads.setToolTip("intra-op threads (auto: ONNX Runtime's default)")
        self.per_op = QCheckBox("Per-op time", self)
        self.per_op.setChecked(True)
        self.heat_map = QCheckBox("Heat map on graph", self)
        self.heat_map.setChecked(True)
        self.heat_map.toggled.connect(lambda _on: self._emit_overlay())
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.sweep_batches = QLineEdit("1, 2, 4, 8", self)
        self.sweep_batches.setMaximumWidth(140)
        self.sweep_batches.setToolTip("batch sizes of the sweep")
        self.sweep_threads = QLineEdit("1, 2", self)
        self.sweep_threads.setMaximumWidth(100)
        self.sweep_threads.setToolTip("intra-op thread counts of the sweep")
        self.sweep_button = QPushButton("Sweep", self)
        self.sweep_button.clicked.connect(self._on_sweep)

        controls = QHBoxLayout()
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)
        for label, widget in (("Runs", self.runs), ("Warm-up", self.warmup), ("Threads", self.threads)):
            controls.addWidget(QLabel(label, self))
            controls.addWidget(widget)
        controls.addWidget(self.progress, 1)  # stretches; a fixed width overflowed a 1280-px window
        sweep = QHBoxLayout()
        sweep.addWidget(self.per_op)
        sweep.addWidget(self.heat_map)
        sweep.addSpacing(12)
        sweep.addWidget(QLabel("Sweep batches", self))
        sweep.addWidget(self.sweep_batches)
        sweep.addWidget(QLabel("threads", self))
        sweep.addWidget(self.sweep_threads)
        sweep.addWidget(self.sweep_button)
        sweep.addStretch(1)

        self.stat_labels: dict[str, QLabel] = {}
        stats = QGridLayout()
        for i, (key, title) in enumerate((("runs", "Runs"), ("p50", "p50"), ("p99", "p99"),
                                          ("throughput", "Throughput"), ("rss", "Peak RSS"), ("gpu", "GPU memory"))):
            name = QLabel(title, self)
            name.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # quieter than values, readable in dark
            value = QLabel("—", self)
            font = value.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            font.setBold(True)
            value.setFont(font)
            stats.addWidget(name, 0, i)
            stats.addWidget(value, 1, i)
            self.stat_labels[key] = value


        self.note = QLabel(self)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addLayout(sweep)
        layout.addLayout(stats)
        self._chart_area = QVBoxLayout()  # the charts go here when first needed
        self._chart_area.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._chart_area, 1)
        # Before anything is measured the empty charts would take half the window: a line instead.
        self.placeholder = QLabel("Nothing measured yet for this version: press Profile (F5) to time it "
                                  "(latency per run, histogram, worker memory, time per op type).", self)
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.note)

    def _build_charts(self) -> Iterator[None]:
        """The charts, a plot per step (see BuiltOnUse and build_in_background)."""
        import pyqtgraph as pg

        charts = QWidget(self)
        grid = QGridLayout(charts)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        charts.setMinimumHeight(CHARTS_MIN_HEIGHT)
        yield
        # Short titles: a plot is never narrower than its title, and five of them must fit the
        # Profile dock of a 1280-px window without a horizontal scroll bar.
        self.run_plot = yield from _plot(charts, 0, 0, "Latency per run", "run", "ms", colspan=2)
        yield  # a plot costs 10-30 ms of the GUI thread a step: one step per event-loop turn
        self.run_plot.addLegend(offset=(60, 2), colCount=3)
        self.run_curve = self.run_plot.plot(pen=pg.mkPen(COLOURS["latency"], width=1), name="run")
        self.p50_curve = self.run_plot.plot(pen=pg.mkPen(COLOURS["p50"], width=2), name="rolling p50")
        self.p99_curve = self.run_plot.plot(pen=pg.mkPen(COLOURS["p99"], width=2), name="rolling p99")
        for curve in (self.run_curve, self.p50_curve, self.p99_curve):
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
        yield
        self.hist_plot = yield from _plot(charts, 0, 2, "Histogram", "ms", "runs")
        yield
        self.hist_curve = self.hist_plot.plot(stepMode="center", fillLevel=0, brush=QColor(76, 114, 176, 150),
                                              pen=pg.mkPen(COLOURS["latency"]))
        yield
        self.mem_plot = yield from _plot(charts, 1, 0, "Worker RSS (GPU orange)", "s", "MiB")
        for plot in (self.run_plot, self.hist_plot, self.mem_plot):  # the charts that change while a profile runs
            fix_value_axis_width(plot)
        yield
        self.rss_curve = self.mem_plot.plot(pen=pg.mkPen(COLOURS["rss"], width=2), name="RSS")
        # Only drawn when the worker measures a GPU; the title says which line is which.
        self.gpu_curve = self.mem_plot.plot(pen=pg.mkPen(COLOURS["gpu"], width=2), name="GPU")
        yield
        self.op_plot = yield from _plot(charts, 1, 1, "Time per op type", "ms per run", "")
        yield
        self.op_bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brush=COLOURS["bar"])
        self.op_plot.addItem(self.op_bars)
        self.op_plot.invertY(True)
        yield
        self.sweep_plot = yield from _plot(charts, 1, 2, "Sweep", "p50 (ms)", "samples/s")
        yield
        self.sweep_scatter = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(COLOURS["latency"]))
        self.sweep_plot.addItem(self.sweep_scatter)
        self._sweep_labels: list[pg.TextItem] = []
        yield
        self._plots = {RUNS: self.run_plot, HISTOGRAM: self.hist_plot, MEMORY: self.mem_plot,
                       OPS: self.op_plot, SWEEP: self.sweep_plot}
        charts.hide()  # redraw() shows it once there is something to draw
        self._chart_area.addWidget(charts)
        self.charts = charts  # last: the charts count as built once every part exists
        self._style_charts()

    def _style_charts(self) -> None:
        plots = list(self._plots.values())
        style_charts(self, [plot.getViewWidget() for plot in plots], plots)
        self._dirty.add(SWEEP)  # sweep labels are drawn in the ink of the moment

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        """Follow a theme change (View ▸ Theme or the system's)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and is_built(self, "charts"):
            self._style_charts()

    # ---- options ------------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """ProfileOptions values from the controls."""
        return {"runs": self.runs.value(), "warmup": self.warmup.value(),
                "intra_op_threads": self.threads.value(), "per_op": self.per_op.isChecked(),
                "per_op_runs": 10}

    def _on_start(self) -> None:
        self.startRequested.emit(self.options())

    def _on_sweep(self) -> None:
        try:
            batches = [int(v) for v in self.sweep_batches.text().replace(",", " ").split()]
            threads = [int(v) for v in self.sweep_threads.text().replace(",", " ").split()]
        except ValueError:
            self.note.setText("Sweep batches and threads take whole numbers separated by commas, e.g. 1, 2, 4.")
            return
        options = {**self.options(), "per_op": False, "runs": max(20, self.runs.value() // 4)}
        self.sweepRequested.emit(options, batches, threads)

    def bind(self, model: SessionModel) -> None:
        """Follow a session: show the current version's profile, and a running one live while it is the one shown."""
        lane = model.jobs.lane(PROFILE)

        def on_started(request: Request) -> None:
            if request.job == "profile":
                self.version_id = request.about[0]
                self.clear()

        def on_record(request: Request, record: dict[str, Any]) -> None:
            # A profile of another version keeps running after a version switch; its live figures
            # are stored on that version when it ends, but never drawn over this one's.
            if request.about[0] == self.version_id:
                self.feed(record)

        def on_profiled(vid: str, run: ProfileRun) -> None:
            if vid == model.current_id:
                self.version_id = vid
                self.show_result(run)

        def on_current(vid: str) -> None:
            running = lane.running
            if running is not None and running.about == (vid,):
                self.version_id = vid  # its live figures keep streaming in
                return
            self.version_id = vid
            stored = model.stored_profile(vid)
            if stored is not None:
                self.show_result(stored, SweepResult.from_metrics(model.version(vid).metrics))
            else:
                self.clear()  # its placeholder says nothing was measured for this version
                self.note.clear()

        def on_workspace() -> None:
            if model.workspace is None:
                self.version_id = ""
                self.clear()
                self.note.clear()
            else:  # a model is open and shown: ready the charts for its first profile
                build_in_background(self, "charts")

        lane.started.connect(on_started)
        lane.record.connect(on_record)
        lane.busy.connect(self.set_running)
        lane.progress.connect(self.set_progress)
        lane.cancelled.connect(lambda _request: self.note.setText("Profiling stopped; nothing was stored."))
        self.stopRequested.connect(model.stop_profile)
        model.profiled.connect(on_profiled)
        model.swept.connect(lambda _vid, sweep: self.show_sweep(sweep))
        model.current_changed.connect(on_current)
        model.workspace_changed.connect(on_workspace)

    def set_running(self, running: bool) -> None:
        """Start/Sweep off and Stop on while a job runs."""
        self.start_button.setEnabled(not running)
        self.sweep_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.progress.setVisible(running)
        self._dirty |= EVERYTHING  # charts replace the placeholder while measuring

    def set_progress(self, fraction: float, message: str) -> None:
        """A worker's progress."""
        self.progress.setValue(int(fraction * 1000))
        if message:
            self.note.setText(message)

    # ---- data in ------------------------------------------------------------------------------
    def _reset_buffers(self) -> None:
        self._latencies: list[float] = []
        self._planned_runs = 0  # the timed runs a live profile will make (0: unknown, or timed by duration)
        self._mem_t: list[float] = []
        self._rss: list[float] = []
        self._gpu: list[float] = []
        self._per_op: dict[str, Any] | None = None
        self._sweep: list[dict[str, Any]] = []
        self._stats: dict[str, Any] = {}
        self._peak_gpu: float | None = None
        self._peak_rss: float | None = None

    def clear(self) -> None:
        """Empty every chart (a new run starts, or a version without a profile is shown)."""
        self._reset_buffers()
        self._dirty |= EVERYTHING
        self._emit_overlay()  # no per-op figures: the heat map goes too

    def feed(self, record: dict[str, Any]) -> None:
        """Buffer one worker record; the next timer tick draws it."""
        kind = record.get("kind")
        if kind == "config" and "grid" not in record:
            self._latencies, self._mem_t, self._rss, self._gpu, self._stats = [], [], [], [], {}
            self._per_op = None
            options = record.get("options") or {}
            self._planned_runs = 0 if options.get("duration_s") else int(options.get("runs") or 0)
            changed = {RUNS, HISTOGRAM, MEMORY, OPS}
        elif kind == "sample" and record.get("phase") == "timed" and "model" not in record:
            self._latencies.extend(float(v) for v in record.get("latencies_ms", []))
            changed = {RUNS, HISTOGRAM}
        elif kind == "memory":
            self._mem_t.append(float(record.get("t_s", len(self._mem_t))))
            self._rss.append(float(record.get("rss_bytes") or 0) / 2**20)
            gpu = record.get("gpu_bytes")
            self._gpu.append(float(gpu) / 2**20 if gpu is not None else np.nan)
            changed = {MEMORY}
        elif kind == "stats" and "cell" in record:
            self._sweep.append(record["cell"])
            changed = {SWEEP}
        elif kind == "stats":
            self._stats = record
            changed = {RUNS}  # the figures above the charts
        elif kind == "per_op":
            self._per_op = record
            self._emit_overlay()
            changed = {OPS}
        else:
            return
        self._dirty |= changed

    def show_result(self, run: ProfileRun, sweep: SweepResult | None = None) -> None:
        """Show a finished profile (from the worker or stored on a version), with its sweep if any."""
        self._reset_buffers()
        self._latencies = list(run.latencies_ms)
        # (seconds, rss bytes) pairs of a live run; GPU memory is live-only.
        self._mem_t = [t for t, _rss in run.rss_series]
        self._rss = [rss / 2**20 for _t, rss in run.rss_series]
        self._gpu = [np.nan] * len(run.rss_series)
        self._stats = {"latency_ms": run.latency_ms, "throughput_per_s": run.throughput_per_s, "count": run.runs}
        self._peak_rss = run.peak_rss_bytes
        self._peak_gpu = run.peak_gpu_bytes
        self._per_op = run.per_op
        self._sweep = list(sweep.cells) if sweep is not None else []
        self._dirty |= EVERYTHING
        self._emit_overlay()

    def show_sweep(self, sweep: SweepResult) -> None:
        """Show finished sweep cells (the chart keeps the rest as it is)."""
        self._sweep = list(sweep.cells)
        best = sweep.best
        self.note.setText(f"Best: batch {best['batch']}, {best['threads'] or 'auto'} threads — {sweep.best_reason}"
                          if best else sweep.best_reason)
        self._dirty.add(SWEEP)

    def _emit_overlay(self) -> None:
        if not self.heat_map.isChecked() or not self._per_op:
            self.overlayRequested.emit(self.version_id, {})
            return
        self.overlayRequested.emit(self.version_id, per_node_shares(self._per_op))

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        """Redraw on the next tick: how many op bars fit depends on the height."""
        super().resizeEvent(event)
        self._dirty.add(OPS)

    # ---- drawing ------------------------------------------------------------------------------
    def _tick(self) -> None:
        if not self._dirty:
            return
        # Round robin from the part after the one drawn last: a chart whose data changes
        # before every tick cannot keep the others from being drawn.
        order = DRAW_ORDER[self._next_part:] + DRAW_ORDER[:self._next_part]
        part = next(part for part in order if part in self._dirty)
        if self._brought_on_screen(part):
            return  # drawn at a later tick
        self._next_part = (DRAW_ORDER.index(part) + 1) % len(DRAW_ORDER)
        # The chart is painted a turn after its data is set: in the same turn the two were one
        # burst of ~12 ms of the GUI thread, which a busy core stretches three times.
        if not is_built(self, "charts"):
            self.redraw([part])  # the placeholder's figures: no chart to paint
            return
        canvas = self._plots[part].getViewWidget().viewport()
        canvas.setUpdatesEnabled(False)
        self.redraw([part])
        later(self, canvas.setUpdatesEnabled, True)  # which repaints it

    def _brought_on_screen(self, part: str) -> bool:
        """Show the charts' area, else `part`'s empty canvas, if not on screen yet: whether this tick did.

        A chart appearing is its canvas laid out and painted, then its axes and curves: ~17 ms
        of the GUI thread in one tick for the first chart of a profile. A tick for the area,
        one for each canvas and one for each drawing keep every tick under ~10 ms.
        """
        if not (self.has_data() or self.stop_button.isEnabled()):
            return False  # nothing to show: the placeholder stays
        if self.charts.isHidden():
            self._show_chart_area()
            return True
        plot = self._plots[part]
        if plot.getViewWidget().isHidden():
            plot.setOpacity(0.0)  # its background only: axes and curves come with its drawing
            plot.getViewWidget().show()
            return True
        return False

    def _show_chart_area(self) -> None:
        """The charts' area in place of the placeholder, each chart hidden until it is drawn."""
        for plot in self._plots.values():
            plot.getViewWidget().hide()
        self.placeholder.hide()
        self.charts.show()

    def has_data(self) -> bool:
        """Whether anything measured is buffered (runs, memory samples, per-op times or a sweep)."""
        return bool(self._latencies or self._rss or self._per_op or self._sweep)

    def redraw(self, parts: Iterable[str] = EVERYTHING) -> None:
        """Draw what is buffered for `parts` of the charts (the timer passes those whose data
        changed; public for screenshots and tests, which draw everything)."""
        self.redraw_count += 1
        self._dirty -= set(parts)
        measured = self.has_data() or self.stop_button.isEnabled()
        self.placeholder.setVisible(not measured)
        first, limit = shown_runs(len(self._latencies), self._planned_runs)
        values = np.asarray(self._latencies[first:], dtype=float)
        if measured or is_built(self, "charts"):  # the placeholder alone needs no charts
            if not is_built(self, "charts"):
                parts = EVERYTHING  # nothing of the buffers was drawn yet
            if measured and self.charts.isHidden():
                self._show_chart_area()
            self.charts.setVisible(measured)
            self._draw_charts(values, (first, limit), set(parts))
        else:
            self._dirty.clear()  # no charts yet: the first drawing of them draws everything
        self._draw_stats(values)

    def _draw_charts(self, values: np.ndarray, runs_shown: tuple[int, int], parts: set[str]) -> None:
        first, _limit = runs_shown
        for part in parts:
            self._plots[part].setOpacity(1.0)
            self._plots[part].getViewWidget().show()
        if RUNS in parts:
            x = np.arange(first, first + values.size)
            self.run_curve.setData(x, values)
            # While runs stream in, the rolling lines (slow to move) are drawn every other time:
            # computing and setting them was half of this chart's tick, ~2.5 ms of the GUI thread.
            self._rolling_fresh = not (self.stop_button.isEnabled() and self._rolling_fresh)
            if self._rolling_fresh:
                at, p50, p99 = rolling_percentiles(values)
                self.p50_curve.setData(at + first, p50)
                self.p99_curve.setData(at + first, p99)
            self._set_limits(RUNS, runs_shown, (0.0, nice_ceiling(float(values.max()) * HEADROOM) if values.size else 1.0))
        if HISTOGRAM in parts:
            self._draw_histogram(values)
        if MEMORY in parts:
            self.rss_curve.setData(self._mem_t, self._rss)
            gpu = np.asarray(self._gpu, dtype=float)
            measured_gpu = np.isfinite(gpu).any()
            self.gpu_curve.setData(self._mem_t if measured_gpu else [], gpu if measured_gpu else [])
            highest = max(max(self._rss, default=0.0), float(np.nanmax(gpu)) if measured_gpu else 0.0)
            self._set_limits(MEMORY, (0.0, nice_ceiling(max(self._mem_t, default=0.0), self._growing_steps())),
                             (0.0, nice_ceiling(highest * HEADROOM)))
        if OPS in parts:
            self._draw_ops()
        if SWEEP in parts:
            self._draw_sweep()

    def _draw_histogram(self, values: np.ndarray) -> None:
        if not values.size:
            self.hist_curve.setData([], [])
            return
        # The far tail (a preempted run) would squeeze the body into one bar: clip at p99.5.
        # Bins span nice limits around the runs, so the axes stay put while runs stream in.
        top = float(np.percentile(values, 99.5))
        low, high = nice_floor(float(values.min())), nice_ceiling(top)
        if high <= low:  # every run took the same time
            high = nice_ceiling(low * 1.001)
        # While runs stream in, the span drawn stays while they fit it and fill half of it or
        # more: p99.5 wanders a little with every batch of runs, and each new span is both axes
        # drawn again. A finished profile gets its own span.
        (old_low, old_high), _counts = self._limits.get(HISTOGRAM, ((low, high), (0.0, 0.0)))
        if self.stop_button.isEnabled() and old_low <= low and high <= old_high and high - low >= 0.5 * (old_high - old_low):
            low, high = old_low, old_high
        counts, edges = np.histogram(np.minimum(values, top), bins=min(60, max(5, values.size // 5)), range=(low, high))
        self.hist_curve.setData(edges, counts)
        self._set_limits(HISTOGRAM, (low, high), (0.0, nice_ceiling(float(counts.max()) * HEADROOM, self._growing_steps())))

    def _growing_steps(self) -> tuple[float, ...]:
        """Steps for limits that grow with the runs: big ones while a profile streams in, fine ones after."""
        return GROWING_STEPS if self.stop_button.isEnabled() else NICE_STEPS

    def _set_limits(self, chart: str, x: tuple[float, float], y: tuple[float, float]) -> None:
        """Set a chart's axis limits, only when they changed (setting them redraws both axes)."""
        if self._limits.get(chart) != (x, y):
            self._limits[chart] = (x, y)
            self._plots[chart].setRange(xRange=x, yRange=y, padding=0)

    def _draw_ops(self) -> None:
        op_types = (self._per_op or {}).get("op_types") or []
        # As many bars as fit with readable labels (~16 px each), at most TOP_OPS.
        fit = max(3, int(self.op_plot.vb.height() // 16)) if self.op_plot.vb.height() > 0 else TOP_OPS
        top = sorted(op_types, key=lambda o: o.get("ms_per_run", 0.0), reverse=True)[:min(TOP_OPS, fit)]
        widths = [float(o.get("ms_per_run", 0.0)) for o in top]
        self.op_bars.setOpts(x0=[0.0] * len(top), y=list(range(len(top))), width=widths, height=0.7)
        axis = self.op_plot.getAxis("left")
        axis.setTicks([[(i, str(o.get("op_type", "?"))) for i, o in enumerate(top)]])
        if top:
            self.op_plot.setYRange(-0.6, len(top) - 0.4, padding=0)
            self.op_plot.setXRange(0, max(widths) * 1.05 or 1.0, padding=0)

    def _draw_sweep(self) -> None:
        import pyqtgraph as pg

        for label in self._sweep_labels:
            self.sweep_plot.removeItem(label)
        self._sweep_labels = []
        cells = self._sweep
        xs = [float(c["p50_ms"]) for c in cells]
        ys = [float(c.get("samples_per_s") or 0.0) for c in cells]
        self.sweep_scatter.setData(xs, ys)
        for cell, x, y in zip(cells, xs, ys):
            text = pg.TextItem(f"b{cell['batch']} t{cell['threads'] or 'auto'}", color=ink(self), anchor=(0, 1))
            text.setPos(x, y)
            self.sweep_plot.addItem(text)
            self._sweep_labels.append(text)
        if xs:
            # Labels sit right of and above their points, outside what auto-range looks at: room for them.
            width, height = (max(xs) - min(xs)) or max(xs) or 1.0, (max(ys) - min(ys)) or max(ys) or 1.0
            self.sweep_plot.setRange(xRange=(min(xs) - 0.05 * width, max(xs) + 0.25 * width),
                                     yRange=(min(ys) - 0.08 * height, max(ys) + 0.15 * height), padding=0)

    def _draw_stats(self, values: np.ndarray) -> None:
        latency = self._stats.get("latency_ms") or {}
        count = self._stats.get("count") or len(self._latencies)
        p50 = latency.get("p50", float(np.percentile(values, 50)) if values.size else None)
        p99 = latency.get("p99", float(np.percentile(values, 99)) if values.size else None)
        throughput = self._stats.get("throughput_per_s")
        if throughput is None and values.size:
            throughput = 1000.0 / float(values.mean())
        peak = getattr(self, "_peak_rss", None) or (max(self._rss) * 2**20 if self._rss else None)
        self.stat_labels["runs"].setText(f"{count:,}" if count else "—")
        self.stat_labels["p50"].setText(f"{p50:.3f} ms" if p50 is not None else "—")
        self.stat_labels["p99"].setText(f"{p99:.3f} ms" if p99 is not None else "—")
        self.stat_labels["throughput"].setText(f"{throughput:,.1f}/s" if throughput else "—")
        self.stat_labels["rss"].setText(formatting.size(peak))
        self.stat_labels["gpu"].setText(formatting.size(self._peak_gpu) if self._peak_gpu else "none")


def per_node_shares(per_op: dict[str, Any]) -> dict[str, float]:
    """Share of run time per graph node (the model's node names), for the heat map."""
    shares: dict[str, float] = {}
    for node in per_op.get("nodes") or []:
        name = node.get("model_node") or node.get("node")
        if name:
            shares[name] = shares.get(name, 0.0) + float(node.get("share") or 0.0)
    return shares
