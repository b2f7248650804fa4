"""The window's status bar: each new message of the Messages log for a while, a busy bar while a
model opens, and the name, size and node count of the model on screen."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from onnx_workbench.pipelines.opening import OpenedModel
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.message_log import MessageLog
from onnx_workbench.widgets.shown_model import ShownModel

MESSAGE_MS = 8000  # the Messages log keeps every line; the status bar only the latest, for a while


class StatusLine:
    """Fills a QStatusBar from the model on screen and the Messages log."""

    def __init__(self, bar: QStatusBar, shown: ShownModel, log: MessageLog) -> None:
        self.bar = bar
        self.shown = shown
        self.busy_bar = QProgressBar(bar)
        self.busy_bar.setRange(0, 0)  # indeterminate: loading reports no fraction
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.model_label = QLabel(bar)
        self.model_label.setTextFormat(Qt.TextFormat.PlainText)  # file names are untrusted
        self.size_label = QLabel(bar)
        self.nodes_label = QLabel(bar)
        for widget in (self.busy_bar, self.model_label, self.size_label, self.nodes_label):
            bar.addPermanentWidget(widget)
        self._show_model(None)
        shown.changed.connect(self._show_model)
        log.added.connect(lambda _level, text: bar.showMessage(text, MESSAGE_MS))

    def set_busy(self, busy: bool) -> None:
        """Show the busy bar while a model loads; its end also ends the "Opening…" message."""
        self.busy_bar.setVisible(busy)
        if not busy:
            self.bar.clearMessage()

    def _show_model(self, opened: OpenedModel | None) -> None:
        if opened is None:
            self.model_label.setText("No model")
            self.size_label.setText("")
            self.nodes_label.setText("")
            return
        self.model_label.setText(self.shown.name)
        self.size_label.setText(formatting.size(opened.loaded.size_bytes))
        self.nodes_label.setText(f"{len(opened.loaded.proto.graph.node):,} nodes")
