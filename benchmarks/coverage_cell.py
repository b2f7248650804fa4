"""The worker job behind one coverage cell: run a pass, verify the result, time both models.

Runs inside `python -m onnx_workbench.pipelines.worker coverage-cell` (registered by benchmarks/coverage.py
through ONNX_WORKBENCH_WORKER_JOBS), so a native crash, a hang or running out of memory ends
this cell only. Everything here is the project's own engine: run_pass, verify_models and the
interleaved latency comparison of pipelines.speed.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx

from onnx_workbench.pipelines.errors import PassFailed
from onnx_workbench.pipelines.passes.engine import run_pass
from onnx_workbench.pipelines.speed import quick_latency_comparison
from onnx_workbench.pipelines.verify import verify_models

Emit = Callable[[dict[str, Any]], None]


def run_cell(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """{"model", "pass", "config", "samples", "runs", "scratch"} -> nodes added and removed by op, cosine, speed-up."""
    source = Path(params["model"])
    scratch = Path(tempfile.mkdtemp(prefix="cell-", dir=params.get("scratch")))
    try:
        target = scratch / f"{source.stem}-{params['pass']}.onnx"
        result = run_pass(params["pass"], source, target, params.get("config") or {})
        changes = result.changes
        emit({"kind": "progress", "fraction": 0.5, "message": "verifying"})
        try:
            report = verify_models(source, target, samples=int(params.get("samples", 2)))
            emit({"kind": "progress", "fraction": 0.75, "message": "timing"})
            runs = int(params.get("runs", 3))
            # No warm-up runs: the median of the interleaved runs already leaves out the first,
            # slow one, and a warm-up costs two more inferences per cell (a second each on BERT).
            latency = quick_latency_comparison(source, target, runs=runs, warmup=0) if runs else None
        except Exception as exc:  # noqa: BLE001 - the pass "succeeded" with a model that does not run
            raise PassFailed(f"pass '{params['pass']}' wrote a model that does not run: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from exc
        return {
            "added_by_op": changes.added_by_op,
            "removed_by_op": changes.removed_by_op,
            # Only an unchanged node list needs a second look (reading a model costs seconds).
            "changed": not changes.is_empty or _interface(source) != _interface(target),
            "changes": changes.summary(),
            "cosine": report.worst_cosine(),
            "speedup": latency.speedup if latency else None,
            "warnings": result.warnings,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _interface(path: Path) -> bytes:
    # What a pass may change without touching a node: opsets, IR version and input/output types
    # (fix-shapes, an opset conversion whose nodes all stay as they were).
    model = onnx.load(str(path), load_external_data=False)
    copy = onnx.ModelProto(ir_version=model.ir_version, opset_import=model.opset_import)
    copy.graph.input.extend(model.graph.input)
    copy.graph.output.extend(model.graph.output)
    return copy.SerializeToString(deterministic=True)
