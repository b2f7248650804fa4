"""Interleaved A/B comparison: order of runs, verdicts, and a real slow/fast pair."""
from __future__ import annotations

from pathlib import Path

import pytest

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.profiling import compare
from onnx_workbench.pipelines.profiling.options import ProfileOptions


def test_runs_alternate_between_the_models() -> None:
    order: list[str] = []
    options = ProfileOptions.from_any({"runs": 4})
    latencies = compare._interleaved([lambda: order.append("a")], [lambda: order.append("b")], options, lambda r: None)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert len(latencies["a"]) == len(latencies["b"]) == 4


def test_a_heavier_model_is_found_slower(matmul_chain) -> None:
    light, heavy = matmul_chain(1, width=128), matmul_chain(12, width=128)
    options = ProfileOptions.from_any({"runs": 30, "warmup": 2, "intra_op_threads": 1})
    records: list[dict] = []
    result = compare.compare_models(str(heavy), str(light), options, records.append)
    assert result["rounds"] == 30 and result["peak_rss_bytes"] > 0
    assert len(result["a"]["latencies_ms"]) == len(result["b"]["latencies_ms"]) == 30
    speedup = result["speedup"]
    assert speedup["speedup"] > 2 and speedup["ci_low"] > 1  # B (light) is clearly faster
    assert speedup["ci_low"] <= speedup["speedup"] <= speedup["ci_high"]
    assert result["verdict"].startswith("B is faster")
    assert result["a"]["latency_ms"]["p50"] > result["b"]["latency_ms"]["p50"]
    assert {r["kind"] for r in records} >= {"config", "stats"}


def test_verdict_reads_the_interval() -> None:
    assert compare.verdict({"speedup": 0.5, "ci_low": 0.45, "ci_high": 0.55}).startswith("A is faster")
    assert compare.verdict({"speedup": 1.01, "ci_low": 0.95, "ci_high": 1.07}).startswith("no clear difference")


def test_compare_refuses_concurrency(sample_cnn: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        compare.compare_models(str(sample_cnn), str(sample_cnn), ProfileOptions.from_any({"concurrency": 2}))
    assert caught.value.field == "concurrency"
