"""The native graph view: a layered drawing of an ONNX graph that stays smooth at 50,000 nodes.

Layout comes from pipelines.graph_layout (Qt-free); this module turns it into scene items,
handles zoom/pan/fit, selection, overlays (a value per node shown as a colour ramp with a
legend), diff highlights, If/Loop/Scan subgraphs (double-click, breadcrumb back) and offscreen
export to PNG or SVG.
"""
from __future__ import annotations

import errno
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QWidget,
)

from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.pipelines.safe_write import atomic_path
from onnx_workbench.pipelines.graph_layout import LayoutResult, layout_graph, subgraph_of
from onnx_workbench.widgets import node_style as style
from onnx_workbench.widgets.graph_items import LABEL_ROOM, OVERVIEW_LOD, EdgeBatchItem, NodeItem, OverviewItem, edges_path
from onnx_workbench.widgets.graph_legend import LEGEND_H, LEGEND_W, Legend, paint_legend
from onnx_workbench.widgets.minimap import Minimap
from onnx_workbench.widgets.one_per_turn import later
from onnx_workbench.widgets.scene_building import SceneBuild

if TYPE_CHECKING:
    from onnx_workbench.widgets.shown_model import ShownModel

# Items are added to the scene for this long (CPU) per event-loop turn; the window draws in between.
BUILD_TURN_CPU_S = 0.004
ZOOM_STEP = 1.25
MAX_SCALE = 4.0
READABLE_SCALE = 1.0  # a graph too big to fit readably opens at this zoom, at its top
SCROLL_PAD = 600.0
EXPORT_MAX_SIDE = 4096
EXPORT_TALL_RATIO = 20.0  # exports taller than this (height/width) wrap into columns


@dataclass(frozen=True)
class Overlay:
    """A value per node name drawn as colours, e.g. latency share or MACs."""

    values: dict[str, float]
    label: str = ""
    unit: str = ""


