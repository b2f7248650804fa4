"""Typed results: a profile, a sweep, an interleaved comparison, the figures stored on a version,
a quantization error analysis and a pruning sensitivity scan.

Workers hand plain JSON data over the process boundary; `from_worker` turns it into these
classes once, as it arrives, so the session, the views and the report read fields, never
string keys or guesses about which job sent a dict. `to_metrics` is the part stored on a
version (workspace.json), `to_report` the part a report's JSON carries. Non-finite numbers
cross every boundary as the strings "inf", "-inf" and "nan" (pipelines.worker.protocol.json_float)
and are read back by `number`.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from onnx_workbench.pipelines.verify import FidelityReport
from onnx_workbench.pipelines.worker.protocol import json_float, number, to_plain

# Latencies kept on a version for the compare view's distributions; workspace.json stays small.
KEPT_LATENCIES = 2000
# Per-node shares kept on a version for the heat map (the heaviest ones).
KEPT_PER_OP_NODES = 400


@dataclass(frozen=True)
class ProfileRun:
    """One profile of one model: latency statistics, every run's latency, memory, per-operator time."""

    latency_ms: dict[str, float]  # p50, p90, p99, mean, min, max...
    latencies_ms: list[float]
    throughput_per_s: float | None = None
    runs: int = 0
    provider: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    session_create_s: float | None = None
    peak_rss_bytes: int | None = None
    rss_series: list[tuple[float, float]] = field(default_factory=list)  # (seconds, bytes); live runs only
    gpu: dict[str, Any] = field(default_factory=dict)  # the GPU memory summary ("available", "peak_bytes"...)
    warmup_runs: int = 0
    per_op: dict[str, Any] | None = None  # {"op_types": [...], "nodes": [...]}
    measured_at: float | None = None  # when, and under which machine load: separate profiles are
    load_avg: float | None = None  # not comparable figures, the compare view says so

    @classmethod
    def from_worker(cls, result: dict[str, Any]) -> ProfileRun:
        """A "profile" worker's result, stamped with the time and machine load it arrived at."""
        memory = result.get("memory") or {}
        return cls(
            latency_ms=_figures(result.get("latency_ms")),
            latencies_ms=[float(v) for v in result.get("latencies_ms") or []],
            throughput_per_s=number(result.get("throughput_per_s")),
            runs=int(result.get("runs") or len(result.get("latencies_ms") or [])),
            provider=str(result.get("provider") or ""),
            options=dict(result.get("options") or {}),
            session_create_s=number(result.get("session_create_s")),
            peak_rss_bytes=_count(memory.get("peak_rss_bytes")),
            rss_series=[(float(t), float(rss)) for t, rss in memory.get("rss_series") or []],
            gpu=dict(memory.get("gpu") or {}),
            warmup_runs=int((result.get("warmup") or {}).get("runs") or 0),
            per_op=result.get("per_op") or None,
            measured_at=time.time(),
            load_avg=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        )

    @classmethod
    def from_metrics(cls, metrics: dict[str, Any]) -> ProfileRun | None:
        """The profile stored on a version (None when it was never profiled)."""
        if not metrics.get("latency_ms"):
            return None
        return cls(
            latency_ms=_figures(metrics.get("latency_ms")),
            latencies_ms=[float(v) for v in metrics.get("latencies_ms") or []],
            throughput_per_s=number(metrics.get("throughput_per_s")),
            runs=len(metrics.get("latencies_ms") or []),
            provider=str(metrics.get("provider") or ""),
            options=dict(metrics.get("options") or {}),
            session_create_s=number(metrics.get("session_create_s")),
            peak_rss_bytes=_count(metrics.get("peak_rss_bytes")),
            per_op=metrics.get("per_op") or None,
            measured_at=number(metrics.get("measured_at")),
            load_avg=number(metrics.get("load_avg")),
        )

    @property
    def peak_gpu_bytes(self) -> float | None:
        """The GPU memory peak, when a GPU was measured."""
        return number(self.gpu.get("peak_bytes")) if self.gpu.get("available") else None

    def to_metrics(self) -> dict[str, Any]:
        """The part stored on a version (small enough for workspace.json)."""
        metrics: dict[str, Any] = {
            "latency_ms": self.latency_ms, "throughput_per_s": self.throughput_per_s,
            "peak_rss_bytes": self.peak_rss_bytes, "latencies_ms": self.latencies_ms[:KEPT_LATENCIES],
            "provider": self.provider, "options": self.options, "session_create_s": self.session_create_s,
            "measured_at": self.measured_at, "load_avg": self.load_avg,
        }
        if self.per_op:
            nodes = sorted(self.per_op.get("nodes", []), key=lambda n: n.get("ms_per_run", 0.0), reverse=True)
            metrics["per_op"] = {"op_types": self.per_op.get("op_types", []), "nodes": nodes[:KEPT_PER_OP_NODES]}
        return metrics

    def to_report(self) -> dict[str, Any] | None:
        """The profile as a report shows it (None without the settings it was taken with)."""
        if self.session_create_s is None:
            return None  # figures that predate the stored settings: no profile rather than invented ones
        memory: dict[str, Any] = {"peak_rss_bytes": self.peak_rss_bytes, "rss_series": self.rss_series}
        if self.gpu:  # stored figures keep no GPU summary
            memory["gpu"] = self.gpu
        return to_plain({
            "provider": self.provider, "options": self.options, "session_create_s": self.session_create_s,
            "latency_ms": self.latency_ms, "throughput_per_s": self.throughput_per_s, "runs": self.runs,
            "warmup": {"runs": self.warmup_runs}, "latencies_ms": self.latencies_ms, "memory": memory,
            "per_op": self.per_op,
        })


