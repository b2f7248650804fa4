"""The session's message log: every status, warning and error of this run, kept on screen.

The status bar forgets a line after seconds; warnings such as "calibrated on random data" or
"fidelity below tolerance" must stay where the user can read them later, with the time.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from onnx_workbench.pipelines.session_model import SessionModel
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.version_tree import step_notes

Level = Literal["info", "warning", "error"]
LEVEL_MARK = {"info": "", "warning": "⚠", "error": "✗"}
LEVEL_COLOUR = {"warning": QColor("#b7791f"), "error": QColor("#c0392b")}
MAX_MESSAGES = 2000  # oldest dropped first: a long session must not grow without bound


@dataclass(frozen=True)
class Message:
    """One line of the log."""

    at: float
    level: Level
    text: str


class MessageLog(QWidget):
    """Time, level and text of every message, newest last; warnings and errors coloured."""

    added = Signal(str, str)  # level, text: for the status bar and the session folder's copy

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._messages: list[Message] = []
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Time", "", "Message"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setWordWrap(False)
        self.tree.header().setStretchLastSection(True)
        self.counts = QLabel(self)
        clear = QPushButton("Clear", self)
        clear.clicked.connect(self.clear)
        bar = QHBoxLayout()
        bar.addWidget(self.counts, 1)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addLayout(bar)
        self._update_counts()

    def add(self, level: Level, text: str) -> None:
        """Append a message (model strings in it are shown literally)."""
        message = Message(time.time(), level, text)
        self._messages.append(message)
        item = QTreeWidgetItem(self.tree, [time.strftime("%H:%M:%S", time.localtime(message.at)),
                                           LEVEL_MARK[level], text])
        item.setToolTip(2, formatting.plain_tooltip(text))
        if level in LEVEL_COLOUR:
            for column in (1, 2):
                item.setForeground(column, QBrush(LEVEL_COLOUR[level]))
        if len(self._messages) > MAX_MESSAGES:
            self._messages.pop(0)
            self.tree.takeTopLevelItem(0)
        if self.tree.topLevelItemCount() == 1:
            self.tree.resizeColumnToContents(0)
            self.tree.resizeColumnToContents(1)
        self.tree.scrollToItem(item)
        self._update_counts()
        self.added.emit(level, text)

    def bind(self, model: SessionModel) -> None:
        """Follow a session: its status lines, failures, and each step's reasons and warnings."""

        def on_step(vid: str) -> None:
            version = model.version(vid)
            for note in step_notes(version):
                self.add("warning", f"v{version.number} {version.pass_name}: {note}")

        model.message.connect(lambda text: self.add("info", text))
        model.problem.connect(lambda text: self.add("error", text))
        model.step_failed.connect(lambda text: self.add("error", f"Step failed: {text}"))
        model.step_applied.connect(on_step)

    def messages(self, level: Level | None = None) -> list[Message]:
        """The messages kept, oldest first (of one level when given)."""
        return [m for m in self._messages if level is None or m.level == level]

    def clear(self) -> None:
        """Forget every message."""
        self._messages.clear()
        self.tree.clear()
        self._update_counts()

    def _update_counts(self) -> None:
        warnings, errors = len(self.messages("warning")), len(self.messages("error"))
        self.counts.setText(f"{len(self._messages)} messages · {warnings} warnings · {errors} errors")
        self.counts.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
