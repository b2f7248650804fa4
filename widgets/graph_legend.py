"""The overlay legend: a gradient bar with the value range, drawn on screen and in exports."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from onnx_workbench.widgets import node_style as style
from onnx_workbench.widgets.formatting import count

LEGEND_W, LEGEND_H = 220, 52


def paint_legend(painter: QPainter, rect: QRectF, label: str, unit: str, low: float, high: float,
                 dark: bool = False) -> None:
    """Draw title, gradient bar and min/max values into `rect` (about 220×52); `dark` on a dark canvas."""
    ink = QColor(225, 225, 225) if dark else QColor(30, 30, 30)
    painter.save()
    painter.setPen(QColor(150, 150, 150))
    painter.setBrush(QColor(45, 45, 48, 235) if dark else QColor(255, 255, 255, 235))
    painter.drawRoundedRect(rect, 4, 4)
    painter.setPen(ink)
    painter.setFont(style.font(11, True))
    inner = rect.adjusted(8, 4, -8, -4)
    painter.drawText(QRectF(inner.x(), inner.y(), inner.width(), 15),
                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                     f"{label} ({unit})" if unit else label)
    bar = QRectF(inner.x(), inner.y() + 17, inner.width(), 10)
    ramp = QLinearGradient(bar.topLeft(), bar.topRight())
    stops = style.GRADIENT_STOPS
    for i, rgb in enumerate(stops):
        ramp.setColorAt(i / (len(stops) - 1), QColor(*(int(c) for c in rgb)))
    painter.setBrush(ramp)
    painter.setPen(QColor(120, 120, 120))
    painter.drawRect(bar)
    painter.setFont(style.font(10))
    painter.setPen(ink)
    painter.drawText(QPointF(bar.left(), bar.bottom() + 12), count(low))
    high_text = count(high)
    painter.drawText(QRectF(bar.left(), bar.bottom() + 1, bar.width(), 14),
                     Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, high_text)
    painter.restore()


class Legend(QWidget):
    """Legend widget floating over the graph view while an overlay is shown."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFixedSize(LEGEND_W, LEGEND_H)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label, self.unit, self.low, self.high = "", "", 0.0, 0.0

    def set_range(self, label: str, unit: str, low: float, high: float) -> None:
        """Show this overlay's name, unit and value range."""
        self.label, self.unit, self.low, self.high = label, unit, low, high
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        """Paint via paint_legend so the on-screen and exported legends match."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        paint_legend(painter, QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5),
                     self.label, self.unit, self.low, self.high, style.canvas_for(self.palette()) is style.DARK_CANVAS)
        painter.end()
