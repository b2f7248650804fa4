"""A quick, fair latency comparison of two model files on ONNX Runtime CPU.

Runs alternate (A B A B ...) in one process so that a noisy neighbour, thermal state or
frequency change hits both models alike; the figures are medians of `perf_counter_ns` runs.
This is a glance for pass results ("is INT8 actually faster here?"), not the profiler.
"""
from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines.inputs import random_inputs
from onnx_workbench.pipelines.model_graphs import model_graph
from onnx_workbench.pipelines.runtime import SessionSettings, open_session, ort_message


@dataclass(frozen=True)
class LatencyComparison:
    """Median latencies of a parent and a child model measured in one interleaved run."""

    parent_ms: float
    child_ms: float
    speedup: float  # parent / child: above 1 means the child is faster
    runs: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data for PassOutput.details['latency']."""
        data = asdict(self)
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in data.items()}


def make_session(path: str | Path, threads: int = 0):
    """A CPU inference session with full graph optimization (how the model would be deployed)."""
    return open_session(path, SessionSettings(intra_op_threads=threads))


def interleaved_timings(
    paths: list[str | Path],
    runs: int = 10,
    warmup: int = 2,
    *,
    threads: int = 0,
    seed: int = 0,
    dims: dict[str, int] | None = None,
) -> list[list[int]]:
    """Nanoseconds of every timed run per model, measured round-robin, each round starting one model later."""
    sessions = [make_session(p, threads) for p in paths]
    # Each model gets inputs from its own declared types (to-fp16 may turn float inputs into
    # float16); the same seed gives the same values. The graphs were parsed for the sessions.
    feeds = [random_inputs(model_graph(p), dims=dims, seed=seed) for p in paths]
    for _ in range(warmup):
        for session, feed in zip(sessions, feeds):
            session.run(None, feed)
    calls = [functools.partial(session.run, None, feed) for session, feed in zip(sessions, feeds)]
    return round_robin([lambda _round, call=call: call() for call in calls], rounds=max(runs, 1))


def round_robin(
    calls: Sequence[Callable[[int], Any]],
    *,
    rounds: int = 0,
    seconds: float = 0.0,
    pause_s: float = 0.0,
    after_round: Callable[[int, float, list[list[int]]], None] | None = None,
) -> list[list[int]]:
    """Nanoseconds of each call, timed in rounds: every call once per round, each round starting one later.

    The one interleaved timer: the engine's step glance, the tune search and the profiler's
    compare all time this way. Runs `rounds` rounds, or for `seconds` when given; a call gets
    the round number (to cycle its inputs). `after_round(rounds_done, fraction, timings_so_far)`
    follows each round (progress, streaming samples). A model always run right after the same other one
    meets the caches and clock that one left, so a fixed order can favour a position: the
    order rotates (A B C, B C A, C A B; benchmarks/legacy_int8.py times byte-identical models).
    """
    clock = time.perf_counter_ns
    timings: list[list[int]] = [[] for _ in calls]
    started = clock()
    deadline = started + int(seconds * 1e9) if seconds > 0 else None
    done = 0
    while (clock() < deadline) if deadline is not None else (done < rounds):
        for offset in range(len(calls)):
            index = (done + offset) % len(calls)
            t0 = clock()
            calls[index](done)
            timings[index].append(clock() - t0)
            if pause_s:
                time.sleep(pause_s)
        done += 1
        if after_round is not None:
            fraction = done / rounds if deadline is None else (clock() - started) / (deadline - started)
            after_round(done, min(fraction, 1.0), timings)
    return timings


def interleaved_latencies(
    paths: list[str | Path],
    runs: int = 10,
    warmup: int = 2,
    *,
    threads: int = 0,
    seed: int = 0,
    dims: dict[str, int] | None = None,
) -> list[float]:
    """Median milliseconds per model, measured round-robin on seeded inputs."""
    timings = interleaved_timings(paths, runs, warmup, threads=threads, seed=seed, dims=dims)
    return [statistics.median(t) / 1e6 for t in timings]


def quick_latency_comparison(
    parent_path: str | Path,
    child_path: str | Path,
    runs: int = 10,
    warmup: int = 2,
    *,
    threads: int = 0,
    seed: int = 0,
    dims: dict[str, int] | None = None,
) -> LatencyComparison:
    """Interleaved median latency of `parent_path` vs `child_path` on the same (seeded) inputs."""
    parent_ms, child_ms = interleaved_latencies(
        [parent_path, child_path], runs, warmup, threads=threads, seed=seed, dims=dims
    )
    return LatencyComparison(parent_ms, child_ms, parent_ms / child_ms if child_ms else float("inf"), runs)


STEP_RUNS = 7  # a glance: enough to see 2x either way, cheap next to verification
SLOWER_BELOW = 0.9  # speed-ups under this (in nearly every round) are reported as a slower model


def step_latency(parent: str | Path, child: str | Path) -> tuple[dict[str, Any] | None, str | None]:
    """The engine's latency glance after a step: figures for the version, and a warning or None.

    Skipped (no figures, a warning saying why) when the two models' sessions would not fit in
    memory together, or when ONNX Runtime cannot run one of them: a step's model is valid
    without a timing.
    """
    from onnx_workbench.pipelines.verify import both_fit_comfortably

    if not both_fit_comfortably(Path(parent), Path(child)):
        return None, "latency not compared with the parent: both models at once would not fit comfortably in memory; profile each version instead."
    try:
        parent_ns, child_ns = interleaved_timings([parent, child], runs=STEP_RUNS, warmup=2)
    except Exception as exc:  # noqa: BLE001 - any ORT failure: the step stands, untimed
        return None, f"latency not compared with the parent: {ort_message(exc)}"
    parent_ms, child_ms = statistics.median(parent_ns) / 1e6, statistics.median(child_ns) / 1e6
    result = LatencyComparison(parent_ms, child_ms, parent_ms / child_ms if child_ms else float("inf"), STEP_RUNS)
    figures = result.to_dict()
    # A glance on a shared machine: a neighbour's burst hits a round or two (fold-batchnorm once
    # "ran" 5x slower under load). Only a step slower by a margin in nearly every round is called slower.
    slower_rounds = sum(c > p for p, c in zip(parent_ns, child_ns))
    if result.speedup < SLOWER_BELOW and slower_rounds >= STEP_RUNS - 1:
        return figures, (
            f"the new model runs slower than its parent on this CPU ({result.child_ms:.2f} ms vs "
            f"{result.parent_ms:.2f} ms, {STEP_RUNS} interleaved runs)."
        )
    return figures, None
