"""Main window: every way of opening, refused models, search, properties, recent files, settings."""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QGraphicsView

from onnx_workbench.pipelines.errors import ModelRefused


def _install_placeholder_graph_view() -> None:
    """Until widgets/graph_view.py lands, a minimal stand-in with the agreed API (tests only)."""
    from PySide6.QtCore import Signal

    class GraphView(QGraphicsView):
        nodeSelected = Signal(str)

        def __init__(self, parent=None):
            super().__init__(parent)
            self.model = None
            self.selected = None

        def set_model(self, model_proto):
            self.model = model_proto

        def select_node(self, name):
            self.selected = name
            self.nodeSelected.emit(name)

        def node_names(self):
            return [n.name for n in self.model.graph.node] if self.model is not None else []

        def fit(self): ...
        def zoom_in(self): ...
        def zoom_out(self): ...

    module = types.ModuleType("onnx_workbench.widgets.graph_view")
    module.GraphView = GraphView
    sys.modules["onnx_workbench.widgets.graph_view"] = module


if importlib.util.find_spec("onnx_workbench.widgets.graph_view") is None:
    _install_placeholder_graph_view()

from onnx_workbench.app import main_window as mw  # noqa: E402
from onnx_workbench.app.settings import Settings  # noqa: E402
from onnx_workbench.widgets import formatting  # noqa: E402

OPEN_TIMEOUT_MS = 30_000


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def _dispose(win) -> None:
    """Close and delete now: web pages must be gone before QApplication drops their profile."""
    if win.error_box is not None:
        win.error_box.close()
    win.close()
    shiboken6.delete(win)


@pytest.fixture
def window(qtbot, settings):
    win = mw.MainWindow(settings)
    win.show()
    yield win
    _dispose(win)


def _open(qtbot, win, path) -> None:
    """Open `path` and wait for both stages: the model shown, then its figures."""
    with qtbot.waitSignal(win.modelAnalyzed, timeout=OPEN_TIMEOUT_MS):
        win.open_path(path)


def _selected(win) -> str | None:
    """What the graph view has selected, for the real view or the placeholder."""
    view = win.graph_view
    if hasattr(view, "selected_node"):
        return view.selected_node()
    return getattr(view, "selected", None)


def test_open_from_command_line_path(qtbot, monkeypatch, settings, sample_cnn):
    seen: dict[str, object] = {}

    def run_event_loop(app) -> int:
        # Stands in for QApplication.exec(): spin events until the model is open, look, return.
        win = next(w for w in QApplication.topLevelWidgets() if isinstance(w, mw.MainWindow) and w.isVisible())
        qtbot.waitUntil(lambda: win.shown.opened is not None, timeout=OPEN_TIMEOUT_MS)
        seen.update(path=win.shown.opened.path, label=win.status_line.model_label.text(), nodes=win.status_line.nodes_label.text(), title=win.windowTitle())
        win.close()
        return 0

    monkeypatch.setattr(mw, "Settings", lambda: settings)
    monkeypatch.setattr(QApplication, "exec", run_event_loop)
    monkeypatch.setattr("onnx_workbench.app.theme.follow_system", lambda app, theme="system": None)
    assert mw.launch(str(sample_cnn)) == 0
    assert Path(seen["path"]).name == "resnet_small.onnx"
    assert seen["label"] == "resnet_small.onnx"
    assert seen["nodes"] == "54 nodes"
    assert "resnet_small.onnx" in seen["title"]
    assert Path(settings.recent_files()[0]).name == "resnet_small.onnx"


