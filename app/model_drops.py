"""Opening a model by dropping its file anywhere on the window, also over views that take drags themselves."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDropEvent

DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)


def onnx_paths(event: QDropEvent) -> list[str]:
    """Local .onnx files carried by a drag."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
    return [p for p in paths if p.lower().endswith(".onnx")]


class ModelDrops(QObject):
    """An event filter for the window and its views: accepts .onnx drags; a drop opens the first file."""

    def __init__(self, open_path: Callable[[str], object], parent: QObject) -> None:
        super().__init__(parent)
        self.open_path = open_path

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """Take .onnx drags and drops before the watched widget (a graph view would consume them)."""
        if event.type() not in DRAG_EVENTS:
            return False
        paths = onnx_paths(event)
        if not paths:
            return False  # other drags: the widget decides (the window ignores them)
        event.acceptProposedAction()
        if event.type() == QEvent.Type.Drop:
            self.open_path(paths[0])
        return True
