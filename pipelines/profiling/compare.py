"""The "compare" job: two models, same settings, runs interleaved in one process.

Alternating runs (A B, then B A, ...) means a noisy neighbour, a frequency change or thermal
throttling hits both models alike; the speed-up comes with a bootstrap confidence interval.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.labelled import labelled_stream, model_accuracy
from onnx_workbench.pipelines.profiling.measure import EMIT_INTERVAL_NS, MemorySampler, warmup
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.providers import canonical_name
from onnx_workbench.pipelines.profiling.runner import MAX_RESULT_LATENCIES
from onnx_workbench.pipelines.profiling.session import check_runs, create_session, make_runner, prepare_feeds, read_model_info
from onnx_workbench.pipelines.profiling.stats import bootstrap_speedup, latency_stats
from onnx_workbench.pipelines.speed import round_robin

Emit = Callable[[dict[str, Any]], None]


def run(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Worker job "compare": {"model_a": path, "model_b": path, "options": {...}}."""
    options = ProfileOptions.from_any(params.get("options"))
    return compare_models(params["model_a"], params["model_b"], options, emit)


def compare_models(model_a: str, model_b: str, options: ProfileOptions, emit: Emit = lambda record: None) -> dict[str, Any]:
    """Profile both models interleaved; speed-up above 1 means B is faster than A."""
    if options.concurrency != 1:
        raise ConfigError("compare interleaves single requests; set concurrency to 1.", "concurrency")
    sides: dict[str, dict[str, Any]] = {}
    sampler = MemorySampler(options.memory_interval_ms / 1e3, on_sample=emit)
    emit({"kind": "config", "model_a": str(model_a), "model_b": str(model_b), "provider": canonical_name(options.provider), "options": options.to_dict()})
    for label, model in (("a", model_a), ("b", model_b)):
        info = read_model_info(model)
        # Each model gets inputs built from its own graph (a converted model may take fp16)
        # from the same seed, so both see the same values where the types agree.
        prepared = prepare_feeds(info, options)
        rss_before = sampler.rss()
        session, create_s = create_session(info.path, options)
        runners = [make_runner(session, feed, options) for feed in prepared.feeds]
        check_runs(runners[0], info.path.name)
        sides[label] = {
            "model": str(info.path),
            "session": session,
            "runners": runners,
            "session_create_s": create_s,
            "session_rss_bytes": sampler.rss() - rss_before,
            "inputs": prepared.inputs,
            "batch": prepared.batch,
            "proto": info.proto_inputs,
        }
    emit({"kind": "progress", "fraction": 0.0, "message": "warm-up"})
    with sampler:
        for label in ("a", "b"):
            warmup(sides[label]["runners"], options.warmup)
        latencies = _interleaved(sides["a"]["runners"], sides["b"]["runners"], options, emit)
    result: dict[str, Any] = {
        "options": options.to_dict(),
        "provider": canonical_name(options.provider),
        "rounds": len(latencies["a"]),
        # Both sessions live in one process, so only the peak of the pair is measurable.
        "peak_rss_bytes": sampler.peak_rss,
    }
    for label in ("a", "b"):
        stats = latency_stats(latencies[label], batch=sides[label]["batch"])
        side = sides[label]
        result[label] = {
            "model": side["model"],
            "session_create_s": side["session_create_s"],
            "session_rss_bytes": side["session_rss_bytes"],
            "inputs": side["inputs"],
            "latency_ms": stats["latency_ms"],
            # Runs alternate, so wall-clock throughput is shared; this is 1 / mean latency.
            "throughput_per_s": stats["throughput_per_s"],
            "latencies_ms": [v / 1e6 for v in latencies[label][:MAX_RESULT_LATENCIES]],
        }
    if options.data:
        result["accuracy"] = _accuracy(sides, options, emit)
    speedup = bootstrap_speedup(latencies["a"], latencies["b"], seed=options.seed)
    result["speedup"] = speedup
    result["verdict"] = verdict(speedup)
    emit({"kind": "stats", "speedup": speedup, "a": result["a"]["latency_ms"], "b": result["b"]["latency_ms"]})
    return result


def _accuracy(sides: dict[str, dict[str, Any]], options: ProfileOptions, emit: Emit) -> dict[str, Any] | None:
    """Top-1 / top-5 of both models on labelled data (after the timed runs), and B's drop; None without labels."""
    figures = {}
    for label in ("a", "b"):
        stream = labelled_stream(sides[label]["proto"], options.data, options.feed_dims)
        if stream is None:
            return None
        emit({"kind": "progress", "fraction": 1.0, "message": f"accuracy of {label.upper()} on the labelled data"})
        figures[label] = model_accuracy(functools.partial(sides[label]["session"].run, None), stream, options.data)
    return {**figures, "top1_drop": figures["a"]["top1"] - figures["b"]["top1"],
            "top5_drop": figures["a"]["top5"] - figures["b"]["top5"]}


def verdict(speedup: dict[str, float]) -> str:
    """One sentence reading of the speed-up and its interval."""
    if speedup["ci_low"] > 1.0:
        return f"B is faster: {speedup['speedup']:.2f}x (95% CI {speedup['ci_low']:.2f}-{speedup['ci_high']:.2f})."
    if speedup["ci_high"] < 1.0:
        return f"A is faster: B runs at {speedup['speedup']:.2f}x (95% CI {speedup['ci_low']:.2f}-{speedup['ci_high']:.2f})."
    return f"no clear difference: {speedup['speedup']:.2f}x (95% CI {speedup['ci_low']:.2f}-{speedup['ci_high']:.2f} includes 1)."


def _interleaved(runners_a: list[Callable[[], Any]], runners_b: list[Callable[[], Any]], options: ProfileOptions, emit: Emit) -> dict[str, list[int]]:
    """Both models timed by the one interleaved timer (pipelines.speed.round_robin), samples streamed."""
    state = {"emitted": 0, "last_emit": time.perf_counter_ns()}

    def after_round(done: int, fraction: float, timings: list[list[int]]) -> None:
        now = time.perf_counter_ns()
        if now - state["last_emit"] < EMIT_INTERVAL_NS:
            return
        for label, latencies in zip(("a", "b"), timings):
            emit({"kind": "sample", "phase": "timed", "model": label, "first_index": state["emitted"],
                  "latencies_ms": [v / 1e6 for v in latencies[state["emitted"]:]]})
        state["emitted"], state["last_emit"] = done, now
        emit({"kind": "progress", "fraction": fraction, "message": f"{done} rounds"})

    # Each side cycles through its input batches, one per round.
    calls = [lambda round_, runners=runners: runners[round_ % len(runners)]() for runners in (runners_a, runners_b)]
    timings = round_robin(calls, rounds=options.runs, seconds=options.duration_s,
                          pause_s=options.pause_ms / 1e3, after_round=after_round)
    return {"a": timings[0], "b": timings[1]}
