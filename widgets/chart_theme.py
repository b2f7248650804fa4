"""pyqtgraph charts in the window's colours, light or dark, and again whenever the theme changes.

pyqtgraph draws with its own black-on-white (or white-on-black) defaults; every chart of the
workbench takes its background and ink from the Qt palette instead, through this one place.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:  # the charts import pyqtgraph when they are built, not this module
    import pyqtgraph as pg


def ink(widget: QWidget) -> QColor:
    """The text colour of `widget`'s palette (axes, titles, legends)."""
    return widget.palette().color(QPalette.ColorRole.Text)


def style_charts(widget: QWidget, canvases: Iterable[pg.GraphicsView], plots: Iterable[pg.PlotItem]) -> None:
    """Give `canvases` the palette's base colour and `plots` its ink: axes, tick text, titles, legends."""
    palette = widget.palette()
    base, text = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)
    for canvas in canvases:
        canvas.setBackground(base)
    for plot in plots:
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setTextPen(text)
            axis.setPen(text)
            axis.picture = None  # the axis caches its drawing: make it redraw in the new ink
            axis.update()
        plot.titleLabel.item.setDefaultTextColor(text)
        for name in ("left", "bottom"):
            label = plot.getAxis(name).label
            label.setDefaultTextColor(text)
        if plot.legend is not None:
            plot.legend.setLabelTextColor(text)
            background = QColor(base)
            background.setAlpha(210)
            plot.legend.setBrush(background)