def test_open_by_dialog_updates_panels_and_recent(qtbot, monkeypatch, window, sample_transformer):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(sample_transformer), ""))
    with qtbot.waitSignal(window.modelOpened, timeout=OPEN_TIMEOUT_MS):
        window.actions["open"].trigger()
    # Shown as soon as it is loaded (the summary a turn after the graph); the figures are still
    # being computed in the worker.
    qtbot.waitUntil(lambda: window.summary_panel.tree.value("Name") == "transformer_small.onnx")
    assert window.summary_panel.tree.value("Nodes") == "74"
    assert window.status_line.busy_bar.isVisible() and window.summary_panel.tree.value("Parameters") == "—"
    with qtbot.waitSignal(window.modelAnalyzed, timeout=OPEN_TIMEOUT_MS):
        pass
    assert window.status_line.busy_bar.isHidden()
    qtbot.waitUntil(lambda: window.summary_panel.tree.value("Parameters") == formatting.count(window.shown.opened.analysis["params"]))
    assert window.shown.opened.analysis["params"] > 0  # figures from the analysis worker
    assert window.settings.recent_files()[0] == str(sample_transformer.resolve())
    assert window.actions["close"].isEnabled()


def test_busy_bar_shows_while_opening(qtbot, window, sample_cnn):
    with qtbot.waitSignal(window.modelAnalyzed, timeout=OPEN_TIMEOUT_MS):
        window.open_path(sample_cnn)
        assert window.status_line.busy_bar.isVisible()  # shown synchronously, before the load finishes
    assert window.status_line.busy_bar.isHidden()
    assert window.statusBar().currentMessage() == "Opened resnet_small.onnx"


