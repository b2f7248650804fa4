"""The model file the window's views show, without Qt: the views subscribe to it (`bind`).

One model file is on screen at a time: the model opened, or a version of its session. The
graph, Netron, Summary, Properties and Search views follow it; when the graph view enters a
subgraph, Properties and Search follow the graph shown (`index_changed`).
"""
from __future__ import annotations

from typing import Any

from psygnal import Signal

from onnx_workbench.pipelines.opening import OpenedModel
from onnx_workbench.widgets.model_index import ModelIndex, subgraph_at


class ShownModel:
    """The model on screen, the name the user knows it by, and the index of the graph shown."""

    changed = Signal(object)  # the OpenedModel now shown (its figures follow), or None: nothing shown
    analysed = Signal(object)  # the same OpenedModel with its analysis (or the warnings why there is none)
    index_changed = Signal(object)  # ModelIndex of the graph shown (the main graph or a subgraph), or None

    def __init__(self) -> None:
        self.opened: OpenedModel | None = None
        # In the user's words: "resnet50.onnx", or "resnet50.onnx · v2" for a version (whose
        # file is versions/<id>/model.onnx in the session folder).
        self.name = ""
        self.index: ModelIndex | None = None

    def show(self, opened: OpenedModel, name: str | None = None) -> None:
        """Show a loaded model (`name`: what the user calls it, default its file name)."""
        self.opened = opened
        self.name = name or opened.path.name
        # Set before `changed`: the graph view entering the main graph must find it already followed.
        self.index = ModelIndex(opened.loaded.proto)
        self.changed.emit(opened)
        self.index_changed.emit(self.index)

    def clear(self) -> None:
        """Show nothing."""
        self.opened, self.name, self.index = None, "", None
        self.changed.emit(None)
        self.index_changed.emit(None)

    def set_analysis(self, opened: OpenedModel) -> bool:
        """The figures of a model arrived; False (nothing changes) when that model is no longer shown."""
        if self.opened is None or opened.loaded is not self.opened.loaded:
            return False
        self.opened = opened
        self.analysed.emit(opened)
        return True

    def follow_graph(self, crumbs: list[str]) -> None:
        """The graph view shows the subgraph at `crumbs` (names below the main graph): index it."""
        if self.opened is None:
            return
        model = self.opened.loaded.proto
        try:
            graph = subgraph_at(model, crumbs)
        except (KeyError, StopIteration):
            graph = model.graph  # a view state we cannot follow: fall back to the main graph
        if self.index is not None and self.index.graph is graph:
            return
        self.index = ModelIndex(model, graph)
        self.index_changed.emit(self.index)

    def layer_figures(self) -> dict[str, Any] | None:
        """The analysis, when the graph shown is the main graph (per-layer figures are keyed on it)."""
        if self.opened is None or self.index is None or self.index.graph is not self.opened.loaded.proto.graph:
            return None
        return self.opened.analysis
