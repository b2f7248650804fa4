"""The session's current version in the window's views: its graph, its rings, and figures only of it.

The window's views (graph, Netron, Summary, Properties, Search) show one model file; in a
session that is the current version's. When the current version changes its file is loaded
in the background (the graph says which version it still shows meanwhile), what its step
changed is ringed, and heat maps are drawn only while the graph shows the version they were
measured on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from onnx_workbench.pipelines.background import Request
from onnx_workbench.pipelines.opening import OpenedModel, open_model_task
from onnx_workbench.pipelines.session_model import SessionModel
from onnx_workbench.widgets.version_tree import version_title

if TYPE_CHECKING:
    from onnx_workbench.app.main_window import MainWindow

LANE = "show-version"
# A version's file is loaded this long after it becomes current: the window's own reaction (tree,
# diff, messages, their repaint: ~25 ms of the GUI thread) goes first. The load's parse and layout
# share the interpreter lock, and run alongside that reaction they stretched it to ~50 ms; a
# version skipped within the delay (Ctrl+Z held down) is never loaded.
LOAD_AFTER_MS = 60


class VersionDisplay(QObject):
    """Keeps the window's views on the session's current version."""

    def __init__(self, window: MainWindow, model: SessionModel) -> None:
        super().__init__(window)
        self.window = window
        self.model = model
        self.shown_version: str | None = None  # the version whose file the views show
        self._heat_map: tuple[str, dict[str, float]] = ("", {})  # measured on which version, node -> share
        lane = window.jobs.lane(LANE)
        lane.record.connect(self._on_loaded)
        lane.succeeded.connect(lambda _request, opened: window.show_analysis(opened))
        lane.failed.connect(self._on_load_failed)
        model.current_changed.connect(self._on_current_changed)
        model.workspace_changed.connect(self._on_workspace_changed)

    def forget(self, shown: str | None = None) -> None:
        """A model is opened or closed: drop rings, heat map and notice; the views show `shown` (or none)."""
        self.window.jobs.cancel(LANE, quietly=True)
        self.shown_version = shown
        self._heat_map = ("", {})
        graph = self.window.graph_view
        graph.clear_overlay()
        graph.clear_highlight()
        graph.set_notice("")

    def _on_workspace_changed(self) -> None:
        if self.model.workspace is None:
            self.forget()

    def _on_current_changed(self, vid: str) -> None:
        if vid == self.shown_version:
            self.window.jobs.cancel(LANE, quietly=True)  # back before another version finished loading
            self.window.graph_view.set_notice("")
            self._ring_changes()
            return
        # Until the new version is loaded the graph shows the old one: say so on it.
        shown = self.model.workspace.get(self.shown_version) if self.shown_version and self.model.workspace else None
        self.window.graph_view.set_notice(
            (f"Showing {version_title(shown)} — " if shown is not None else "") + f"loading {version_title(self.model.version(vid))}…")
        QTimer.singleShot(LOAD_AFTER_MS, self, lambda: self._load(vid))

    def _load(self, vid: str) -> None:
        """Load `vid`'s file to show it, unless another version became current meanwhile or it is loading."""
        running = self.window.jobs.lane(LANE).running
        if running is not None and running.about == (vid,):
            return
        if self.model.workspace is not None and self.model.current_id == vid != self.shown_version:
            self.window.jobs.submit(LANE, open_model_task(self.model.version_path(vid)), about=(vid,))

    def _on_loaded(self, request: Request, record: dict[str, Any]) -> None:
        """A version's model file is loaded: show it and ring what its step changed."""
        opened: OpenedModel = record["opened"]
        (vid,) = request.about
        workspace = self.model.need_workspace()
        # The file is versions/<id>/model.onnx: name the session's model and version instead.
        self.window.show_model(opened, remember=False, name=f"{workspace.source.name} · {version_title(workspace.get(vid))}")
        self.window.graph_view.set_notice("")
        self.shown_version = vid
        self._ring_changes()
        self.show_heat_map(*self._heat_map)

    def _on_load_failed(self, _request: Request, text: str) -> None:
        self.window.graph_view.set_notice("")
        self.window.log("error", f"Could not show the version: {text}")

    def _ring_changes(self) -> None:
        current = self.model.current
        graph = self.window.graph_view
        if current is None or current.parent is None:
            graph.clear_highlight()
            return
        changes = current.changes or {}
        # Drawn or not as the Diff panel's "Ring in graph" toggle last told the graph view.
        graph.set_highlight(set(changes.get("added") or []), set(changes.get("removed") or []),
                            set(changes.get("changed") or []))

    def show_heat_map(self, vid: str, values: dict[str, float]) -> None:
        """The dashboard's per-node time shares: drawn only while the graph shows the version measured."""
        self._heat_map = (vid, values)
        graph = self.window.graph_view
        if not values or not (self.shown_version == self.model.current_id == vid):
            if graph.overlay() is not None:
                graph.clear_overlay()
            return
        # ORT adds nodes of its own (layout Transposes, ...): colour only the model's nodes.
        names = set(graph.node_names())
        graph.set_overlay({k: v * 100.0 for k, v in values.items() if k in names}, "time share", "%")

    def show_analysis_overlay(self, values: dict[str, float], label: str) -> None:
        """An analysis's per-node values, drawn when the graph shows the version analysed (the current one)."""
        if self.shown_version != self.model.current_id:
            return  # the graph still shows another version: its nodes are not the analysed ones
        graph = self.window.graph_view
        names = set(graph.node_names())
        shown = {k: v for k, v in values.items() if k in names}
        if shown:
            graph.set_overlay(shown, label, "%")
