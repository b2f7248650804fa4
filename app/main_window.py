"""The main window: graph and Netron tabs, Summary/Properties/Search/Messages docks, opening and closing a model.

The views follow the model on screen themselves (widgets/shown_model.py); the menus and toolbar
are declared in app/window_actions.py, the docks' places in app/dock_layout.py, the session's
panels in app/session_panels.py.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from onnx_workbench.app import __version__
from onnx_workbench.app.background import QtExecutor
from onnx_workbench.app.dock_layout import DockLayout
from onnx_workbench.app.icons import app_icon
from onnx_workbench.app.model_drops import ModelDrops
from onnx_workbench.app.recent_files import RecentFiles
from onnx_workbench.app.session_panels import SessionPanels
from onnx_workbench.app.settings import Settings
from onnx_workbench.app.status_line import StatusLine
from onnx_workbench.app.theme import ThemeMenu
from onnx_workbench.app.window_actions import build_actions, build_menus, build_toolbar
from onnx_workbench.pipelines.background import JobLanes, Request
from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.pipelines.opening import OpenedModel, open_model_task
from onnx_workbench.widgets.graph_view import GraphView
from onnx_workbench.widgets.message_log import Level, MessageLog
from onnx_workbench.widgets.netron_view import NetronView, ensure_webengine_environment
from onnx_workbench.widgets.properties_panel import PropertiesPanel
from onnx_workbench.widgets.search_panel import SearchPanel
from onnx_workbench.widgets.shown_model import ShownModel
from onnx_workbench.widgets.summary_panel import SummaryPanel
from onnx_workbench.widgets.welcome_page import WelcomePage

APP_NAME = "ONNX Workbench"
MODEL_FILTER = "ONNX models (*.onnx);;All files (*)"
OPEN_LANE = "open-model"  # the window's own background work (statistics: PropertiesPanel)


class MainWindow(QMainWindow):
    """One model at a time: see it, search it, inspect its nodes and tensors."""

    modelOpened = Signal(object)  # OpenedModel, loaded and shown; its figures follow
    modelAnalyzed = Signal(object)  # the same OpenedModel with its analysis (or warnings why there is none)
    openFailed = Signal(str, str, str)  # path, one sentence, details

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        # The model file on screen: the views follow it themselves (bind); the window never holds weights.
        self.shown = ShownModel()
        self.shown.changed.connect(self._on_shown)
        self._shown_verb = "Opened"  # "Showing" for a version of the session
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
        self.docks = DockLayout(self, self.settings)
        self._build_docks()
        self.actions = build_actions(self)
        self._connect_actions()
        self._build_menus()
        self.toolbar = build_toolbar(self, self.actions)
        self.docks.menu.addAction(self.toolbar.toggleViewAction())
        self.status_line = StatusLine(self.statusBar(), self.shown, self.message_log)
        # Optimize, Versions, Diff, Profile, Compare, Analysis and Auto-optimize docks, bound to the session.
        self.session_panels = SessionPanels(self)
        self.docks.restore()
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
        self.tabs.currentChanged.connect(lambda _i: self._set_model_actions_enabled(self.shown.opened is not None))
        self.welcome = WelcomePage(self)
        self.welcome.openRequested.connect(self.open_dialog)
        self.recent_files = RecentFiles(self.settings, self.welcome, self.open_path, self)
        self.central = QStackedWidget(self)
        self.central.addWidget(self.welcome)
        self.central.addWidget(self.tabs)
        self.setCentralWidget(self.central)
        # The graph view (a QGraphicsView) accepts drags itself and would swallow dropped model files.
        self.graph_view.viewport().installEventFilter(self.drops)

    def _build_docks(self) -> None:
        self.summary_panel = SummaryPanel(self)
        self.properties_panel = PropertiesPanel(self)
        self.properties_panel.read_statistics_in(self.jobs)
        self.search_panel = SearchPanel(self)
        self.message_log = MessageLog(self)
        for view in (self.graph_view, self.netron_view, self.summary_panel, self.properties_panel, self.search_panel):
            view.bind(self.shown)
        self.graph_view.nodeSelected.connect(self.properties_panel.show_graph_key)
        self.graph_view.selectionCleared.connect(self.properties_panel.clear)
        areas = Qt.DockWidgetArea
        self.summary_dock = self.docks.add("Summary", "dock-summary", self.summary_panel, areas.RightDockWidgetArea)
        self.properties_dock = self.docks.add("Properties", "dock-properties", self.properties_panel,
                                              areas.RightDockWidgetArea)
        self.search_dock = self.docks.add("Search", "dock-search", self.search_panel, areas.LeftDockWidgetArea)
        self.docks.add("Messages", "dock-messages", self.message_log, areas.BottomDockWidgetArea)
        self.search_panel.nodeActivated.connect(self.select_node)
        self.search_panel.initializerActivated.connect(self.select_initializer)

    def _connect_actions(self) -> None:
        """What the window's own actions do (the session's: app/session_actions.py)."""
        graph = self.graph_view
        for name, slot in (("open", self.open_dialog), ("close", self.close_model), ("quit", self.close),
                           ("find", self.focus_search), ("zoom_in", graph.zoom_in), ("zoom_out", graph.zoom_out),
                           ("fit", graph.fit), ("about", self.show_about)):
            self.actions[name].triggered.connect(slot)

    def _build_menus(self) -> None:
        self.theme_menu = ThemeMenu(self.settings, self)
        build_menus(self, self.actions,
                    {"recent": self.recent_files.menu, "theme": self.theme_menu, "panels": self.docks.menu})

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

    def close_model(self) -> bool:
        """Close the model (any open in progress is dropped); False when the user keeps unexported work."""
        if not self.session_panels.commands.confirm_discard("Close the model"):
            return False
        self.jobs.cancel(OPEN_LANE, quietly=True)
        self.session_panels.close_session()
        self.status_line.set_busy(False)
        self.shown.clear()
        self.setWindowTitle(APP_NAME)
        return True

    def log(self, level: Level, text: str) -> None:
        """Say something to the user: in the Messages log for good, in the status bar for a while."""
        self.message_log.add(level, text)

    def _on_open_started(self, request: Request) -> None:
        self.status_line.set_busy(True)
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
        self._shown_verb = "Opened" if remember else "Showing"
        self.shown.show(opened, name)
        if remember:
            self.recent_files.add(opened.path)
            self.setWindowTitle(f"{opened.path.name} — {APP_NAME}")
            self.setWindowFilePath(str(opened.path))
        self.statusBar().showMessage(f"Analyzing {self.shown.name}…")

    def _on_shown(self, opened: OpenedModel | None) -> None:
        """Another model on screen (or none): the graph tabs or the welcome page, and the actions that need one."""
        self.central.setCurrentWidget(self.tabs if opened is not None else self.welcome)
        self._set_model_actions_enabled(opened is not None)

    def _on_analyzed(self, _request: Request, opened: OpenedModel) -> None:
        self.show_analysis(opened)
        self.modelAnalyzed.emit(opened)

    def show_analysis(self, opened: OpenedModel) -> None:
        """Figures for the model on screen arrived (or the reason there are none)."""
        self.status_line.set_busy(False)
        if not self.shown.set_analysis(opened):
            return  # another model is on screen by now
        self.log("info", f"{self._shown_verb} {self.shown.name}")
        for warning in opened.warnings:
            self.log("warning", f"{self.shown.name}: {warning}")

    def _on_open_failed(self, request: Request, message: str, detail: str) -> None:
        path = request.about[0]
        self.status_line.set_busy(False)
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
        if self.shown.index is not None:
            consumer = self.shown.index.node_for_tensor(name)
            if consumer is not None:
                self._select_in_graph(consumer)
        # After select_node: its nodeSelected would otherwise replace the initializer view.
        self.properties_panel.show_initializer(name)
        self.properties_dock.raise_()

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
    def show_about(self) -> None:
        """The About box."""
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>See, change, verify and measure ONNX models.<br>"
            "Everything runs on this machine; nothing is sent anywhere.",
        )

    def _set_model_actions_enabled(self, enabled: bool) -> None:
        self.actions["close"].setEnabled(enabled)
        # Zoom keys belong to the graph view; on the Netron tab the page has its own zoom and
        # must receive "+", "-" and "0" (e.g. typed into Netron's search box).
        on_graph = self.central.currentWidget() is self.tabs and self.tabs.currentWidget() is self.graph_view
        for name in ("zoom_in", "zoom_out", "fit"):
            self.actions[name].setEnabled(enabled and on_graph)

    # Qt events ------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """Apply default dock sizes the first time, when nothing was saved."""
        super().showEvent(event)
        self.docks.shown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Ask about unexported versions, remember geometry and dock layout, stop background work."""
        if not self.session_panels.commands.confirm_discard("Close"):
            event.ignore()
            return
        self.jobs.cancel_all()  # every background job, the session's too
        self.docks.save()
        self.settings.sync()
        self.netron_view.shutdown()
        super().closeEvent(event)


def launch(model_path: str | None) -> int:
    """Create the application and main window, optionally opening `model_path`; returns exit code."""
    from onnx_workbench.app.settings import APPLICATION, ORGANIZATION
    from onnx_workbench.app.smoke import install_smoke_exit, smoke_exit_ms
    from onnx_workbench.app.theme import follow_system

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
