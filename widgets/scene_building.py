"""A layout's scene items, added a few milliseconds at a time so the window draws in between.

Creating the items of a graph is Python work on the GUI thread (~45 µs a node with its share
of edges): a BERT-base graph took ~75 ms in one go, and its first paint ~40 ms more, while the
window could not draw. Added a slice per event-loop turn, top of the graph first, each turn's
new items are painted before the next slice is made, and what is on screen is there first.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsScene

from onnx_workbench.pipelines.graph_layout import LayoutResult
from onnx_workbench.widgets.formatting import plain_tooltip
from onnx_workbench.widgets.graph_items import EdgeBatchItem, NodeItem, edge_tips, segments_path

SEGMENTS_PER_BATCH = 256
NODES_PER_CHECK = 16  # nodes added between two looks at the clock


class SceneBuild:
    """The node boxes and edge batches of one layout, added to a scene slice by slice.

    Nodes are added in layout order (inputs, then operators in graph order, then outputs:
    top to bottom, near enough); a batch of edge segments is added once the nodes above it are.
    """

    def __init__(self, scene: QGraphicsScene, layout: LayoutResult, base_rgb: np.ndarray) -> None:
        self.scene = scene
        self.layout = layout
        self.nodes: list[NodeItem] = []
        self.edges: list[EdgeBatchItem] = []
        self.edge_rgb, self.label_rgb = (0, 0, 0), (0, 0, 0)  # set by the view from its theme
        self._base = [tuple(rgb) for rgb in base_rgb.tolist()]
        self._boxes = layout.boxes.tolist()
        self._bottoms = (layout.y + layout.h).tolist()
        self._reached_y = -np.inf  # the lowest bottom of the nodes added so far
        self._edge_chunks = segment_bands(layout)
        self._tips = edge_tips(layout.edge_offsets, len(layout.edge_points))
        # Each polyline point's edge, and whether it is the edge's first: its label goes there.
        self._edge_of_point = np.repeat(np.arange(len(layout.graph.edge_src)), np.diff(layout.edge_offsets))
        self._first_points = np.zeros(len(layout.edge_points), dtype=bool)
        self._first_points[layout.edge_offsets[:-1]] = True
        self._next_edge = 0

    def done(self) -> bool:
        """Whether every item is in the scene."""
        return len(self.nodes) == len(self._boxes) and self._next_edge == len(self._edge_chunks)

    def add(self, cpu_budget_s: float | None = None) -> None:
        """Add items for about `cpu_budget_s` of this thread's CPU time (None: all that are left)."""
        started = time.thread_time()
        while not self.done():
            nodes_left = len(self.nodes) < len(self._boxes)
            if self._next_edge < len(self._edge_chunks) and (
                    not nodes_left or self._edge_chunks[self._next_edge][0] <= self._reached_y):
                self._add_edge_batch()
            else:
                self._add_nodes(NODES_PER_CHECK)
            if cpu_budget_s is not None and time.thread_time() - started >= cpu_budget_s:
                return

    def _add_nodes(self, count: int) -> None:
        info = self.layout.graph
        add = self.scene.addItem
        start = len(self.nodes)
        for i in range(start, min(start + count, len(self._boxes))):
            item = NodeItem(i, info, QRectF(*self._boxes[i]), self._base[i])
            if info.subgraphs[i]:
                # Model strings are untrusted and tooltips render rich text: escape them.
                item.setToolTip(plain_tooltip(
                    f"{info.names[i]}: double-click to open {', '.join(info.subgraphs[i])}"))
            add(item)
            self.nodes.append(item)
            self._reached_y = max(self._reached_y, self._bottoms[i])

    def _add_edge_batch(self) -> None:
        layout = self.layout
        starts = self._edge_chunks[self._next_edge][1]
        self._next_edge += 1
        labels, src = layout.graph.edge_labels, layout.graph.edge_src
        # One label per (source, text) at an edge's start: a tensor fanning out to many consumers is named once.
        seen: set[tuple[int, str]] = set()
        label_points: list[int] = []
        for point in starts[self._first_points[starts]].tolist():
            edge = int(self._edge_of_point[point])
            key = (int(src[edge]), labels[edge])
            if labels[edge] and key not in seen:
                seen.add(key)
                label_points.append(point)
        batch = EdgeBatchItem(segments_path(layout.edge_points, starts, self._tips),
                              layout.edge_points[label_points] if label_points else np.zeros((0, 2)),
                              [labels[self._edge_of_point[point]] for point in label_points])
        batch.rgb, batch.label_rgb = self.edge_rgb, self.label_rgb
        self.scene.addItem(batch)
        self.edges.append(batch)


def segment_bands(layout: LayoutResult) -> list[tuple[float, np.ndarray]]:
    """Edge segments in bands down the scene: (top y, start points of the band's segments).

    Batched by segment, not by edge: a skip connection from the top to the bottom of a deep
    graph in a batch of whole edges made that batch as tall as the graph, and every repaint
    of the top stroked all of it (17,578 path elements, 5-30 ms on BERT-base).
    """
    points, offsets = layout.edge_points, layout.edge_offsets
    is_start = np.ones(len(points), dtype=bool)
    is_start[offsets[1:] - 1] = False  # an edge's last point starts no segment
    starts = np.flatnonzero(is_start)
    starts = starts[np.lexsort((points[starts, 0], points[starts, 1]))]
    return [(float(points[starts[lo], 1]), starts[lo : lo + SEGMENTS_PER_BATCH])
            for lo in range(0, len(starts), SEGMENTS_PER_BATCH)]
