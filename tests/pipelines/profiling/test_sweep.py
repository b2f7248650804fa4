"""Sweeps over batch × threads × concurrency, and picking the best cell under a latency limit."""
from __future__ import annotations

from pathlib import Path

import pytest

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.sweep import best_cell, sweep_model

FAST = ProfileOptions.from_any({"warmup": 1, "runs": 4})


def test_sweep_measures_every_cell(sample_cnn: Path) -> None:
    records: list[dict] = []
    result = sweep_model(str(sample_cnn), FAST, batches=[1, 2], threads=[1, 2], concurrency=[1, 2], emit=records.append)
    cells = result["cells"]
    assert [(c["threads"], c["batch"], c["concurrency"]) for c in cells] == [
        (t, b, c) for t in (1, 2) for b in (1, 2) for c in (1, 2)
    ]
    for cell in cells:
        assert cell["runs"] == 4 and 0 < cell["p50_ms"] <= cell["p99_ms"]
        assert cell["samples_per_s"] == pytest.approx(cell["batch"] * cell["throughput_per_s"])
    assert [r["cell"] for r in records if r["kind"] == "stats"] == cells
    assert [r["fraction"] for r in records if r["kind"] == "progress"][-1] == 1.0
    assert result["best"] == max(cells, key=lambda c: c["samples_per_s"])


def test_latency_limit_picks_the_fastest_cell_within_it(sample_cnn: Path) -> None:
    result = sweep_model(str(sample_cnn), FAST, batches=[1, 4], threads=[1], concurrency=[1], latency_limit_ms=10_000)
    assert result["best"] is not None and "under 10000 ms" in result["best_reason"]
    none = sweep_model(str(sample_cnn), FAST, batches=[1], threads=[1], concurrency=[1], latency_limit_ms=1e-6)
    assert none["best"] is None and "lowest p99 is" in none["best_reason"]


def test_best_cell_prefers_throughput_among_cells_within_the_limit() -> None:
    cells = [
        {"p99_ms": 5.0, "samples_per_s": 100.0, "name": "quick"},
        {"p99_ms": 40.0, "samples_per_s": 900.0, "name": "big batch"},
        {"p99_ms": 9.0, "samples_per_s": 300.0, "name": "middle"},
    ]
    assert best_cell(cells, 10.0)["best"]["name"] == "middle"
    assert best_cell(cells, None)["best"]["name"] == "big batch"
    assert best_cell(cells, 1.0)["best"] is None


def test_bad_sweeps_are_refused_before_work(sample_cnn: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        sweep_model(str(sample_cnn), FAST, batches=[0], threads=[1], concurrency=[1])
    assert caught.value.field == "batch"
    with pytest.raises(ConfigError, match="more than 256"):
        sweep_model(str(sample_cnn), FAST, batches=list(range(1, 30)), threads=list(range(1, 10)), concurrency=[1, 2])
    with pytest.raises(ConfigError, match="latency limit"):
        sweep_model(str(sample_cnn), FAST, batches=[1], threads=[1], concurrency=[1], latency_limit_ms=-1)
