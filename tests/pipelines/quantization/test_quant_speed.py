"""The interleaved latency glance the engine takes after every step (pipelines.speed)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from quant_models import matmul_model

from onnx_workbench.pipelines import speed
from onnx_workbench.pipelines.speed import quick_latency_comparison


def test_a_much_bigger_child_is_reported_slower(sample_cnn: Path, tmp_path: Path) -> None:
    tiny = matmul_model(tmp_path / "tiny.onnx", d_in=8, d_hidden=8, d_out=8)
    result = quick_latency_comparison(tiny, sample_cnn, runs=5, warmup=1)
    assert result.runs == 5
    assert 0 < result.parent_ms < result.child_ms
    assert result.speedup < 1
    assert result.speedup == result.parent_ms / result.child_ms
    assert set(result.to_dict()) == {"parent_ms", "child_ms", "speedup", "runs"}


def test_a_model_against_itself_is_about_even(sample_cnn: Path) -> None:
    result = quick_latency_comparison(sample_cnn, sample_cnn, runs=15, warmup=2, threads=1)
    # Same model, same inputs, interleaved: the ratio stays near 1. A 2-core machine running
    # other suites measured 0.35 once, so only a gross bias (one side timed differently) fails.
    assert 0.25 < result.speedup < 4.0


def test_each_round_starts_one_model_later(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No model always runs right after the same other one (caches and clocks would favour a position)."""
    order: list[str] = []

    class Recorder:
        def __init__(self, path: Path, threads: int = 0) -> None:
            self.name = Path(path).stem

        def run(self, names: object, feed: object) -> None:
            order.append(self.name)

    monkeypatch.setattr(speed, "make_session", Recorder)
    paths = [matmul_model(tmp_path / f"{name}.onnx", d_in=4, d_hidden=4, d_out=4) for name in "abc"]
    timings = speed.interleaved_timings(paths, runs=3, warmup=0)
    assert "".join(order) == "abc" + "bca" + "cab"
    assert [len(t) for t in timings] == [3, 3, 3]


def test_round_robin_runs_for_a_duration_and_reports_each_round() -> None:
    seen: list[tuple[int, float, int]] = []
    calls = [lambda round_: time.sleep(0.001), lambda round_: None]
    timings = speed.round_robin(calls, seconds=0.05, after_round=lambda done, f, t: seen.append((done, f, len(t[0]))))
    assert len(timings[0]) == len(timings[1]) == len(seen) >= 3
    assert [done for done, _, _ in seen] == list(range(1, len(seen) + 1))
    assert all(count == done for done, _, count in seen)  # the callback sees the timings so far
    assert seen[-1][1] > 0.9 and min(timings[0]) >= 1_000_000  # the sleeping call took its 1 ms
    rounds = speed.round_robin(calls, rounds=4)
    assert [len(t) for t in rounds] == [4, 4]
