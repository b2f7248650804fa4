"""The session's panels in the main window: Optimize, Versions, Diff, Profile, Compare, and the
File/Edit/Run actions that drive them (save/open session, export, undo/redo, F5).

Kept apart from main_window.py so the window stays about viewing one model; this module wires
the `Session` controller to the views and back.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QScrollArea, QTabBar, QWidget

from app.session import Session
from app.tasks import ModelOpener, OpenedModel
from pipelines.errors import WorkbenchError, os_error_sentence
from pipelines.session_cache import enforce_cap
from pipelines.versions import ROOT_ID, default_sessions_dir
from widgets.analysis_views import AnalysisViews
from widgets.compare_view import CompareView
from widgets.diff_panel import DiffPanel
from widgets.optimize_panel import OptimizePanel
from widgets import formatting
from widgets.profile_dashboard import ProfileDashboard
from widgets.sessions_dialog import SessionsDialog
from widgets.version_tree import VersionTree, step_notes, version_title

if TYPE_CHECKING:
    from app.main_window import MainWindow

REPORT_FILTER = "HTML report (*.html);;Markdown (*.md);;JSON (*.json);;CSV (*.csv)"
RECIPE_FILTER = "Recipes (*.yaml *.yml)"
MODEL_FILTER = "ONNX models (*.onnx)"


class SessionPanels(QObject):
    """Adds the optimization docks and actions to a MainWindow and keeps them in step."""

    reportWritten = Signal(str)
    _reportDone = Signal(str, str)  # path, error ("" when written); crosses from a thread
    _cacheTrimmed = Signal(int)  # sessions deleted to keep the cache under its cap

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = Session(self)
        # Tests and scripted runs turn this off: a modal question would block them.
        self.ask_before_close = True
        self.shown_version: str | None = None
        self.last_comparison: dict[str, Any] | None = None
        # Figures belong to one version: the heat map to the version whose profile the dashboard
        # shows, analysis results to the version they were run on. Nothing is drawn on another.
        self._dashboard_version: str | None = None
        self._heat_map: dict[str, float] = {}
        self._analyses: dict[str, dict[str, dict[str, Any]]] = {}  # version id -> kind -> result
        self.version_opener = ModelOpener(self)
        self.version_opener.opened.connect(self._on_version_loaded)
        self.version_opener.analyzed.connect(window._on_analyzed)
        self.version_opener.failed.connect(self._on_version_load_failed)
        self._build_panels()
        self._build_actions()
        self._connect()
        self._reportDone.connect(self._on_report_done)
        self._cacheTrimmed.connect(lambda n: self.window.log(
            "info", f"Deleted the {n} oldest cached session{'s' if n > 1 else ''} to keep the cache under "
                    f"{formatting.size(self.window.settings.cache_cap_bytes())} (File ▸ Manage Sessions)."))

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
        the bottom row half the height.

        Runs at first show (MainWindow._default_dock_sizes); a saved layout replaces it.
        """
        w = self.window
        w.tabifyDockWidget(w.search_dock, self.optimize_dock)
        w.tabifyDockWidget(w.search_dock, self.diff_dock)
        w.splitDockWidget(self.versions_dock, self.profile_dock, Qt.Orientation.Horizontal)
        w.tabifyDockWidget(self.profile_dock, self.compare_dock)
        w.tabifyDockWidget(self.profile_dock, self.analysis_dock)
        w.tabifyDockWidget(self.profile_dock, w.messages_dock)
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
        stack = self.session.undo_stack
        for action, slot, signal, tip in (
            (w.undo_action, stack.undo, stack.canUndoChanged, "Back to the previous version (Ctrl+Z)"),
            (w.redo_action, stack.redo, stack.canRedoChanged, "Forward to the next version (Ctrl+Shift+Z)"),
        ):
            action.triggered.connect(slot)
            signal.connect(action.setEnabled)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.setEnabled(False)
        w.profile_action.triggered.connect(self.profile_current)
        w.profile_action.setEnabled(False)  # until a session is open (_on_workspace_changed)
        w.profile_action.setToolTip("Profile the current version (F5)")
        w.profile_action.setStatusTip("Profile the current version (F5)")
        self.save_session_action = QAction("Save Session As…", w)
        self.save_session_action.triggered.connect(lambda: self.save_session())
        self.open_session_action = QAction("Open Session…", w)
        self.open_session_action.triggered.connect(lambda: self.open_session())
        self.manage_sessions_action = QAction("Manage Sessions…", w)
        self.manage_sessions_action.setToolTip("The sessions kept in the cache: size, age, open or delete")
        self.manage_sessions_action.triggered.connect(self.manage_sessions)
        self.export_model_action = QAction("Export Model…", w)
        self.export_model_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_model_action.triggered.connect(lambda: self.export_model())
        self.export_recipe_action = QAction("Export Recipe…", w)
        self.export_recipe_action.triggered.connect(lambda: self.export_recipe())
        self.export_report_action = QAction("Export Report…", w)
        self.export_report_action.triggered.connect(lambda: self.export_report())
        self.session_actions = [self.save_session_action, self.export_model_action,
                                self.export_recipe_action, self.export_report_action]
        for action in self.session_actions:
            action.setEnabled(False)

    def file_menu_actions(self) -> list[QAction | None]:
        """Actions for the File menu (None: a separator)."""
        return [self.open_session_action, self.save_session_action, self.manage_sessions_action, None,
                self.export_model_action, self.export_recipe_action, self.export_report_action]

    def _connect(self) -> None:
        s, w = self.session, self.window
        s.workspaceChanged.connect(self._on_workspace_changed)
        s.versionAdded.connect(lambda _vid: self._refresh_versions())
        s.versionChanged.connect(self._on_version_changed)
        s.currentVersionChanged.connect(self._on_current_changed)
        s.stepFailed.connect(self._on_step_failed)
        s.message.connect(self._status)
        s.problem.connect(lambda text: self.window.log("error", text))
        s.apply_slot.busyChanged.connect(self.optimize_panel.set_running)
        s.apply_slot.progress.connect(lambda _g, f, m: self.optimize_panel.set_progress(f, m))
        s.apply_slot.cancelled.connect(lambda _g: self.optimize_panel.show_message("Cancelled; the current version is unchanged."))
        s.apply_slot.succeeded.connect(lambda _g, result: self._on_step_done(result["version"]["id"]))
        self.optimize_panel.applyRequested.connect(self.apply)
        self.optimize_panel.presetRequested.connect(lambda _name, recipe: self._guard(s.apply_recipe, recipe))
        self.optimize_panel.cancelRequested.connect(s.cancel_step)
        self.version_tree.activated.connect(self.go_to)
        self.version_tree.renameRequested.connect(s.rename)
        self.version_tree.exportModelRequested.connect(lambda vid: self.export_model(vid))
        self.version_tree.exportRecipeRequested.connect(lambda vid: self.export_recipe(vid))
        self.version_tree.compareRequested.connect(self._pick_compare)
        self.diff_panel.highlightToggled.connect(w.graph_view.set_highlight_visible)
        self.diff_panel.nodeActivated.connect(w.select_node)
        dash = self.profile_dashboard
        dash.startRequested.connect(lambda options: self._guard(s.profile, None, options))
        dash.sweepRequested.connect(lambda options, b, t: self._guard(s.sweep, None, options, b, t))
        dash.stopRequested.connect(s.stop_profile)
        s.profile_slot.cancelled.connect(lambda _g: dash.note.setText("Profiling stopped; nothing was stored."))
        dash.overlayRequested.connect(self._on_overlay)
        s.profile_slot.started.connect(self._on_profile_started)
        s.profile_slot.busyChanged.connect(dash.set_running)
        s.profile_slot.progress.connect(lambda _g, f, m: dash.set_progress(f, m))
        s.profileRecord.connect(self._on_profile_record)
        s.profileFinished.connect(self._on_profiled)
        s.sweepFinished.connect(lambda _vid, result: dash.show_sweep(result))
        self.compare_view.compareRequested.connect(lambda a, b, options: self._guard(s.compare, a, b, options))
        s.compare_slot.busyChanged.connect(self.compare_view.set_running)
        self.compare_view.cancelRequested.connect(s.compare_slot.cancel)
        s.compare_slot.cancelled.connect(lambda _g: self.compare_view.verdict.setText("Comparison stopped."))
        s.compare_slot.progress.connect(lambda _g, f, m: self.compare_view.set_progress(f, m))
        s.compareFinished.connect(self._on_compared)
        s.comparePicked.connect(self.compare_view.pick)
        views = self.analysis_views
        views.quantErrorRequested.connect(lambda: self._guard(s.analyse_quantization, None))
        views.requantizeRequested.connect(lambda nodes: self._guard(s.requantize_excluding, s.current_id, nodes))
        views.scanRequested.connect(lambda ratios: self._guard(s.scan_pruning, None, ratios))
        views.pruneRequested.connect(lambda name, config: self._guard(s.apply, name, config))
        views.overlayRequested.connect(self._on_analysis_overlay)
        s.analysis_slot.busyChanged.connect(views.set_running)
        views.cancelRequested.connect(s.analysis_slot.cancel)
        s.analysis_slot.cancelled.connect(lambda _g: views.status.setText("Analysis stopped."))
        s.analysis_slot.progress.connect(lambda _g, f, m: views.set_progress(f, m))
        s.analysisFinished.connect(self._on_analysed)

    # ---- reacting to the session -------------------------------------------------------------
    def start_session(self, source: str | Path) -> None:
        """A model was opened in the window: start a session on it."""
        self.session.close()
        self._forget_model_state()
        self.shown_version = ROOT_ID  # the window shows the source, identical to version 0
        self.session.start(source)
        self.optimize_panel.load_in_background()

    def close_session(self) -> None:
        """The window closed its model: forget the session and drop any version still loading."""
        self.version_opener.cancel()
        self.shown_version = None
        self.session.close()
        self._forget_model_state()

    def _forget_model_state(self) -> None:
        """Drop every figure, table, overlay and message that belongs to the previous model."""
        self._analyses.clear()
        self._heat_map = {}
        self._dashboard_version = None
        self.last_comparison = None
        self.analysis_views.clear()
        self.profile_dashboard.clear()
        self.profile_dashboard.note.clear()
        self.compare_view.clear_result()
        self.optimize_panel.show_message("")
        graph = self.window.graph_view
        graph.clear_overlay()
        graph.clear_highlight()
        graph.set_notice("")

    def _on_workspace_changed(self) -> None:
        ws = self.session.workspace
        if ws is not None:
            self._trim_cache(ws.root)
        self.version_tree.set_workspace(ws, self.session.current_id)
        self.compare_view.set_workspace(ws)
        self.optimize_panel.set_enabled_for_session(ws is not None)
        for action in self.session_actions:
            action.setEnabled(ws is not None)
        self.window.profile_action.setEnabled(ws is not None)
        if ws is None:
            self.diff_panel.set_changes(None, "No session.")

    def _refresh_versions(self) -> None:
        self.version_tree.set_workspace(self.session.workspace, self.session.current_id)
        self.compare_view.set_workspace(self.session.workspace)

    def _on_version_changed(self, vid: str) -> None:
        self.version_tree.update_version(vid)
        self.compare_view.refresh_table()

    def _on_current_changed(self, vid: str) -> None:
        self.version_tree.set_current(vid)
        version = self.session.current
        if version is None:
            return
        self.diff_panel.set_changes(version.changes, version.summary or ("The original model." if version.parent is None else ""))
        self._show_stored_profile(vid)
        self._show_stored_analyses(vid)
        if vid != self.shown_version:
            # Until the new version is loaded the graph shows the old one: say so on it.
            shown = self.session.workspace.get(self.shown_version) if self.shown_version else None
            self.window.graph_view.set_notice(
                (f"Showing {version_title(shown)} — " if shown is not None else "") + f"loading {version_title(version)}…")
            self.version_opener.open(self.session.version_path(vid))
        else:
            self._apply_highlight()

    def _on_version_load_failed(self, _path: str, text: str, _detail: str) -> None:
        self.window.graph_view.set_notice("")
        self.window.log("error", f"Could not show the version: {text}")

    def _show_stored_profile(self, vid: str) -> None:
        """The dashboard shows the profile of `vid` (or nothing): never another version's figures."""
        version = self.session.workspace.get(vid) if self.session.workspace is not None else None
        if self.session.profile_slot.busy and self.session.profiling_version == vid:
            self._dashboard_version = vid  # its live figures keep streaming in
            return
        self._dashboard_version = vid
        stored = self.session.profiles.get(vid) or (
            version.metrics if version is not None and version.metrics.get("latency_ms") else None)
        if stored is not None:
            self.profile_dashboard.show_result(stored)
        else:
            self.profile_dashboard.clear()  # its placeholder says nothing was measured for this version
            self.profile_dashboard.note.clear()

    def _show_stored_analyses(self, vid: str) -> None:
        """The Analysis panel shows only results computed on `vid`."""
        self.analysis_views.clear()
        for kind, result in self._analyses.get(vid, {}).items():
            self._show_analysis(kind, result)

    def _on_profile_started(self, _generation: int, kind: str) -> None:
        if kind == "profile":
            self._dashboard_version = self.session.profiling_version
            self.profile_dashboard.clear()

    def _on_profile_record(self, record: dict[str, Any]) -> None:
        # A profile of another version keeps running after a version switch; its live figures
        # are stored on that version when it ends, but never drawn over this one's.
        if self._dashboard_version == self.session.profiling_version:
            self.profile_dashboard.feed(record)

    def _on_version_loaded(self, opened: OpenedModel) -> None:
        """A version's model file is loaded: show it and ring what its step changed."""
        current, ws = self.session.current, self.session.workspace
        # The file is versions/<id>/model.onnx: name the session's model and version instead.
        name = f"{ws.source.name} · {version_title(current)}" if current is not None and ws is not None else None
        self.window.show_model(opened, remember=False, name=name)
        self.window.graph_view.set_notice("")
        self.shown_version = current.id if current is not None else None
        self._apply_highlight()
        self._on_overlay(self._heat_map)

    def _apply_highlight(self) -> None:
        current = self.session.current
        graph = self.window.graph_view
        if current is None or current.parent is None:
            graph.clear_highlight()
            return
        changes = current.changes or {}
        graph.set_highlight(set(changes.get("added") or []), set(changes.get("removed") or []),
                            set(changes.get("changed") or []))
        graph.set_highlight_visible(self.diff_panel.toggle.isChecked())

    def _on_overlay(self, values: dict[str, float]) -> None:
        """The dashboard's heat map: drawn only while the graph shows the version it was measured on."""
        self._heat_map = values
        graph = self.window.graph_view
        if not values or not (self.shown_version == self.session.current_id == self._dashboard_version):
            if graph.overlay() is not None:
                graph.clear_overlay()
            return
        # ORT adds nodes of its own (layout Transposes, ...): colour only the model's nodes.
        names = set(graph.node_names())
        graph.set_overlay({k: v * 100.0 for k, v in values.items() if k in names}, "time share", "%")

    def _on_profiled(self, vid: str, result: dict[str, Any]) -> None:
        self.version_tree.update_version(vid)
        self.compare_view.refresh_table()
        if vid == self.session.current_id:
            self._dashboard_version = vid
            self.profile_dashboard.show_result(result)

    def _on_compared(self, a: str, b: str, result: dict[str, Any]) -> None:
        self.last_comparison = result
        self.compare_view.show_result(a, b, result)
        self.compare_dock.raise_()

    def _on_analysed(self, kind: str, vid: str, result: dict[str, Any]) -> None:
        self._analyses.setdefault(vid, {})[kind] = result
        if vid != self.session.current_id:
            number = self.session.workspace.get(vid).number if self.session.workspace is not None else "?"
            self._status(f"The {kind} analysis of v{number} finished; make v{number} current to see it.")
            return
        self.analysis_dock.raise_()
        self._show_analysis(kind, result)

    def _show_analysis(self, kind: str, result: dict[str, Any]) -> None:
        if kind == "quant-debug":
            self.analysis_views.show_quant_report(result)
        else:
            self.analysis_views.show_sensitivity(result)

    def _on_analysis_overlay(self, values: dict[str, float], label: str) -> None:
        graph = self.window.graph_view
        if self.shown_version != self.session.current_id:
            return  # the graph still shows another version: its nodes are not the analysed ones
        names = set(graph.node_names())
        shown = {k: v for k, v in values.items() if k in names}
        if shown:
            graph.set_overlay(shown, label, "%")

    def _on_step_failed(self, text: str) -> None:
        self.optimize_panel.show_error(text)
        self.window.log("error", f"Step failed: {text}")

    def _on_step_done(self, vid: str) -> None:
        """Say what the step did and why, beside the result: the panel and the Messages log."""
        ws = self.session.workspace
        if ws is None:
            return
        version = ws.get(vid)
        notes = step_notes(version)
        self.optimize_panel.show_result(f"Applied as v{version.number}: {version.summary or 'done'}", notes)
        for note in notes:
            self.window.log("warning", f"v{version.number} {version.pass_name}: {note}")

    def _pick_compare(self, side: str, vid: str) -> None:
        self.session.pick_for_compare(side, vid)
        self.compare_dock.raise_()

    # ---- commands -----------------------------------------------------------------------------
    def go_to(self, vid: str) -> None:
        """Make `vid` current (a click on its row); the tree keeps marking the real current one."""
        self._guard(self.session.go_to, vid)
        self.version_tree.set_current(self.session.current_id)

    def apply(self, pass_name: str, config: dict[str, Any]) -> None:
        """Apply a pass to the current version (errors go to the Optimize panel)."""
        self._guard(self.session.apply, pass_name, config)

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
            folder, _ = QFileDialog.getSaveFileName(
                self.window, "Save session as a new folder", str(self._dialog_dir() / suggested), "",
                options=QFileDialog.Option.DontConfirmOverwrite)
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

        def work() -> None:
            try:
                deleted = enforce_cap(cache, cap, keep={in_use})
            except OSError:
                return  # a folder in use by another process: the next session start tries again
            if deleted:
                try:
                    self._cacheTrimmed.emit(len(deleted))
                except RuntimeError:
                    pass  # the window was closed meanwhile

        threading.Thread(target=work, name="trim-cache", daemon=True).start()

    def open_session(self, folder: str | Path | None = None) -> None:
        """Reopen a saved session folder and show its original version."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.window, "Open a session folder", str(self._dialog_dir()))
            if not folder:
                return
        if not self.confirm_discard("Open another session"):
            return
        self.shown_version = None
        self._guard(self.session.open, folder)

    def export_model(self, vid: str | None = None, path: str | Path | None = None) -> None:
        """Export a version's model (default: the current one)."""
        vid = vid or self.session.current_id
        if vid is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self.window, "Export model", str(self._dialog_dir() / self._export_name(vid, ".onnx")), MODEL_FILTER)
            if not path:
                return
            self.window.settings.set_export_dir(Path(path).parent)
        if self._guard(self.session.export_model, vid, path) is not None:
            self._status(f"Exporting {Path(path).name}…")

    def export_recipe(self, vid: str | None = None, path: str | Path | None = None) -> None:
        """Export the recipe that rebuilds a version (default: the current one)."""
        vid = vid or self.session.current_id
        if vid is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self.window, "Export recipe", str(self._dialog_dir() / self._export_name(vid, ".yaml")), RECIPE_FILTER)
            if not path:
                return
            self.window.settings.set_export_dir(Path(path).parent)
        if self._guard(self.session.export_recipe, vid, path) is not None:
            self._status(f"Exported recipe {Path(path).name}")

    def export_report(self, path: str | Path | None = None) -> None:
        """Write a report on the current version (.html/.md/.json/.csv by suffix) on a thread."""
        ws, vid = self.session.workspace, self.session.current_id
        if ws is None or vid is None:
            return
        if path is None:
            path, chosen = QFileDialog.getSaveFileName(self.window, "Export report", str(self._dialog_dir() / self._export_name(vid, "-report.html")), REPORT_FILTER)
            if not path:
                return
            self.window.settings.set_export_dir(Path(path).parent)
            if not Path(path).suffix:
                path += "." + chosen.split("*.")[-1].rstrip(")")
        profiles = dict(self.session.profiles)
        comparison = self.last_comparison

        def work() -> None:
            from pipelines.report.build import build_workspace_report
            from pipelines.report.render import write_report
            from pipelines.safe_write import source_files

            try:
                report = build_workspace_report(ws, vid, profiles=profiles, comparison=comparison)
                write_report(report, path, source_files(ws.source))
                error = ""
            except Exception as exc:  # noqa: BLE001 - any failure must reach the user, not the thread
                error = _error_sentence(exc, f"the report {Path(path).name}")
            try:
                self._reportDone.emit(str(path), error)
            except RuntimeError:
                pass  # the window (and this object) was deleted meanwhile: nobody to tell

        self._status("Writing report…")
        threading.Thread(target=work, name="report", daemon=True).start()

    def _on_report_done(self, path: str, error: str) -> None:
        if error:
            self._error(error)
        else:
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
        self.version_opener.cancel()
        for slot in self.session.slots:
            slot.cancel()

    # ---- helpers ------------------------------------------------------------------------------
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
            self._error(_error_sentence(exc))
            return None
        return True if result is None else result

    def _error(self, text: str) -> None:
        self.optimize_panel.show_error(text)
        self.window.log("error", text)

    def _status(self, text: str) -> None:
        self.window.log("info", text)


def _error_sentence(exc: Exception, what: str = "it") -> str:
    """One sentence for the user: a WorkbenchError says it already; a file error names the file."""
    if isinstance(exc, WorkbenchError):
        return str(exc)
    if isinstance(exc, OSError):
        return os_error_sentence(exc)
    return f"Could not write {what} ({type(exc).__name__}: {exc}); please report this with the model."


def _scrolled(widget: QWidget) -> QScrollArea:
    """The panel in a scroll area: wide control rows must not set the window's minimum size."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


__all__ = ["SessionPanels"]