def _drag_and_drop(target, paths: list[Path]) -> tuple[bool, bool]:
    """Send a drag-enter then a drop of `paths` to `target`, through Qt's event delivery."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False, False
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return True, drop.isAccepted()


def test_drag_and_drop_opens_onnx_anywhere_on_the_window(qtbot, window, sample_cnn, sample_transformer, tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a model")
    assert _drag_and_drop(window.welcome, [text_file]) == (False, False)
    assert not window.opening
    # Onto the welcome page, with a non-model file alongside: the .onnx one opens.
    with qtbot.waitSignal(window.modelOpened, timeout=OPEN_TIMEOUT_MS):
        assert _drag_and_drop(window.welcome, [text_file, sample_cnn]) == (True, True)
    assert window.shown.opened.path.name == "resnet_small.onnx"
    # Onto the graph view, which accepts drags for itself: the window still gets the file.
    with qtbot.waitSignal(window.modelOpened, timeout=OPEN_TIMEOUT_MS):
        assert _drag_and_drop(window.graph_view.viewport(), [sample_transformer]) == (True, True)
    assert window.shown.opened.path.name == "transformer_small.onnx"
    # Onto the Netron tab: opened by the app, not by Netron inside its page.
    window.tabs.setCurrentWidget(window.netron_view)
    target = window.netron_view.web.focusProxy() or window.netron_view.web
    with qtbot.waitSignal(window.modelOpened, timeout=OPEN_TIMEOUT_MS):
        assert _drag_and_drop(target, [sample_cnn]) == (True, True)
    assert window.shown.opened.path.name == "resnet_small.onnx"


def test_recent_files_reopen(qtbot, window, sample_cnn, sample_transformer):
    _open(qtbot, window, sample_cnn)
    _open(qtbot, window, sample_transformer)
    actions = window.recent_files.actions()
    assert [Path(a.data()).name for a in actions[:2]] == ["transformer_small.onnx", "resnet_small.onnx"]
    with qtbot.waitSignal(window.modelOpened, timeout=OPEN_TIMEOUT_MS):
        actions[1].trigger()
    assert window.shown.opened.path.name == "resnet_small.onnx"
    assert Path(window.settings.recent_files()[0]).name == "resnet_small.onnx"
    # The welcome page (shown after Close) lists the same files and opens them too.
    window.close_model()
    assert window.welcome.recent.count() == 2
    with qtbot.waitSignal(window.modelOpened, timeout=OPEN_TIMEOUT_MS):
        window.welcome.recent.itemActivated.emit(window.welcome.recent.item(1))
    assert window.shown.opened.path.name == "transformer_small.onnx"
    assert window.central.currentWidget() is window.tabs


def test_refused_model_shows_one_sentence_and_keeps_previous(qtbot, window, sample_cnn, tmp_path):
    _open(qtbot, window, sample_cnn)
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not a protobuf model" * 3)
    with qtbot.waitSignal(window.openFailed, timeout=OPEN_TIMEOUT_MS) as blocker:
        window.open_path(bad)
    message = blocker.args[1]
    with pytest.raises(ModelRefused):  # the dialog shows exactly what load_model refused with
        from onnx_workbench.pipelines.model import load_model

        load_model(bad)
    box = window.error_box
    assert box is not None and box.isVisible()
    assert box.text() == message and "broken.onnx" in message
    assert "broken.onnx" in box.detailedText()
    # The previous model is still the one open, in every view.
    assert window.shown.opened.path.name == "resnet_small.onnx"
    assert window.status_line.model_label.text() == "resnet_small.onnx"
    assert window.summary_panel.tree.value("Name") == "resnet_small.onnx"
    assert "resnet_small.onnx" in window.windowTitle()


def test_stale_open_is_dropped(qtbot, window, sample_cnn, sample_transformer):
    window.open_path(sample_cnn)
    window.open_path(sample_transformer)  # supersedes the first before it can finish
    qtbot.waitUntil(lambda: window.shown.opened is not None, timeout=OPEN_TIMEOUT_MS)
    qtbot.wait(300)  # give the first (stale) result time to arrive and be ignored
    assert window.shown.opened.path.name == "transformer_small.onnx"


def test_search_finds_and_selects_node(qtbot, window, sample_cnn):
    _open(qtbot, window, sample_cnn)
    window.actions["find"].trigger()
    assert window.search_dock.isVisible()
    qtbot.keyClicks(window.search_panel.query, "layer1.0.conv")
    results = [window.search_panel.results.item(i).text() for i in range(window.search_panel.results.count())]
    assert any(r.startswith("layer1.0.conv1") for r in results)
    assert all("layer1.0.conv" in r for r in results)
    qtbot.keyClick(window.search_panel.query, Qt.Key.Key_Return)
    assert _selected(window) == "layer1.0.conv1"
    assert window.properties_panel.tree.value("Op type") == "Conv"
    assert window.properties_panel.tree.value("Name") == "layer1.0.conv1"


def test_search_by_op_type_and_tensor(qtbot, window, sample_transformer):
    _open(qtbot, window, sample_transformer)
    found = window.search_panel.search("softmax")
    assert found and all(kind == "node" for kind, _ in found)
    assert all(window.shown.index.nodes[key].op_type == "Softmax" or "softmax" in key.lower() for _, key in found)
    found = window.search_panel.search("embeddings.word_embeddings.weight")
    assert ("initializer", "embeddings.word_embeddings.weight") in found


def test_properties_show_initializer_with_histogram(qtbot, window, sample_cnn):
    _open(qtbot, window, sample_cnn)
    window.select_initializer("conv1.weight")
    panel = window.properties_panel
    assert panel.tree.value("Shape") == "[" + ", ".join(str(d) for d in window.shown.index.initializers["conv1.weight"].dims) + "]"
    assert panel.tree.value("Dtype") == "float32"
    assert float(panel.tree.value("min")) <= float(panel.tree.value("mean")) <= float(panel.tree.value("max"))
    assert panel.histogram.isVisible()
    assert _selected(window) == "conv1"  # the node that reads the weight


def test_a_weight_left_in_the_file_shows_its_values(qtbot, window, sample_cnn):
    """The window's open leaves big inline weights in the .onnx (pipelines.weights_in_file); a click reads one."""
    import numpy as np
    import onnx

    _open(qtbot, window, sample_cnn)
    name = "layer3.1.conv2.weight"
    assert window.shown.index.initializers[name].data_location == onnx.TensorProto.EXTERNAL
    window.select_initializer(name)
    values = onnx.numpy_helper.to_array(next(t for t in onnx.load(str(sample_cnn)).graph.initializer if t.name == name))
    panel = window.properties_panel
    assert float(panel.tree.value("max")) == pytest.approx(float(np.max(values)), rel=1e-3)
    assert panel.histogram.isVisible()


def test_close_model_clears_views(qtbot, window, sample_cnn):
    _open(qtbot, window, sample_cnn)
    window.actions["close"].trigger()
    assert window.shown.opened is None
    assert window.central.currentWidget() is window.welcome
    assert window.status_line.model_label.text() == "No model"
    qtbot.waitUntil(lambda: window.summary_panel.tree.value("Name") is None)
    assert not window.actions["close"].isEnabled()