@dataclass(frozen=True)
class SweepResult:
    """A batch x threads grid: one cell per configuration and the best one (or why there is none)."""

    cells: list[dict[str, Any]]  # batch, threads, p50_ms, p99_ms, samples_per_s...
    best: dict[str, Any] | None
    best_reason: str = ""

    @classmethod
    def from_worker(cls, result: dict[str, Any]) -> SweepResult:
        """A "sweep" worker's result."""
        return cls(list(result.get("cells") or []), result.get("best"), str(result.get("best_reason") or ""))

    @classmethod
    def from_metrics(cls, metrics: dict[str, Any]) -> SweepResult | None:
        """The sweep stored on a version (None when it was never swept)."""
        return cls.from_worker(metrics["sweep"]) if metrics.get("sweep") else None

    def to_metrics(self) -> dict[str, Any]:
        """The part stored on a version."""
        return {"sweep": {"cells": self.cells, "best": self.best, "best_reason": self.best_reason}}


@dataclass(frozen=True)
class CompareSide:
    """One model's figures in an interleaved comparison."""

    latency_ms: dict[str, float]
    latencies_ms: list[float]
    throughput_per_s: float | None = None


@dataclass(frozen=True)
class CompareResult:
    """Two versions timed interleaved in one worker: who is faster, by how much, how sure."""

    a_id: str
    b_id: str
    a: CompareSide
    b: CompareSide
    rounds: int
    verdict: str
    speedup: float | None  # A time / B time: above 1 means B is faster
    speedup_ci: tuple[float | None, float | None]

    @classmethod
    def from_worker(cls, result: dict[str, Any], a_id: str = "", b_id: str = "") -> CompareResult:
        """A "compare" worker's result for versions `a_id` and `b_id`."""
        speedup = result.get("speedup") or {}

        def side(data: dict[str, Any]) -> CompareSide:
            return CompareSide(_figures(data.get("latency_ms")), [float(v) for v in data.get("latencies_ms") or []],
                               number(data.get("throughput_per_s")))

        return cls(a_id, b_id, side(result.get("a") or {}), side(result.get("b") or {}), int(result.get("rounds") or 0),
                   str(result.get("verdict") or ""), number(speedup.get("speedup")),
                   (number(speedup.get("ci_low")), number(speedup.get("ci_high"))))

    def is_about(self, a_id: str | None, b_id: str | None) -> bool:
        """True when this comparison timed exactly A = `a_id` and B = `b_id`."""
        return (self.a_id, self.b_id) == (a_id, b_id)

    def to_report(self) -> dict[str, Any]:
        """The part of the comparison a report shows."""
        return to_plain({
            "speedup": self.speedup, "speedup_ci": self.speedup_ci, "verdict": self.verdict,
            "rounds": self.rounds, "latency_p50_ms": [self.a.latency_ms.get("p50"), self.b.latency_ms.get("p50")],
            "runs_ms": [self.a.latencies_ms, self.b.latencies_ms],
        })


