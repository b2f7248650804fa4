"""Auto-optimize: search recipes for the open model and watch the candidates land on a scatter.

The search (pipelines.tune) runs on a plain thread: it only starts worker processes and polls
them, so the window never waits, and its events come back to the GUI thread through a queued
signal. Every candidate is a version of the open session; the panel says so with
`versionAdded`, and a click on a point asks to make that version current.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.pipelines.tune.executor import LocalExecutor
from onnx_workbench.pipelines.tune.pareto import pareto_front
from onnx_workbench.pipelines.tune.ray_executor import RayExecutor
from onnx_workbench.pipelines.tune.search import DEFAULT_ACCURACY_DROP, DEFAULT_MIN_COSINE, Search, TuneSettings
from onnx_workbench.pipelines.versions import Workspace
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.built_on_use import BuiltOnUse, build_when_seen, is_built
from onnx_workbench.widgets.chart_theme import style_charts

if TYPE_CHECKING:
    from onnx_workbench.pipelines.session_model import SessionModel

WITHIN = (46, 139, 87)
OUTSIDE = (192, 57, 43)
ACCURACY, COSINE = "top-1 drop at most (points)", "cosine at least"


class TunePanel(QWidget):
    """Budget, objective and data; Start runs the search; the scatter shows latency against loss."""

    versionAdded = Signal(str)  # a candidate's version now in the session
    versionActivated = Signal(str)  # the user clicked a candidate
    _event = Signal(str, dict)  # from the search thread
    # The scatter (a pg.PlotWidget with its points and front line), built when the panel is first
    # shown or read: it starts in a hidden tab.
    canvas = BuiltOnUse("_build_chart")
    points = BuiltOnUse("_build_chart")
    front_line = BuiltOnUse("_build_chart")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.search: Search | None = None
        self.candidates: list[dict[str, Any]] = []
        self._build()
        self._event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self.set_workspace(None)

    def _build(self) -> None:
        self.budget = QDoubleSpinBox(minimum=0.5, maximum=600.0, value=10.0, suffix=" min", decimals=1)
        # One thread by default: on a busy machine ONNX Runtime's spinning thread pool makes timings erratic.
        self.threads = QSpinBox(minimum=0, maximum=256, value=1, specialValueText="ONNX Runtime's choice")
        self.objective = QComboBox()
        self.objective.addItems(["latency", "size"])
        self.limit_kind = QComboBox()
        self.limit_kind.addItems([ACCURACY, COSINE])
        self.limit = QDoubleSpinBox(minimum=0.0, maximum=100.0, decimals=4, value=DEFAULT_ACCURACY_DROP)
        self.limit_kind.currentTextChanged.connect(self._on_limit_kind)
        self.data = QLineEdit(placeholderText="labelled .npz or image folder (empty: random inputs)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data, 1)
        data_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Budget", self.budget)
        form.addRow("Objective", self.objective)
        form.addRow("Threads", self.threads)
        form.addRow(self.limit_kind, self.limit)
        form.addRow("Data", data_row)
        self.cluster = QLineEdit(placeholderText="Ray cluster address (empty: worker processes here)")
        form.addRow("Cluster", self.cluster)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self._on_start_stop)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        # Settings on the left, the chart takes the rest of the (wide, low) bottom row.
        controls = QVBoxLayout()
        controls.addLayout(form)
        controls.addWidget(self.start_button)
        controls.addWidget(self.status)
        controls.addStretch(1)
        side = QWidget()
        side.setLayout(controls)
        side.setMaximumWidth(420)
        self._layout = QHBoxLayout(self)
        self._layout.addWidget(side)  # the chart goes beside it when built
        self._on_limit_kind(ACCURACY)
        # A set minimum wins over the layout's: the form and chart must not set the window's minimum size.
        self.setMinimumSize(60, 60)

    def _build_chart(self) -> None:
        import pyqtgraph as pg

        self.canvas = pg.PlotWidget(enableMenu=False)  # no menu: it costs 3/4 of a plot's making
        self.plot = self.canvas.getPlotItem()
        self.plot.setLabel("bottom", "latency (ms; size: marker; green: within the budget; dashed: front)")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.points = pg.ScatterPlotItem(pxMode=True)
        self.points.sigClicked.connect(self._on_point_clicked)
        self.front_line = pg.PlotDataItem(pen=pg.mkPen((90, 90, 200), width=2, style=Qt.PenStyle.DashLine))
        self.original = pg.ScatterPlotItem(symbol="d", size=12, brush=pg.mkBrush(120, 120, 120))
        for item in (self.front_line, self.points, self.original):
            self.plot.addItem(item)
        self._layout.addWidget(self.canvas, 1)
        style_charts(self, [self.canvas], [self.plot])
        self._label_loss_axis()
        self._redraw()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """The chart is built when the panel first comes on screen."""
        super().showEvent(event)
        build_when_seen(self, "canvas")

    # ---- public -------------------------------------------------------------------------------

    def bind(self, model: SessionModel) -> None:
        """Follow a session: candidates become its versions (announced as `version_added`), a click
        on one makes it current."""
        model.workspace_changed.connect(lambda: self.set_workspace(model.workspace))
        self.versionAdded.connect(model.version_added.emit)
        self.versionActivated.connect(model.go_to)

    def set_workspace(self, workspace: Workspace | None) -> None:
        """The session candidates are added to (None: no model open)."""
        if self.search is not None and workspace is not self.workspace:
            self.search.cancel()
        self.workspace = workspace
        self.start_button.setEnabled(workspace is not None)
        self.status.setText("" if workspace is not None else "Open a model to search recipes for it.")

    def settings(self) -> TuneSettings:
        """The settings in the form (ConfigError names a bad one)."""
        accuracy = self.limit_kind.currentText() == ACCURACY
        return TuneSettings(
            objective=self.objective.currentText(), budget_minutes=self.budget.value(), threads=self.threads.value(),
            max_accuracy_drop=self.limit.value() if accuracy else None,
            min_cosine=None if accuracy else self.limit.value(), data=self.data.text().strip() or None,
        )

    def start(self) -> None:
        """Start the search on a thread; refused settings are one sentence in the status line."""
        if self.workspace is None or self.search is not None:
            return
        address = self.cluster.text().strip()
        try:
            settings = self.settings()
            # Connecting to a cluster is quick or refused at once; the search itself runs on the thread.
            executor = RayExecutor(address) if address else LocalExecutor()
        except WorkbenchError as exc:
            self.status.setText(str(exc))
            return
        try:
            self.search = Search(self.workspace.source, settings, executor, workspace=self.workspace, on_event=self._event.emit)
        except WorkbenchError as exc:
            executor.close()
            self.status.setText(str(exc))
            return
        self.candidates = []
        self._redraw()
        self.start_button.setText("Stop")
        threading.Thread(target=self._run, args=(self.search, executor), name="tune-search", daemon=True).start()

    def _run(self, search: Search, executor: Any) -> None:
        """The search thread: run, then let go of the executor (a cluster connection)."""
        try:
            search.run()
        finally:
            executor.close()

    def stop(self) -> None:
        """Stop the search; what finished stays."""
        if self.search is not None:
            self.search.cancel()
            self.status.setText("Stopping…")

    # ---- internals ----------------------------------------------------------------------------

    def _on_start_stop(self) -> None:
        self.stop() if self.search is not None else self.start()

    def _on_limit_kind(self, text: str) -> None:
        accuracy = text == ACCURACY
        self.limit.setRange(0.0, 100.0 if accuracy else 1.0)
        self.limit.setValue(DEFAULT_ACCURACY_DROP if accuracy else DEFAULT_MIN_COSINE)
        if is_built(self, "canvas"):
            self._label_loss_axis()

    def _label_loss_axis(self) -> None:
        accuracy = self.limit_kind.currentText() == ACCURACY
        self.plot.setLabel("left", "top-1 drop (points)" if accuracy else "1 − worst cosine")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labelled data", "", "Arrays (*.npz);;All files (*)")
        if path:
            self.data.setText(path)

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "candidate-finished":
            self.candidates.append(data)
            for version_id in data.get("versions_added", []):
                self.versionAdded.emit(version_id)
            self._redraw()
            verdict = data["error"] or f"{data['speedup']:.2f}×"
            self.status.setText(f"{len(self.candidates)} done; last: {data['name']} ({verdict})")
        elif kind in ("candidate-started", "stage"):
            self.status.setText(f"{len(self.candidates)} done; now: {data['name']}")
        elif kind == "finished":
            self.search = None
            self.start_button.setText("Start")
            ended = {"done": "every candidate ran", "budget": "the budget ran out", "cancelled": "stopped"}[data["stopped"]]
            best = data.get("best")
            self.status.setText(f"{len(self.candidates)} candidates ({ended}); "
                                + (f"best: {best['name']} — {best['speedup']:.2f}×, {formatting.size(best['size_bytes'])}"
                                   if best else "none beat the original within the budget."))

    def loss(self, entry: dict[str, Any]) -> float:
        """The y of a candidate: top-1 points lost with labels, else 1 - worst cosine."""
        if entry.get("accuracy"):
            return float(entry["accuracy"]["top1_drop"])
        cosine = entry.get("worst_cosine")
        return 1.0 - cosine if cosine is not None else float("nan")

    def front(self) -> list[dict[str, Any]]:
        """The timed candidates no other beats on latency, size and loss."""
        timed = {str(i): e for i, e in enumerate(self.candidates) if e.get("latency_ms") is not None}
        keys = pareto_front({k: (e["latency_ms"], e["size_bytes"] or 0, self.loss(e)) for k, e in timed.items()})
        return [timed[k] for k in keys]

    def _redraw(self) -> None:
        """Points sized by model size (within budget green, outside red), the front as a line."""
        if not is_built(self, "canvas"):
            return  # drawn when the chart is built
        import pyqtgraph as pg

        timed = [e for e in self.candidates if e.get("latency_ms") is not None]
        largest = max((e["size_bytes"] or 1 for e in timed), default=1)
        self.points.setData([{
            "pos": (e["latency_ms"], self.loss(e)), "size": 8 + 16 * (e["size_bytes"] or 0) / largest,
            "brush": pg.mkBrush(*(WITHIN if e["fidelity_passed"] else OUTSIDE)), "data": e["version"],
        } for e in timed])
        front = sorted(self.front(), key=lambda e: e["latency_ms"])
        self.front_line.setData([e["latency_ms"] for e in front], [self.loss(e) for e in front])
        original_ms = next((e["timing"]["original_ms"] for e in timed), None)
        self.original.setData([original_ms] if original_ms else [], [0.0] if original_ms else [])

    def _on_point_clicked(self, _item: Any, points: list[Any], *_: Any) -> None:
        if points and points[0].data():
            self.versionActivated.emit(points[0].data())
