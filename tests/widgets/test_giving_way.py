"""Background imports wait while the GUI thread is busy, and go straight on while it is idle."""
from __future__ import annotations

import threading
import time

import pytest

from onnx_workbench.widgets import giving_way as module
from onnx_workbench.widgets.giving_way import giving_way


def _seconds_to_import(name: str, main_thread_busy_s: float) -> float:
    """How long a background import of `name` took while this (GUI) thread spun for the given time."""
    took: list[float] = []

    def run() -> None:
        started = time.perf_counter()
        with giving_way():
            __import__(name)
        took.append(time.perf_counter() - started)

    thread = threading.Thread(target=run)
    thread.start()
    end = time.perf_counter() + main_thread_busy_s
    while time.perf_counter() < end:
        pass
    thread.join()
    return took[0]


@pytest.mark.skipif(module._cpu_clock_of(threading.main_thread()) is None, reason="no per-thread CPU clock here")
def test_an_import_waits_while_the_gui_thread_is_busy(tmp_path, monkeypatch):
    for name in ("wb_giving_way_idle", "wb_giving_way_busy"):
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    idle = _seconds_to_import("wb_giving_way_idle", 0.0)
    busy = _seconds_to_import("wb_giving_way_busy", 0.3)
    assert idle < module.MAX_WAIT_S / 2  # idle: after one look
    assert busy >= module.MAX_WAIT_S * 0.9  # busy: held back as long as it may
