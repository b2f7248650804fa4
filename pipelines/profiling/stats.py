"""Latency statistics and a bootstrap confidence interval for speed-ups."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

PERCENTILES = (50, 90, 95, 99)


def latency_stats(latencies_ns: Sequence[int] | np.ndarray, wall_s: float | None = None, batch: int = 1) -> dict[str, Any]:
    """min/mean/std/percentiles/max in milliseconds, plus throughput.

    Throughput is completed runs per second of wall time (`wall_s`, which matters when runs
    overlap under concurrency); without it, runs are taken as back to back.
    """
    values = np.asarray(latencies_ns, dtype=np.float64) / 1e6
    if values.size == 0:
        return {"count": 0, "latency_ms": {}, "throughput_per_s": None, "samples_per_s": None}
    if wall_s is None or wall_s <= 0:
        wall_s = float(values.sum()) / 1e3
    latency = {
        "min": float(values.min()),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        **{f"p{p}": float(v) for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES))},
        "max": float(values.max()),
    }
    throughput = values.size / wall_s
    return {
        "count": int(values.size),
        "latency_ms": latency,
        "wall_s": float(wall_s),
        "throughput_per_s": throughput,
        "samples_per_s": throughput * batch,
    }


def bootstrap_speedup(
    baseline_ns: Sequence[int] | np.ndarray,
    candidate_ns: Sequence[int] | np.ndarray,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Speed-up of the candidate over the baseline (median ratio) with a percentile bootstrap interval.

    A value above 1 means the candidate is faster. Medians rather than means: one stall from
    the OS should not decide a comparison.
    """
    a = np.asarray(baseline_ns, dtype=np.float64)
    b = np.asarray(candidate_ns, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError("both models need at least one timed run")
    rng = np.random.default_rng(seed)
    medians_a = _bootstrap_medians(a, resamples, rng)
    medians_b = _bootstrap_medians(b, resamples, rng)
    ratios = medians_a / medians_b
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return {
        "speedup": float(np.median(a) / np.median(b)),
        "ci_low": float(low),
        "ci_high": float(high),
        "confidence": confidence,
    }


# Resampled values held at once; a 30 s comparison of a 50 µs model has ~300,000 runs per side,
# and resamples x runs in one array would need ~10 GB.
_BOOTSTRAP_CHUNK_VALUES = 4_000_000


def _bootstrap_medians(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of `resamples` bootstrap resamples of `values`, computed in bounded-memory chunks."""
    rows = max(1, _BOOTSTRAP_CHUNK_VALUES // values.size)
    chunks = []
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        chunks.append(np.median(values[rng.integers(0, values.size, size=(count, values.size))], axis=1))
    return np.concatenate(chunks)