def test_pending_actions_exist_but_are_disabled(window):
    assert window.actions["undo"].shortcut().toString() == "Ctrl+Z"
    assert window.actions["redo"].shortcut().toString() == "Ctrl+Shift+Z"
    assert window.actions["profile"].shortcut().toString() == "F5"
    assert not window.actions["undo"].isEnabled() and not window.actions["redo"].isEnabled()
    assert not window.actions["profile"].isEnabled() and window.actions["profile"].toolTip()
    assert window.actions["open"].shortcut().toString() == "Ctrl+O"
    assert window.actions["find"].shortcut().toString() == "Ctrl+F"
    assert window.actions["fit"].shortcut().toString() == "0"


def test_layout_is_saved_and_restored(qtbot, settings):
    first = mw.MainWindow(settings)
    first.show()
    first.resize(720, 520)
    first.search_dock.hide()
    _dispose(first)
    assert settings.window_state() is not None
    second = mw.MainWindow(settings)
    second.show()
    try:
        assert (second.width(), second.height()) == (720, 520)
        assert second.search_dock.isHidden()
    finally:
        _dispose(second)


def test_zoom_keys_drive_the_graph_and_step_aside_on_the_netron_tab(qtbot, window, sample_cnn):
    _open(qtbot, window, sample_cnn)
    window.graph_view.setFocus()
    before = window.graph_view.zoom()
    qtbot.keyClick(window.graph_view, Qt.Key.Key_Plus)
    assert window.graph_view.zoom() > before
    qtbot.keyClick(window.graph_view, Qt.Key.Key_Minus)
    assert abs(window.graph_view.zoom() - before) < 1e-6 * max(1.0, before)
    window.tabs.setCurrentWidget(window.netron_view)
    assert not window.actions["zoom_in"].isEnabled() and not window.actions["fit"].isEnabled()
    window.tabs.setCurrentWidget(window.graph_view)
    assert window.actions["zoom_in"].isEnabled()


def test_later_panels_join_the_view_menu_and_the_saved_layout(qtbot, settings):
    from PySide6.QtWidgets import QLabel

    first = mw.MainWindow(settings)
    first.show()
    dock = first.docks.add("Notes", "dock-notes", QLabel("notes"))
    assert dock.toggleViewAction() in first.docks.menu.actions()
    dock.hide()
    _dispose(first)
    second = mw.MainWindow(settings)
    again = second.docks.add("Notes", "dock-notes", QLabel("notes"))
    second.docks.restore()
    second.show()
    try:
        assert again.isHidden()
    finally:
        _dispose(second)


def test_properties_and_search_follow_the_subgraph_shown(qtbot, window, branchy_model):
    _open(qtbot, window, branchy_model)
    assert window.search_panel.search("relu") == []  # the main graph holds only the If
    window.graph_view.open_subgraph("choose", "then_branch")
    qtbot.waitUntil(lambda: window.search_panel.search("relu") == [("node", "then/relu")])
    window.select_node("then/relu")
    assert window.properties_panel.tree.value("Op type") == "Relu"
    assert window.properties_panel.tree.value("x") == "float32 [2]"  # an outer-scope input, typed
    window.graph_view.close_subgraph()
    qtbot.waitUntil(lambda: window.search_panel.search("choose") == [("node", "choose")])


def test_a_layout_saved_with_other_docks_is_not_restored(qtbot, settings):
    first = mw.MainWindow(settings)
    first.show()
    first.search_dock.hide()
    _dispose(first)
    # The same layout as a release with another set of panels saved it (that release wrote
    # version 0: any id other than this set's own).
    second = mw.MainWindow(settings)
    state = second.saveState(0)
    _dispose(second)
    settings.set_window_state(state)
    third = mw.MainWindow(settings)
    third.show()
    try:
        assert not third.search_dock.isHidden()  # the default layout, not the stale one
    finally:
        _dispose(third)
