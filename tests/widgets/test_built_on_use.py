"""Parts of widgets built on first use, when seen, or step by step in the background."""
from __future__ import annotations

import threading

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from onnx_workbench.widgets.built_on_use import BuiltOnUse, build_in_background, build_when_seen, is_built


class Panel(QWidget):
    """A widget whose `part` is built in three steps, each noted in `steps`."""

    part = BuiltOnUse("_build_part")

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[str] = []

    def _build_part(self):  # noqa: ANN202 - a generator of steps
        for name in ("a", "b"):
            self.steps.append(name)
            yield
        self.steps.append("c")
        self.part = QLabel("built", self)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        super().showEvent(event)
        build_when_seen(self, "part")


def test_reading_a_part_builds_it_once(qtbot):
    panel = Panel()
    qtbot.addWidget(panel)
    assert not is_built(panel, "part") and panel.steps == []
    label = panel.part
    assert is_built(panel, "part") and panel.steps == ["a", "b", "c"]
    assert panel.part is label and panel.steps == ["a", "b", "c"]


def test_a_background_build_lets_other_events_run_between_its_steps(qtbot):
    panel = Panel()
    qtbot.addWidget(panel)
    other = QTimer(panel)  # another piece of the window's work, due at every turn
    other.setInterval(0)
    other.timeout.connect(lambda: panel.steps.append("other") if panel.steps and panel.steps[-1] != "other" else None)
    other.start()
    build_in_background(panel, "part")
    qtbot.waitUntil(lambda: is_built(panel, "part"), timeout=5000)
    other.stop()
    steps = panel.steps
    assert [s for s in steps if s != "other"] == ["a", "b", "c"]
    assert steps.index("a") < steps.index("other", steps.index("a")) < steps.index("b")
    assert steps.index("b") < steps.index("other", steps.index("b")) < steps.index("c")


def test_a_background_build_starts_no_thread(qtbot):
    """Qt types may only be made on the GUI thread: a background build runs there, a step per turn."""
    panel = Panel()
    qtbot.addWidget(panel)
    threads = threading.active_count()
    build_in_background(panel, "part")
    assert threading.active_count() == threads
    qtbot.waitUntil(lambda: is_built(panel, "part"), timeout=5000)


def test_reading_a_part_mid_build_finishes_it(qtbot):
    panel = Panel()
    qtbot.addWidget(panel)
    build_in_background(panel, "part")
    qtbot.waitUntil(lambda: panel.steps != [], timeout=5000)
    assert panel.part.text() == "built" and panel.steps == ["a", "b", "c"]
    qtbot.wait(50)  # the background steps still queued find it built
    assert panel.steps == ["a", "b", "c"]


def test_a_panel_behind_another_tab_is_built_when_its_tab_comes_to_the_front(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = Panel()
    front, back = QDockWidget("Front", window), QDockWidget("Back", window)
    front.setWidget(QLabel("front"))
    back.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, front)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, back)
    window.tabifyDockWidget(front, back)
    front.raise_()
    window.show()
    qtbot.wait(50)
    assert panel.isVisible() and not is_built(panel, "part")  # "visible", but behind the Front tab
    back.raise_()
    qtbot.waitUntil(lambda: is_built(panel, "part"), timeout=5000)
