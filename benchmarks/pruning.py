"""Pruning figures for the sample CNN and transformer: params, MACs, size, latency, fidelity.

Each model is pruned with the real passes at 0/10/30/50% (prune-channels for the CNN;
prune-neurons with the same ratio for FFN neurons and attention heads for the transformer).
All variants are timed round-robin in one process (0% 10% 30% 50%, 10% 30% 50% 0%, ...) so the latency
ratios to the unpruned model share the same machine state. Prints figures only, never pass/fail.

    .venv/bin/python benchmarks/pruning.py [--runs 50] [--threads 1] [--batch 1] [--sequence 128]
        [--only cnn|transformer] [--round-to 1,8,16]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "assets")]

import onnx  # noqa: E402

from onnx_workbench.pipelines.analysis import analyze  # noqa: E402
from onnx_workbench.pipelines.passes.engine import run_pass  # noqa: E402
from onnx_workbench.pipelines.speed import interleaved_latencies  # noqa: E402
from onnx_workbench.pipelines.verify import Tolerance, verify_models  # noqa: E402

MODELS = ROOT / "assets" / "models"
RATIOS = (0.0, 0.1, 0.3, 0.5)


def variants(model: Path, folder: Path, kind: str, round_to: int) -> list[tuple[str, Path]]:
    """The model pruned at each ratio with the pass that fits it (0% is the untouched original)."""
    result = [("0%", model)]
    for ratio in RATIOS[1:]:
        label = f"{int(ratio * 100)}%"
        target = folder / f"{kind}_{int(ratio * 100)}.onnx"
        if kind == "cnn":
            run_pass("prune-channels", model, target, {"ratio": ratio, "round_to": round_to})
            label += f" /{round_to}"
        else:
            run_pass("prune-neurons", model, target, {"ratio": ratio, "heads_ratio": ratio})
        result.append((label, target))
    return result


def report(title: str, rows: list[tuple[str, Path]], dims: dict[str, int], runs: int, threads: int) -> None:
    """Print one table: params, MACs, file size, latency (and ratio to 0%), cosine and top-1."""
    latencies = interleaved_latencies([p for _, p in rows], runs=runs, warmup=5, threads=threads, dims=dims)
    print(f"\n{title}  (inputs {dims}, {runs} interleaved runs, median)")
    print(f"{'pruned':>6} {'params':>10} {'MACs':>12} {'size KB':>9} {'latency ms':>10} {'vs 0%':>6} {'cosine':>8} {'top-1':>6}")
    base = latencies[0]
    for (label, path), latency in zip(rows, latencies):
        analysis = analyze(onnx.load(str(path)), dims, path=path)
        fidelity = verify_models(rows[0][1], path, samples=4, dims=dims, tolerance=Tolerance(min_cosine=None))
        output = fidelity.outputs[0]
        top1 = f"{output.top1:6.1%}" if output.top1 is not None else "     -"
        print(
            f"{label:>6} {analysis.params:>10,} {analysis.macs:>12,} {path.stat().st_size / 1024:>9.1f} "
            f"{latency:>10.3f} {latency / base:>6.2f} {output.cosine:>8.4f} {top1}"
        )


def main() -> None:
    """Prune the samples and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    # One thread by default: on a shared machine, ORT's spinning worker threads make timings erratic.
    parser.add_argument("--threads", type=int, default=1, help="ORT intra-op threads (0: ORT default)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--sequence", type=int, default=128)
    parser.add_argument("--only", choices=("cnn", "transformer"))
    parser.add_argument("--round-to", type=lambda t: [int(v) for v in t.split(",")], default=[1, 8, 16],
                        help="CNN round_to values to compare (default 1,8,16)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "cnn"):
            # Kept-channel counts off the SIMD block size (8 or 16) push ORT's convs off their
            # fast NCHWc path, so round_to is compared side by side.
            for round_to in args.round_to:
                rows = variants(MODELS / "resnet_small.onnx", Path(folder), "cnn", round_to)
                report(f"resnet_small, prune-channels round_to={round_to}", rows, {"batch": args.batch}, args.runs, args.threads)
        if args.only in (None, "transformer"):
            rows = variants(MODELS / "transformer_small.onnx", Path(folder), "transformer", 1)
            dims = {"batch": args.batch, "sequence": args.sequence}
            report("transformer_small, prune-neurons (FFN + heads)", rows, dims, args.runs, args.threads)


if __name__ == "__main__":
    main()
