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
    medians_a = np.median(a[rng.integers(0, a.size, size=(resamples, a.size))], axis=1)
    medians_b = np.median(b[rng.integers(0, b.size, size=(resamples, b.size))], axis=1)
    ratios = medians_a / medians_b
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return {
        "speedup": float(np.median(a) / np.median(b)),
        "ci_low": float(low),
        "ci_high": float(high),
        "confidence": confidence,
    }
