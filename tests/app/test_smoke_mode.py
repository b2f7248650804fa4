"""The GUI's smoke-test mode (app/smoke.py), driven by stand-in window parts."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import QObject, Signal

from onnx_workbench.app import smoke


class FakeWindowSignals(QObject):
    modelAnalyzed = Signal(object)
    openFailed = Signal(str, str, str)


class FakeNetron(QObject):
    loadFinished = Signal(bool)
    embedded = True


class FakeTabs:
    def __init__(self) -> None:
        self.current = None

    def setCurrentWidget(self, widget) -> None:  # noqa: N802 - Qt API
        self.current = widget


class FakeApp:
    """Records quit()/exit(code) instead of ending a real event loop."""

    def __init__(self) -> None:
        self.codes: list[int] = []

    def quit(self) -> None:
        self.codes.append(0)

    def exit(self, code: int) -> None:
        self.codes.append(code)


def _window():
    signals = FakeWindowSignals()
    return SimpleNamespace(modelAnalyzed=signals.modelAnalyzed, openFailed=signals.openFailed, signals=signals,
                           netron_view=FakeNetron(), tabs=FakeTabs())


def _opened(analysis):
    graph = SimpleNamespace(node=[object()] * 5)
    loaded = SimpleNamespace(proto=SimpleNamespace(graph=graph))
    return SimpleNamespace(path=SimpleNamespace(name="m.onnx"), loaded=loaded, analysis=analysis, warnings=["worker died"])


@pytest.mark.parametrize(("value", "expected"), [("", None), ("250", 250), ("-5", 0), ("soon", None)])
def test_smoke_exit_ms_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(smoke.SMOKE_ENV, value)
    assert smoke.smoke_exit_ms() == expected


def test_reports_model_analysis_and_netron_then_quits(qtbot, capsys):
    app, window = FakeApp(), _window()
    smoke.install_smoke_exit(app, window, "m.onnx", 10)
    window.modelAnalyzed.emit(_opened({"params": 42}))
    assert window.tabs.current is window.netron_view  # Netron is loaded by showing its tab
    window.netron_view.loadFinished.emit(True)
    window.netron_view.loadFinished.emit(False)  # later reloads do not change the verdict
    qtbot.waitUntil(lambda: bool(app.codes), timeout=2000)
    assert app.codes == [0]
    assert capsys.readouterr().out.splitlines() == ["loaded m.onnx 5 nodes", "analysis 42 params", "netron page loaded"]


def test_failed_analysis_exits_1(qtbot, capsys):
    app, window = FakeApp(), _window()
    smoke.install_smoke_exit(app, window, "m.onnx", 10)
    window.modelAnalyzed.emit(_opened(None))
    qtbot.waitUntil(lambda: bool(app.codes), timeout=2000)
    assert app.codes == [smoke.EXIT_OPEN_FAILED]
    assert "worker died" in capsys.readouterr().err


def test_netron_page_failure_exits_1(qtbot):
    app, window = FakeApp(), _window()
    smoke.install_smoke_exit(app, window, "m.onnx", 10)
    window.modelAnalyzed.emit(_opened({"params": 1}))
    window.netron_view.loadFinished.emit(False)
    qtbot.waitUntil(lambda: bool(app.codes), timeout=2000)
    assert app.codes == [smoke.EXIT_OPEN_FAILED]


def test_refused_model_exits_1(qtbot, capsys):
    app, window = FakeApp(), _window()
    smoke.install_smoke_exit(app, window, "bad.onnx", 10)
    window.openFailed.emit("bad.onnx", "bad.onnx is not an ONNX model.", "")
    qtbot.waitUntil(lambda: bool(app.codes), timeout=2000)
    assert app.codes == [smoke.EXIT_OPEN_FAILED]
    assert "not an ONNX model" in capsys.readouterr().err


def test_without_a_model_it_quits_after_the_delay(qtbot):
    app = FakeApp()
    smoke.install_smoke_exit(app, _window(), None, 10)
    qtbot.waitUntil(lambda: bool(app.codes), timeout=2000)
    assert app.codes == [0]
