"""The workbench's own icons: every one exists, renders, and is found from the bundle folder too."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage

from onnx_workbench.app import icons

ICON_DIR = Path(icons.__file__).resolve().parents[1] / "assets" / "icons"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # icon() and app_icon() cache per process; tests that move the folders need fresh lookups.
    icons.icon.cache_clear()
    icons.app_icon.cache_clear()
    yield
    icons.icon.cache_clear()
    icons.app_icon.cache_clear()


def _opaque_pixels(image: QImage) -> int:
    return sum(
        1 for y in range(image.height()) for x in range(image.width()) if image.pixelColor(x, y).alpha() > 0
    )


@pytest.mark.parametrize("name", icons.TOOLBAR_ICONS)
def test_toolbar_icon_draws_something_at_toolbar_size(qapp, name):
    icon = icons.icon(name)
    assert not icon.isNull()
    image = icon.pixmap(QSize(24, 24)).toImage()
    drawn = _opaque_pixels(image)
    # A line icon covers some of its square but not all of it; 0 would mean a broken SVG.
    assert 20 < drawn < 24 * 24, f"{name}: {drawn} pixels drawn"


@pytest.mark.parametrize("name", icons.TOOLBAR_ICONS)
def test_toolbar_svgs_share_the_24_grid_and_fixed_colours(name):
    text = (ICON_DIR / f"{name}.svg").read_text()
    assert 'viewBox="0 0 24 24"' in text
    # Fixed colours, not currentColor: Qt's SVG renderer has no CSS colour to inherit.
    assert "currentColor" not in text


def test_unknown_icon_is_empty_not_an_error(qapp):
    assert icons.icon("no-such-icon").isNull()


def test_app_icon_has_every_rendered_size(qapp):
    app_icon = icons.app_icon()
    sizes = {s.width() for s in app_icon.availableSizes()}
    assert set(icons.APP_ICON_SIZES) <= sizes
    # The PNGs are renderings of the SVG: the 16 px one is the tile's blue, not transparent.
    centre = QImage(str(ICON_DIR / "onnx-workbench-16.png")).pixelColor(2, 8)
    assert centre.alpha() == 255 and centre.blue() > centre.red()


def test_png_files_match_their_names():
    for size in icons.APP_ICON_SIZES:
        image = QImage(str(ICON_DIR / f"onnx-workbench-{size}.png"))
        assert (image.width(), image.height()) == (size, size)


def test_ico_holds_the_windows_sizes():
    from PIL import Image

    with Image.open(ICON_DIR / "onnx-workbench.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])


def test_icons_are_found_in_a_pyinstaller_bundle_folder(qapp, tmp_path, monkeypatch):
    # Inside the bundle the data files sit under sys._MEIPASS/assets/icons.
    bundled = tmp_path / "assets" / "icons"
    bundled.mkdir(parents=True)
    shutil.copy(ICON_DIR / "open.svg", bundled / "open.svg")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert icons.icon_dirs()[0] == bundled
    assert icons.icon_path("open") == bundled / "open.svg"
    # Files the bundle lacks still come from the next folder rather than failing.
    assert icons.icon_path("stop") == ICON_DIR / "stop.svg"


def test_png_fallback_when_only_a_png_exists(tmp_path, monkeypatch):
    folder = tmp_path / "assets" / "icons"
    folder.mkdir(parents=True)
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    image.fill(QColor("#ff0000"))
    image.save(str(folder / "only-png.png"))
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert icons.icon_path("only-png") == folder / "only-png.png"


def test_committed_pngs_are_fresh_renderings_of_the_svg(qapp):
    # Editing the SVG without re-running render_pngs.py would ship a stale icon.
    sys.path.insert(0, str(ICON_DIR))
    try:
        import render_pngs
    finally:
        sys.path.remove(str(ICON_DIR))
    fresh = render_pngs.render_svg(ICON_DIR / "onnx-workbench.svg", 64).convertToFormat(QImage.Format.Format_ARGB32)
    committed = QImage(str(ICON_DIR / "onnx-workbench-64.png")).convertToFormat(QImage.Format.Format_ARGB32)
    assert fresh.size() == committed.size()
    # Qt's rasterizer builds differ by a unit of anti-aliasing on an edge pixel; an edited SVG
    # changes whole shapes, far more than this.
    fresh_bytes = np.frombuffer(bytes(fresh.constBits()), dtype=np.uint8).astype(np.int16)
    committed_bytes = np.frombuffer(bytes(committed.constBits()), dtype=np.uint8).astype(np.int16)
    assert np.abs(fresh_bytes - committed_bytes).max() <= 2
