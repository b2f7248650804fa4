"""The main window: graph and Netron tabs, Summary/Properties/Search docks, menus, open/close."""
from __future__ import annotations

import os
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import onnx
import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from app import __version__
from app.background import QtExecutor
from app.icons import app_icon, icon
from app.model_drops import ModelDrops
from app.session_panels import SessionPanels
from app.tune_dock import attach_tune_panel
from app.settings import Settings
from pipelines.background import JobLanes, Request, WorkerCall
from pipelines.errors import WorkbenchError
from pipelines.opening import OpenedModel, open_model_task
from widgets import formatting
from widgets.graph_view import GraphView
from widgets.message_log import Level, MessageLog
from widgets.model_index import ModelIndex, subgraph_at
from widgets.netron_view import NetronView, ensure_webengine_environment
from widgets.properties_panel import PropertiesPanel
from widgets.search_panel import SearchPanel
from widgets.summary_panel import SummaryPanel
from widgets.welcome_page import WelcomePage

APP_NAME = "ONNX Workbench"
MESSAGES_FILE = "messages.log"  # in the session folder, beside workspace.json
MODEL_FILTER = "ONNX models (*.onnx);;All files (*)"
OPEN_LANE, STATS_LANE = "open-model", "tensor-stats"  # background work of the window's own


