"""The window's commands declared as data: each action's text, keys, icon and tip, the menus and
the toolbar that list them.

What an action does is connected by its owner: the window (open, find, zoom…) and the session's
bindings (undo, profile, export…; app/session_actions.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from onnx_workbench.app.icons import icon

KEYS = QKeySequence.StandardKey
ROLE = QAction.MenuRole


@dataclass(frozen=True)
class ActionSpec:
    """One command of the window, as menus and the toolbar show it."""

    text: str
    keys: tuple[str | QKeySequence.StandardKey, ...] = ()
    icon: str | None = None
    tip: str | None = None
    role: QAction.MenuRole = ROLE.TextHeuristicRole


ACTIONS: dict[str, ActionSpec] = {
    "open": ActionSpec("&Open…", (KEYS.Open,), "open", "Open an ONNX model (Ctrl+O)"),
    "close": ActionSpec("&Close", (KEYS.Close,), tip="Close the model"),
    "open_session": ActionSpec("Open Session…"),
    "save_session": ActionSpec("Save Session As…"),
    "manage_sessions": ActionSpec("Manage Sessions…", tip="The sessions kept in the cache: size, age, open or delete"),
    "export_model": ActionSpec("Export Model…", ("Ctrl+E",)),
    "export_recipe": ActionSpec("Export Recipe…"),
    "export_report": ActionSpec("Export Report…"),
    "quit": ActionSpec("&Quit", ("Ctrl+Q",), role=ROLE.QuitRole),
    "undo": ActionSpec("&Undo", ("Ctrl+Z",), "undo", "Back to the previous version (Ctrl+Z)"),
    "redo": ActionSpec("&Redo", ("Ctrl+Shift+Z",), "redo", "Forward to the next version (Ctrl+Shift+Z)"),
    "find": ActionSpec("&Find…", ("Ctrl+F",), "search", "Find nodes and tensors (Ctrl+F)"),
    # "=" is the unshifted "+" on most keyboards, so both zoom in.
    "zoom_in": ActionSpec("Zoom &In", ("+", "=", "Ctrl++"), "zoom-in", "Zoom in (+)"),
    "zoom_out": ActionSpec("Zoom &Out", ("-", "Ctrl+-"), "zoom-out", "Zoom out (-)"),
    "fit": ActionSpec("&Fit to Window", ("0",), "fit", "Fit the graph in the window (0)"),
    "profile": ActionSpec("&Profile", ("F5",), "profile", "Profile the current version (F5)"),
    "about": ActionSpec("&About ONNX Workbench", role=ROLE.AboutRole),
}

# Menus by title: action names, None for a separator, "menu:NAME" for a submenu the window makes.
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("open", "menu:recent", "close", None, "open_session", "save_session", "manage_sessions", None,
               "export_model", "export_recipe", "export_report", None, "quit")),
    ("&Edit", ("undo", "redo", None, "find")),
    ("&View", ("zoom_in", "zoom_out", "fit", None, "menu:theme", "menu:panels")),
    ("&Run", ("profile",)),
    ("&Help", ("about",)),
)
MENUS_WITH_TIPS = ("&Edit", "&Run")  # their entries explain themselves on hover
TOOLBAR = ("open", None, "undo", "redo", None, "zoom_in", "zoom_out", "fit", None, "find", "profile")


def build_actions(window: QMainWindow) -> dict[str, QAction]:
    """Every action of ACTIONS, owned by `window` (their keys work even when the toolbar is hidden)."""
    actions = {}
    for name, spec in ACTIONS.items():
        action = QAction(spec.text, window)
        action.setShortcuts([QKeySequence(k) for k in spec.keys])
        action.setMenuRole(spec.role)
        if spec.icon is not None:
            action.setIcon(icon(spec.icon))
        if spec.tip:
            action.setToolTip(spec.tip)
            action.setStatusTip(spec.tip)
        window.addAction(action)
        actions[name] = action
    return actions


def build_menus(window: QMainWindow, actions: dict[str, QAction], submenus: dict[str, QMenu]) -> None:
    """The menu bar of MENUS; `submenus` are the menus named "menu:NAME" there."""
    bar = window.menuBar()
    for title, entries in MENUS:
        menu = bar.addMenu(title)
        menu.setToolTipsVisible(title in MENUS_WITH_TIPS)
        for entry in entries:
            if entry is None:
                menu.addSeparator()
            elif entry.startswith("menu:"):
                menu.addMenu(submenus[entry.removeprefix("menu:")])
            else:
                menu.addAction(actions[entry])


def build_toolbar(window: QMainWindow, actions: dict[str, QAction]) -> QToolBar:
    """The main toolbar of TOOLBAR, at the top of `window`."""
    toolbar = QToolBar("Main", window)
    toolbar.setObjectName("toolbar-main")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for name in TOOLBAR:
        if name is None:
            toolbar.addSeparator()
        else:
            toolbar.addAction(actions[name])
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    return toolbar
