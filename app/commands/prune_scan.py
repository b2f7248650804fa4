"""`onnx-workbench prune-scan`: how much does pruning each layer alone cost?

    onnx-workbench prune-scan model.onnx --ratios 0.1,0.3,0.5 --min-cosine 0.99 --json

Prunes every prunable channel group (CNNs) or FFN layer and attention block (transformers)
alone at each ratio and compares the outputs with the original on seeded random inputs.
With --min-cosine it also prints per-layer percentages for prune-channels/prune-neurons
`layer_percent`. Exit status 0, or 2 when the model or a setting is refused.
"""
from __future__ import annotations

import argparse
import json
import sys

from onnx_workbench.app.commands.text import clean
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.pruning.sensitivity import DEFAULT_RATIOS, derive_ratios
from onnx_workbench.pipelines.results import SensitivityTable
from onnx_workbench.pipelines.worker.client import run_job

NAME = "prune-scan"
HELP = "measure each layer's pruning sensitivity and suggest per-layer ratios"


def parse_ratios(text: str) -> list[float]:
    """Comma-separated fractions such as '0.1,0.3,0.5'."""
    try:
        return [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise ConfigError(f"--ratios takes fractions separated by commas such as 0.1,0.3,0.5, not '{text}'.") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `prune-scan` subcommand."""
    parser.add_argument("model", metavar="MODEL", help="the model to scan")
    parser.add_argument("--ratios", default=",".join(str(r) for r in DEFAULT_RATIOS),
                        help="fractions to prune each layer by (default 0.1,0.3,0.5)")
    parser.add_argument("--mode", choices=("auto", "channels", "neurons"), default="auto",
                        help="Conv channels or MatMul neurons/heads (default: channels when the model has a Conv)")
    parser.add_argument("--criterion", choices=("l1", "l2", "bn-gamma"), default="l1", help="how channels are ranked")
    parser.add_argument("--min-cosine", type=float, metavar="X", help="also derive per-layer percentages keeping cosine >= X")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")


def run(args: argparse.Namespace) -> int:
    """Scan the model and print the table (or JSON)."""
    ratios = parse_ratios(args.ratios)
    if args.min_cosine is not None and not 0 < args.min_cosine <= 1:
        raise ConfigError(f"--min-cosine must be between 0 and 1, got {args.min_cosine}.")

    # A live progress line only on a terminal; logs and pipes get the table alone.
    live = not args.json and sys.stderr.isatty()

    def progress(fraction: float, message: str) -> None:
        print(f"\r{fraction:4.0%} {message[:70]:<70}", end="", file=sys.stderr, flush=True)

    def forward(record: dict) -> None:
        if live and record.get("kind") == "progress":
            progress(float(record.get("fraction", 0.0)), str(record.get("message", "")))

    # In a worker: every ratio applies a prune pass and runs ONNX Runtime; a native crash is a sentence.
    data = run_job("prune-scan", {"model": args.model, "ratios": ratios, "mode": args.mode,
                                  "criterion": args.criterion}, forward)
    table = SensitivityTable.from_worker(data)
    if live:
        print(file=sys.stderr)
    derived = derive_ratios(table, args.min_cosine) if args.min_cosine is not None else None
    if args.json:
        data = table.to_dict()
        if derived is not None:
            data["layer_percent"] = derived
        print(json.dumps(data, indent=2))
        return 0
    print(f"{'unit':<44} {'kind':<8} {'ratio':>5} {'kept':>9} {'cosine':>9} {'top-1':>6} {'params -':>9}")
    for row in table.rows:
        top1 = f"{row.top1:6.1%}" if row.top1 is not None else "     -"
        print(f"{clean(row.unit, 44):<44} {clean(row.kind, 8):<8} {row.ratio:>5.0%} {row.kept:>4}/{row.size:<4} "
              f"{row.cosine:>9.5f} {top1} {row.params_removed:>9}")
    for unit, reason in table.skipped.items():
        print(f"skipped {clean(unit)}: {clean(reason, 300)}")
    if derived is not None:
        # Not cut: this is the value to paste into --set layer_percent=, it must stay whole.
        text = ",".join(f"{clean(unit, 10**6)}:{percent}" for unit, percent in derived.items())
        print(f"layer_percent (cosine >= {args.min_cosine}): {text or 'none'}")
        if text:
            # The scan pruned exact percentages; round_to 1 applies them the same way.
            print(f"apply with: --pass prune-{table.mode} --set ratio=0 --set round_to=1 --set layer_percent={text}")
    return 0
