"""Human-readable numbers for the panels, and the label-column sizing they share."""
from __future__ import annotations

import html

from PySide6.QtWidgets import QTreeWidget

from onnx_workbench.pipelines.units import (  # one formatting of counts and sizes, CLI and panels alike
    count,
    size,
)

__all__ = ["MAX_LABEL_SHARE", "age", "count", "fit_label_column", "plain_tooltip", "size"]

# The label column never takes more than this share of the tree's width, so values stay visible.
MAX_LABEL_SHARE = 0.55


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


def age(seconds: float) -> str:
    """'3 min ago', '5 h ago', '2 days ago'."""
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
