"""The coverage matrix: one cell per (model, pass), its outcome, and the markdown page of them all.

Pure (no torch, no ONNX Runtime): benchmarks/coverage.py fills cells by running passes in
worker processes; this module only stores, summarises and writes them.
"""
from __future__ import annotations

import json
import shlex
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "refused", "failed"]
STATUSES: tuple[Status, ...] = ("ok", "refused", "failed")


@dataclass
class Cell:
    """The outcome of one pass on one model."""

    model: str  # "<exporter>/<name>", e.g. "legacy/resnet50"
    pass_name: str
    status: Status
    reason: str = ""  # why it was refused or how it failed, one sentence
    config: dict[str, Any] = field(default_factory=dict)
    nodes_before: int | None = None
    nodes_after: int | None = None
    cosine: float | None = None  # worst over the outputs
    speedup: float | None = None  # parent latency / child latency
    seconds: float | None = None  # wall time of the whole cell (pass, verification, timing)
    note: str = ""  # e.g. "no change", "under its tolerance 0.95" for a lossy pass
    commit: str = ""  # the code the cell ran
    samples: int | None = None  # random samples the fidelity was measured on
    runs: int | None = None  # interleaved timed runs per model
    finished: str = ""  # UTC time of day, HH:MM
    load: float | None = None  # 1-minute load average when it finished

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the per-cell cache file."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cell:
        """The cell written by `to_dict` (unknown keys from older runs are dropped)."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def text(self) -> str:
        """What the matrix shows for this cell, e.g. 'ok 176→123 · 0.99998 · 1.31×'."""
        if self.status == "refused":
            return "–"
        if self.status == "failed":
            return "**FAILED**"
        parts = [f"ok {self.nodes_before}→{self.nodes_after}"]
        if self.cosine is not None:
            parts.append(_cosine(self.cosine))
        if self.speedup is not None:
            parts.append(f"{self.speedup:.2f}×")
        if self.note:
            parts.append(f"({self.note})")
        return " · ".join(parts)


def summary_line(cells: list[Cell]) -> str:
    """'17 models × 15 passes: 140 ok, 110 refused, 5 failed' (counts of cells)."""
    counts = Counter(c.status for c in cells)
    models = len({c.model for c in cells})
    passes = len({c.pass_name for c in cells})
    return f"{models} models × {passes} passes: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES)


def reproduce_command(cell: Cell, corpus: Path) -> str:
    """The CLI command that runs the cell's pass on its model, as a user would."""
    words = ["onnx-workbench", "optimize", str(corpus / f"{cell.model}.onnx"), "--pass", cell.pass_name]
    for key, value in cell.config.items():
        if isinstance(value, dict):
            value = ",".join(f"{k}:{v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ",".join(map(str, value))
        words += ["--set", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    words += ["-o", f"/tmp/{cell.model.replace('/', '-')}-{cell.pass_name}.onnx", "--verify"]
    return shlex.join(words)


def matrix_markdown(cells: list[Cell], *, corpus: Path, header: str = "") -> str:
    """The page: summary, the matrix (models × passes), then every refusal reason and failure."""
    models = list(dict.fromkeys(c.model for c in cells))
    passes = list(dict.fromkeys(c.pass_name for c in cells))
    by_key = {(c.model, c.pass_name): c for c in cells}
    lines = ["# Model coverage", ""]
    if header:
        lines += [header.rstrip(), ""]
    lines += [f"**{summary_line(cells)}**", ""]
    lines += [
        "Each cell: nodes before → after · worst cosine against the original · speed-up "
        "(original latency / new latency, interleaved runs on ONNX Runtime CPU). "
        "– : refused (reason below). **FAILED**: a bug (listed below). An exact pass (cleanup, fusion, "
        "convert) under its declared cosine tolerance fails; a lossy one (quantize, prune) is marked "
        "\"under its tolerance\" instead: the weights and the calibration data are random.",
        "",
    ]
    lines.append("| model | " + " | ".join(passes) + " |")
    lines.append("|---|" + "---|" * len(passes))
    for model in models:
        row = [by_key[(model, p)].text() if (model, p) in by_key else "" for p in passes]
        lines.append(f"| {model} | " + " | ".join(row) + " |")
    failed = [c for c in cells if c.status == "failed"]
    lines += ["", f"## Failed cells ({len(failed)})", ""]
    if not failed:
        lines.append("None.")
    for cell in failed:
        lines += [f"- **{cell.model} × {cell.pass_name}**: {_escape(cell.reason)}", f"  `{reproduce_command(cell, corpus)}`"]
    lines += ["", "## Refusals", ""]
    reasons: dict[tuple[str, str], list[str]] = {}
    for cell in cells:
        if cell.status == "refused":
            reasons.setdefault((cell.pass_name, cell.reason), []).append(cell.model)
    for (pass_name, reason), refused in sorted(reasons.items()):
        lines.append(f"- {pass_name}: {_escape(reason)} — {', '.join(refused)}")
    return "\n".join(lines) + "\n"


def read_cells(folder: Path) -> list[Cell]:
    """Every cached cell in `folder`."""
    return [Cell.from_dict(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def _cosine(value: float) -> str:
    # Five decimals tell an exact pass (1.00000) from a lossy one; below 0.9 two suffice.
    return f"cos {value:.5f}" if value >= 0.9 else f"cos {value:.2f}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
