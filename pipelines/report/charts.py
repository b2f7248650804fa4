"""Small inline SVG charts for reports.

Written by hand on purpose: a report needs three simple chart kinds that must be
self-contained text (no scripts, no external URLs) and must escape every label. matplotlib
would add a large dependency for this, and Qt's exporters cannot be used here (pipelines never
imports Qt). Labels are escaped with markupsafe, the same escaping the templates use.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from markupsafe import Markup, escape

PALETTE = ("#2f6fb0", "#d9822b", "#3a9d5d", "#b8463a", "#7b5ea7")
_FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="11"'


def _svg(width: int, height: int, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _nice(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, unit: str = "", width: int = 640) -> Markup:
    """Horizontal bars, largest first as given; labels truncated to fit, full text in a tooltip."""
    row, label_w, pad = 20, 210, 8
    height = pad * 2 + row * max(len(values), 1)
    top = max(values, default=0) or 1.0
    plot_w = width - label_w - 90
    body = []
    for i, (label, value) in enumerate(zip(labels, values)):
        y = pad + i * row
        w = max(plot_w * value / top, 1)
        short = label if len(label) <= 32 else label[:31] + "…"
        body.append(
            f'<g><title>{escape(label)}: {escape(_nice(value))} {escape(unit)}</title>'
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" {_FONT}>{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" {_FONT}>{escape(_nice(value))} {escape(unit)}</text></g>'
        )
    return _svg(width, height, body, title)


def histogram(values: Sequence[float], *, title: str, unit: str = "ms", bins: int = 30, width: int = 640, height: int = 220, series: Sequence[tuple[str, Sequence[float]]] | None = None) -> Markup:
    """A histogram of one sample, or several overlaid (`series` of (name, values))."""
    groups = list(series) if series else [("", values)]
    everything = np.concatenate([np.asarray(v, dtype=float) for _, v in groups if len(v)]) if any(len(v) for _, v in groups) else np.zeros(1)
    # Clip to the 99th percentile: one 30x outlier (a noisy neighbour) would otherwise squeeze
    # the whole distribution into the first bar. What is clipped is said under the axis.
    lo, hi = float(everything.min()), float(np.percentile(everything, 99))
    clipped = int((everything > hi).sum())
    if hi <= lo:
        hi = lo + 1e-9 + abs(lo) * 0.01
    edges = np.linspace(lo, hi, bins + 1)
    counts = [np.histogram(np.clip(np.asarray(v, dtype=float), lo, hi), bins=edges)[0] for _, v in groups]
    peak = max((int(c.max()) for c in counts if c.size), default=1) or 1
    left, bottom, top_pad = 44, 36, 14
    plot_w, plot_h = width - left - 12, height - bottom - top_pad
    body = [_axes(left, top_pad, plot_w, plot_h)]
    bar_w = plot_w / bins
    for g, (name, _), in enumerate(groups):
        color = PALETTE[g % len(PALETTE)]
        for i, count in enumerate(counts[g]):
            if count:
                h = plot_h * count / peak
                body.append(
                    f'<rect x="{left + i * bar_w:.1f}" y="{top_pad + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                    f'height="{h:.1f}" fill="{color}" fill-opacity="{0.85 if len(groups) == 1 else 0.5}"/>'
                )
        if name:
            body.append(f'<rect x="{left + 8}" y="{top_pad + 4 + g * 16}" width="10" height="10" fill="{color}"/>'
                        f'<text x="{left + 22}" y="{top_pad + 13 + g * 16}" {_FONT}>{escape(name)}</text>')
    note = f" ({clipped} slower runs counted in the last bar)" if clipped else ""
    body.append(_x_ticks(left, top_pad + plot_h, plot_w, lo, hi, unit + note))
    body.append(f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" {_FONT}>{peak}</text>')
    return _svg(width, height, body, title)


def line_chart(xs: Sequence[float], ys: Sequence[float], *, title: str, x_unit: str, y_unit: str, width: int = 640, height: int = 220) -> Markup:
    """One line, e.g. memory over time or latency per run."""
    left, bottom, top_pad = 64, 36, 14
    plot_w, plot_h = width - left - 12, height - bottom - top_pad
    body = [_axes(left, top_pad, plot_w, plot_h)]
    if len(xs) >= 1:
        x0, x1 = float(min(xs)), float(max(xs))
        y0, y1 = 0.0, float(max(ys)) or 1.0
        span_x = (x1 - x0) or 1.0
        points = " ".join(
            f"{left + plot_w * (x - x0) / span_x:.1f},{top_pad + plot_h - plot_h * (y - y0) / (y1 - y0):.1f}"
            for x, y in zip(xs, ys)
        )
        body.append(f'<polyline points="{points}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/>')
        body.append(f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" {_FONT}>{escape(_nice(y1))}</text>')
        body.append(f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" {_FONT}>0</text>')
        body.append(f'<text x="14" y="{top_pad + plot_h / 2:.0f}" transform="rotate(-90 14 {top_pad + plot_h / 2:.0f})" text-anchor="middle" {_FONT}>{escape(y_unit)}</text>')
        body.append(_x_ticks(left, top_pad + plot_h, plot_w, x0, x1, x_unit))
    return _svg(width, height, body, title)


def _axes(left: float, top: float, w: float, h: float) -> str:
    return (f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>'
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#888"/>')


def _x_ticks(left: float, y: float, w: float, lo: float, hi: float, unit: str) -> str:
    ticks = []
    for i in range(5):
        value = lo + (hi - lo) * i / 4
        x = left + w * i / 4
        ticks.append(f'<text x="{x:.1f}" y="{y + 14}" text-anchor="middle" {_FONT}>{escape(_nice(value))}</text>')
    ticks.append(f'<text x="{left + w / 2:.1f}" y="{y + 30}" text-anchor="middle" {_FONT}>{escape(unit)}</text>')
    return "".join(ticks)
