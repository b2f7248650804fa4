"""Deferred view updates: one per event-loop turn, the newest call of each, none for a widget gone."""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from onnx_workbench.widgets.one_per_turn import deferred, later


def test_queued_calls_run_one_per_turn_newest_arguments_first_place(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    ran: list[tuple[str, int]] = []
    turns: list[int] = []
    first, second = (lambda value: ran.append(("first", value))), (lambda value: ran.append(("second", value)))
    later(owner, first, 1)
    later(owner, second, 2)
    later(owner, first, 3)  # replaces the waiting call, keeps its place in the queue
    assert ran == []  # nothing runs within the turn that queued it
    counter = QTimer()
    counter.setInterval(0)
    counter.timeout.connect(lambda: turns.append(len(ran)))
    counter.start()
    qtbot.waitUntil(lambda: len(ran) == 2)
    counter.stop()
    assert ran == [("first", 3), ("second", 2)]
    assert 1 in turns  # a turn of the event loop passed between the two calls


def test_a_call_for_a_widget_gone_is_dropped(qtbot):
    owner = QWidget()
    ran: list[int] = []
    call = deferred(owner, ran.append)
    call(1)
    shiboken6.delete(owner)
    qtbot.wait(20)
    assert ran == []
