"""Where the window's panels sit: the docks, the View ▸ Panels menu, the saved layout and the
first-run arrangement.

Every dock is added here, by name, before `restore()` runs, so a saved layout can place each
one of them; the first-run arrangement refers to docks by those names.
"""
from __future__ import annotations

import zlib

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QScrollArea, QTabBar, QWidget

from onnx_workbench.app.settings import Settings

# First run: docks tabbed behind the first one of each group (the Auto-optimize dock joins
# Profile's group before the sizes are set: tabbing it afterwards re-lays the bottom row).
TAB_GROUPS = (
    ("dock-search", ("dock-optimize", "dock-diff")),
    ("dock-profile", ("dock-compare", "dock-analysis", "dock-messages", "dock-tune")),
)
RAISED = ("dock-optimize", "dock-profile")  # the tab on top of each group at first run
FIRST_SIZE = (1280, 800)  # the window's size when no geometry was saved


class DockLayout(QObject):
    """The docks of one window by name, listed in a Panels menu, laid out once and remembered."""

    def __init__(self, window: QMainWindow, settings: Settings) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.docks: dict[str, QDockWidget] = {}
        self.menu = QMenu("&Panels", window)
        # Dock entries go above this separator, the toolbar's entry below it.
        self._menu_separator = self.menu.addSeparator()
        self._needs_first_run = False
        # The bottom row (versions, charts) spans the whole width: charts need it more than the side panels.
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        window.setCorner(Qt.Corner.BottomLeftCorner, bottom)
        window.setCorner(Qt.Corner.BottomRightCorner, bottom)

    def add(self, title: str, name: str, widget: QWidget,
            area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea, scrolled: bool = False) -> QDockWidget:
        """Dock `widget` as a movable panel listed in the Panels menu; `name` keys its saved layout.

        `scrolled`: in a scroll area, so wide control rows do not set the window's minimum size.
        """
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)  # saveState() identifies docks by object name
        dock.setWidget(_scrolled(widget) if scrolled else widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.window.addDockWidget(area, dock)
        self.menu.insertAction(self._menu_separator, dock.toggleViewAction())
        self.docks[name] = dock
        return dock

    def version(self) -> int:
        """An id of the set of docks; a layout saved with another set is not restored.

        Restoring a layout saved before a panel existed squeezes the new dock in beside the
        others (seen on a real X display); Qt refuses a state whose version differs.
        """
        names = sorted(dock.objectName() for dock in self.window.findChildren(QDockWidget))
        return zlib.crc32("\n".join(names).encode()) & 0x7FFFFFFF

    def restore(self) -> None:
        """Apply the saved geometry and dock layout (the first-run one, at first show, when none was saved)."""
        geometry = self.settings.geometry()
        if geometry is None or not self.window.restoreGeometry(geometry):
            self.window.resize(*FIRST_SIZE)
        state = self.settings.window_state()
        # A layout saved with other docks is refused too; the first-run one needs the window's
        # size, known at first show.
        self._needs_first_run = state is None or not self.window.restoreState(state, self.version())

    def save(self) -> None:
        """Remember the window's geometry and dock layout."""
        self.settings.set_geometry(self.window.saveGeometry())
        self.settings.set_window_state(self.window.saveState(self.version()))

    def shown(self) -> None:
        """The window is on screen: lay the docks out the first time, when nothing was saved."""
        if self._needs_first_run:
            self._needs_first_run = False
            self._arrange_first_run()

    def _arrange_first_run(self) -> None:
        """Summary over Properties beside the graph, tabs on the left, versions beside the charts,
        the bottom row a third of the height."""
        w, d = self.window, self.docks
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        w.splitDockWidget(d["dock-summary"], d["dock-properties"], vertical)
        w.resizeDocks([d["dock-summary"], d["dock-search"]], [360, 330], horizontal)
        w.resizeDocks([d["dock-summary"], d["dock-properties"]], [1, 1], vertical)
        w.splitDockWidget(d["dock-versions"], d["dock-profile"], horizontal)
        for first, others in TAB_GROUPS:
            for name in others:
                w.tabifyDockWidget(d[first], d[name])
        for name in RAISED:
            d[name].raise_()
        w.resizeDocks([d["dock-versions"], d["dock-profile"]], [500, max(600, w.width() - 500)], horizontal)
        # A third of the height: the graph and the Optimize form keep room at 1280×800.
        w.resizeDocks([d["dock-profile"]], [max(230, int(w.height() * 0.34))], vertical)
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


def _scrolled(widget: QWidget) -> QScrollArea:
    """The panel in a scroll area: wide control rows must not set the window's minimum size."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area
