"""The corpus's table of contents: read the per-model export records, write INDEX.md.

Pure (no torch): benchmarks/corpus.py writes a record `<exporter>/<name>.json` per model,
benchmarks/coverage.py reads them back to know which models exist.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_records(root: Path) -> list[dict[str, Any]]:
    """Every export record under `root`, legacy exporter first, then by name."""
    records = [json.loads(path.read_text()) for path in sorted(root.glob("*/*.json"))]
    return sorted(records, key=lambda r: (r.get("exporter") != "legacy", r.get("exporter", ""), r.get("name", "")))


def index_markdown(records: list[dict[str, Any]]) -> str:
    """INDEX.md: one row per model, exported or not, with the reason where the export failed."""
    lines = [
        "# Model corpus",
        "",
        "Real architectures with seeded random weights, exported by torch (benchmarks/corpus.py).",
        "Not part of the repository; rebuild with `make corpus`.",
        "",
        "| file | exporter | opset | IR | size | nodes | weights as inputs | status | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        ok = r.get("status") == "ok"
        notes = "; ".join(r.get("notes") or []) if ok else r.get("reason", "")
        if ok and r.get("external_data"):
            notes = "; ".join(filter(None, ["external data: " + ", ".join(r["external_data"]), notes]))
        cells = [
            f"`{r.get('file', '')}`",
            r.get("exporter", ""),
            str(r.get("opset", "")) if ok else "",
            str(r.get("ir_version", "")) if ok else "",
            _megabytes(r["bytes"]) if ok else "",
            str(r.get("nodes", "")) if ok else "",
            str(r.get("weights_as_inputs", "")) if ok else "",
            "ok" if ok else "**export failed**",
            notes.replace("|", "\\|").replace("\n", " "),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_index(root: Path) -> Path:
    """Rewrite `root`/INDEX.md from the records there."""
    path = root / "INDEX.md"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(index_markdown(read_records(root)))
    return path


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
