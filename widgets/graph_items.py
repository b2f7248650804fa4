"""The graph view's scene items: one node box per operator and one path item per batch of edges.

Both derive from Qt's rect/path items so bounding rects, shapes and hit tests stay in C++;
only paint() is Python, and it picks its detail from the zoom (level of detail): far out a
node is one fillRect, closer it gets a border, then its op type, then name, attributes and
initializers. Nothing here calls setBrush/setPen on items (PySide6 6.12 aborts after a few
thousand such calls); colours are plain attributes read by paint().
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem

from onnx_workbench.pipelines.graph_layout import KIND_OP, GraphInfo
from onnx_workbench.widgets import node_style as style

# Zoom thresholds (scene → device scale) for each level of detail.
OVERVIEW_LOD = 0.06  # below: node items are hidden and one OverviewItem draws all boxes
FAR_LOD = 0.22  # below: a flat coloured rectangle
TITLE_LOD = 0.5  # from here: op type
DETAIL_LOD = 0.7  # from here: name, attributes, initializer lines
LABEL_LOD = 0.7  # edge shape labels
LABEL_RGB = style.LIGHT_CANVAS.label  # the graph view sets the theme's colour on its edge batches
RING = 3.0  # room around a box for the selection/highlight ring
LABEL_ROOM = 70.0  # room right of an edge for its shape label


class NodeItem(QGraphicsRectItem):
    """One node box; `fill`, `ring` and `light_text` are set by the view and read by paint()."""

    # Distinguishes node boxes from edges in itemAt() without isinstance on PySide wrappers.
    Type = QGraphicsItem.UserType + 1

    def __init__(self, index: int, info: GraphInfo, box: QRectF, fill: tuple[int, int, int]) -> None:
        super().__init__(box.adjusted(-RING, -RING, RING, RING))
        # Few attributes on purpose: each costs about a microsecond on a wrapped Qt object, and
        # there are 50,000 of these. Text is read from the shared GraphInfo when painting.
        self.index = index
        self.info = info
        self.box = box
        self.fill = fill
        self.light_text = False
        self.ring: tuple[int, int, int] | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)

    @property
    def name(self) -> str:
        """The node's unique name (the key of overlays and selection)."""
        return self.info.names[self.index]

    def type(self) -> int:  # noqa: A003 - Qt's name
        """Qt item type, so views can tell nodes from edges."""
        return NodeItem.Type

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001 - Qt types
        """Draw the box with as much text as the zoom allows."""
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        box = self.box
        if lod < FAR_LOD:
            # isSelected() is a plain C++ call; testing option.state goes through Python enums.
            accent = style.SELECTED_RGB if self.isSelected() else self.ring
            painter.fillRect(box, style.brush(accent or self.fill))
            return
        selected = self.isSelected()
        if selected:
            painter.setPen(style.pen(style.SELECTED_RGB, 3.0))
        elif self.ring is not None:
            painter.setPen(style.pen(self.ring, 3.0))
        else:
            painter.setPen(style.pen(style.BORDER_RGB, 1.0))
        painter.setBrush(style.brush(self.fill))
        info, index = self.info, self.index
        is_op = info.kinds[index] == KIND_OP
        radius = 4.0 if is_op else box.height() / 2
        painter.drawRoundedRect(box, radius, radius)
        if lod < TITLE_LOD:
            return
        painter.setPen(style.pen((255, 255, 255) if self.light_text else (20, 20, 20)))
        inner = box.adjusted(6, 0, -6, 0)
        title, details = info.titles[index], info.details[index]
        if not is_op:
            # Inputs/outputs: tensor name and shape on two centred lines.
            painter.setFont(style.font(11, True))
            if lod < DETAIL_LOD or not (details and details[0]):
                painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, title)
                return
            painter.drawText(QRectF(inner.x(), box.y() + 2, inner.width(), 16),
                             Qt.AlignmentFlag.AlignCenter, title)
            if details and details[0]:
                painter.setFont(style.font(10))
                painter.drawText(QRectF(inner.x(), box.y() + 17, inner.width(), 14),
                                 Qt.AlignmentFlag.AlignCenter, details[0])
            return
        painter.setFont(style.font(12, True))
        if lod < DETAIL_LOD:
            # Only the op type fits this zoom: centre it so the box does not look empty.
            painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, title)
            return
        painter.drawText(QRectF(inner.x(), box.y() + 2, inner.width(), 18),
                         Qt.AlignmentFlag.AlignCenter, title)
        painter.setFont(style.font(10))
        y = box.y() + 21
        for line in details:
            painter.drawText(QRectF(inner.x(), y, inner.width(), 13),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, line)
            y += 13


