"""Profiler overhead: our median latency (worker process, full measurement machinery) over a bare
in-process `session.run` loop's median, same model, same settings, alternated round by round.

    .venv/bin/python benchmarks/profiler_overhead.py [--rounds 5] [--runs 300] [--threads 1]

A ratio near 1.00 (target 0.97-1.03) means the worker, its memory sampler and its live
records cost nothing measurable. Prints figures; never passes or fails.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

from onnx_workbench.pipelines.inputs import random_inputs  # noqa: E402
from onnx_workbench.pipelines.profiling.options import ProfileOptions  # noqa: E402
from onnx_workbench.pipelines.profiling.session import session_settings  # noqa: E402
from onnx_workbench.pipelines.runtime import session_options  # noqa: E402
from onnx_workbench.pipelines.worker.client import run_job  # noqa: E402

MODELS = [ROOT / "assets" / "models" / "resnet_small.onnx", ROOT / "assets" / "models" / "transformer_small.onnx"]


def bare_loop(model: Path, options: ProfileOptions) -> list[int]:
    """The baseline: a plain session and a plain loop, nothing else running in the process."""
    # Same SessionOptions builder as the profiler so both runs use identical thread settings; the
    # session itself is created by hand, as a bare loop would.
    session = ort.InferenceSession(str(model), sess_options=session_options(session_settings(options)), providers=["CPUExecutionProvider"])
    feed = random_inputs(onnx.load(str(model), load_external_data=False), dims=options.feed_dims, seed=options.seed)
    for _ in range(options.warmup):
        session.run(None, feed)
    latencies = []
    clock = time.perf_counter_ns
    for _ in range(options.runs):
        t0 = clock()
        session.run(None, feed)
        latencies.append(clock() - t0)
    return latencies


def ours(model: Path, options: ProfileOptions) -> list[int]:
    """The profiler as the GUI and CLI run it: a worker process via the client."""
    result = run_job("profile", {"model": str(model), "options": options.to_dict()}, timeout_s=600)
    return [int(v * 1e6) for v in result["latencies_ms"]]


def main() -> int:
    """Alternate ours/bare for several rounds per model and print medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for both (pinned alike)")
    parser.add_argument("models", nargs="*", type=Path, default=MODELS)
    args = parser.parse_args()
    options = ProfileOptions.from_any({"runs": args.runs, "warmup": args.warmup, "intra_op_threads": args.threads, "inter_op_threads": 1})
    print(f"profiler overhead: {args.rounds} rounds x {args.runs} runs, {args.threads} intra-op thread(s), CPU")
    for model in args.models:
        if not model.is_file():
            print(f"{model.name}: missing, skipped")
            continue
        ours_all: list[int] = []
        bare_all: list[int] = []
        round_ratios = []
        for _ in range(args.rounds):
            a = ours(model, options)
            b = bare_loop(model, options)
            ours_all += a
            bare_all += b
            round_ratios.append(statistics.median(a) / statistics.median(b))
        ours_ms = float(np.median(ours_all)) / 1e6
        bare_ms = float(np.median(bare_all)) / 1e6
        ratio = ours_ms / bare_ms
        verdict = "within" if 0.97 <= ratio <= 1.03 else "OUTSIDE"
        print(
            f"{model.name:28} ours p50 {ours_ms:8.4f} ms  bare p50 {bare_ms:8.4f} ms  ratio {ratio:.3f} ({verdict} 0.97-1.03)"
            f"  per round: {' '.join(f'{r:.3f}' for r in round_ratios)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
