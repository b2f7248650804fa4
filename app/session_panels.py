"""The session's panels in the main window: Optimize, Versions, Diff, Profile, Compare, Analysis,
and the File/Edit/Run commands that drive the session (save/open, export, undo/redo, F5).

The state lives in `pipelines.session_model.SessionModel`; each panel subscribes to it itself
(`bind`). This module builds the docks and actions, routes the panels' requests to the model
(a refusal becomes one sentence in the Optimize panel and the Messages log), and asks the user
for files.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QScrollArea, QTabBar, QWidget

from app.version_display import VersionDisplay
from pipelines.background import TaskContext, ThreadCall
from pipelines.errors import WorkbenchError, error_sentence
from pipelines.session_cache import enforce_cap
from pipelines.session_model import SessionModel
from pipelines.versions import ROOT_ID, Version, default_sessions_dir
from widgets import formatting
from widgets.analysis_views import AnalysisViews
from widgets.compare_view import CompareView
from widgets.diff_panel import DiffPanel
from widgets.optimize_panel import OptimizePanel
from widgets.profile_dashboard import ProfileDashboard
from widgets.sessions_dialog import SessionsDialog
from widgets.version_tree import VersionTree, step_notes

if TYPE_CHECKING:
    from app.main_window import MainWindow

REPORT_FILTER = "HTML report (*.html);;Markdown (*.md);;JSON (*.json);;CSV (*.csv)"
RECIPE_FILTER = "Recipes (*.yaml *.yml)"
MODEL_FILTER = "ONNX models (*.onnx)"


class SessionPanels(QObject):
    """Adds the optimization docks and actions to a MainWindow, bound to one SessionModel."""

    reportWritten = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = SessionModel(window.jobs)
        # Tests and scripted runs turn this off: a modal question would block them.
        self.ask_before_close = True
        self._build_panels()
        self._build_actions()
        self.version_display = VersionDisplay(window, self.session, self.diff_panel)
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
        for dock in (self.compare_dock, self.analysis_dock, w.messages_dock):
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
        self.open_session_action = QAction("Open Session…", w)
        self.open_session_action.triggered.connect(lambda: self.open_session())
        self.manage_sessions_action = QAction("Manage Sessions…", w)
        self.manage_sessions_action.setToolTip("The sessions kept in the cache: size, age, open or delete")
        self.manage_sessions_action.triggered.connect(self.manage_sessions)
        self.session_actions = []  # need an open session
        for text, command in (("Save Session As…", self.save_session), ("Export Model…", self.export_model),
                              ("Export Recipe…", self.export_recipe), ("Export Report…", self.export_report)):
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
        s, w, guard = self.session, self.window, self._guard
        s.message.connect(self._status)
        s.problem.connect(lambda text: w.log("error", text))
        s.step_failed.connect(lambda text: w.log("error", f"Step failed: {text}"))
        s.step_applied.connect(lambda vid: self._log_notes(s.version(vid)))
        s.workspace_changed.connect(self._on_workspace_changed)
        s.history_changed.connect(lambda: (w.undo_action.setEnabled(s.history.can_undo),
                                           w.redo_action.setEnabled(s.history.can_redo)))
        s.analysed.connect(self._on_analysed)
        s.compared.connect(lambda _result: self.compare_dock.raise_())
        self.optimize_panel.applyRequested.connect(lambda name, config: guard(s.apply, name, config))
        self.optimize_panel.presetRequested.connect(lambda _name, recipe: guard(s.apply_recipe, recipe))
        tree = self.version_tree
        tree.activated.connect(self.go_to)
        tree.renameRequested.connect(lambda vid, label: guard(s.rename, vid, label))
        tree.exportModelRequested.connect(self.export_model)
        tree.exportRecipeRequested.connect(self.export_recipe)
        tree.compareRequested.connect(lambda side, vid: (s.pick_for_compare(side, vid), self.compare_dock.raise_()))
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
        reports = w.jobs.lane("report")
        reports.succeeded.connect(self._on_report_written)
        reports.failed.connect(lambda _request, text: self._error(text))
        w.jobs.lane("trim-cache").succeeded.connect(self._on_cache_trimmed)

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
        ws = self.session.workspace
        if ws is not None:
            self._trim_cache(ws.root)
        for action in [*self.session_actions, self.window.profile_action]:
            action.setEnabled(ws is not None)

    def _on_analysed(self, kind: str, vid: str, _result: Any) -> None:
        if vid == self.session.current_id:
            self.analysis_dock.raise_()
        else:
            number = self.session.version(vid).number
            self._status(f"The {kind} analysis of v{number} finished; make v{number} current to see it.")

    def _log_notes(self, version: Version) -> None:
        """A step's reasons and warnings also go to the Messages log."""
        for note in step_notes(version):
            self.window.log("warning", f"v{version.number} {version.pass_name}: {note}")

    # ---- commands -----------------------------------------------------------------------------
    def go_to(self, vid: str) -> None:
        """Make `vid` current (a click on its row); the tree keeps marking the real current one."""
        self._guard(self.session.go_to, vid)
        self.version_tree.set_current(self.session.current_id)

    def profile_current(self) -> None:
        """F5: profile the current version with the dashboard's settings."""
        self.profile_dock.show()
        self.profile_dock.raise_()
        self._guard(self.session.profile, None, self.profile_dashboard.options())

    def save_session(self, folder: str | Path | None = None) -> None:
        """Copy the session folder where the user chooses (a new folder is made) and continue there."""
        if folder is None:
            ws = self.session.workspace
            suggested = f"{ws.source.stem}-session" if ws is not None else "session"
            # A file dialog, not a folder picker: the user types the name of a folder that does
            # not exist yet (a folder picker refuses those with "Directory not found").
            folder = self._ask_path("Save session as a new folder", suggested, "",
                                    QFileDialog.Option.DontConfirmOverwrite)
            if not folder:
                return
        if self._guard(self.session.save_as, folder) is not None:
            self.window.settings.set_export_dir(Path(folder).parent)

    def manage_sessions(self) -> SessionsDialog:
        """File ▸ Manage Sessions: list the cached sessions; open or delete them."""
        ws = self.session.workspace
        dialog = SessionsDialog(default_sessions_dir(), ws.root if ws is not None else None,
                                self.window.settings.cache_cap_bytes(), self.window)
        dialog.openRequested.connect(self.open_session)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _trim_cache(self, in_use: Path) -> None:
        """Keep the session cache under its cap (oldest sessions first), off the GUI thread."""
        cache, cap = default_sessions_dir(), self.window.settings.cache_cap_bytes()

        def trim(_context: TaskContext) -> int:
            try:
                return len(enforce_cap(cache, cap, keep={in_use}))
            except OSError:
                return 0  # a folder in use by another process: the next session start tries again

        self.window.jobs.submit("trim-cache", ThreadCall("trim the session cache", trim))

    def _on_cache_trimmed(self, _request: Any, deleted: int) -> None:
        if deleted:
            self.window.log("info", f"Deleted the {deleted} oldest cached session{'s' if deleted > 1 else ''} to keep "
                                    f"the cache under {formatting.size(self.window.settings.cache_cap_bytes())} "
                                    "(File ▸ Manage Sessions).")

    def open_session(self, folder: str | Path | None = None) -> None:
        """Reopen a saved session folder and show its original version."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.window, "Open a session folder", str(self._dialog_dir()))
            if not folder:
                return
        if not self.confirm_discard("Open another session"):
            return
        self.version_display.shown_version = None  # version 0 is read from the session's folder
        self._guard(self.session.open, folder)

    def export_model(self, vid: str | None = None, path: str | Path | None = None) -> None:
        """Export a version's model (default: the current one)."""
        vid = vid or self.session.current_id
        path = path or (vid and self._ask_path("Export model", self._export_name(vid, ".onnx"), MODEL_FILTER))
        if vid and path and self._guard(self.session.export_model, vid, path) is not None:
            self._status(f"Exporting {Path(path).name}…")

    def export_recipe(self, vid: str | None = None, path: str | Path | None = None) -> None:
        """Export the recipe that rebuilds a version (default: the current one)."""
        vid = vid or self.session.current_id
        path = path or (vid and self._ask_path("Export recipe", self._export_name(vid, ".yaml"), RECIPE_FILTER))
        if vid and path and self._guard(self.session.export_recipe, vid, path) is not None:
            self._status(f"Exported recipe {Path(path).name}")

    def export_report(self, path: str | Path | None = None) -> None:
        """Write a report on the current version (.html/.md/.json/.csv by suffix) on a thread."""
        ws, vid = self.session.workspace, self.session.current_id
        if ws is None or vid is None:
            return
        path = path or self._ask_path("Export report", self._export_name(vid, "-report.html"), REPORT_FILTER)
        if not path:
            return
        profiles, comparison = dict(self.session.profiles), self.session.comparison

        def write(_context: TaskContext) -> str:
            from pipelines.report.build import build_workspace_report
            from pipelines.report.render import write_report
            from pipelines.safe_write import source_files

            try:
                report = build_workspace_report(ws, vid, profiles=profiles, comparison=comparison)
                write_report(report, path, source_files(ws.source))
            except Exception as exc:  # noqa: BLE001 - any failure must reach the user as one sentence
                raise WorkbenchError(error_sentence(exc, f"the report {Path(path).name}")) from exc
            return str(path)

        self._status("Writing report…")
        self.window.jobs.submit("report", ThreadCall("report", write), about=(vid,))

    def _on_report_written(self, _request: Any, path: str) -> None:
        # A report exports no version: unexported work stays unexported.
        self._status(f"Report written: {Path(path).name}")
        self.reportWritten.emit(path)

    def confirm_close(self) -> bool:
        """Ask before closing with unexported versions; True when closing may go on."""
        return self.confirm_discard("Close")

    def confirm_discard(self, action: str) -> bool:
        """Ask before `action` (e.g. "Open another model") drops unexported versions; True to go on."""
        if not self.session.has_unexported_work or not self.ask_before_close:
            return True
        go_on = QMessageBox.StandardButton.Close if action == "Close" else QMessageBox.StandardButton.Discard
        answer = QMessageBox.question(
            self.window, "Unexported work",
            f"This session has versions you have not exported or saved. {action} anyway?\n"
            "(The session folder stays in the cache and can be reopened with File ▸ Open Session.)",
            go_on | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == go_on

    def shutdown(self) -> None:
        """Stop every worker (the window is closing)."""
        self.window.jobs.cancel_all()

    # ---- helpers ------------------------------------------------------------------------------
    def _ask_path(self, title: str, name: str, filters: str,
                  options: QFileDialog.Option = QFileDialog.Option(0)) -> str:
        """A save dialog starting in `_dialog_dir` with `name`; the folder chosen is remembered ("" when cancelled)."""
        path, chosen = QFileDialog.getSaveFileName(self.window, title, str(self._dialog_dir() / name), filters,
                                                   options=options)
        if not path:
            return ""
        self.window.settings.set_export_dir(Path(path).parent)
        if filters == REPORT_FILTER and not Path(path).suffix:
            path += "." + chosen.split("*.")[-1].rstrip(")")
        return path

    def _dialog_dir(self) -> Path:
        """Where file dialogs start: the last export folder, else beside the opened model."""
        remembered = self.window.settings.export_dir()
        if remembered is not None:
            return remembered
        ws = self.session.workspace
        return ws.source.parent if ws is not None and ws.source.parent.is_dir() else Path.home()

    def _export_name(self, vid: str, suffix: str) -> str:
        """'resnet50_v2.onnx': the model's name and the version number."""
        ws = self.session.workspace
        if ws is None:
            return f"model{suffix}"
        return f"{ws.source.stem}_v{ws.get(vid).number}{suffix}"

    def _selected_nodes(self) -> list[str]:
        selected = self.window.graph_view.selected_node()
        return [selected] if selected else []

    def _guard(self, function, *args: Any) -> Any:
        """Run a command; a WorkbenchError or OSError becomes a message instead of an exception."""
        try:
            result = function(*args)
        except (WorkbenchError, OSError) as exc:
            self._error(error_sentence(exc))
            return None
        return True if result is None else result

    def _error(self, text: str) -> None:
        self.optimize_panel.show_error(text)
        self.window.log("error", text)

    def _status(self, text: str) -> None:
        self.window.log("info", text)


def _scrolled(widget: QWidget) -> QScrollArea:
    """The panel in a scroll area: wide control rows must not set the window's minimum size."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


__all__ = ["SessionPanels"]