class MainWindow(QMainWindow):
    """One model at a time: see it, search it, inspect its nodes and tensors."""

    modelOpened = Signal(object)  # OpenedModel, loaded and shown; its figures follow
    modelAnalyzed = Signal(object)  # the same OpenedModel with its analysis (or warnings why there is none)
    openFailed = Signal(str, str, str)  # path, one sentence, details

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self.current: OpenedModel | None = None
        # What the views show, in the user's words: "resnet50.onnx", or "resnet50.onnx · v2" for a
        # version (whose file is versions/<id>/model.onnx in the session folder).
        self.shown_name = ""
        self.index: ModelIndex | None = None
        self.error_box: QMessageBox | None = None
        self.setWindowTitle(APP_NAME)
        self.setDockNestingEnabled(True)
        self.setAcceptDrops(True)
        self.drops = ModelDrops(self.open_path, self)  # a model file dropped anywhere opens
        self.installEventFilter(self.drops)

        # Every piece of background work of the window and its session, one request per lane.
        self.jobs = JobLanes(QtExecutor(self))
        opening = self.jobs.lane(OPEN_LANE)
        opening.started.connect(self._on_open_started)
        opening.record.connect(lambda _request, record: self._on_opened(record["opened"]))
        opening.succeeded.connect(self._on_analyzed)
        opening.failed.connect(self._on_open_failed)

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        # Optimize, Versions, Diff, Profile, Compare and Analysis docks, wired to the session.
        self.session_panels = SessionPanels(self)
        self.tune_panel = attach_tune_panel(self, self.session_panels.session)
        self._add_session_menu_entries()
        self.restore_layout()
        self._set_model_actions_enabled(False)

    # Construction ---------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.graph_view = GraphView(self)
        self.netron_view = NetronView(self)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.graph_view, "Graph")
        self.tabs.addTab(self.netron_view, "Netron")
        self.tabs.setTabToolTip(1, "Netron's viewer, served on this machine only (no network requests)")
        self.tabs.currentChanged.connect(lambda _i: self._set_model_actions_enabled(self.current is not None))
        self.welcome = WelcomePage(self)
        self.welcome.openRequested.connect(self.open_dialog)
        self.welcome.recentActivated.connect(self.open_path)
        self.central = QStackedWidget(self)
        self.central.addWidget(self.welcome)
        self.central.addWidget(self.tabs)
        self.setCentralWidget(self.central)
        self.graph_view.nodeSelected.connect(self._on_node_selected)
        # The graph view (a QGraphicsView) accepts drags itself and would swallow dropped model files.
        self.graph_view.viewport().installEventFilter(self.drops)
        self.graph_view.selectionCleared.connect(self._on_selection_cleared)
        self.graph_view.graphChanged.connect(self._on_graph_changed)

    def add_panel(
        self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        """Dock `widget` as a movable panel listed under View ▸ Panels; `name` keys its saved layout.

        The window's own docks and the session's (SessionPanels, built in __init__) are all
        added here before restore_layout() runs, so a saved layout can place every one of them.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState() identifies docks by object name
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        if hasattr(self, "panels_menu"):
            self.panels_menu.insertAction(self._panels_separator, dock.toggleViewAction())
        return dock

    def _build_docks(self) -> None:
        self.summary_panel = SummaryPanel(self)
        self.properties_panel = PropertiesPanel(self)
        # Statistics of a big clicked weight are read in a worker: the window holds no weights.
        self.properties_panel.statisticsWanted.connect(lambda model, name: self.jobs.submit(
            STATS_LANE, WorkerCall("tensor-stats", {"model": model, "tensor": name}), about=(name,)))
        stats = self.jobs.lane(STATS_LANE)
        stats.succeeded.connect(lambda request, result: self.properties_panel.show_statistics(request.about[0], result))
        stats.failed.connect(lambda request, text: self.properties_panel.statistics_failed(request.about[0], text))
        self.search_panel = SearchPanel(self)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.summary_dock = self.add_panel("Summary", "dock-summary", self.summary_panel, right)
        self.properties_dock = self.add_panel("Properties", "dock-properties", self.properties_panel, right)
        self.search_dock = self.add_panel("Search", "dock-search", self.search_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.message_log = MessageLog(self)
        self.messages_dock = self.add_panel("Messages", "dock-messages", self.message_log,
                                            Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.summary_dock, self.properties_dock, Qt.Orientation.Vertical)
        self.search_panel.nodeActivated.connect(self.select_node)
        self.search_panel.initializerActivated.connect(self.select_initializer)

    def _action(
        self,
        text: str,
        slot: Callable[[], object] | None,
        shortcuts: Sequence[QKeySequence | QKeySequence.StandardKey | str] = (),
        icon_name: str | None = None,
        tip: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in shortcuts])
        if icon_name is not None:
            action.setIcon(icon(icon_name))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the toolbar is hidden
        return action

    def _build_actions(self) -> None:
        keys = QKeySequence.StandardKey
        self.open_action = self._action(
            "&Open…", self.open_dialog, [keys.Open], "open", "Open an ONNX model (Ctrl+O)"
        )
        self.close_action = self._action("&Close", self.close_model, [keys.Close], tip="Close the model")
        self.quit_action = self._action("&Quit", self.close, ["Ctrl+Q"])
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        # Undo, redo and profile get their slots, tips and enabled state from SessionPanels.
        self.undo_action = self._action("&Undo", None, ["Ctrl+Z"], "undo")
        self.redo_action = self._action("&Redo", None, ["Ctrl+Shift+Z"], "redo")
        self.find_action = self._action(
            "&Find…", self.focus_search, ["Ctrl+F"], "search", "Find nodes and tensors (Ctrl+F)"
        )
        # "=" is the unshifted "+" on most keyboards, so both zoom in.
        self.zoom_in_action = self._action("Zoom &In", self.graph_view.zoom_in, ["+", "=", "Ctrl++"], "zoom-in", "Zoom in (+)")
        self.zoom_out_action = self._action("Zoom &Out", self.graph_view.zoom_out, ["-", "Ctrl+-"], "zoom-out", "Zoom out (-)")
        self.fit_action = self._action("&Fit to Window", self.graph_view.fit, ["0"], "fit", "Fit the graph in the window (0)")
        self.profile_action = self._action("&Profile", None, ["F5"], "profile")
        self.about_action = self._action("&About ONNX Workbench", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = self.file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file_menu.addAction(self.close_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = bar.addMenu("&Edit")
        edit_menu.setToolTipsVisible(True)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.find_action)

        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.zoom_in_action)
        view_menu.addAction(self.zoom_out_action)
        view_menu.addAction(self.fit_action)
        view_menu.addSeparator()
        self.theme_menu = view_menu.addMenu("&Theme")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for theme, title in (("system", "As the &System"), ("light", "&Light"), ("dark", "&Dark")):
            action = self.theme_menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(theme == self.settings.theme())
            action.triggered.connect(lambda _checked=False, t=theme: self.set_theme(t))
            group.addAction(action)
            self.theme_actions[theme] = action
        self.panels_menu = view_menu.addMenu("&Panels")
        for dock in (self.summary_dock, self.properties_dock, self.search_dock, self.messages_dock):
            self.panels_menu.addAction(dock.toggleViewAction())

        run_menu = bar.addMenu("&Run")
        run_menu.setToolTipsVisible(True)
        run_menu.addAction(self.profile_action)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("toolbar-main")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.open_action, None, self.undo_action, self.redo_action, None,
                       self.zoom_in_action, self.zoom_out_action, self.fit_action, None,
                       self.find_action, self.profile_action):
            if action is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar
        self._panels_separator = self.panels_menu.addSeparator()
        self.panels_menu.addAction(toolbar.toggleViewAction())

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)  # indeterminate: loading reports no fraction
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.model_label = QLabel(self)
        self.model_label.setTextFormat(Qt.TextFormat.PlainText)  # file names are untrusted
        self.size_label = QLabel(self)
        self.nodes_label = QLabel(self)
        status.addPermanentWidget(self.busy_bar)
        for label in (self.model_label, self.size_label, self.nodes_label):
            status.addPermanentWidget(label)
        self._update_status_labels()

    def restore_layout(self) -> None:
        """Apply the saved geometry and dock layout (defaults when none was saved)."""
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        state = self.settings.window_state()
        # First run, or a layout saved with other docks: default dock widths, applied at first
        # show when the window has its size.
        self._needs_default_docks = state is None or not self.restoreState(state, self.layout_version())

    def layout_version(self) -> int:
        """An id of the set of docks; a layout saved with another set is not restored.

        Restoring a layout saved before a panel existed squeezes the new dock in beside the
        others (seen on a real X display); Qt refuses a state whose version differs.
        """
        names = sorted(dock.objectName() for dock in self.findChildren(QDockWidget))
        return zlib.crc32("\n".join(names).encode()) & 0x7FFFFFFF

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.summary_dock, self.search_dock], [360, 330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.summary_dock, self.properties_dock], [1, 1], Qt.Orientation.Vertical)
        self.session_panels.default_dock_sizes()

    # Opening --------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """Ask for a model file and open it."""
        recent = self.settings.recent_files()
        start = str(Path(recent[0]).parent) if recent else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open ONNX model", start, MODEL_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | os.PathLike[str]) -> int | None:
        """Open `path` in the background; the current model stays until the new one is ready.

        Opening starts a new session, so unexported versions are confirmed first; None when the
        user keeps them (nothing is opened).
        """
        if not self.session_panels.commands.confirm_discard("Open another model"):
            return None
        return self.jobs.submit(OPEN_LANE, open_model_task(path), about=(str(path),)).generation

    @property
    def opening(self) -> bool:
        """True while a model requested last is being loaded or analysed."""
        return self.jobs.busy(OPEN_LANE)

    def _add_session_menu_entries(self) -> None:
        """Session and export entries in the File menu, above Quit."""
        before = self.quit_action
        for action in self.session_panels.file_menu_actions():
            if action is None:
                self.file_menu.insertSeparator(before)
            else:
                self.file_menu.insertAction(before, action)
        self.file_menu.insertSeparator(before)

    def close_model(self) -> bool:
        """Close the model (any open in progress is dropped); False when the user keeps unexported work."""
        if not self.session_panels.commands.confirm_discard("Close the model"):
            return False
        self.jobs.cancel(OPEN_LANE, quietly=True)
        self.session_panels.close_session()
        self._set_busy(False)
        self.current = None
        self.shown_name = ""
        self.index = None
        self.graph_view.set_model(onnx.ModelProto())  # an empty graph clears the view
        self.netron_view.set_model(None)
        self.summary_panel.clear()
        self.properties_panel.set_model(None)
        self.search_panel.set_model(None)
        self.setWindowTitle(APP_NAME)
        self.central.setCurrentWidget(self.welcome)
        self._update_status_labels()
        self._set_model_actions_enabled(False)
        return True

    def log(self, level: Level, text: str) -> None:
        """Say something to the user: in the status bar for a while and in the Messages log for good.

        The session's folder keeps the lines too (messages.log): a saved session reopened later
        still says what happened to it.
        """
        self.statusBar().showMessage(text, 8000)
        self.message_log.add(level, text)
        workspace = self.session_panels.session.workspace if hasattr(self, "session_panels") else None
        if workspace is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            try:
                with open(workspace.root / MESSAGES_FILE, "a", encoding="utf-8") as handle:
                    handle.write(f"{stamp} {level:<7} {text}\n")
            except OSError:
                pass  # the log on screen has it; a read-only or vanished folder must not break the window

    def _on_open_started(self, request: Request) -> None:
        self._set_busy(True)
        self.statusBar().showMessage(f"Opening {Path(request.about[0]).name}…")

    def _on_opened(self, opened: OpenedModel) -> None:
        """The model is loaded: show it now; figures follow when the analysis worker is done."""
        self.show_model(opened)
        self.session_panels.start_session(opened.path)
        self.modelOpened.emit(opened)

    def show_model(self, opened: OpenedModel, remember: bool = True, name: str | None = None) -> None:
        """Show a loaded model in every view; `remember` adds it to recent files and the title
        (False for versions of the session, which live in the workspace folder); `name` is what
        the user calls it (default: the file name)."""
        self.current = opened
        self.shown_name = name or opened.path.name
        self._shown_verb = "Opened" if remember else "Showing"
        self.index = ModelIndex(opened.loaded.proto)
        proto = opened.loaded.proto
        self.central.setCurrentWidget(self.tabs)
        self.graph_view.set_model(proto)
        self.netron_view.set_model(opened.path)
        self.summary_panel.set_model(proto, opened.path, opened.loaded.size_bytes, None, name=self.shown_name)
        self.properties_panel.set_model(self.index, None, opened.path)
        self.search_panel.set_model(self.index)
        if remember:
            self.settings.add_recent_file(opened.path)
            self._fill_recent_menu()
            self.setWindowTitle(f"{opened.path.name} — {APP_NAME}")
            self.setWindowFilePath(str(opened.path))
        self._update_status_labels()
        self._set_model_actions_enabled(True)
        self.statusBar().showMessage(f"Analyzing {self.shown_name}…")

    def _on_analyzed(self, _request: Request, opened: OpenedModel) -> None:
        self.show_analysis(opened)
        self.modelAnalyzed.emit(opened)

    def show_analysis(self, opened: OpenedModel) -> None:
        """Figures for the model on screen arrived (or the reason there are none)."""
        self._set_busy(False)
        if self.current is None or opened.loaded is not self.current.loaded:
            return
        self.current = opened
        loaded = opened.loaded
        self.summary_panel.set_model(loaded.proto, opened.path, loaded.size_bytes, opened.analysis, name=self.shown_name)
        self.properties_panel.set_analysis(opened.analysis)
        self.log("info", f"{self._shown_verb} {self.shown_name}")
        for warning in opened.warnings:
            self.log("warning", f"{self.shown_name}: {warning}")

    def _on_open_failed(self, request: Request, message: str, detail: str) -> None:
        path = request.about[0]
        self._set_busy(False)
        self.log("error", f"Could not open {Path(path).name}: {message}")
        # Window-modal and opened with open(), not exec(): the event loop (and any test) keeps
        # running, and the previous model stays on screen underneath.
        box = QMessageBox(QMessageBox.Icon.Warning, "Model refused", message, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # the message quotes untrusted file content
        box.setInformativeText("The previous model, if any, is still open.")
        box.setDetailedText(f"File: {path}\n\n{detail}")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda: setattr(self, "error_box", None))
        self.error_box = box
        box.open()
        self.openFailed.emit(path, message, detail)

    # Selection ------------------------------------------------------------------------------
    def select_node(self, key: str) -> None:
        """Select node `key` in the graph and show it in Properties."""
        self._select_in_graph(key)
        self.properties_panel.show_node(key)
        self.properties_dock.raise_()

    def select_initializer(self, name: str) -> None:
        """Show initializer `name` in Properties, selecting the node that reads it."""
        if self.index is not None:
            consumer = self.index.node_for_tensor(name)
            if consumer is not None:
                self._select_in_graph(consumer)
        # After select_node: its nodeSelected would otherwise replace the initializer view.
        self.properties_panel.show_initializer(name)
        self.properties_dock.raise_()

    def _on_node_selected(self, key: str) -> None:
        # The graph view names graph inputs/outputs "input:x" / "output:y".
        kind, _, tensor = key.partition(":")
        if kind in ("input", "output") and tensor and key not in (self.index.nodes if self.index else {}):
            self.properties_panel.show_tensor(tensor)
        else:
            self.properties_panel.show_node(key)

    def _on_graph_changed(self, _breadcrumb: str) -> None:
        """The view entered or left a subgraph: Properties and Search follow the graph shown."""
        if self.current is None:
            return
        model = self.current.loaded.proto
        try:
            graph = subgraph_at(model, self.graph_view.breadcrumb()[1:])
        except (KeyError, StopIteration):
            graph = model.graph  # a view state we cannot follow: fall back to the main graph
        if self.index is not None and self.index.graph is graph:
            return
        self.index = ModelIndex(model, graph)
        # Per-layer figures are keyed on the main graph only.
        self.properties_panel.set_model(
            self.index, self.current.analysis if graph is model.graph else None, self.current.path
        )
        self.search_panel.set_model(self.index)

    def _on_selection_cleared(self) -> None:
        self.properties_panel.clear()

    def _select_in_graph(self, key: str) -> None:
        try:
            self.graph_view.select_node(key)
        except WorkbenchError:
            pass  # e.g. a subgraph is shown: Properties still shows the node

    def focus_search(self) -> None:
        """Show the Search panel and put the cursor in its query box."""
        self.search_dock.show()
        self.search_dock.raise_()
        self.search_panel.focus_query()

    # Misc -----------------------------------------------------------------------------------
    def set_theme(self, theme: str) -> None:
        """Switch the whole application to "system", "light" or "dark" and remember it."""
        from app.theme import use_theme

        app = QApplication.instance()
        if app is not None:
            use_theme(app, theme)
        self.settings.set_theme(theme)
        self.theme_actions[theme].setChecked(True)

    def show_about(self) -> None:
        """The About box."""
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>See, change, verify and measure ONNX models.<br>"
            "Everything runs on this machine; nothing is sent anywhere.",
        )

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        self.welcome.set_recent(recent)
        for i, path in enumerate(recent):
            label = f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name
            action = self.recent_menu.addAction(label)
            action.setToolTip(formatting.plain_tooltip(path))
            action.setData(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
        if not recent:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Files", self._clear_recent)

    def recent_actions(self) -> list[QAction]:
        """The Open Recent entries that open a file, newest first."""
        self._fill_recent_menu()
        return [a for a in self.recent_menu.actions() if a.data()]

    def _clear_recent(self) -> None:
        self.settings.clear_recent_files()
        self._fill_recent_menu()

    def _set_busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)
        if not busy:
            self.statusBar().clearMessage()

    def _set_model_actions_enabled(self, enabled: bool) -> None:
        self.close_action.setEnabled(enabled)
        # Zoom keys belong to the graph view; on the Netron tab the page has its own zoom and
        # must receive "+", "-" and "0" (e.g. typed into Netron's search box).
        on_graph = self.central.currentWidget() is self.tabs and self.tabs.currentWidget() is self.graph_view
        for action in (self.zoom_in_action, self.zoom_out_action, self.fit_action):
            action.setEnabled(enabled and on_graph)

    def _update_status_labels(self) -> None:
        if self.current is None:
            self.model_label.setText("No model")
            self.size_label.setText("")
            self.nodes_label.setText("")
            return
        loaded = self.current.loaded
        self.model_label.setText(self.shown_name)
        self.size_label.setText(formatting.size(loaded.size_bytes))
        self.nodes_label.setText(f"{len(loaded.proto.graph.node):,} nodes")

    # Qt events ------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """Apply default dock sizes the first time, when nothing was saved."""
        super().showEvent(event)
        if self._needs_default_docks:
            self._needs_default_docks = False
            self._default_dock_sizes()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Ask about unexported versions, remember geometry and dock layout, stop background work."""
        if not self.session_panels.commands.confirm_discard("Close"):
            event.ignore()
            return
        self.jobs.cancel_all()  # every background job, the session's too
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_window_state(self.saveState(self.layout_version()))
        self.settings.sync()
        self.netron_view.shutdown()
        super().closeEvent(event)


def launch(model_path: str | None) -> int:
    """Create the application and main window, optionally opening `model_path`; returns exit code."""
    from app.settings import APPLICATION, ORGANIZATION
    from app.smoke import install_smoke_exit, smoke_exit_ms
    from app.theme import follow_system

    ensure_webengine_environment()  # before QApplication: Chromium reads it at start-up
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(app_icon())
    settings = Settings()
    follow_system(app, settings.theme())
    window = MainWindow(settings)
    window.show()
    smoke_ms = smoke_exit_ms()  # installer/smoke.py: report the open model, then quit
    if smoke_ms is not None:
        install_smoke_exit(app, window, model_path, smoke_ms)
    if model_path:
        window.open_path(model_path)
    code = app.exec()
    # Delete the window (and its web pages) while QApplication, which owns the shared
    # web profile, still exists; Chromium wants pages gone before their profile.
    shiboken6.delete(window)
    return code
