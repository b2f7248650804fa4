"""Settings (recent files, provider, layout blobs) and the light/dark theme."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from onnx_workbench.app.settings import MAX_RECENT, Settings
from onnx_workbench.app.theme import apply_theme


def _settings(tmp_path) -> Settings:
    return Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))


def test_recent_files_newest_first_deduplicated_capped_and_existing(tmp_path):
    settings = _settings(tmp_path)
    files = []
    for i in range(MAX_RECENT + 2):
        path = tmp_path / f"m{i}.onnx"
        path.write_bytes(b"x")
        files.append(path)
        settings.add_recent_file(path)
    settings.add_recent_file(files[5])
    recent = settings.recent_files()
    assert len(recent) == MAX_RECENT and recent[0] == str(files[5].resolve())
    assert recent.count(str(files[5].resolve())) == 1
    files[-1].unlink()  # a file that went away is not offered
    assert str(files[-1].resolve()) not in _settings(tmp_path).recent_files()
    settings.clear_recent_files()
    assert settings.recent_files() == []


def test_dark_and_light_palettes(qapp: QApplication):
    original = qapp.palette()
    try:
        apply_theme(qapp, dark=True)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
        apply_theme(qapp, dark=False)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
    finally:
        qapp.setPalette(original)


def test_view_theme_switches_every_view_and_is_remembered(qtbot, qapp: QApplication, tmp_path, sample_cnn):
    import shiboken6

    from onnx_workbench.app.main_window import MainWindow
    from onnx_workbench.pipelines.model import load_model
    from onnx_workbench.pipelines.opening import OpenedModel

    original = qapp.palette()
    win = MainWindow(_settings(tmp_path))
    win.session_panels.commands.ask_before_close = False
    win.show()
    try:
        win.show_model(OpenedModel(load_model(sample_cnn)), remember=False)
        win.theme_menu.choose("dark")
        assert win.theme_menu.theme_actions["dark"].isChecked() and _settings(tmp_path).theme() == "dark"
        qtbot.wait(10)
        assert win.graph_view.backgroundBrush().color().lightness() < 80  # the canvas, not only widgets
        assert win.graph_view.minimap.background[0] < 80
        dashboard = win.session_panels.profile_dashboard
        dashboard.charts  # built on this read if the background build has not finished
        canvases = [plot.getViewWidget() for plot in dashboard._plots.values()]
        assert all(canvas.backgroundBrush().color().lightness() < 80 for canvas in canvases)
        caption = dashboard.stat_labels["p50"].parentWidget()
        assert caption is not None
        window_colour = dashboard.palette().color(QPalette.ColorRole.Window)
        quiet = dashboard.palette().color(QPalette.ColorRole.PlaceholderText)
        assert abs(quiet.lightness() - window_colour.lightness()) > 60  # captions readable on dark
        win.theme_menu.choose("light")
        qtbot.wait(10)
        assert win.graph_view.backgroundBrush().color().lightness() > 200
        assert all(canvas.backgroundBrush().color().lightness() > 200 for canvas in canvases)
    finally:
        win.close()
        shiboken6.delete(win)
        qapp.setPalette(original)