def segments_path(points: np.ndarray, starts: np.ndarray, tips: np.ndarray) -> QPainterPath:
    """One path for polyline segments, each from points[s] to points[s + 1] for s in `starts`.

    Segments between layers are smooth S-curves; where an edge ends (`tips`, a flag per
    point) a small arrowhead is drawn.
    """
    path = QPainterPath()
    ends = starts + 1
    for (x0, y0), (x1, y1), tip in zip(points[starts].tolist(), points[ends].tolist(), tips[ends].tolist()):
        path.moveTo(x0, y0)
        if x1 == x0:
            path.lineTo(x1, y1)
        else:
            mid = (y0 + y1) / 2
            path.cubicTo(x0, mid, x1, mid, x1, y1)
        if tip:
            path.moveTo(x1 - 3.5, y1 - 6.0)
            path.lineTo(x1, y1)
            path.lineTo(x1 + 3.5, y1 - 6.0)
    return path


def edge_tips(offsets: np.ndarray, n_points: int) -> np.ndarray:
    """A flag per polyline point: True where an edge ends."""
    tips = np.zeros(n_points, dtype=bool)
    tips[offsets[1:] - 1] = True
    return tips


def edges_path(offsets: np.ndarray, points: np.ndarray, edges: np.ndarray) -> QPainterPath:
    """One path for whole edges (edge e's points are points[offsets[e]:offsets[e + 1]])."""
    starts = [np.arange(offsets[e], offsets[e + 1] - 1) for e in edges.tolist()]
    return segments_path(points, np.concatenate(starts) if starts else np.zeros(0, np.int64),
                         edge_tips(offsets, len(points)))


class EdgeBatchItem(QGraphicsPathItem):
    """A few hundred edge segments drawn as one path, with tensor-shape labels when zoomed in."""

    def __init__(self, path: QPainterPath, label_xy: np.ndarray, labels: list[str],
                 rgb: tuple[int, int, int] = style.EDGE_RGB, width: float = 1.0) -> None:
        super().__init__(path)
        self.label_xy = label_xy
        self.labels = labels
        self.rgb = rgb
        self.label_rgb = LABEL_RGB
        self.width = width
        # Shape labels are written right of their edge's start.
        self._bounds = path.controlPointRect().adjusted(-width, -width, width + (LABEL_ROOM if labels else 0.0), width)
        self._no_shape = QPainterPath()
        self.setZValue(-1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        # exposedRect lets paint() skip labels outside the repainted area.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        """The path's control points with room for the pen and labels.

        QGraphicsPathItem's own strokes the whole path with the item's pen to find it: ~40 ms
        for a batch of a BERT-size graph, the first time the scene indexes it.
        """
        return self._bounds

    def shape(self) -> QPainterPath:
        """Nothing to hit: edges take no clicks, and stroking hundreds of curves per hit test is slow."""
        return self._no_shape

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001 - Qt types
        """Draw the edges (cosmetic hairlines when far out) and, close up, their labels."""
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod >= FAR_LOD)
        painter.setPen(style.pen(self.rgb, self.width, lod < FAR_LOD))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        if lod < LABEL_LOD or not self.labels:
            return
        area = option.exposedRect
        xy = self.label_xy
        inside = (
            (xy[:, 0] >= area.left() - 80) & (xy[:, 0] <= area.right())
            & (xy[:, 1] >= area.top() - 12) & (xy[:, 1] <= area.bottom() + 12)
        )
        painter.setFont(style.font(9))
        painter.setPen(style.pen(self.label_rgb))
        for i in np.flatnonzero(inside).tolist():
            painter.drawText(QPointF(xy[i, 0] + 4, xy[i, 1] + 11), self.labels[i])


class OverviewItem(QGraphicsRectItem):
    """All node boxes as flat rectangles, drawn with one drawRects call per colour.

    Used when zoomed out so far that boxes are a pixel or two: one Python paint() instead of
    one per node keeps panning a 50,000-node graph fluid.
    """

    def __init__(self, rect: QRectF) -> None:
        super().__init__(rect)
        self.groups: list[tuple[tuple[int, int, int], float, list[QRectF]]] = []
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(0.5)

    def set_boxes(self, boxes: np.ndarray, rgb: np.ndarray, accent: np.ndarray) -> None:
        """Group boxes (N×4 x, y, w, h) by colour (N×3 uint8); `accent` ones are drawn bolder, last."""
        codes = (rgb[:, 0].astype(np.int64) << 16) | (rgb[:, 1].astype(np.int64) << 8) | rgb[:, 2]
        # Accented boxes sort after the rest so that they are painted on top.
        order = np.lexsort((codes, accent))
        keys = codes[order] + (accent[order].astype(np.int64) << 24)
        splits = np.flatnonzero(np.diff(keys)) + 1
        rows = boxes.tolist()
        self.groups = []
        for chunk in np.split(order, splits):
            if len(chunk):
                colour = tuple(int(c) for c in rgb[chunk[0]])
                width = 5.0 if accent[chunk[0]] else 1.0  # 1 px cosmetic: the fast raster path
                self.groups.append((colour, width, [QRectF(*rows[i]) for i in chunk.tolist()]))
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001 - Qt types
        """Flat rectangles outlined by a cosmetic pen, so even sub-pixel boxes stay visible."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for colour, width, rects in self.groups:
            painter.setPen(style.pen(colour, width, True))
            painter.setBrush(style.brush(colour))
            painter.drawRects(rects)
