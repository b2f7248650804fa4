"""`onnx-workbench quant-debug`: which nodes did quantization damage most?

    onnx-workbench quant-debug model.onnx model.int8.onnx --data calib/ --samples 8 --top 10

Runs the float model and its quantized version on the same inputs (seeded random data, a .npz
file or folder, or a folder of images) and ranks the nodes by the quantization noise they add.
Exit status 0, or 2 when a model or the data is refused.
"""
from __future__ import annotations

import argparse
import json

from onnx_workbench.app.commands.text import clean
from onnx_workbench.pipelines.quant_debug import DEFAULT_SAMPLES
from onnx_workbench.pipelines.results import QuantErrorReport
from onnx_workbench.pipelines.worker.client import run_job

NAME = "quant-debug"
HELP = "rank the nodes of a quantized model by the error quantization added"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `quant-debug` subcommand."""
    parser.add_argument("float_model", metavar="FLOAT", help="the float (unquantized) model")
    parser.add_argument("quant_model", metavar="QUANT", help="its quantized version (QDQ or dynamic)")
    parser.add_argument("--data", metavar="PATH", help=".npz file or folder of them, or a folder of images (default: seeded random data)")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help=f"input samples to compare on (default {DEFAULT_SAMPLES})")
    parser.add_argument("--top", type=int, default=10, help="how many nodes to list (default 10)")
    parser.add_argument("--json", action="store_true", help="print every tensor's figures as JSON")


def run(args: argparse.Namespace) -> int:
    """Analyse the pair and print the ranking (or JSON)."""
    # In a worker: ONNX Runtime runs both models (and may requantize); a native crash is a sentence.
    result = run_job("quant-debug", {
        "float_model": args.float_model, "quant_model": args.quant_model, "data": args.data, "samples": args.samples,
    })
    if args.json:
        print(json.dumps(result, indent=2))  # the worker's plain data (QuantErrorReport.to_dict) as it came
        return 0
    report = QuantErrorReport.from_worker(result)
    print(f"{len(report.tensors)} tensors compared over {report.samples} samples; worst first:")
    print(f"{'rank':>4}  {'added noise':>11}  {'SQNR dB':>8}  {'rel. err':>8}  quantized node: float nodes -> tensor")
    for rank, entry in enumerate(report.worst(args.top), 1):
        print(
            f"{rank:>4}  {entry.added_noise:>11.5f}  {entry.sqnr_db:>8.2f}  {entry.relative_error:>8.4f}  "
            f"{clean(entry.quant_node or '?')}: {' > '.join(clean(name) for name in reversed(entry.region))} "
            f"-> {clean(entry.tensor)}"
        )
    return 0
