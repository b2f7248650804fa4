"""Overview of the whole graph in a corner of the graph view; click or drag to move there.

The picture is rasterised from the layout arrays with numpy (one coloured block per node)
rather than by repainting the scene, so it costs milliseconds even for 50,000 nodes.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from onnx_workbench.widgets import node_style as style

MAX_W, MAX_H = 150, 200
MIN_W = 36  # very tall graphs are stretched sideways to stay visible


def picture_size(bounds: tuple[float, float, float, float], max_w: int = MAX_W,
                 max_h: int = MAX_H) -> tuple[int, int, float, float]:
    """Width and height in pixels of the picture of a layout with these bounds, and the x/y scales."""
    x0, y0, x1, y1 = bounds
    span_w, span_h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    scale = min(max_w / span_w, max_h / span_h)
    width = int(min(max_w, max(MIN_W, round(span_w * scale))))
    height = int(max(1, round(span_h * scale)))
    return width, height, width / span_w, height / span_h


def rasterize(boxes: np.ndarray, colours: np.ndarray, bounds: tuple[float, float, float, float],
              max_w: int = MAX_W, max_h: int = MAX_H,
              background: tuple[int, int, int] = style.BACKGROUND_RGB) -> tuple[np.ndarray, float, float]:
    """An (H, W, 3) uint8 picture of the node boxes and the x/y scales from scene to pixels."""
    x0, y0, _x1, _y1 = bounds
    width, height, sx, sy = picture_size(bounds, max_w, max_h)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = background
    if len(boxes) == 0:
        return image, sx, sy
    left = np.clip(((boxes[:, 0] - x0) * sx).astype(np.int64), 0, width - 1)
    top = np.clip(((boxes[:, 1] - y0) * sy).astype(np.int64), 0, height - 1)
    right = np.clip(np.ceil((boxes[:, 0] + boxes[:, 2] - x0) * sx).astype(np.int64), left + 1, width)
    bottom = np.clip(np.ceil((boxes[:, 1] + boxes[:, 3] - y0) * sy).astype(np.int64), top + 1, height)
    widths, heights = right - left, bottom - top
    if len(boxes) <= int(widths.max()) * int(heights.max()):
        # Few big blocks (a small graph drawn large): one slice assignment per block.
        for block in range(len(boxes)):
            image[top[block]:bottom[block], left[block]:right[block]] = colours[block]
        return image, sx, sy
    # Many small blocks (a big graph): fill by offset, each pass painting pixel (left+dx, top+dy)
    # of every block at least that big, so the work is (largest block area) vectorised passes.
    for dy in range(int(heights.max())):
        rows = top + dy
        row_ok = rows < bottom
        for dx in range(int(widths.max())):
            ok = row_ok & (left + dx < right)
            image[rows[ok], left[ok] + dx] = colours[ok]
    return image, sx, sy


class Minimap(QWidget):
    """A thumbnail of the scene with the visible area outlined; `on_jump(scene_point)` on click."""

    def __init__(self, parent: QWidget, on_jump: Callable[[QPointF], None]) -> None:
        super().__init__(parent)
        self._on_jump = on_jump
        self._image = QImage()
        self._pixels: np.ndarray | None = None
        self._pending: tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]] | None = None
        self._origin = (0.0, 0.0)
        self._scale = (1.0, 1.0)
        self._visible = QRectF()
        self.background = style.BACKGROUND_RGB  # the graph view's canvas colour
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")

    def set_picture(self, boxes: np.ndarray, colours: np.ndarray,
                    bounds: tuple[float, float, float, float]) -> None:
        """Redraw the thumbnail from node boxes and their current fill colours.

        The pixels are made when the thumbnail is next painted: opening a version restyles
        the graph several times in a row (overlay, rings, heat map), and only the last counts.
        """
        w, h, sx, sy = picture_size(bounds)
        self._pending = (boxes, colours.copy(), bounds)
        self._origin = (bounds[0], bounds[1])
        self._scale = (sx, sy)
        self.setFixedSize(w + 2, h + 2)
        self.update()

    def _rasterize_pending(self) -> None:
        if self._pending is None:
            return
        boxes, colours, bounds = self._pending
        self._pending = None
        pixels, _sx, _sy = rasterize(boxes, colours, bounds, background=self.background)
        self._pixels = np.ascontiguousarray(pixels)  # QImage borrows this buffer
        h, w, _ = pixels.shape
        self._image = QImage(self._pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()

    def set_visible_rect(self, rect: QRectF) -> None:
        """Outline this scene rectangle (the part the main view shows)."""
        self._visible = QRectF(rect)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        """Frame, thumbnail and the visible-area outline."""
        self._rasterize_pending()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(140, 140, 140))
        painter.drawImage(1, 1, self._image)
        (ox, oy), (sx, sy) = self._origin, self._scale
        r = self._visible
        outline = QRectF(1 + (r.left() - ox) * sx, 1 + (r.top() - oy) * sy,
                         max(r.width() * sx, 3.0), max(r.height() * sy, 3.0))
        painter.setPen(QPen(QColor(*style.SELECTED_RGB), 1.5))
        painter.setBrush(QColor(20, 110, 230, 40))
        painter.drawRect(outline.intersected(QRectF(self.rect()).adjusted(0, 0, -1, -1)))
        painter.end()

    def _jump(self, event: QMouseEvent) -> None:
        (ox, oy), (sx, sy) = self._origin, self._scale
        p = event.position()
        self._on_jump(QPointF(ox + (p.x() - 1) / sx, oy + (p.y() - 1) / sy))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        """Centre the main view on the clicked point."""
        self._jump(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        """Follow a drag."""
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._jump(event)
