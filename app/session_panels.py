"""The session's panels in the main window: Optimize, Versions, Diff, Profile, Compare, Analysis,
and the File/Edit/Run actions that drive the session.

The state lives in `pipelines.session_model.SessionModel`; each panel subscribes to it itself
(`bind`). This module builds the docks and actions and routes the panels' requests to the
model; a refusal becomes one sentence in the Optimize panel and the Messages log
(SessionCommands.guard). The File commands are in app/session_commands.py.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QScrollArea, QTabBar, QWidget

from app.session_commands import SessionCommands
from app.version_display import VersionDisplay
from pipelines.session_model import SessionModel
from pipelines.versions import ROOT_ID, Version
from widgets.analysis_views import AnalysisViews
from widgets.compare_view import CompareView
from widgets.diff_panel import DiffPanel
from widgets.optimize_panel import OptimizePanel
from widgets.profile_dashboard import ProfileDashboard
from widgets.version_tree import VersionTree, step_notes

if TYPE_CHECKING:
    from app.main_window import MainWindow


class SessionPanels(QObject):
    """Adds the optimization docks and actions to a MainWindow, bound to one SessionModel."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = SessionModel(window.jobs)
        self._build_panels()
        self.version_display = VersionDisplay(window, self.session, self.diff_panel)
        self.commands = SessionCommands(window, self.session, self.version_display, self.optimize_panel)
        self._build_actions()
        for panel in (self.optimize_panel, self.version_tree, self.diff_panel, self.profile_dashboard,
                      self.compare_view, self.analysis_views):
            panel.bind(self.session)
        self._connect()

    # ---- construction -----------------------------------------------------------------------
    def _build_panels(self) -> None:
        w = self.window
        left, bottom = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.optimize_panel = OptimizePanel(self._selected_nodes, w)
        self.version_tree = VersionTree(w)
        self.diff_panel = DiffPanel(w)
        self.profile_dashboard = ProfileDashboard(w)
        self.compare_view = CompareView(w)
        self.analysis_views = AnalysisViews(w)
        self.optimize_dock = w.add_panel("Optimize", "dock-optimize", _scrolled(self.optimize_panel), left)
        self.diff_dock = w.add_panel("Diff", "dock-diff", self.diff_panel, left)
        self.versions_dock = w.add_panel("Versions", "dock-versions", self.version_tree, bottom)
        self.profile_dock = w.add_panel("Profile", "dock-profile", _scrolled(self.profile_dashboard), bottom)
        self.compare_dock = w.add_panel("Compare", "dock-compare", _scrolled(self.compare_view), bottom)
        self.analysis_dock = w.add_panel("Analysis", "dock-analysis", _scrolled(self.analysis_views), bottom)
        # The bottom row (versions, charts) spans the whole width: charts need it more than the side panels.
        w.setCorner(Qt.Corner.BottomLeftCorner, bottom)
        w.setCorner(Qt.Corner.BottomRightCorner, bottom)

    def default_dock_sizes(self) -> None:
        """First run (no saved layout): group the docks in tabs, versions beside the charts,
        the bottom row a third of the height.

        Runs at first show (MainWindow._default_dock_sizes); a saved layout replaces it.
        """
        w = self.window
        w.tabifyDockWidget(w.search_dock, self.optimize_dock)
        w.tabifyDockWidget(w.search_dock, self.diff_dock)
        w.splitDockWidget(self.versions_dock, self.profile_dock, Qt.Orientation.Horizontal)
        for dock in (self.compare_dock, self.analysis_dock, w.messages_dock, w.tune_panel.parentWidget()):
            w.tabifyDockWidget(self.profile_dock, dock)
        self.optimize_dock.raise_()
        self.profile_dock.raise_()
        w.resizeDocks([self.versions_dock, self.profile_dock], [500, max(600, w.width() - 500)], Qt.Orientation.Horizontal)
        # A third of the height: the graph and the Optimize form keep room at 1280×800.
        w.resizeDocks([self.profile_dock], [max(230, int(w.height() * 0.34))], Qt.Orientation.Vertical)
        QTimer.singleShot(0, self, self._hide_stale_tab_bars)  # not called once the window is gone

    def _hide_stale_tab_bars(self) -> None:
        """Hide dock tab bars whose tabs all sit in a bigger tab bar too.

        Tabifying several docks on a freshly shown, themed window leaves the tab bar of an
        intermediate state on screen (seen with Qt 6.11): it shows a subset of a real group.
        """
        bars = [b for b in self.window.findChildren(QTabBar) if b.parent() is self.window and b.isVisible()]
        tabs = {b: {b.tabText(i) for i in range(b.count())} for b in bars}
        for bar in bars:
            if any(other is not bar and tabs[bar] < tabs[other] for other in bars):
                bar.hide()

    def _build_actions(self) -> None:
        w = self.window
        for action, slot, tip in ((w.undo_action, self.session.undo, "Back to the previous version (Ctrl+Z)"),
                                  (w.redo_action, self.session.redo, "Forward to the next version (Ctrl+Shift+Z)"),
                                  (w.profile_action, self.profile_current, "Profile the current version (F5)")):
            action.triggered.connect(slot)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.setEnabled(False)  # until there is something to undo, redo or profile
        c = self.commands
        self.open_session_action = QAction("Open Session…", w)
        self.open_session_action.triggered.connect(lambda: c.open_session())
        self.manage_sessions_action = QAction("Manage Sessions…", w)
        self.manage_sessions_action.setToolTip("The sessions kept in the cache: size, age, open or delete")
        self.manage_sessions_action.triggered.connect(c.manage_sessions)
        self.session_actions = []  # need an open session
        for text, command in (("Save Session As…", c.save_session), ("Export Model…", c.export_model),
                              ("Export Recipe…", c.export_recipe), ("Export Report…", c.export_report)):
            action = QAction(text, w)
            action.triggered.connect(lambda _checked=False, command=command: command())
            action.setEnabled(False)
            self.session_actions.append(action)
        self.save_session_action, self.export_model_action, self.export_recipe_action, self.export_report_action = \
            self.session_actions
        self.export_model_action.setShortcut(QKeySequence("Ctrl+E"))

    def file_menu_actions(self) -> list[QAction | None]:
        """Actions for the File menu (None: a separator)."""
        return [self.open_session_action, self.save_session_action, self.manage_sessions_action, None,
                self.export_model_action, self.export_recipe_action, self.export_report_action]

    def _connect(self) -> None:
        s, w, c, guard = self.session, self.window, self.commands, self.commands.guard
        s.message.connect(c.status)
        s.problem.connect(lambda text: w.log("error", text))
        s.step_failed.connect(lambda text: w.log("error", f"Step failed: {text}"))
        s.step_applied.connect(lambda vid: self._log_notes(s.version(vid)))
        s.workspace_changed.connect(self._on_workspace_changed)
        s.history_changed.connect(self._on_history_changed)
        s.analysed.connect(self._on_analysed)
        s.compared.connect(lambda _result: self.compare_dock.raise_())
        self.optimize_panel.applyRequested.connect(lambda name, config: guard(s.apply, name, config))
        self.optimize_panel.presetRequested.connect(lambda _name, recipe: guard(s.apply_recipe, recipe))
        tree = self.version_tree
        tree.activated.connect(self.go_to)
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

    # ---- reacting to the session -------------------------------------------------------------
    def start_session(self, source: str | Path) -> None:
        """A model was opened in the window: start a session on it (the window shows the source, as v0)."""
        self.session.close()
        self.version_display.forget(shown=ROOT_ID)
        self.session.start(source)
        self.optimize_panel.load_in_background()

    def close_session(self) -> None:
        """The window closed its model: forget the session and drop any version still loading."""
        self.session.close()

    def _on_workspace_changed(self) -> None:
        for action in [*self.session_actions, self.window.profile_action]:
            action.setEnabled(self.session.workspace is not None)

    def _on_history_changed(self) -> None:
        self.window.undo_action.setEnabled(self.session.history.can_undo)
        self.window.redo_action.setEnabled(self.session.history.can_redo)

    def _on_analysed(self, kind: str, vid: str, _result: Any) -> None:
        if vid == self.session.current_id:
            self.analysis_dock.raise_()
        else:
            number = self.session.version(vid).number
            self.commands.status(f"The {kind} analysis of v{number} finished; make v{number} current to see it.")

    def _log_notes(self, version: Version) -> None:
        """A step's reasons and warnings also go to the Messages log."""
        for note in step_notes(version):
            self.window.log("warning", f"v{version.number} {version.pass_name}: {note}")

    def _pick_compare(self, side: str, vid: str) -> None:
        self.compare_view.pick(side, vid)
        self.compare_dock.raise_()

    # ---- commands -----------------------------------------------------------------------------
    def go_to(self, vid: str) -> None:
        """Make `vid` current (a click on its row); the tree keeps marking the real current one."""
        self.commands.guard(self.session.go_to, vid)
        self.version_tree.set_current(self.session.current_id)

    def profile_current(self) -> None:
        """F5: profile the current version with the dashboard's settings."""
        self.profile_dock.show()
        self.profile_dock.raise_()
        self.commands.guard(self.session.profile, None, self.profile_dashboard.options())

    def _selected_nodes(self) -> list[str]:
        selected = self.window.graph_view.selected_node()
        return [selected] if selected else []


def _scrolled(widget: QWidget) -> QScrollArea:
    """The panel in a scroll area: wide control rows must not set the window's minimum size."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


__all__ = ["SessionPanels"]
