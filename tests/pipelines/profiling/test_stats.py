"""Latency statistics against numpy, and the bootstrap speed-up interval."""
from __future__ import annotations

import numpy as np
import pytest

from onnx_workbench.pipelines.profiling.stats import bootstrap_speedup, latency_stats


def test_latency_stats_match_numpy() -> None:
    rng = np.random.default_rng(1)
    ns = rng.lognormal(mean=13.0, sigma=0.4, size=1001).astype(np.int64)  # ~0.5 ms, skewed
    stats = latency_stats(ns.tolist(), wall_s=2.0, batch=4)
    ms = ns / 1e6
    lat = stats["latency_ms"]
    for p in (50, 90, 95, 99):
        assert lat[f"p{p}"] == pytest.approx(np.percentile(ms, p))
    assert lat["min"] == pytest.approx(ms.min()) and lat["max"] == pytest.approx(ms.max())
    assert lat["mean"] == pytest.approx(ms.mean()) and lat["std"] == pytest.approx(ms.std(ddof=1))
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert stats["count"] == 1001
    assert stats["throughput_per_s"] == pytest.approx(1001 / 2.0)
    assert stats["samples_per_s"] == pytest.approx(4 * 1001 / 2.0)


def test_throughput_without_wall_time_assumes_back_to_back_runs() -> None:
    stats = latency_stats([2_000_000] * 10)  # ten runs of 2 ms
    assert stats["throughput_per_s"] == pytest.approx(500.0)
    assert stats["latency_ms"]["std"] == 0.0


def test_empty_and_single_samples() -> None:
    assert latency_stats([])["count"] == 0
    single = latency_stats([1_000_000])
    assert single["latency_ms"]["p99"] == pytest.approx(1.0) and single["latency_ms"]["std"] == 0.0


def test_bootstrap_detects_a_real_speedup() -> None:
    rng = np.random.default_rng(0)
    slow = rng.normal(10e6, 0.5e6, 300)
    fast = rng.normal(5e6, 0.25e6, 300)
    result = bootstrap_speedup(slow, fast, resamples=500)
    assert result["speedup"] == pytest.approx(np.median(slow) / np.median(fast))
    assert 1.8 < result["ci_low"] <= result["speedup"] <= result["ci_high"] < 2.2


def test_bootstrap_interval_covers_one_for_the_same_distribution() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(10e6, 1e6, 200)
    b = rng.normal(10e6, 1e6, 200)
    result = bootstrap_speedup(a, b, resamples=500)
    assert result["ci_low"] < 1.0 < result["ci_high"]


def test_bootstrap_needs_samples() -> None:
    with pytest.raises(ValueError):
        bootstrap_speedup([], [1, 2])
