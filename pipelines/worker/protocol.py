"""The worker protocol: one JSON object per line on the child's stdout.

Every record is a dict with a `kind`; the parent reads them one line at a time:

- "config": what the job is about to do (model, provider, options, inputs, pid)
- "progress": fraction in [0, 1] and a short message
- "sample": phase ("warmup" | "timed"), first_index, latencies_ms (a batch of runs, <= 10/s);
  compare adds model ("a" | "b")
- "memory": t_s, rss_bytes and gpu_bytes when a GPU is measured
- "stats": latency statistics (profile), a sweep cell (sweep: "cell"), the speed-up (compare)
- "per_op": per-node and per-op-type time (profile with per_op)
- "result": the job's return value under "result"; always the last record on success
- "error": message (one sentence), type (the WorkbenchError class) and field; last on failure
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

KINDS = frozenset(
    {"config", "progress", "sample", "run", "memory", "per_op", "stats", "log", "result", "error"}
)
# The error a worker's SIGTERM becomes: the parent tells its own cancel from a signal sent by someone else.
TERMINATED_MESSAGE = "the worker was terminated (SIGTERM)."


class ProtocolError(ValueError):
    """A line from a worker is not a valid protocol record."""


def json_float(value: float | None) -> float | str | None:
    """A float that JSON can hold: infinities and NaN become 'inf', '-inf' and 'nan'.

    The one convention for non-finite numbers wherever plain data leaves a process (worker
    records, workspace.json, reports); `number` reads them back.
    """
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def number(value: Any) -> float | None:
    """A figure read back from plain data: numbers and 'inf'/'-inf'/'nan' strings as floats, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return None


def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, paths, tuples and non-finite floats into JSON-safe data."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return to_plain(value.item())
    if isinstance(value, float):
        # JSON has no NaN/Infinity; strict parsers (browsers, jsonschema) refuse them.
        return json_float(value)
    if isinstance(value, Path):
        return str(value)
    return value


def encode(record: dict[str, Any]) -> str:
    """One record as a single line of JSON, newline included."""
    kind = record.get("kind")
    if kind not in KINDS:
        raise ProtocolError(f"unknown record kind {kind!r}")
    # ensure_ascii keeps the line free of raw newlines/odd bytes from model strings.
    return json.dumps(to_plain(record), ensure_ascii=True, allow_nan=False) + "\n"


def decode(line: str | bytes) -> dict[str, Any]:
    """Parse one protocol line; raise ProtocolError for anything that is not a known record."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    text = line.strip()
    if not text:
        raise ProtocolError("empty line")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {text[:80]!r}") from exc
    if not isinstance(record, dict) or record.get("kind") not in KINDS:
        raise ProtocolError(f"not a protocol record: {text[:80]!r}")
    return record


def progress(fraction: float, message: str = "") -> dict[str, Any]:
    """A progress record with the fraction clamped to [0, 1]."""
    return {"kind": "progress", "fraction": min(max(float(fraction), 0.0), 1.0), "message": message}


def error(message: str, error_type: str = "WorkbenchError", field: str | None = None) -> dict[str, Any]:
    """An error record: one sentence, the error class name and the offending field if known."""
    return {"kind": "error", "message": message, "type": error_type, "field": field}
