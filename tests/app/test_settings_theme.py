"""Settings (recent files, provider, layout blobs) and the light/dark theme."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.settings import MAX_RECENT, Settings
from app.theme import apply_theme


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


def test_provider_persists(tmp_path):
    settings = _settings(tmp_path)
    assert settings.last_provider() is None
    settings.set_last_provider("CUDAExecutionProvider")
    settings.sync()
    assert _settings(tmp_path).last_provider() == "CUDAExecutionProvider"


def test_dark_and_light_palettes(qapp: QApplication):
    original = qapp.palette()
    try:
        apply_theme(qapp, dark=True)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
        apply_theme(qapp, dark=False)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
    finally:
        qapp.setPalette(original)