def _count(value: Any) -> int | None:
    """A whole number read back from plain data (bytes, runs), None when absent."""
    read = number(value)
    return int(read) if read is not None and math.isfinite(read) else None


def _figures(data: Any) -> dict[str, float]:
    """A dict of named figures with every value read as a float (non-finite strings included)."""
    out = {}
    for key, value in (data or {}).items():
        read = number(value)
        if read is not None:
            out[str(key)] = read
    return out



@dataclass(frozen=True)
class VersionMetrics:
    """What was measured on a version: size and cost, fidelity to the original, its profile and sweep."""

    size_bytes: int | None = None
    nodes: int | None = None
    params: int | None = None
    macs: int | None = None
    fidelity: FidelityReport | None = None  # None for the original and unverified versions
    profile: ProfileRun | None = None
    sweep: SweepResult | None = None

    @classmethod
    def of(cls, metrics: dict[str, Any]) -> VersionMetrics:
        """The figures of a version's stored metrics (workspace.json)."""
        fidelity = metrics.get("fidelity")
        return cls(_count(metrics.get("size_bytes")), _count(metrics.get("nodes")), _count(metrics.get("params")),
                   _count(metrics.get("macs")), FidelityReport.from_dict(fidelity) if fidelity else None,
                   ProfileRun.from_metrics(metrics), SweepResult.from_metrics(metrics))


