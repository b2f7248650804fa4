"""The "tune-candidate" worker job: build one candidate through the version cache, verify it, time it.

Steps are applied in the session's workspace, so a prefix another candidate already built
(the same parent, pass and config hash to the same version id) is reused, not rebuilt. Only
the last step is verified: the intermediate versions are means, not results. The candidate is
then timed against the original with runs interleaved in this one process
(pipelines.speed.interleaved_latencies), so load changes hit both alike; the search compares
candidates by that ratio. Nothing is written to workspace.json here: the search, its one
writer, records the versions this job returns.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.speed import interleaved_latencies
from onnx_workbench.pipelines.verify import Tolerance
from onnx_workbench.pipelines.versions import ROOT_ID, Workspace
from onnx_workbench.pipelines.worker import protocol

Emit = Callable[[dict[str, Any]], None]
# Ten timed rounds at least, whatever the model.
MIN_RUNS, MAX_RUNS = 10, 300


def run(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """{"workspace", "steps": [{"pass", "config"}], "tolerance", "threads", "batch", "timing_s"} -> versions built and latencies.

    The timing takes about `timing_s` seconds (as many interleaved rounds as fit, 10 to 300).
    """
    for key in ("workspace", "steps"):
        if not params.get(key):
            raise ConfigError(f"tune-candidate needs '{key}'.", key)
    workspace = Workspace.open(params["workspace"])
    # The search's own bound, not the session's: a window session keeps its own for manual steps.
    tolerance = Tolerance.from_dict(params["tolerance"]) if params.get("tolerance") else None
    steps = params["steps"]
    parent, chain = ROOT_ID, []
    started = time.perf_counter()
    for index, step in enumerate(steps):
        emit(protocol.progress(index / (len(steps) + 1), f"step {index + 1}/{len(steps)}: {step['pass']}"))
        # Not timed against its parent: the candidate is timed against the original below.
        version = workspace.apply(parent, step["pass"], step.get("config") or {}, verify=index == len(steps) - 1,
                                  tolerance=tolerance, save=False, time_step=False)
        chain.append(version.to_dict())
        parent = version.id
    build_s = time.perf_counter() - started
    emit(protocol.progress(len(steps) / (len(steps) + 1), "timing against the original"))
    original, candidate = workspace.path_of(ROOT_ID), workspace.path_of(parent)
    threads, dims = int(params.get("threads") or 0), {"batch": int(params.get("batch") or 1)}
    probe = interleaved_latencies([original], runs=3, warmup=1, threads=threads, dims=dims)[0]
    timing_s = float(params.get("timing_s") or 2.0)
    runs = int(min(MAX_RUNS, max(MIN_RUNS, timing_s / max(2 * probe / 1e3, 1e-6))))
    original_ms, candidate_ms = interleaved_latencies([original, candidate], runs=runs, warmup=3, threads=threads, dims=dims)
    return {
        "versions": chain,
        "final": parent,
        "build_s": build_s,
        "latency": {"original_ms": original_ms, "candidate_ms": candidate_ms,
                    "speedup": original_ms / candidate_ms if candidate_ms else 0.0, "runs": runs,
                    "threads": threads, "batch": dims["batch"]},
    }
