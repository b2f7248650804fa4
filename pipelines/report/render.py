"""Render a report's data as HTML, Markdown, JSON or CSV."""
from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from onnx_workbench.pipelines import units
from onnx_workbench.pipelines.report import charts
from onnx_workbench.pipelines.safe_write import write_text_atomic

TEMPLATES = Path(__file__).with_name("templates")
FORMATS = (".html", ".md", ".json", ".csv")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} ms"


def _sci(value: float | str | None) -> str:
    # Fidelity figures arrive as numbers, or as the strings "inf"/"nan" that JSON allows.
    return "—" if value is None else f"{float(value):.3g}"


def _fixed6(value: float | str | None) -> str:
    return "—" if value is None else f"{float(value):.6f}"


def _percent(value: float | str | None) -> str:
    return "—" if value is None else f"{100 * float(value):.1f}%"


def _db(value: float | str | None) -> str:
    if value is None:
        return "—"
    value = float(value)
    return "∞" if math.isinf(value) else f"{value:.1f}"


def _gpu(memory: dict[str, Any] | None) -> str:
    if not memory or not memory.get("available"):
        return f"not available ({(memory or {}).get('reason', 'no GPU provider')})"
    return f"peak {units.size(memory.get('peak_bytes'))} of {units.size(memory.get('total_bytes'))} on {memory.get('device', 'the GPU')}"


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "—" if value is None else str(value)


def _shape(shape: list[Any] | None) -> str:
    if shape is None:
        return "unknown"
    return "[" + ", ".join(str(d) for d in shape) + "]"


# The profile options a reader needs to reproduce a measurement, in reading order.
_SETTING_KEYS = ("batch", "dims", "intra_op_threads", "inter_op_threads", "execution_mode",
                 "graph_optimization", "concurrency", "warmup", "runs", "duration_s", "io_binding")


def _settings(options: dict[str, Any] | None) -> str:
    if not options:
        return "default settings"
    shown = []
    for key in _SETTING_KEYS:
        value = options.get(key)
        if value in (None, "", [], {}) or (key.endswith("threads") and value == 0) or (key == "duration_s" and not value):
            continue
        shown.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(shown)


_FILTERS = {"bytes": units.size, "count": units.count, "ms": _ms, "sci": _sci, "db": _db, "num": _num,
            "shape": _shape, "settings": _settings, "fixed6": _fixed6, "percent": _percent, "gpu": _gpu}

# Characters that Markdown (and the HTML GitHub allows inside it) gives meaning to.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")


def visible(text: str, keep: str = "") -> str:
    """Untrusted text without control or bidi-override characters (other than those in `keep`).

    ESC and BEL drive a terminal that `cat`s the file; U+202E and friends reorder what a reader
    of the rendered page sees, so a node name could spoof the text around it.
    """
    return "".join(ch if ch.isprintable() or ch in keep else "?" for ch in text)


