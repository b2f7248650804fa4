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
from onnx_workbench.widgets.graph_items import EdgeBatchItem, NodeItem, edges_path

EDGES_PER_BATCH = 256
NODES_PER_CHECK = 16  # nodes added between two looks at the clock


class SceneBuild:
    """The node boxes and edge batches of one layout, added to a scene slice by slice.

    Nodes are added in layout order (inputs, then operators in graph order, then outputs:
    top to bottom, near enough); an edge batch is added once the nodes above its first edge are.
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
        self._edge_chunks = edge_chunks(layout)
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
        chunk = self._edge_chunks[self._next_edge][1]
        self._next_edge += 1
        labels, src = layout.graph.edge_labels, layout.graph.edge_src
        # One label per (source, text): a tensor fanning out to many consumers is named once.
        seen: set[tuple[int, str]] = set()
        label_rows: list[int] = []
        for e in chunk.tolist():
            key = (int(src[e]), labels[e])
            if labels[e] and key not in seen:
                seen.add(key)
                label_rows.append(e)
        starts = layout.edge_points[layout.edge_offsets[label_rows]] if label_rows else np.zeros((0, 2))
        batch = EdgeBatchItem(edges_path(layout.edge_offsets, layout.edge_points, chunk),
                              starts, [labels[e] for e in label_rows])
        batch.rgb, batch.label_rgb = self.edge_rgb, self.label_rgb
        self.scene.addItem(batch)
        self.edges.append(batch)


def edge_chunks(layout: LayoutResult) -> list[tuple[float, np.ndarray]]:
    """Edges grouped by where they start, so each batch covers a compact band of the scene: (top y, edge indices)."""
    n_edges = len(layout.graph.edge_src)
    if n_edges == 0:
        return []
    starts = layout.edge_points[layout.edge_offsets[:-1]]
    order = np.lexsort((starts[:, 0], starts[:, 1]))
    return [(float(starts[order[lo], 1]), order[lo : lo + EDGES_PER_BATCH])
            for lo in range(0, n_edges, EDGES_PER_BATCH)]
