"""Widget parts built the first time they are used, not when the widget is made.

The window's charts are pyqtgraph plots: importing pyqtgraph takes ~0.5 s and each plot ~0.05 s
more, which every start-up would pay for panels that sit in hidden tabs or show a placeholder
until something is measured. A panel declares such parts with `BuiltOnUse("_build_x")`; the
first read of any of them runs `_build_x`, which assigns them; `build_when_seen` reads one when
the panel comes on screen. Code that only wants to update a part that may not exist yet asks
`is_built` first, and the build draws the current state.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDockWidget, QWidget

_PREFIX = "_built_on_use_"


class BuiltOnUse:
    """An attribute assigned by the owner's method `build`, which runs when the attribute is first read."""

    def __init__(self, build: str) -> None:
        self.build = build
        self.key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = _PREFIX + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        if self.key not in obj.__dict__:
            getattr(obj, self.build)()
        return obj.__dict__[self.key]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.key] = value


def is_built(obj: Any, name: str) -> bool:
    """Whether `obj`'s BuiltOnUse attribute `name` exists yet (reading it would build it)."""
    return _PREFIX + name in obj.__dict__


def build_when_seen(widget: QWidget, name: str) -> None:
    """Call from `widget`'s showEvent: build its part `name` once the widget is really on screen.

    A panel in a tabbed dock counts as visible behind another tab (Qt only leaves it no visible
    region), and a window's first show shows every dock before its default layout tabs most of
    them away. So the part is built when the widget has a visible region: looked at once this
    event is handled, and again whenever its dock's tab comes to the front.
    """
    if is_built(widget, name):
        return

    def build_if_seen() -> None:
        if not is_built(widget, name) and widget.isVisible() and not widget.visibleRegion().isEmpty():
            getattr(widget, name)

    def look_soon(*_args: object) -> None:
        # Not at once: while the window is first shown its layout is not final yet.
        QTimer.singleShot(0, widget, build_if_seen)

    hooked = widget.__dict__.setdefault(_PREFIX + "hooked", set())
    dock = widget.parentWidget()
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    if dock is not None and name not in hooked:
        hooked.add(name)
        dock.visibilityChanged.connect(look_soon)
    look_soon()
