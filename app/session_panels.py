"""The session's panels in the main window: Optimize, Versions, Diff, Profile, Compare, Analysis,
Auto-optimize.

The state lives in `pipelines.session_model.SessionModel`; each panel subscribes to it itself
(`bind`), and the session's actions follow it in app/session_actions.py. This module builds the
panels and docks and routes the panels' requests to the model; a refusal becomes one sentence
in the Optimize panel and the Messages log (SessionCommands.guard). The File commands are in
app/session_commands.py.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt

from onnx_workbench.app.message_file import keep_messages_in_session
from onnx_workbench.app.session_actions import bind_session_actions
from onnx_workbench.app.session_commands import SessionCommands
from onnx_workbench.app.version_display import VersionDisplay
from onnx_workbench.pipelines.session_model import SessionModel
from onnx_workbench.pipelines.versions import ROOT_ID
from onnx_workbench.widgets.analysis_views import AnalysisViews
from onnx_workbench.widgets.compare_view import CompareView
from onnx_workbench.widgets.diff_panel import DiffPanel
from onnx_workbench.widgets.optimize_panel import OptimizePanel
from onnx_workbench.widgets.profile_dashboard import ProfileDashboard
from onnx_workbench.widgets.tune_panel import TunePanel
from onnx_workbench.widgets.version_tree import VersionTree

if TYPE_CHECKING:
    from onnx_workbench.app.main_window import MainWindow


class SessionPanels(QObject):
    """Adds the optimization docks to a MainWindow, bound to one SessionModel."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = SessionModel(window.jobs)
        self.optimize_panel = OptimizePanel(self._selected_nodes, window)
        self.version_tree = VersionTree(window)
        self.diff_panel = DiffPanel(window)
        self.profile_dashboard = ProfileDashboard(window)
        self.compare_view = CompareView(window)
        self.analysis_views = AnalysisViews(window)
        self.tune_panel = TunePanel(window)
        left, bottom = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        add = window.docks.add
        add("Optimize", "dock-optimize", self.optimize_panel, left, scrolled=True)
        add("Diff", "dock-diff", self.diff_panel, left)
        add("Versions", "dock-versions", self.version_tree, bottom)
        self.profile_dock = add("Profile", "dock-profile", self.profile_dashboard, bottom, scrolled=True)
        self.compare_dock = add("Compare", "dock-compare", self.compare_view, bottom, scrolled=True)
        self.analysis_dock = add("Analysis", "dock-analysis", self.analysis_views, bottom, scrolled=True)
        add("Auto-optimize", "dock-tune", self.tune_panel, bottom)  # the first-run layout tabs it with Profile
        self.version_display = VersionDisplay(window, self.session)
        self.commands = SessionCommands(window, self.session, self.version_display, self.optimize_panel)
        for panel in (self.optimize_panel, self.version_tree, self.diff_panel, self.profile_dashboard,
                      self.compare_view, self.analysis_views, self.tune_panel, window.message_log):
            panel.bind(self.session)
        keep_messages_in_session(window.message_log, self.session)
        bind_session_actions(window.actions, self.session, self.commands, self.profile_current)
        self._route_requests()

    def _route_requests(self) -> None:
        """The panels' requests go to the model; a refusal is said, never raised."""
        s, w, c, guard = self.session, self.window, self.commands, self.commands.guard
        self.optimize_panel.applyRequested.connect(lambda name, config: guard(s.apply, name, config))
        self.optimize_panel.presetRequested.connect(lambda _name, recipe: guard(s.apply_recipe, recipe))
        tree = self.version_tree
        tree.activated.connect(lambda vid: guard(s.go_to, vid))
        tree.renameRequested.connect(lambda vid, label: guard(s.rename, vid, label))
        tree.exportModelRequested.connect(c.export_model)
        tree.exportRecipeRequested.connect(c.export_recipe)
        tree.compareRequested.connect(self._pick_compare)
        self.diff_panel.highlightToggled.connect(w.graph_view.set_highlight_visible)
        self.diff_panel.nodeActivated.connect(w.select_node)
        dash = self.profile_dashboard
        dash.startRequested.connect(lambda options: guard(s.profile, None, options))
        dash.sweepRequested.connect(lambda options, batches, threads: guard(s.sweep, None, options, batches, threads))
        dash.overlayRequested.connect(self.version_display.show_heat_map)
        self.compare_view.compareRequested.connect(lambda a, b, options: guard(s.compare, a, b, options))
        views = self.analysis_views
        views.quantErrorRequested.connect(lambda: guard(s.analyse_quantization, None))
        views.requantizeRequested.connect(lambda nodes: guard(s.requantize_excluding, s.current_id, nodes))
        views.scanRequested.connect(lambda ratios: guard(s.scan_pruning, None, ratios))
        views.pruneRequested.connect(lambda name, config: guard(s.apply, name, config))
        views.overlayRequested.connect(self.version_display.show_analysis_overlay)
        # A finished comparison or analysis of the current version brings its panel to the front.
        s.compared.connect(lambda _result: self.compare_dock.raise_())
        s.analysed.connect(self._on_analysed)

    def start_session(self, source: str | Path) -> None:
        """A model was opened in the window: start a session on it (the window shows the source, as v0)."""
        self.session.close()
        self.version_display.forget(shown=ROOT_ID)
        self.session.start(source)

    def close_session(self) -> None:
        """The window closed its model: forget the session and drop any version still loading."""
        self.session.close()

    def _on_analysed(self, kind: str, vid: str, _result: Any) -> None:
        if vid == self.session.current_id:
            self.analysis_dock.raise_()
        else:
            number = self.session.version(vid).number
            self.commands.status(f"The {kind} analysis of v{number} finished; make v{number} current to see it.")

    def _pick_compare(self, side: str, vid: str) -> None:
        self.compare_view.pick(side, vid)
        self.compare_dock.raise_()

    def profile_current(self) -> None:
        """F5: profile the current version with the dashboard's settings."""
        self.profile_dock.show()
        self.profile_dock.raise_()
        self.commands.guard(self.session.profile, None, self.profile_dashboard.options())

    def _selected_nodes(self) -> list[str]:
        selected = self.window.graph_view.selected_node()
        return [selected] if selected else []


__all__ = ["SessionPanels"]
