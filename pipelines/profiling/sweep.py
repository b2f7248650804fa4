"""The "sweep" job: batch sizes × thread counts (× concurrency) → latency and throughput per cell.

One session per thread count (threads are a session setting); batch sizes reuse it with new
feeds, so the model needs a symbolic batch axis for batches above 1.
"""
from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.profiling.measure import timed_runs, warmup
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.session import check_runs, create_session, make_runner, prepare_feeds, read_model_info
from onnx_workbench.pipelines.profiling.stats import latency_stats

Emit = Callable[[dict[str, Any]], None]
MAX_CELLS = 256


def run(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Worker job "sweep": {"model", "options", "batch": [...], "threads": [...], "concurrency": [...], "latency_limit_ms"}."""
    base = ProfileOptions.from_any(params.get("options"))
    return sweep_model(
        params["model"],
        base,
        batches=params.get("batch") or [base.batch],
        threads=params.get("threads") or [base.intra_op_threads],
        concurrency=params.get("concurrency") or [base.concurrency],
        latency_limit_ms=params.get("latency_limit_ms"),
        emit=emit,
    )


def sweep_model(
    model: str,
    base: ProfileOptions,
    *,
    batches: Sequence[int],
    threads: Sequence[int],
    concurrency: Sequence[int],
    latency_limit_ms: float | None = None,
    emit: Emit = lambda record: None,
) -> dict[str, Any]:
    """Measure every cell of the grid and pick the best configuration under the latency limit."""
    grid = list(itertools.product(threads, batches, concurrency))
    if len(grid) > MAX_CELLS:
        raise ConfigError(f"the sweep has {len(grid)} cells, more than {MAX_CELLS}; give fewer values.", "sweep")
    if latency_limit_ms is not None and latency_limit_ms <= 0:
        raise ConfigError("the latency limit must be a positive number of milliseconds.", "latency_limit_ms")
    # Validate every cell's settings before any work starts.
    cells_options = {
        (t, b, c): base.replace(intra_op_threads=t, batch=b, concurrency=c) for t, b, c in grid
    }
    info = read_model_info(model)
    emit({"kind": "config", "model": str(info.path), "grid": {"threads": list(threads), "batch": list(batches), "concurrency": list(concurrency)}, "options": base.to_dict(), "latency_limit_ms": latency_limit_ms})
    cells: list[dict[str, Any]] = []
    done = 0
    for thread_count in threads:
        session, create_s = create_session(info.path, cells_options[(thread_count, batches[0], concurrency[0])])
        for batch in batches:
            options = cells_options[(thread_count, batch, concurrency[0])]
            prepared = prepare_feeds(info, options)
            runners = [make_runner(session, feed, options) for feed in prepared.feeds]
            check_runs(runners[0], info.path.name)
            for streams in concurrency:
                options = cells_options[(thread_count, batch, streams)]
                warmup(runners, options.warmup)
                timed = timed_runs(
                    runners, runs=options.runs, duration_s=options.duration_s,
                    pause_s=options.pause_ms / 1e3, concurrency=streams,
                )
                stats = latency_stats(timed.latencies_ns, timed.wall_s, prepared.batch)
                cell = {
                    "threads": thread_count,
                    "batch": prepared.batch,
                    "concurrency": streams,
                    "runs": stats["count"],
                    "p50_ms": stats["latency_ms"]["p50"],
                    "p99_ms": stats["latency_ms"]["p99"],
                    "mean_ms": stats["latency_ms"]["mean"],
                    "throughput_per_s": stats["throughput_per_s"],
                    "samples_per_s": stats["samples_per_s"],
                    "session_create_s": create_s,
                }
                cells.append(cell)
                done += 1
                emit({"kind": "stats", "cell": cell})
                emit({"kind": "progress", "fraction": done / len(grid), "message": f"threads {thread_count}, batch {batch}, concurrency {streams}"})
        del session, runners
        gc.collect()
    return {"model": str(info.path), "options": base.to_dict(), "latency_limit_ms": latency_limit_ms, "cells": cells, **best_cell(cells, latency_limit_ms)}


def best_cell(cells: list[dict[str, Any]], latency_limit_ms: float | None) -> dict[str, Any]:
    """The cell with the most samples per second whose p99 stays within the limit (if any)."""
    eligible = [c for c in cells if latency_limit_ms is None or c["p99_ms"] <= latency_limit_ms]
    if not eligible:
        fastest = min(cells, key=lambda c: c["p99_ms"]) if cells else None
        reason = (
            f"no configuration keeps p99 under {latency_limit_ms:g} ms; the lowest p99 is {fastest['p99_ms']:.3f} ms."
            if fastest else "the sweep measured nothing."
        )
        return {"best": None, "best_reason": reason}
    best = max(eligible, key=lambda c: c["samples_per_s"])
    limit = f" with p99 under {latency_limit_ms:g} ms" if latency_limit_ms is not None else ""
    return {"best": best, "best_reason": f"highest throughput{limit}."}
