"""Human-readable numbers for the panels, and the label-column sizing they share."""
from __future__ import annotations

import html

from PySide6.QtWidgets import QTreeWidget

# The label column never takes more than this share of the tree's width, so values stay visible.
MAX_LABEL_SHARE = 0.55


def count(value: float | int | None) -> str:
    """1234567 -> '1.23 M'; None -> '—'."""
    if value is None:
        return "—"
    value = float(value)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.0f}" if value == int(value) else f"{value:.3g}"


def size(num_bytes: float | int | None) -> str:
    """1536 -> '1.5 KiB'; None -> '—'."""
    if num_bytes is None:
        return "—"
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - loop always returns


def plain_tooltip(text: str) -> str:
    """`text` as a tooltip that shows literally: model strings are untrusted, tooltips render HTML."""
    # Escaping alone is not enough: Qt shows escaped text that does not *look* like rich text
    # as plain text (entities undecoded); <qt> forces rich-text mode so entities always decode.
    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


def fit_label_column(tree: QTreeWidget) -> None:
    """Size column 0 to its contents, capped so the value column keeps most of the width."""
    tree.resizeColumnToContents(0)
    cap = max(80, int(tree.viewport().width() * MAX_LABEL_SHARE))
    tree.setColumnWidth(0, min(tree.columnWidth(0), cap))