def _html_finalize(value: Any) -> Any:
    return visible(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def markdown_escape(value: Any) -> str:
    """Escape untrusted text for Markdown: no HTML, no links, no table breaks, no control characters."""
    if isinstance(value, Markup):
        return str(value)
    text = visible("" if value is None else str(value), keep="\n\r")
    # Entities rather than backslashes for HTML's characters: every Markdown renderer honours them.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _raw_block(text: str) -> Markup:
    # Inside a fenced block nothing is interpreted; only a fence of our own could end it early.
    return Markup(visible(text, keep="\n").replace("```", "`\u200b``"))


def _environment(markdown: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=not markdown,
        finalize=markdown_escape if markdown else _html_finalize,
        undefined=jinja2.ChainableUndefined,
        lstrip_blocks=markdown,
        keep_trailing_newline=True,
    )
    env.filters.update(_FILTERS)
    env.filters["raw_block"] = _raw_block
    return env


def _charts(report: dict[str, Any]) -> dict[str, Any]:
    """Inline SVG charts for each profiled version and the comparison."""
    result: dict[str, Any] = {}
    for version in report["versions"]:
        profile = version.get("profile")
        if not profile:
            continue
        label = version["label"]
        runs = profile.get("latencies_ms") or []
        entry: dict[str, Any] = {"latency_histogram": charts.histogram(runs, title=f"{label}: latency", unit="ms")}
        memory = profile.get("memory", {}).get("rss_series") or []
        if len(memory) > 1:
            entry["memory"] = charts.line_chart(
                [t for t, _ in memory], [rss / 2**20 for _, rss in memory],
                title=f"{label}: memory", x_unit="seconds", y_unit="RSS (MiB)",
            )
        per_op = (profile.get("per_op") or {}).get("op_types") or []
        if per_op:
            top = per_op[:12]
            entry["per_op"] = charts.bar_chart(
                [row["op_type"] for row in top], [row["ms_per_run"] for row in top],
                title=f"{label}: time per op type", unit="ms/run",
            )
        result[label] = entry
    comparison = report.get("comparison") or {}
    if comparison.get("runs_ms"):
        labels = [v["label"] for v in report["versions"]]
        result["comparison_histogram"] = charts.histogram(
            [], series=list(zip(labels, comparison["runs_ms"])), title="Latency distributions", unit="ms"
        )
    return result


def render_html(report: dict[str, Any]) -> str:
    """One self-contained HTML file: CSS and SVG charts inline, no external URL, every string escaped."""
    env = _environment(markdown=False)
    return env.get_template("report.html.j2").render(
        report=report,
        title=report["title"],
        css=Markup((TEMPLATES / "report.css").read_text()),
        charts=_charts(report),
    )


def render_markdown(report: dict[str, Any]) -> str:
    """Markdown for pull requests; untrusted strings are escaped."""
    text = _environment(markdown=True).get_template("report.md.j2").render(report=report, title=report["title"])
    return re.sub(r"\n{3,}", "\n\n", text)


def render_json(report: dict[str, Any]) -> str:
    """The report data itself, validated by report.schema.json."""
    return json.dumps(report, indent=2, default=_json_default, allow_nan=False)


def render_csv(report: dict[str, Any]) -> str:
    """Per-run latencies and per-op times of every profiled version, one row each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["version", "record", "index", "name", "op_type", "provider", "ms", "share"])
    for version in report["versions"]:
        profile = version.get("profile") or {}
        label, provider = _csv_text(version["label"]), _csv_text(profile.get("provider", ""))
        for index, latency in enumerate(profile.get("latencies_ms") or []):
            writer.writerow([label, "run", index, "", "", provider, f"{latency:.6f}", ""])
        for index, row in enumerate((profile.get("per_op") or {}).get("nodes") or []):
            writer.writerow([label, "op", index, _csv_text(row["model_node"] or row["node"]), _csv_text(row["op_type"]),
                             _csv_text(row.get("provider", "")), f"{row['ms_per_run']:.6f}", f"{row['share']:.6f}"])
    return buffer.getvalue()


def _csv_text(value: Any) -> str:
    """A model string as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = visible(str(value))
    # OWASP's rule for CSV injection: a leading = + - @ (or tab/CR, here already '?') starts a formula.
    return "'" + text if text.startswith(("=", "+", "-", "@")) else text


_RENDERERS = {".html": render_html, ".md": render_markdown, ".json": render_json, ".csv": render_csv}


def write_report(report: dict[str, Any], path: str | Path, protected: Iterable[Path] = ()) -> Path:
    """Write the report in the format its suffix names (.html, .md, .json, .csv), atomically, never over `protected`."""
    from onnx_workbench.pipelines.errors import ConfigError

    path = Path(path)
    renderer = _RENDERERS.get(path.suffix.lower())
    if renderer is None:
        raise ConfigError(f"{path.name}: reports are written as {', '.join(FORMATS)}; choose one of those suffixes.")
    return write_text_atomic(path, renderer(report), protected)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
