"""`onnx-workbench compare A B`: which of two models is faster, measured fairly.

Both models run in one worker process with the same settings, their runs interleaved
(A B, B A, ...) so that machine noise hits both; the speed-up comes with a 95% bootstrap
confidence interval.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from onnx_workbench.app.commands.profile import ProgressPrinter, add_profile_options, options_from_args
from onnx_workbench.app.commands.text import clean
from onnx_workbench.pipelines.worker.client import run_job

NAME = "compare"
HELP = "compare the latency of two models, runs interleaved in one worker, with a confidence interval"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `compare` subcommand."""
    parser.add_argument("model_a", metavar="A", help="baseline model")
    parser.add_argument("model_b", metavar="B", help="candidate model")
    add_profile_options(parser, compare=True)


def run(args: argparse.Namespace) -> int:
    """Validate the options, run the interleaved comparison in a worker, print the verdict."""
    options = options_from_args(args)
    printer = ProgressPrinter(not args.json, "compare")
    try:
        result = run_job(
            "compare",
            {"model_a": args.model_a, "model_b": args.model_b, "options": options.to_dict()},
            printer,
            timeout_s=args.timeout,
        )
    finally:
        printer.done()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_comparison(result))
    return 0


def format_comparison(result: dict[str, Any]) -> str:
    """A readable side-by-side of both models and the verdict."""
    lines = [f"{'':3}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}  model"]
    for label in ("a", "b"):
        side = result[label]
        lat = side["latency_ms"]
        lines.append(f"{label.upper():3}{lat['p50']:9.3f}{lat['p90']:9.3f}{lat['p99']:9.3f}{lat['mean']:9.3f}  {clean(side['model'], 300)}")
    accuracy = result.get("accuracy")
    if accuracy:
        lines.append(f"accuracy on {accuracy['a']['samples']} labelled samples: top-1 A {accuracy['a']['top1']:.2f}%, "
                     f"B {accuracy['b']['top1']:.2f}% ({accuracy['b']['top1'] - accuracy['a']['top1']:+.2f} pts); top-5 A {accuracy['a']['top5']:.2f}%, "
                     f"B {accuracy['b']['top5']:.2f}%")
    lines.append(f"{result['rounds']} interleaved rounds on {clean(result['provider'])}: {clean(result['verdict'], 300)}")
    return "\n".join(lines)
