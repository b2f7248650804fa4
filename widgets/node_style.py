"""Colours and fonts of the graph view: category fills, overlay gradient, highlight borders.

Colours live as numpy RGB rows so the minimap and overlays are computed for 50,000 nodes at
once; QBrush/QPen objects are cached per colour so painting never builds new ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPalette, QPen

from onnx_workbench.pipelines.graph_layout import CATEGORIES

CATEGORY_RGB: dict[str, tuple[int, int, int]] = {
    "conv": (108, 160, 220),
    "matmul": (112, 190, 160),
    "activation": (236, 158, 110),
    "normalization": (186, 150, 214),
    "pooling": (120, 196, 214),
    "shape": (206, 206, 206),
    "quantization": (232, 206, 100),
    "fused": (226, 120, 150),
    "custom": (170, 140, 110),
    "other": (182, 196, 220),
    "io": (238, 238, 238),
}
CATEGORY_LABELS = {
    "conv": "Convolution", "matmul": "MatMul / Gemm", "activation": "Activation",
    "normalization": "Normalization", "pooling": "Pooling", "shape": "Shape / layout",
    "quantization": "Quantization", "fused": "ORT fused (com.microsoft)", "custom": "Custom domain",
    "other": "Other", "io": "Input / output",
}
CATEGORY_INDEX = {name: i for i, name in enumerate(CATEGORIES)}
CATEGORY_TABLE = np.array([CATEGORY_RGB[c] for c in CATEGORIES], dtype=np.uint8)
NO_VALUE_RGB = (228, 228, 228)  # nodes an overlay has no value for

# Perceptually ordered light-yellow → orange → dark-red ramp (ColorBrewer YlOrRd stops).
GRADIENT_STOPS = np.array(
    [(255, 255, 204), (254, 217, 118), (253, 141, 60), (227, 26, 28), (128, 0, 38)], dtype=float
)

HIGHLIGHT_RGB = {"added": (30, 150, 60), "removed": (210, 40, 40), "changed": (235, 140, 0)}
SELECTED_RGB = (20, 110, 230)
BORDER_RGB = (90, 90, 90)
EDGE_RGB = (120, 120, 120)
BACKGROUND_RGB = (252, 252, 252)


@dataclass(frozen=True)
class Canvas:
    """What the graph is drawn on, per theme: background, edges and their shape labels."""

    background: tuple[int, int, int]
    edge: tuple[int, int, int]
    label: tuple[int, int, int]


LIGHT_CANVAS = Canvas(BACKGROUND_RGB, EDGE_RGB, (90, 90, 90))
# Node fills keep their category colours (they read on both); the canvas and lines go dark.
DARK_CANVAS = Canvas((37, 38, 41), (138, 140, 146), (176, 178, 184))


def canvas_for(palette: QPalette) -> Canvas:
    """The canvas that goes with a widget palette (dark when its window colour is dark)."""
    return DARK_CANVAS if palette.color(QPalette.ColorRole.Window).lightness() < 128 else LIGHT_CANVAS


def category_colours(categories: list[str]) -> np.ndarray:
    """(N, 3) uint8 fill colours for the given node categories."""
    index = np.fromiter((CATEGORY_INDEX.get(c, CATEGORY_INDEX["other"]) for c in categories), np.int64, len(categories))
    return CATEGORY_TABLE[index]


def gradient(t: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 colours of the overlay ramp at positions t in [0, 1]."""
    t = np.clip(np.nan_to_num(np.asarray(t, dtype=float)), 0.0, 1.0) * (len(GRADIENT_STOPS) - 1)
    low = np.minimum(np.floor(t).astype(np.int64), len(GRADIENT_STOPS) - 2)
    frac = (t - low)[:, None]
    rgb = GRADIENT_STOPS[low] * (1 - frac) + GRADIENT_STOPS[low + 1] * frac
    return np.rint(rgb).astype(np.uint8)


def text_is_light(rgb: np.ndarray) -> np.ndarray:
    """True where white text reads better than black on the fill (relative luminance test)."""
    rgb = np.asarray(rgb, dtype=float)
    luminance = 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]
    return luminance < 120


@lru_cache(maxsize=4096)
def brush(rgb: tuple[int, int, int]) -> QBrush:
    """A shared solid brush for an RGB colour."""
    return QBrush(QColor(*rgb))


@lru_cache(maxsize=256)
def pen(rgb: tuple[int, int, int], width: float = 1.0, cosmetic: bool = False) -> QPen:
    """A shared solid pen for an RGB colour."""
    result = QPen(QColor(*rgb), width)
    result.setCosmetic(cosmetic)
    result.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return result


@lru_cache(maxsize=8)
def font(pixel_size: int, bold: bool = False) -> QFont:
    """A shared font of the given pixel size (pixel sizes keep text in step with the layout)."""
    result = QFont()
    result.setPixelSize(pixel_size)
    result.setBold(bold)
    return result
