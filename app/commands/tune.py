"""`onnx-workbench tune`: search recipes for the fastest (or smallest) model within a fidelity budget.

    onnx-workbench tune model.onnx --data test.npz --max-accuracy-drop 0.5 --budget 10 -o best.onnx
    onnx-workbench tune model.onnx --min-cosine 0.999 --threads 1 -o best.onnx --save-recipe best.yaml

Every candidate is built in worker processes, verified against the original and timed against it
with runs interleaved; all of them stay as versions of one session (its folder is printed), so
they can be opened in the window. Ctrl+C stops the search cleanly and keeps what finished.
Exit status: 0 with a best model written; 1 when no candidate beat the original within the
budget (the front is still printed); 2 for refused input; 130 when interrupted (the best so far
is written).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from onnx_workbench.app.commands.text import DATA_HELP, clean
from onnx_workbench.pipelines.safe_write import check_targets, source_files
from onnx_workbench.pipelines.tune.executor import LocalExecutor
from onnx_workbench.pipelines.tune.ray_executor import RayExecutor
from onnx_workbench.pipelines.tune.search import DEFAULT_ACCURACY_DROP, DEFAULT_MIN_COSINE, Search, TuneResult, TuneSettings
from onnx_workbench.pipelines.units import size

NAME = "tune"
HELP = "search recipes for the fastest (or smallest) model that keeps accuracy or fidelity, within a time budget"
EXIT_NONE_FOUND = 1
EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `tune` subcommand."""
    parser.add_argument("model", help="the ONNX model to tune (never modified)")
    parser.add_argument("-o", "--output", required=True, metavar="BEST.onnx", help="where to write the best model")
    parser.add_argument("--save-recipe", metavar="R.yaml", help="also write the best model's recipe")
    parser.add_argument("--data", metavar="PATH", help=DATA_HELP + "; also calibrates static INT8")
    parser.add_argument("--objective", choices=("latency", "size"), default="latency", help="what 'best' minimises (default latency)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--max-accuracy-drop", type=float, metavar="PTS",
                        help=f"most top-1 points a candidate may lose (labelled --data; default {DEFAULT_ACCURACY_DROP:g} with labels)")
    budget.add_argument("--min-cosine", type=float, metavar="X",
                        help=f"lowest cosine to the original's outputs (default {DEFAULT_MIN_COSINE:g} without labels)")
    parser.add_argument("--budget", type=float, default=10.0, metavar="MINUTES", help="stop starting candidates after this long (default 10)")
    parser.add_argument("--threads", type=int, default=0, metavar="N", help="intra-op threads when timing (default: ONNX Runtime's choice)")
    parser.add_argument("--batch", type=int, default=1, metavar="N", help="size of a symbolic batch axis when timing (default 1)")
    parser.add_argument("--no-prune", action="store_true", help="leave pruning candidates out")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run the candidates as tasks on this Ray cluster (e.g. 10.0.0.5:6379; extra 'cluster'); "
                             "every node must see the session folder at the same path")
    parser.add_argument("--session", metavar="DIR", help="session folder for the candidates (default: a new one in the cache)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run(args: argparse.Namespace) -> int:
    """Check the settings and outputs, search, write the best model and print the front."""
    settings = TuneSettings(
        objective=args.objective, max_accuracy_drop=args.max_accuracy_drop, min_cosine=args.min_cosine,
        budget_minutes=args.budget, threads=args.threads, batch=args.batch, data=args.data, prune=not args.no_prune,
    )
    protected = source_files(args.model) | ({Path(args.data).resolve()} if args.data else set())
    check_targets([args.output, f"{args.output}.data", args.save_recipe], protected)
    executor = RayExecutor(args.cluster) if args.cluster else LocalExecutor()
    try:
        search = Search(args.model, settings, executor, session=args.session, on_event=None if args.json else _progress)
        result = search.run()
    finally:
        executor.close()
    best = result.best()
    if best is not None and best.version_id is not None:
        result.workspace.export(best.version_id, args.output, args.save_recipe)
    if args.json:
        print(json.dumps({**result.to_dict(), "output": args.output if best else None}, indent=2))
    else:
        print(format_result(result))
        print(f"wrote {args.output}" + (f" and recipe {args.save_recipe}" if args.save_recipe else "") if best else
              "no candidate beat the original within the fidelity budget; nothing written (the front is above).")
    if result.stopped == "cancelled":
        return EXIT_INTERRUPTED
    return 0 if best is not None else EXIT_NONE_FOUND


def _progress(kind: str, data: dict[str, Any]) -> None:
    """One line per event on stderr."""
    if kind == "started":
        line = f"session {data['session']}: {data['queued']} candidates queued"
    elif kind == "candidate-started":
        line = f"building {data['name']}"
    elif kind == "candidate-finished":
        line = f"  {_verdict(data)}  {data['name']}"
    elif kind == "stage":
        line = data["name"]
    else:
        line = f"search {data['stopped']}"
    print(clean(line, 300), file=sys.stderr, flush=True)


def _verdict(entry: dict[str, Any]) -> str:
    if entry["error"]:
        return f"failed: {entry['error']}"
    return f"{entry['speedup']:.2f}x {'within' if entry['fidelity_passed'] else 'OUT OF'} budget"


def format_result(result: TuneResult) -> str:
    """The candidates as a table (front marked *), the best, and how the search ended."""
    best = result.best()
    lines = [f"{'':2}{'speed-up':>9}{'p50 ms':>9}{'size':>11}{'top-1 drop':>11}{'cosine':>10}  candidate"]
    lines.append(f"{'':2}{1.0:9.2f}{result.original_ms or 0:9.3f}{size(result.original_size):>11}{'':>11}{'':>10}  original")
    front = {id(r) for r in result.front()}
    for r in sorted(result.results, key=lambda r: -r.speedup):
        entry = r.to_dict()
        if not r.ok:
            lines.append(f"  {'failed':>9}{'':9}{'':11}{'':11}{'':10}  {clean(r.candidate.name, 120)}: {clean(r.error, 200)}")
            continue
        mark = ("*" if id(r) in front else " ") + ("!" if not r.within_budget else " ")
        drop = f"{entry['accuracy']['top1_drop']:.2f}" if entry["accuracy"] else "—"
        cosine = f"{entry['worst_cosine']:.5f}" if entry["worst_cosine"] is not None else "—"
        lines.append(f"{mark}{r.speedup:9.2f}{r.latency_ms:9.3f}{size(r.size_bytes):>11}{drop:>11}{cosine:>10}  {clean(r.candidate.name, 120)}")
    lines.append("* on the Pareto front (latency, size, loss); ! outside the fidelity budget")
    ended = {"done": "every candidate ran", "budget": "the time budget ran out", "cancelled": "interrupted"}[result.stopped]
    lines.append(f"{len(result.results)} candidates in {result.seconds:.0f} s ({ended}); session {result.workspace.root}")
    if best is not None:
        lines.append(f"best: {clean(best.candidate.name, 200)} — {best.speedup:.2f}x, {size(best.size_bytes)}")
    return "\n".join(lines)
