"""Quantization figures for the sample CNN and transformer: latency, size, fidelity, wall time.

For each model, every variant is made with the real passes, then FP32 and all variants are
timed round-robin in one process (FP32 A B C, A B C FP32, ...) so that the ratios share the same
machine state. Prints figures only (never pass/fail).

    .venv/bin/python benchmarks/quantization.py [--runs 30] [--threads 0] [--batch 1]
        [--only cnn|transformer] [--image-size 64]

--image-size other than 64 benchmarks build_resnet(image_size=N) instead of the bundled CNN:
the bundled one is small enough (0.4 ms) that fixed per-op costs weigh on the INT8 ratio.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "assets")]

from onnx_workbench.pipelines.passes.engine import run_pass  # noqa: E402
from onnx_workbench.pipelines.speed import interleaved_timings  # noqa: E402
from onnx_workbench.pipelines.verify import verify_models  # noqa: E402

MODELS = ROOT / "assets" / "models"

# (label, pass, config) per model; the CNN list covers the knobs that decide INT8 speed on CPU.
CNN_VARIANTS = [
    ("static qdq u8/s8", "quantize-static", {}),
    ("static qdq u8/s8 per-channel", "quantize-static", {"per_channel": True}),
    ("static qdq s8/s8", "quantize-static", {"activation_type": "int8"}),
    ("static qdq u8/s8 reduce-range", "quantize-static", {"reduce_range": True}),
    ("static qoperator u8/s8", "quantize-static", {"format": "qoperator"}),
    ("static qoperator u8/u8", "quantize-static", {"format": "qoperator", "weight_type": "uint8"}),
    ("dynamic s8", "quantize-dynamic", {}),
    ("fp16", "to-fp16", {}),
]
TRANSFORMER_VARIANTS = [
    ("dynamic s8", "quantize-dynamic", {}),
    ("dynamic s8 per-channel", "quantize-dynamic", {"per_channel": True}),
    ("static qdq u8/s8", "quantize-static", {}),
    ("weights 4-bit b32", "quantize-weights", {"bits": 4, "block_size": 32}),
    ("weights 4-bit b32 acc4", "quantize-weights", {"bits": 4, "block_size": 32, "accuracy_level": 4}),
    ("weights 8-bit b32", "quantize-weights", {"bits": 8, "block_size": 32}),
    ("fp16", "to-fp16", {}),
]


def bench_model(name: str, source: Path, variants: list, args: argparse.Namespace, workdir: Path) -> None:
    """Make every variant, time them all against FP32 in one interleaved run, print a table."""
    rows = []
    for label, pass_name, config in variants:
        target = workdir / f"{source.stem}.{len(rows)}.onnx"
        config = dict(config)
        if pass_name == "quantize-static":
            config.setdefault("samples", args.samples)
        started = time.perf_counter()
        run_pass(pass_name, source, target, config)
        seconds = time.perf_counter() - started
        fidelity = verify_models(source, target, samples=4, seed=7)
        rows.append((label, target, seconds, fidelity.worst_cosine()))
    dims = {"batch": args.batch}
    timings = interleaved_timings(
        [source] + [r[1] for r in rows], runs=args.runs, warmup=3, threads=args.threads, dims=dims
    )
    # Medians are what a user sees; minima are the least disturbed by other processes on a
    # shared machine, so both ratios are printed.
    medians = [statistics.median(t) / 1e6 for t in timings]
    minima = [min(t) / 1e6 for t in timings]
    threads = args.threads or os.cpu_count()
    print(f"\n{name} ({source.name}), batch {args.batch}, {threads} intra-op threads, {args.runs} interleaved runs each")
    print(
        f"{'variant':<30} {'median ms':>9} {'speed-up':>8} {'min ms':>8} {'speed-up':>8} "
        f"{'size KiB':>8} {'cosine':>9} {'quantize s':>10}"
    )
    print(
        f"{'fp32':<30} {medians[0]:>9.3f} {1.0:>7.2f}x {minima[0]:>8.3f} {1.0:>7.2f}x "
        f"{source.stat().st_size / 1024:>8.0f} {1.0:>9.6f} {'-':>10}"
    )
    for (label, target, seconds, cosine), median, minimum in zip(rows, medians[1:], minima[1:]):
        print(
            f"{label:<30} {median:>9.3f} {medians[0] / median:>7.2f}x {minimum:>8.3f} {minima[0] / minimum:>7.2f}x "
            f"{target.stat().st_size / 1024:>8.0f} {cosine:>9.6f} {seconds:>10.2f}"
        )


def main() -> None:
    """Parse options and benchmark the chosen sample models."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per model (default 30)")
    parser.add_argument("--threads", type=int, default=0, help="ORT intra-op threads (0: ORT default)")
    parser.add_argument("--batch", type=int, default=1, help="batch size of the timed inputs (default 1)")
    parser.add_argument("--samples", type=int, default=16, help="calibration samples for static quantization")
    parser.add_argument("--only", choices=("cnn", "transformer"), help="benchmark one model only")
    parser.add_argument("--image-size", type=int, default=64, help="CNN input side (64: the bundled sample)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # ORT's "consider pre-processing" notes would drown the table
    with tempfile.TemporaryDirectory(prefix="bench-quant.") as workdir:
        if args.only in (None, "cnn"):
            cnn = MODELS / "resnet_small.onnx"
            if args.image_size != 64:
                import onnx
                from sample_models import build_resnet

                cnn = Path(workdir) / f"resnet_{args.image_size}.onnx"
                onnx.save(build_resnet(image_size=args.image_size), str(cnn))
            bench_model("CNN", cnn, CNN_VARIANTS, args, Path(workdir))
        if args.only in (None, "transformer"):
            bench_model("Transformer", MODELS / "transformer_small.onnx", TRANSFORMER_VARIANTS, args, Path(workdir))


if __name__ == "__main__":
    main()
