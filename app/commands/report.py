"""`onnx-workbench report`: a self-contained report on a model, its optimization and its speed.

    onnx-workbench report model.onnx -o report.html
    onnx-workbench report model.onnx --recipe cpu-int8.yaml --profile -o report.html -o report.json
    onnx-workbench report model.onnx --compare other.onnx --profile -o comparison.md
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onnx_workbench.app.commands.text import DATA_HELP, clean, parse_dims
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.recipe import load_recipe
from onnx_workbench.pipelines.report import FORMATS, build_report, write_report
from onnx_workbench.pipelines.safe_write import check_targets, source_files

NAME = "report"
HELP = "write a report (HTML, Markdown, JSON or CSV) on a model, the steps of a recipe and their profile"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `report` subcommand."""
    parser.add_argument("model", help="the ONNX model to report on")
    parser.add_argument("-o", "--output", action="append", required=True, metavar="FILE",
                        help=f"report file; its suffix picks the format ({', '.join(FORMATS)}); repeatable")
    parser.add_argument("--recipe", metavar="R.yaml", help="apply this recipe and report every step, its fidelity and the result")
    parser.add_argument("--compare", metavar="OTHER.onnx", help="report this model side by side with MODEL")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=VALUE", help="size of a symbolic dim (repeatable)")
    parser.add_argument("--data", metavar="PATH", help=DATA_HELP)
    profile = parser.add_argument_group("profiling (with --profile)")
    profile.add_argument("--profile", action="store_true", help="measure latency, memory and per-operator time in a worker process")
    profile.add_argument("--provider", default="cpu", help="execution provider (default cpu)")
    profile.add_argument("--threads", type=int, default=0, metavar="N", help="intra-op threads (default: ONNX Runtime's choice)")
    profile.add_argument("--batch", type=int, default=1, metavar="N", help="size of a symbolic batch axis (default 1)")
    profile.add_argument("--warmup", type=int, default=10, metavar="N", help="untimed warm-up runs (default 10)")
    profile.add_argument("--runs", type=int, default=200, metavar="N", help="timed runs per version (default 200)")


def run(args: argparse.Namespace) -> int:
    """Gather the report's data, then write each requested file."""
    for output in args.output:
        if not output.lower().endswith(FORMATS):
            raise ConfigError(f"{output}: reports are written as {', '.join(FORMATS)}; choose one of those suffixes.")
    dims = parse_dims(args.dim)
    # No report may land on an input: the models, their data files or the recipe.
    protected = source_files(args.model, args.compare) | {Path(r).resolve() for r in [args.recipe, args.data] if r}
    check_targets(args.output, protected)
    recipe = load_recipe(args.recipe) if args.recipe else None
    options = None
    if args.profile:
        options = ProfileOptions.from_any({
            "provider": args.provider, "intra_op_threads": args.threads, "batch": args.batch,
            "dims": dims, "warmup": args.warmup, "runs": args.runs, "per_op": True,
        }).to_dict()
    report = build_report(
        args.model, recipe=recipe, compare=args.compare, profile_options=options, dims=dims or None, data=args.data,
        on_progress=lambda fraction, message: print(f"[{fraction:4.0%}] {clean(message, 300)}", file=sys.stderr),
    )
    for output in args.output:
        print(f"wrote {clean(write_report(report, output, protected), 300)}")
    return 0
