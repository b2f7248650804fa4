"""Render the application icon to PNGs (and a Windows .ico) from onnx-workbench.svg.

Run from anywhere: `.venv/bin/python assets/icons/render_pngs.py [--contact-sheet OUT.png]`.
The PNGs and the .ico are committed; re-run this after editing the SVG.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_SVG = HERE / "onnx-workbench.svg"
SIZES = (16, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # what Windows asks an .ico for; 256 is its maximum

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt  # noqa: E402 - the platform must be set first
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402


def render_svg(svg: Path, size: int) -> QImage:
    """The SVG drawn into a transparent size x size image."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_pngs: {svg} is not a valid SVG; fix it and run again.")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def png_path(size: int) -> Path:
    """Where the application icon PNG of one size lives."""
    return HERE / f"onnx-workbench-{size}.png"


def write_pngs() -> list[Path]:
    """Render every application icon size; returns the files written."""
    written = []
    for size in SIZES:
        path = png_path(size)
        if not render_svg(APP_SVG, size).save(str(path)):
            raise SystemExit(f"render_pngs: could not write {path}; check the folder is writable.")
        written.append(path)
    return written


def write_ico() -> Path:
    """A multi-size Windows icon built by Pillow from the 256 px rendering."""
    from PIL import Image

    path = HERE / "onnx-workbench.ico"
    # Pillow resamples the largest image down; small sizes from the SVG itself would be
    # marginally crisper, but the .ico format stores one source here and it is only for Windows.
    with Image.open(png_path(256)) as image:
        image.save(path, format="ICO", sizes=[(s, s) for s in ICO_SIZES])
    return path


def contact_sheet(out: Path) -> Path:
    """Every icon at 24 and 48 px on a light and a dark background, labelled, for review."""
    svgs = sorted(p for p in HERE.glob("*.svg"))
    cell, label_h, pad = 120, 18, 8
    cols = 2  # light, dark
    width = cols * cell * 2
    height = len(svgs) * (cell // 2 + label_h)
    sheet = QImage(width, height, QImage.Format.Format_ARGB32)
    sheet.fill(QColor("#ffffff"))
    painter = QPainter(sheet)
    painter.setFont(QFont("sans", 9))
    for row, svg in enumerate(svgs):
        y = row * (cell // 2 + label_h)
        for col, bg in enumerate(("#ffffff", "#2b2b2b")):
            x0 = col * cell * 2
            painter.fillRect(x0, y, cell * 2, cell // 2 + label_h, QColor(bg))
            painter.drawImage(x0 + pad, y + pad + 12, render_svg(svg, 24))
            painter.drawImage(x0 + pad + 40, y + pad, render_svg(svg, 48))
            painter.setPen(QColor("#888888"))
            painter.drawText(x0 + pad + 100, y + 36, svg.stem)
    painter.end()
    sheet.save(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the PNGs and the .ico, and a contact sheet when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contact-sheet", type=Path, help="also write a review sheet of every icon here")
    args = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - fonts need it
    for path in write_pngs():
        print(path.name)
    print(write_ico().name)
    if args.contact_sheet:
        print(contact_sheet(args.contact_sheet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
