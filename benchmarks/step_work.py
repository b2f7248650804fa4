"""Whole-model work of one step: a pass, its verification and its latency glance, on real models.

    python benchmarks/step_work.py [MODEL.onnx:PASS ...] [--samples 2] [--runs 3]

Without arguments: the corpus's legacy VGG-11 (531 MB, weights inside the .onnx) through cleanup
and fold-batchnorm, and its dynamo GPT-2 (external data) through cleanup, when
/work/corpus/models (benchmarks/corpus.py) holds them. Each step runs in a fresh process (what a
worker does) and prints the seconds of run_pass, verify_models and quick_latency_comparison, the
process's peak RSS, the load average, and how often each whole-model job ran: parses of the
.onnx by the workbench, onnx.checker calls and the bytes handed to shape inference. Run it
with PYTHONPATH pointing at another checkout to measure that code. Prints figures; never passes
or fails. Heavy: run it under `flock /tmp/heavy.lock` on a shared box.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

CORPUS = Path("/work/corpus/models")
DEFAULT_STEPS = ("legacy/vgg11_bn.onnx:cleanup", "legacy/vgg11_bn.onnx:fold-batchnorm", "dynamo/gpt2.onnx:cleanup")


def count_whole_model_jobs() -> dict[str, Any]:
    """Wrap the workbench's parse, onnx.load, the checker and shape inference to count their calls."""
    import onnx
    import onnx.shape_inference

    import onnx_workbench.pipelines.model as model_io

    counts: dict[str, Any] = {"parses": Counter(), "checker": Counter(), "inferred_bytes": []}
    real_parse, real_load = model_io._parse, onnx.load
    real_check, real_infer = onnx.checker.check_model, onnx.shape_inference.infer_shapes

    def parse(path: Path, label: str) -> Any:
        counts["parses"][Path(path).name] += 1
        return real_parse(path, label)

    def load(path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, (str, os.PathLike)):
            counts["parses"][Path(path).name] += 1
        return real_load(path, *args, **kwargs)

    def check(model: Any, *args: Any, **kwargs: Any) -> Any:
        counts["checker"][Path(model).name if isinstance(model, str) else "<in memory>"] += 1
        return real_check(model, *args, **kwargs)

    def infer(model: Any, *args: Any, **kwargs: Any) -> Any:
        counts["inferred_bytes"].append(model.ByteSize())
        return real_infer(model, *args, **kwargs)

    model_io._parse, onnx.load = parse, load
    onnx.checker.check_model, onnx.shape_inference.infer_shapes = check, infer
    return counts


def run_step(model: Path, pass_name: str, samples: int, runs: int) -> dict[str, Any]:
    """One step in this process: the figures as plain data."""
    counts = count_whole_model_jobs()
    from onnx_workbench.pipelines.passes.engine import run_pass
    from onnx_workbench.pipelines.speed import quick_latency_comparison
    from onnx_workbench.pipelines.verify import verify_models

    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="step-work-") as folder:
        target = Path(folder) / "out.onnx"
        for phase, work in (
            ("run_pass", lambda: run_pass(pass_name, model, target)),
            ("verify", lambda: verify_models(model, target, samples=samples)),
            ("latency", lambda: quick_latency_comparison(model, target, runs=runs, warmup=0)),
        ):
            started = time.perf_counter()
            work()
            seconds[phase] = round(time.perf_counter() - started, 1)
    return {
        "seconds": seconds,
        "total": round(sum(seconds.values()), 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "parses": dict(counts["parses"]),
        "checker": dict(counts["checker"]),
        "inferred_mb": [round(b / 1e6, 1) for b in counts["inferred_bytes"]],
    }


def main() -> None:
    """Run each step in a child process and print one line of figures per step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("steps", nargs="*", help="MODEL.onnx:PASS (default: VGG-11 and GPT-2 of the corpus)")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model, pass_name = args.child.rsplit(":", 1)
        print(json.dumps(run_step(Path(model), pass_name, args.samples, args.runs)))
        return
    steps = args.steps or [str(CORPUS / s) for s in DEFAULT_STEPS if (CORPUS / s.rsplit(":", 1)[0]).is_file()]
    if not steps:
        sys.exit(f"no corpus at {CORPUS}: give MODEL.onnx:PASS steps")
    for step in steps:
        load = os.getloadavg()[0]
        child = subprocess.run(
            [sys.executable, __file__, "--child", step, "--samples", str(args.samples), "--runs", str(args.runs)],
            capture_output=True, text=True, check=False,
        )
        if child.returncode != 0:
            print(f"{step}: failed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{Path(step).name} (load {load:.1f}): {json.dumps(figures)}", flush=True)


if __name__ == "__main__":
    main()