@dataclass(frozen=True)
class TensorError:
    """Quantization error of one float tensor and the float nodes it is charged to (pipelines.quant_debug)."""

    tensor: str
    node: str  # float-model node producing the tensor ('' for a graph input)
    op_type: str
    region: list[str]  # float-model nodes between the measured inputs and this tensor
    quant_node: str  # node producing the tensor in the quantized model
    sqnr_db: float  # float vs quantized model value of this tensor (accumulated error)
    relative_error: float  # ||float - quantized|| / ||float||
    added_noise: float  # noise-to-signal power this region adds on top of its inputs'

    def figures(self, rank: int) -> dict[str, Any]:
        """The figures a graph view needs to colour this entry's nodes."""
        return {
            "rank": rank,
            "tensor": self.tensor,
            "sqnr_db": json_float(round(self.sqnr_db, 4)),
            "relative_error": json_float(round(self.relative_error, 6)),
            "added_noise": json_float(round(self.added_noise, 6)),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (figures rounded)."""
        data = asdict(self)
        for key in ("sqnr_db", "relative_error", "added_noise"):
            data[key] = json_float(round(float(data[key]), 6))
        return data

    @classmethod
    def from_worker(cls, data: dict[str, Any]) -> TensorError:
        """An entry of a "quant-debug" worker's result."""
        return cls(
            str(data.get("tensor") or ""), str(data.get("node") or ""), str(data.get("op_type") or ""),
            [str(name) for name in data.get("region") or []], str(data.get("quant_node") or ""),
            _float(data.get("sqnr_db")), _float(data.get("relative_error")), _float(data.get("added_noise")),
        )


@dataclass(frozen=True)
class QuantErrorReport:
    """Per-tensor errors of a quantized model against its float parent, worst first."""

    float_model: str
    quant_model: str
    samples: int
    tensors: list[TensorError] = field(default_factory=list)

    @classmethod
    def from_worker(cls, result: dict[str, Any]) -> QuantErrorReport:
        """A "quant-debug" worker's result."""
        return cls(str(result.get("float_model") or ""), str(result.get("quant_model") or ""),
                   int(result.get("samples") or 0), [TensorError.from_worker(t) for t in result.get("tensors") or []])

    def worst(self, n: int = 10) -> list[TensorError]:
        """The `n` regions that add the most noise."""
        return self.tensors[:n]

    def worst_quant_nodes(self, n: int, skip: Collection[str] = ()) -> list[str]:
        """Quantized-model node names of the `n` most damaged regions, worst first (those to keep in float)."""
        names: list[str] = []
        for entry in self.tensors:
            name = entry.quant_node
            if name and name not in names and name not in skip:
                names.append(name)
                if len(names) == n:
                    break
        return names

    def by_node(self) -> dict[str, dict[str, Any]]:
        """Error figures keyed by float-model node name, for colouring a graph view."""
        result: dict[str, dict[str, Any]] = {}
        for rank, entry in enumerate(self.tensors):
            for name in entry.region:
                if name not in result:  # a node keeps the figures of its worst region
                    result[name] = entry.figures(rank)
        return result

    def by_quant_node(self) -> dict[str, dict[str, Any]]:
        """The same figures keyed by the quantized model's node names (to colour that graph)."""
        result: dict[str, dict[str, Any]] = {}
        for rank, entry in enumerate(self.tensors):
            if entry.quant_node and entry.quant_node not in result:
                result[entry.quant_node] = entry.figures(rank)
        return result

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data for the worker's result and `quant-debug --json`."""
        return {
            "float_model": self.float_model,
            "quant_model": self.quant_model,
            "samples": self.samples,
            "tensors": [t.to_dict() for t in self.tensors],
            "by_node": self.by_node(),
            "by_quant_node": self.by_quant_node(),
        }


@dataclass(frozen=True)
class SensitivityRow:
    """Fidelity of the model with one unit pruned at one ratio (pipelines.pruning.sensitivity)."""

    unit: str
    kind: str  # "channels", "neurons" or "heads"
    ratio: float
    kept: int
    size: int
    cosine: float
    top1: float | None
    params_removed: int

    @classmethod
    def from_worker(cls, data: dict[str, Any]) -> SensitivityRow:
        """A row of a "prune-scan" worker's result."""
        return cls(str(data.get("unit") or ""), str(data.get("kind") or ""), _float(data.get("ratio")),
                   int(data.get("kept") or 0), int(data.get("size") or 0), _float(data.get("cosine")),
                   number(data.get("top1")), int(data.get("params_removed") or 0))


@dataclass(frozen=True)
class SensitivityTable:
    """Every (unit, ratio) measurement of one pruning scan, plus the units that could not be scanned."""

    model: str
    mode: str
    ratios: list[float]
    rows: list[SensitivityRow] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_worker(cls, result: dict[str, Any]) -> SensitivityTable:
        """A "prune-scan" worker's result."""
        return cls(str(result.get("model") or ""), str(result.get("mode") or ""),
                   [_float(r) for r in result.get("ratios") or []],
                   [SensitivityRow.from_worker(row) for row in result.get("rows") or []],
                   {str(k): str(v) for k, v in (result.get("skipped") or {}).items()})

    def units(self) -> list[str]:
        """Scanned units in scan order."""
        return list(dict.fromkeys(row.unit for row in self.rows))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data for the worker's result and `prune-scan --json`."""
        rows = [{**asdict(row), "cosine": json_float(row.cosine), "top1": json_float(row.top1)} for row in self.rows]
        return {"model": self.model, "mode": self.mode, "ratios": self.ratios, "rows": rows, "skipped": self.skipped}


def _float(value: Any) -> float:
    """A figure that must be there, read back from plain data (missing: NaN, so it is never mistaken for a value)."""
    read = number(value)
    return read if read is not None else math.nan
