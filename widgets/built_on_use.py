"""Widget parts built the first time they are used, not when the widget is made.

The window's charts are pyqtgraph plots: each plot costs ~0.05 s of the GUI thread, which every
start-up would pay for panels that sit in hidden tabs or show a placeholder until something is
measured. A panel declares such parts with `BuiltOnUse("_build_x")`; the
first read of any of them runs `_build_x`, which assigns them. Code that only wants to update a
part that may not exist yet asks `is_built` first, and the build draws the current state.

Two ways to build ahead of that first read: `build_when_seen` when the panel comes on screen,
and `build_in_background` for a part the user will soon want: the build a step per event-loop
turn (a build written as a generator yields between steps), so the window never stalls for the
whole of it.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDockWidget, QWidget

from onnx_workbench.widgets.one_per_turn import later

_PREFIX = "_built_on_use_"


class BuiltOnUse:
    """An attribute assigned by the owner's method `build`, which runs when the attribute is first read.

    `build` may be a generator (its steps run to the end here, or one per event-loop turn under
    `build_in_background`); it must assign the attribute by its last step.
    """

    def __init__(self, build: str) -> None:
        self.build = build
        self.key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = _PREFIX + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        if self.key not in obj.__dict__:
            for _step in _steps(obj, self.build):
                pass
        return obj.__dict__[self.key]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.key] = value


def _steps(obj: Any, build: str) -> Iterator[None]:
    """The steps of `obj`'s build method, started once: a background build and a read share them."""
    key = f"{_PREFIX}steps_{build}"
    if key not in obj.__dict__:
        obj.__dict__[key] = iter(getattr(obj, build)() or ())  # a plain method has built already
    return obj.__dict__[key]


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


def build_in_background(widget: QWidget, name: str) -> None:
    """Build `widget`'s part `name` without stalling the window: a step per event-loop turn.
    Reading the part meanwhile finishes it at once.

    The build's imports must be made already, on the GUI thread: a module that makes Qt types
    as it is imported (pyqtgraph) must not be imported on another thread. Imported on a thread
    while the window ran, pyqtgraph crashed it about one run in thirty: the GUI thread died in
    PySide's MetaObjectBuilder::update (reached from QMetaObject::cast, without the interpreter
    lock) while the import thread was creating Qt enum types.
    """
    build = type(widget).__dict__[name].build
    started = _PREFIX + "background"
    if is_built(widget, name) or widget.__dict__.get(started):
        return
    widget.__dict__[started] = True
    finished = object()

    def step() -> None:
        if not is_built(widget, name) and next(_steps(widget, build), finished) is not finished:
            # A zero-interval timer, which Qt runs when no other event or timer waits: steps
            # posted as events (QTimer.singleShot(0, ...)) ran back to back, the window's
            # timers and repaints never in between.
            later(widget, step)

    later(widget, step)
