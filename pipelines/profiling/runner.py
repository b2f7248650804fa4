"""The "profile" job: one model, one configuration; latency, throughput, memory and per-op time.

Runs inside a worker process (see pipelines.worker) so that memory figures belong to the
model and a native crash takes down only the worker. Order of work: read inputs, create the
session (timed), one checked run, warm-up, timed runs with memory sampled alongside, then,
if asked, a separate per-operator pass: ORT's profiler adds overhead, so it never runs
during the timed runs.
"""
from __future__ import annotations

import functools
import gc
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines.labelled import labelled_stream, model_accuracy
from onnx_workbench.pipelines.profiling import perop
from onnx_workbench.pipelines.profiling.measure import MemorySampler, timed_runs, warmup
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.providers import GpuMemoryProbe, canonical_name, parse_provider_options
from onnx_workbench.pipelines.profiling.session import (
    ModelInfo,
    check_runs,
    create_session,
    make_runner,
    prepare_feeds,
    read_model_info,
)
from onnx_workbench.pipelines.profiling.stats import latency_stats

Emit = Callable[[dict[str, Any]], None]
# Latencies kept in the result for histograms; live samples carry all of them anyway.
MAX_RESULT_LATENCIES = 20_000


def run(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Worker job "profile": params {"model": path, "options": {...ProfileOptions fields}}."""
    options = ProfileOptions.from_any(params.get("options"))
    return profile_model(params["model"], options, emit)


def profile_model(model: str | Path, options: ProfileOptions, emit: Emit = lambda record: None) -> dict[str, Any]:
    """Profile `model` with `options`, emitting progress/sample/memory/stats/per_op records."""
    info = read_model_info(model)
    prepared = prepare_feeds(info, options)
    # Labelled data: top-1 / top-5 on every sample after the timed runs (the stream keeps the
    # inputs' graph, not the weights).
    accuracy_stream = labelled_stream(info.proto_inputs, options.data, options.feed_dims) if options.data else None
    node_count = len(info.nodes)
    info.proto_inputs = None  # type: ignore[assignment]  # drop the graph: memory should be the session's
    gc.collect()
    provider = canonical_name(options.provider)
    emit(
        {
            "kind": "config",
            "model": str(info.path),
            "provider": provider,
            "options": options.to_dict(),
            "inputs": prepared.inputs,
            "assumed_dims": prepared.assumed_dims,
            "pid": os.getpid(),
        }
    )
    gpu = GpuMemoryProbe(provider, int(parse_provider_options(options.provider_options).get("device_id", 0)))
    sampler = MemorySampler(options.memory_interval_ms / 1e3, gpu, emit)
    rss_before = sampler.rss()
    gpu_before = gpu.sample()
    try:
        with sampler:
            emit({"kind": "progress", "fraction": 0.0, "message": "creating session"})
            session, create_s = create_session(info.path, options)
            rss_after_session = sampler.sample_now()["rss_bytes"]  # also counts towards the peak
            runners = [make_runner(session, feed, options) for feed in prepared.feeds]
            check_runs(runners[0], info.path.name)
            emit({"kind": "progress", "fraction": 0.0, "message": f"warm-up ({options.warmup} runs)"})
            warm = warmup(runners, options.warmup)
            emit({"kind": "sample", "phase": "warmup", "first_index": 0, "latencies_ms": [v / 1e6 for v in warm]})
            emit({"kind": "progress", "fraction": 0.0, "message": "timing"})
            timed = timed_runs(
                runners,
                runs=options.runs,
                duration_s=options.duration_s,
                pause_s=options.pause_ms / 1e3,
                concurrency=options.concurrency,
                on_samples=_sample_emitter(emit),
            )
            providers_used = session.get_providers()
            accuracy = None
            if accuracy_stream is not None:
                emit({"kind": "progress", "fraction": 1.0, "message": "accuracy on the labelled data"})
                accuracy = model_accuracy(functools.partial(session.run, None), accuracy_stream, options.data)
            del runners, session
        stats = latency_stats(timed.latencies_ns, timed.wall_s, prepared.batch)
        emit({"kind": "stats", **stats})
        result: dict[str, Any] = {
            "model": str(info.path),
            "nodes": node_count,
            "provider": provider,
            "providers_used": providers_used,
            "options": options.to_dict(),
            "inputs": prepared.inputs,
            "batch": prepared.batch,
            "assumed_dims": prepared.assumed_dims,
            "session_create_s": create_s,
            "warmup": {"runs": len(warm), "latency_ms": [v / 1e6 for v in warm]},
            "runs": stats["count"],
            "latency_ms": stats["latency_ms"],
            "throughput_per_s": stats["throughput_per_s"],
            "samples_per_s": stats["samples_per_s"],
            "wall_s": stats["wall_s"],
            "latencies_ms": [v / 1e6 for v in timed.latencies_ns[:MAX_RESULT_LATENCIES]],
            "accuracy": accuracy,
            "memory": {
                "rss_before_session_bytes": rss_before,
                "rss_after_session_bytes": rss_after_session,
                "session_rss_bytes": rss_after_session - rss_before,
                "peak_rss_bytes": sampler.peak_rss,
                "peak_over_baseline_bytes": sampler.peak_rss - rss_before,
                "rss_series": sampler.points,
                "gpu": _gpu_summary(gpu, gpu_before, sampler.peak_gpu),
            },
        }
    finally:
        gpu.close()
    if options.per_op:
        emit({"kind": "progress", "fraction": 1.0, "message": f"per-operator pass ({options.per_op_runs} runs)"})
        result["per_op"] = per_op_profile(info, options, prepared.feeds[0])
        emit({"kind": "per_op", **result["per_op"]})
    return result


def per_op_profile(info: ModelInfo, options: ProfileOptions, feed: dict[str, Any]) -> dict[str, Any]:
    """A separate session with ORT's profiler on: per-node and per-op-type time per run."""
    with tempfile.TemporaryDirectory(prefix="owb-profile-") as folder:
        session, _ = create_session(info.path, options, profile_prefix=str(Path(folder) / "ort"))
        runner = make_runner(session, feed, options)
        # One extra run: the first is dropped from the figures (allocations, caches).
        for _ in range(options.per_op_runs + 1):
            runner()
        profile_path = session.end_profiling()
        events = perop.load_events(profile_path)
    return perop.aggregate(events, perop.NodeTable(info.nodes))


def _sample_emitter(emit: Emit) -> Callable[[int, list[int], float], None]:
    def on_samples(first: int, latencies_ns: list[int], fraction: float) -> None:
        emit({"kind": "sample", "phase": "timed", "first_index": first, "latencies_ms": [v / 1e6 for v in latencies_ns]})
        emit({"kind": "progress", "fraction": fraction, "message": f"{first + len(latencies_ns)} runs"})

    return on_samples


def _gpu_summary(gpu: GpuMemoryProbe, before: dict[str, Any], peak: int | None) -> dict[str, Any]:
    if not gpu.available:
        return {"available": False, "reason": gpu.reason}
    return {
        "available": True,
        "device": gpu.device_name,
        "before_bytes": before.get("process_bytes") or before.get("used_bytes"),
        "peak_bytes": peak,
        "total_bytes": before.get("total_bytes"),
    }