class GraphView(QGraphicsView):
    """QGraphicsView of one ONNX graph; see the module docstring for what it offers."""

    nodeSelected = Signal(str)
    selectionCleared = Signal()
    graphChanged = Signal(str)  # breadcrumb text after entering or leaving a subgraph
    graphBuilt = Signal()  # every item of the graph shown is in the scene

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        # BSP index (measured on 50k nodes: building it adds ~0.4 s to opening, but a scroll
        # frame costs ~1 ms instead of ~8 ms with NoIndex, and clicks hit-test in O(log n)).
        self.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        # One rectangle around all changes: painted through a clip of many small rectangles
        # (items added in a slice), a long antialiased edge path took 27 ms instead of 4.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        # Boxes keep a margin inside their bounding rect for the ring, so Qt need not grow
        # every exposed area for antialiasing.
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self._canvas = style.LIGHT_CANVAS
        self.setBackgroundBrush(style.brush(self._canvas.background))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._stack: list[tuple[str, onnx.GraphProto]] = []
        self._layout: LayoutResult | None = None
        self._build: SceneBuild | None = None
        self._items: list[NodeItem] = []
        self._by_name: dict[str, int] = {}
        self._base_rgb = np.zeros((0, 3), np.uint8)
        self._fill_rgb = np.zeros((0, 3), np.uint8)
        self._overlay: Overlay | None = None
        self._overlay_range = (0.0, 0.0)
        self._light_text = np.zeros(0, bool)
        self._rings: dict[str, tuple[int, int, int]] = {}  # node name -> ring colour
        self._highlight: dict[str, set[str]] = {}
        self._highlight_visible = True
        self._focus_edges: EdgeBatchItem | None = None
        self._content = QRectF()
        self._overview = OverviewItem(QRectF())
        self._overview_mode = False
        self._overview_dirty = True
        self._kept_selection: str | None = None
        self._open_pending = False
        self._edges: list[EdgeBatchItem] = []
        self.minimap = Minimap(self, self.centerOn)
        self.legend = Legend(self)
        self.legend.hide()
        self._crumb = _Breadcrumb(self, self.close_subgraph)
        self._crumb.hide()
        self.notice = QLabel(self)  # "Loading v3…": the graph shown is about to be replaced
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setAutoFillBackground(True)
        self.notice.setContentsMargins(8, 4, 8, 4)
        self.notice.hide()
        self.scene().selectionChanged.connect(self._on_selection)
        self._apply_canvas(style.canvas_for(self.palette()))  # the app may already be dark
        self.horizontalScrollBar().valueChanged.connect(self._sync_minimap)
        self.verticalScrollBar().valueChanged.connect(self._sync_minimap)

    # ----------------------------------------------------------------- model and subgraphs
    def bind(self, shown: ShownModel) -> None:
        """Follow the model on screen; entering or leaving a subgraph tells it which graph is shown."""
        shown.changed.connect(lambda opened: self.set_model(opened.loaded.proto, opened.layout) if opened
                              else self.set_model(onnx.ModelProto()))
        self.graphChanged.connect(lambda _breadcrumb: shown.follow_graph(self.breadcrumb()[1:]))

    def set_model(self, model: onnx.ModelProto, layout: LayoutResult | None = None) -> None:
        """Show the main graph of `model` (replacing whatever was shown, its overlay and rings too).

        `layout`: the main graph's layout if it was made already (off the GUI thread).
        Overlays and rings are keyed by node name: kept across models they would paint one
        model's figures on another's nodes that happen to share a name.
        """
        self._overlay = None
        self._highlight = {}
        self._stack = [(model.graph.name or "main graph", model.graph)]
        self._show(model.graph, layout)

    def open_subgraph(self, node_name: str, attr: str) -> None:
        """Enter the body graph stored in attribute `attr` of node `node_name`."""
        if self._layout is None:
            raise WorkbenchError("No model is shown; open a model before entering a subgraph.")
        body = subgraph_of(self._stack[-1][1], self._layout.graph, node_name, attr)
        self._stack.append((f"{node_name}/{attr}", body))
        self._show(body)

    def close_subgraph(self) -> None:
        """Go back to the enclosing graph (no-op at the main graph)."""
        if len(self._stack) > 1:
            self._stack.pop()
            self._show(self._stack[-1][1])

    def breadcrumb(self) -> list[str]:
        """Names of the graphs from the main graph to the one shown."""
        return [title for title, _ in self._stack]

    def node_names(self) -> list[str]:
        """Names of all nodes shown: operators by key, graph inputs/outputs as 'input:x'/'output:y'."""
        return list(self._layout.graph.names) if self._layout is not None else []

    def layout_result(self) -> LayoutResult | None:
        """The layout currently drawn (boxes and edges), for tests and tools."""
        return self._layout

    def node_item(self, name: str) -> NodeItem:
        """The scene item of a node; KeyError if there is none."""
        self.finish_building()
        return self._items[self._by_name[name]]

    def _show(self, graph: onnx.GraphProto, layout: LayoutResult | None = None) -> None:
        self._build_scene(layout if layout is not None else layout_graph(graph))
        self._crumb.set_path(self.breadcrumb())
        self._crumb.setVisible(len(self._stack) > 1)
        self.graphChanged.emit(" › ".join(self.breadcrumb()))
        self._open_view()

    def _build_scene(self, layout: LayoutResult) -> None:
        """Clear the scene and start adding the layout's items, a slice per event-loop turn (see scene_building)."""
        scene = self.scene()
        scene.clearSelection()
        scene.clear()
        self._focus_edges = None
        self._layout = layout
        info = layout.graph
        self._base_rgb = style.category_colours(info.categories)
        self._by_name = {}
        for i, name in enumerate(info.names):
            self._by_name.setdefault(name, i)
        x0, y0, x1, y1 = layout.bounds
        self._overview = OverviewItem(QRectF(x0, y0, x1 - x0, y1 - y0))
        self._overview.setVisible(False)
        self._overview_mode = False
        self._overview_dirty = True
        self._kept_selection = None
        scene.addItem(self._overview)
        self._build = SceneBuild(scene, layout, self._base_rgb)
        self._build.edge_rgb, self._build.label_rgb = self._canvas.edge, self._canvas.label
        self._items, self._edges = self._build.nodes, self._build.edges
        # Shape labels are written right of their edge and may stick out of the layout bounds.
        label_room = LABEL_ROOM if any(info.edge_labels) else 0.0
        self._content = QRectF(x0, y0, x1 - x0 + label_room, y1 - y0)
        # Room around the drawing so that any node, even at an edge, can be centred.
        scene.setSceneRect(self._content.adjusted(-SCROLL_PAD, -SCROLL_PAD, SCROLL_PAD, SCROLL_PAD))
        self._restyle()
        later(self, self._build_more)

    def is_building(self) -> bool:
        """Whether items of the graph shown are still being added to the scene (graphBuilt follows)."""
        return self._build is not None and not self._build.done()

    def finish_building(self) -> None:
        """Add every item still missing now, for callers that need the whole scene at once."""
        if self.is_building():
            self._add_items(None)

    def _build_more(self) -> None:
        if self.is_building():
            self._add_items(BUILD_TURN_CPU_S)
        if self.is_building():
            later(self, self._build_more)

    def _add_items(self, cpu_budget_s: float | None) -> None:
        start = len(self._items)
        self._build.add(cpu_budget_s)
        self._style_nodes(start)
        if self._overview_mode:
            for item in self._items[start:]:
                item.setVisible(False)
        if self._build.done():
            self.graphBuilt.emit()

    def _open_view(self) -> None:
        """Fit small graphs; show the top of big ones at a readable zoom (the minimap has the rest)."""
        self.minimap.set_picture(self._layout.boxes, self._fill_rgb, self._layout.bounds)
        self._place_overlays()
        # Before the first show the viewport has no real size yet; showEvent comes back here.
        self._open_pending = not self.isVisible()
        if self._fit_scale() >= READABLE_SCALE * 0.6:
            self.fit()
            return
        self._set_scale(READABLE_SCALE)
        inputs = [i for i, kind in enumerate(self._layout.graph.kinds) if kind != 0]
        top = min(inputs or [0], key=lambda i: self._layout.y[i])
        viewport = self.viewport().rect()
        x = self._layout.x[top] + self._layout.w[top] / 2
        y = self._layout.y[top] + viewport.height() / (2 * READABLE_SCALE) - 10
        self.centerOn(QPointF(x, y))

    # ---------------------------------------------------------------------- zoom and pan
    def content_rect(self) -> QRectF:
        """The scene area the graph occupies (the scene rect adds panning room around it)."""
        return QRectF(self._content)

    def _fit_scale(self) -> float:
        rect = self._content
        view = self.viewport().rect()
        if rect.isEmpty() or view.isEmpty():
            return 1.0
        return min(view.width() / rect.width(), view.height() / rect.height())

    def _set_scale(self, scale: float) -> None:
        scale = min(max(scale, min(self._fit_scale() * 0.5, 0.5)), MAX_SCALE)
        current = self.transform().m11()
        if current > 0:
            self.scale(scale / current, scale / current)
        self._sync_minimap()

    def zoom(self) -> float:
        """Current scale (1.0 = one scene unit per pixel)."""
        return self.transform().m11()

    def fit(self) -> None:
        """Show the whole graph."""
        self.fitInView(self._content, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > MAX_SCALE:
            self._set_scale(MAX_SCALE)
        self._sync_minimap()

    def zoom_in(self) -> None:
        """Zoom in one step, around the view centre."""
        self._zoom_about_centre(ZOOM_STEP)

    def zoom_out(self) -> None:
        """Zoom out one step, around the view centre."""
        self._zoom_about_centre(1 / ZOOM_STEP)

    def _zoom_about_centre(self, factor: float) -> None:
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self._set_scale(self.zoom() * factor)
        self.setTransformationAnchor(anchor)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt's name
        """Wheel zooms around the pointer; Shift/Ctrl-free, like map viewers."""
        steps = event.angleDelta().y() / 120.0
        if steps:
            self._set_scale(self.zoom() * math.pow(ZOOM_STEP, steps))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """+/- zoom, 0 fits, Backspace leaves a subgraph."""
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_Backspace:
            self.close_subgraph()
        else:
            super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        """Follow a theme change: canvas, edges, labels and minimap take the new colours."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_canvas(style.canvas_for(self.palette()))

    def _apply_canvas(self, canvas: style.Canvas) -> None:
        if canvas == self._canvas:
            return
        self._canvas = canvas
        self.setBackgroundBrush(style.brush(canvas.background))
        if self._build is not None:
            self._build.edge_rgb, self._build.label_rgb = canvas.edge, canvas.label
        for batch in self._edges:
            batch.rgb, batch.label_rgb = canvas.edge, canvas.label
            batch.update()
        self.minimap.background = canvas.background
        if self._layout is not None:
            self.minimap.set_picture(self._layout.boxes, self._fill_rgb, self._layout.bounds)
        self.viewport().update()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Place a graph set before the view was shown, now that the viewport has its size."""
        super().showEvent(event)
        if self._open_pending and self._layout is not None:
            self._open_view()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        """Keep the minimap and legend in their corners."""
        super().resizeEvent(event)
        self._place_overlays()

    def _place_overlays(self) -> None:
        viewport = self.viewport().geometry()
        self.minimap.move(viewport.right() - self.minimap.width() - 8, viewport.top() + 8)
        self.legend.move(viewport.left() + 8, viewport.bottom() - LEGEND_H - 8)
        self._crumb.move(viewport.left() + 8, viewport.top() + 8)
        self.notice.move(viewport.center().x() - self.notice.width() // 2, viewport.top() + 8)
        self._sync_minimap()

    def set_notice(self, text: str) -> None:
        """Show a line over the top of the graph (empty: hide it)."""
        self.notice.setText(text)
        self.notice.adjustSize()
        self.notice.setVisible(bool(text))
        self._place_overlays()

    def _sync_minimap(self) -> None:
        """After any scroll or zoom: update the minimap outline and the level-of-detail mode."""
        overview = self._layout is not None and self.zoom() < OVERVIEW_LOD
        if overview != self._overview_mode:
            self._switch_overview(overview)
        if overview and self._overview_dirty:
            self._refresh_overview()
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        self.minimap.set_visible_rect(visible)
        # With the whole graph in view the minimap has nothing to show and would only hide nodes.
        self.minimap.setVisible(self._layout is not None and not visible.contains(self._content))

    # ------------------------------------------------------------------------- selection
    def select_node(self, name: str) -> None:
        """Select the node called `name` and centre the view on it (emits nodeSelected)."""
        if name not in self._by_name:
            raise WorkbenchError(f"There is no node called {name!r} in this graph; check the name.")
        self.finish_building()
        item = self._items[self._by_name[name]]
        if self.zoom() < READABLE_SCALE * 0.6:
            self._set_scale(READABLE_SCALE)  # first: hidden (overview) items cannot be selected
        self.scene().clearSelection()
        item.setSelected(True)
        self.centerOn(item.box.center())

    def selected_node(self) -> str | None:
        """Name of the selected node, or None."""
        if self._overview_mode:
            return self._kept_selection
        items = self.scene().selectedItems()
        return items[0].name if items else None

    def _on_selection(self) -> None:
        items = self.scene().selectedItems()
        self._show_focus_edges(items[0].index if items else None)
        self._overview_dirty = True
        if self._overview_mode:
            self._refresh_overview()
        if items:
            self.nodeSelected.emit(items[0].name)
        else:
            self.selectionCleared.emit()

    def _show_focus_edges(self, index: int | None) -> None:
        """Draw the selected node's edges in the accent colour on top of the others."""
        if self._focus_edges is not None:
            self.scene().removeItem(self._focus_edges)
            self._focus_edges = None
        if index is None or self._layout is None:
            return
        info = self._layout.graph
        edges = np.flatnonzero((info.edge_src == index) | (info.edge_dst == index))
        if len(edges) == 0:
            return
        path = edges_path(self._layout.edge_offsets, self._layout.edge_points, edges)
        self._focus_edges = EdgeBatchItem(path, np.zeros((0, 2)), [], style.SELECTED_RGB, 2.0)
        self._focus_edges.setZValue(-0.5)
        self.scene().addItem(self._focus_edges)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        """Double-click on an If/Loop/Scan node opens its subgraph (asks which when several)."""
        item = self.itemAt(event.position().toPoint())
        if item is None or item.type() != NodeItem.Type or self._layout is None:
            super().mouseDoubleClickEvent(event)
            return
        subs = self._layout.graph.subgraphs[item.index]
        if len(subs) == 1:
            self.open_subgraph(item.name, subs[0])
        elif subs:
            menu = QMenu(self)
            for attr in subs:
                # '&' would be taken as a mnemonic marker in a menu entry.
                menu.addAction(attr.replace("&", "&&"), lambda a=attr, n=item.name: self.open_subgraph(n, a))
            menu.exec(event.globalPosition().toPoint())

    # -------------------------------------------------------------- overlays and highlights
    def set_overlay(self, values: dict[str, float], label: str = "", unit: str = "") -> None:
        """Colour nodes by a value each (light = low, dark red = high); others turn grey."""
        overlay = Overlay(dict(values), label, unit)
        if overlay == self._overlay:
            return  # e.g. a profile's per-op record, then its stored result: restyling and repainting again is ~20 ms
        self._overlay = overlay
        self._restyle()

    def clear_overlay(self) -> None:
        """Back to colours by operator category."""
        self._overlay = None
        self._restyle()

    def overlay(self) -> Overlay | None:
        """The overlay shown, if any."""
        return self._overlay

    def set_highlight(self, added: set[str] = frozenset(), removed: set[str] = frozenset(),
                      changed: set[str] = frozenset()) -> None:
        """Ring node sets in green (added), red (removed) and orange (changed), e.g. a version diff."""
        self._highlight = {"added": set(added), "removed": set(removed), "changed": set(changed)}
        self._restyle()

    def clear_highlight(self) -> None:
        """Remove all highlight rings."""
        self._highlight = {}
        self._restyle()

    def set_highlight_visible(self, visible: bool) -> None:
        """Show or hide the highlight rings without forgetting them (a toggle in the toolbar)."""
        self._highlight_visible = visible
        self._restyle()

    def highlighted(self) -> dict[str, set[str]]:
        """The ringed node names by kind ("added", "removed", "changed"); empty when none."""
        return {kind: set(names) for kind, names in self._highlight.items() if names}

    def highlight_visible(self) -> bool:
        """Whether highlight rings are drawn."""
        return self._highlight_visible

    def node_fill(self, name: str) -> QColor:
        """The fill colour a node is drawn with."""
        return QColor(*self._fill_rgb[self._by_name[name]].tolist())

    def _restyle(self) -> None:
        """Recompute every node's fill and ring from category, overlay and highlight at once."""
        if self._layout is None:
            return
        names = self._layout.graph.names
        fill = self._base_rgb.copy()
        if self._overlay is not None:
            values = np.array([self._overlay.values.get(n, np.nan) for n in names], dtype=float)
            known = np.isfinite(values)
            low = float(values[known].min()) if known.any() else 0.0
            high = float(values[known].max()) if known.any() else 0.0
            self._overlay_range = (low, high)
            t = (values - low) / (high - low) if high > low else np.where(known, 1.0, 0.0)
            fill[:] = style.NO_VALUE_RGB
            fill[known] = style.gradient(t[known])
            self.legend.set_range(self._overlay.label, self._overlay.unit, low, high)
        self.legend.setVisible(self._overlay is not None)
        self._fill_rgb = fill
        self._light_text = style.text_is_light(fill)
        self._rings = {}
        for kind in ("changed", "removed", "added") if self._highlight_visible else ():
            for name in self._highlight.get(kind, ()):
                self._rings[name] = style.HIGHLIGHT_RGB[kind]
        self._style_nodes(0)
        self.scene().update()
        self.minimap.set_picture(self._layout.boxes, fill, self._layout.bounds)
        self._overview_dirty = True
        if self._overview_mode:
            self._refresh_overview()

    def _style_nodes(self, start: int) -> None:
        """Give the node items from `start` on the fill, text colour and ring of the current styling."""
        items = self._items[start:]
        stop = start + len(items)
        rings = self._rings
        for item, rgb, is_light in zip(items, self._fill_rgb[start:stop].tolist(), self._light_text[start:stop].tolist()):
            item.fill = tuple(rgb)
            item.light_text = is_light
            item.ring = rings.get(item.name)

    def _switch_overview(self, overview: bool) -> None:
        """Swap node items for the one-item overview (or back), keeping the selection.

        Qt deselects items when they are hidden; signals are blocked meanwhile so that zooming
        out does not tell listeners the selection was cleared.
        """
        scene = self.scene()
        blocked = scene.blockSignals(True)
        try:
            # One call per item: a common parent item would be cheaper to hide, but
            # QGraphicsScene.render() does not cull the children of a parent, so exports of
            # big graphs would paint every node once per column.
            if overview:
                self._kept_selection = self.selected_node()
                for item in self._items:
                    item.setVisible(False)
            else:
                for item in self._items:
                    item.setVisible(True)
                if self._kept_selection in self._by_name:
                    self._items[self._by_name[self._kept_selection]].setSelected(True)
                self._kept_selection = None
        finally:
            scene.blockSignals(blocked)
        self._overview_mode = overview
        self._overview.setVisible(overview)

    def _refresh_overview(self) -> None:
        """Overview colours: fill, or the ring colour of highlighted and selected nodes."""
        rgb = self._fill_rgb.copy()
        accent = np.zeros(len(rgb), dtype=bool)
        for name, ring in self._rings.items():
            if name in self._by_name:
                rgb[self._by_name[name]] = ring
                accent[self._by_name[name]] = True
        selected = self.selected_node()
        if selected is not None:
            rgb[self._by_name[selected]] = style.SELECTED_RGB
            accent[self._by_name[selected]] = True
        self._overview.set_boxes(self._layout.boxes, rgb, accent)
        self._overview_dirty = False

    # ---------------------------------------------------------------------------- export
    def render_to_image(self, path: str | os.PathLike[str], overlay: Overlay | dict[str, float] | None = None,
                        max_side: int = EXPORT_MAX_SIDE, columns: int = 0, protected: Iterable[Path] = ()) -> Path:
        """Export the whole graph to PNG or SVG (by suffix), atomically and checked; very tall graphs wrap into columns."""
        if isinstance(overlay, dict):
            overlay = Overlay(overlay)
        if self._layout is None:
            raise WorkbenchError("No model is shown; call set_model before exporting an image.")
        self.finish_building()
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".png", ".svg"):
            raise WorkbenchError(f"Cannot export {path.name}: use a .png or .svg file name.")
        previous = self._overlay
        if overlay is not None:
            self.set_overlay(overlay.values, overlay.label, overlay.unit)
        try:
            slices = self._export_slices(columns)
            col_w = self._content.width()
            col_h = max(r.height() for r in slices)
            gap = 40.0 if len(slices) > 1 else 0.0
            legend_h = LEGEND_H + 16 if self._overlay is not None else 0
            full_w = len(slices) * col_w + (len(slices) - 1) * gap
            scale = min(1.0, max_side / max(full_w, col_h + legend_h))
            size = QSize(max(1, min(max_side, math.ceil(full_w * scale))),
                         max(1, min(max_side, math.ceil(col_h * scale + legend_h))))
            # Qt reports a failed write weakly (SVG not at all): the shared rule writes a temp
            # file, checks it is complete and only then renames it over `path`.
            with atomic_path(path, protected) as staged:
                if suffix == ".png":
                    image = QImage(size, QImage.Format.Format_RGB32)
                    image.fill(QColor(*style.BACKGROUND_RGB))
                    painter = QPainter(image)
                    self._paint_export(painter, slices, scale, gap, col_h, size)
                    painter.end()
                    if not image.save(str(staged), "PNG"):
                        raise OSError(errno.EIO, "the image could not be written", str(path))
                else:
                    from PySide6.QtSvg import QSvgGenerator

                    generator = QSvgGenerator()
                    generator.setFileName(str(staged))
                    generator.setSize(size)
                    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
                    generator.setTitle(self._stack[-1][0] if self._stack else "graph")
                    painter = QPainter(generator)
                    painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor(*style.BACKGROUND_RGB))
                    self._paint_export(painter, slices, scale, gap, col_h, size)
                    painter.end()
                    # QSvgGenerator ignores write errors; a complete file ends with its closing tag.
                    if not staged.read_bytes()[-64:].rstrip().endswith(b"</svg>"):
                        raise OSError(errno.EIO, "the drawing was cut short (the disk may be full)", str(path))
        finally:
            if overlay is not None:
                if previous is None:
                    self.clear_overlay()
                else:
                    self.set_overlay(previous.values, previous.label, previous.unit)
        return path

    def _export_slices(self, columns: int) -> list[QRectF]:
        """Scene bands, one per output column, cut in the gaps between layers."""
        rect = QRectF(self._content)
        if columns <= 0:
            ratio = rect.height() / max(rect.width(), 1.0)
            # k columns of height H/k next to each other give an aspect of k²·W/H; aim for ~1.4.
            columns = max(1, round(math.sqrt(1.4 * ratio))) if ratio > EXPORT_TALL_RATIO else 1
        if columns == 1:
            return [rect]
        layout = self._layout
        # Cut lines sit just above a layer's first box so no node is split between columns.
        first_y = np.full(int(layout.layer.max()) + 1, np.inf)
        np.minimum.at(first_y, layout.layer, layout.y)
        layer_tops = np.sort(first_y[np.isfinite(first_y)])
        cuts = [rect.top()]
        for k in range(1, columns):
            target = rect.top() + k * rect.height() / columns
            j = int(np.searchsorted(layer_tops, target))
            cut = float(layer_tops[min(j, len(layer_tops) - 1)]) - 8.0
            if cut > cuts[-1]:
                cuts.append(cut)
        cuts.append(rect.bottom())
        return [QRectF(rect.left(), a, rect.width(), b - a) for a, b in zip(cuts[:-1], cuts[1:])]

    def _paint_export(self, painter: QPainter, slices: list[QRectF], scale: float, gap: float,
                      col_h: float, size: QSize) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        with self._export_state(overview=scale < OVERVIEW_LOD):
            self._paint_slices(painter, slices, scale, gap, col_h)
        if self._overlay is not None:
            low, high = self._overlay_range
            paint_legend(painter, QRectF(8, size.height() - LEGEND_H - 8, LEGEND_W, LEGEND_H),
                         self._overlay.label, self._overlay.unit, low, high)

    @contextmanager
    def _export_state(self, overview: bool) -> Iterator[None]:
        """Scene without the user's selection, in the detail mode the export scale needs.

        Scene signals are blocked throughout so listeners see no selection change.
        """
        scene = self.scene()
        blocked = scene.blockSignals(True)
        selected = self.selected_node()
        was_overview = self._overview_mode
        focus = self._focus_edges
        try:
            if was_overview:
                self._switch_overview(False)
            scene.clearSelection()
            if focus is not None:
                focus.setVisible(False)
            if overview:
                self._switch_overview(True)
                self._refresh_overview()
            yield
        finally:
            if self._overview_mode:
                self._switch_overview(False)
            if selected is not None:
                self._items[self._by_name[selected]].setSelected(True)
            if focus is not None:
                focus.setVisible(True)
            if was_overview:
                self._switch_overview(True)
            self._overview_dirty = True
            if self._overview_mode:
                self._refresh_overview()
            scene.blockSignals(blocked)

    def _paint_slices(self, painter: QPainter, slices: list[QRectF], scale: float, gap: float,
                      col_h: float) -> None:
        """Each scene band side by side, with a thin rule between columns."""
        for k, source in enumerate(slices):
            left = k * (source.width() + gap) * scale
            target = QRectF(left, 0, source.width() * scale, source.height() * scale)
            self.scene().render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
            if k:
                painter.setPen(QColor(200, 200, 200))
                x = left - gap * scale / 2
                painter.drawLine(QPointF(x, 0), QPointF(x, col_h * scale))


class _Breadcrumb(QWidget):
    """'main › If_3/then_branch' with a back button, shown inside a subgraph."""

    def __init__(self, parent: QWidget, on_back) -> None:  # noqa: ANN001 - a callable
        super().__init__(parent)
        self.setAutoFillBackground(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 8, 2)
        back = QToolButton(self)
        back.setText("◀ Back")
        back.setToolTip("Back to the enclosing graph (Backspace)")
        back.clicked.connect(on_back)
        self._label = QLabel(self)
        self._label.setTextFormat(Qt.TextFormat.PlainText)  # graph names come from the model
        row.addWidget(back)
        row.addWidget(self._label)

    def set_path(self, names: list[str]) -> None:
        """Show the graph path."""
        self._label.setText(" › ".join(names))
        self.adjustSize()
