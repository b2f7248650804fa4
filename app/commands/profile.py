"""`onnx-workbench profile`: latency, throughput, memory and per-op time of a model, in a worker.

    onnx-workbench profile model.onnx --threads 2 --batch 4 --runs 200 --per-op
    onnx-workbench profile model.onnx --sweep batch=1,2,4 threads=1,2 --latency-limit 20

Exit status: 0; 1 when --latency-limit is missed (no sweep cell, or the model's p99, under it);
2 when the model or an option is refused.

The model runs in a separate worker process (its memory is the model's; a crash there cannot
take this command down); progress goes to stderr, the report to stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from onnx_workbench.app.commands.text import DATA_HELP, clean, parse_dims
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.units import size
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.runtime import OPTIMIZATION_LEVELS
from onnx_workbench.pipelines.worker.client import run_job

NAME = "profile"
HELP = "measure a model's latency, throughput, memory and per-operator time in ONNX Runtime"
SWEEP_KEYS = ("batch", "threads", "concurrency")
# The measurement ran but the model is too slow: a failed check, not refused input (that is 2).
EXIT_LIMIT_MISSED = 1


def add_profile_options(parser: argparse.ArgumentParser, *, compare: bool = False) -> None:
    """Flags shared by `profile` and `compare` (compare has no concurrency or per-op pass)."""
    session = parser.add_argument_group("session")
    session.add_argument("--provider", default="cpu", help="execution provider: cpu, cuda, tensorrt, directml, coreml, openvino or a full ONNX Runtime name (default cpu)")
    session.add_argument("--provider-option", action="append", default=[], metavar="KEY=VALUE", help="provider option, e.g. device_id=1 (repeatable)")
    session.add_argument("--io-binding", choices=("auto", "on", "off"), default="auto", help="bind inputs/outputs once (auto: on for GPU providers)")
    session.add_argument("--opt-level", choices=OPTIMIZATION_LEVELS, default="all", help="graph optimization level (default all)")
    session.add_argument("--threads", type=int, default=0, metavar="N", help="intra-op threads (default: ONNX Runtime's choice)")
    session.add_argument("--inter-threads", type=int, default=0, metavar="N", help="inter-op threads for --parallel")
    session.add_argument("--parallel", action="store_true", help="parallel execution mode (independent branches at once)")
    session.add_argument("--no-arena", action="store_true", help="disable the CPU memory arena")
    session.add_argument("--no-mem-pattern", action="store_true", help="disable memory pattern planning")
    data = parser.add_argument_group("inputs")
    data.add_argument("--batch", type=int, default=1, metavar="N", help="size of a symbolic batch axis (default 1)")
    data.add_argument("--dim", action="append", default=[], metavar="NAME=VALUE", help="size of another symbolic dim (repeatable)")
    data.add_argument("--data", metavar="PATH", help=DATA_HELP)
    data.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    runs = parser.add_argument_group("runs")
    runs.add_argument("--warmup", type=int, default=10, metavar="N", help="untimed warm-up runs (default 10)")
    amount = runs.add_mutually_exclusive_group()
    amount.add_argument("--runs", type=int, default=100, metavar="N", help="timed runs (default 100)")
    amount.add_argument("--duration", type=float, metavar="S", help="time for S seconds instead of a run count")
    runs.add_argument("--pause", type=float, default=0.0, metavar="MS", help="pause between runs in milliseconds")
    if not compare:
        runs.add_argument("--concurrency", type=int, default=1, metavar="N", help="parallel requests on one session")
        runs.add_argument("--per-op", action="store_true", help="also time each operator (separate pass after the timed runs)")
        runs.add_argument("--per-op-runs", type=int, default=20, metavar="N", help="runs in the per-operator pass (default 20)")
    parser.add_argument("--timeout", type=float, metavar="S", help="stop the worker after S seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `profile` subcommand."""
    parser.add_argument("model", help="the ONNX model to profile")
    add_profile_options(parser)
    sweep = parser.add_argument_group("sweep")
    sweep.add_argument("--sweep", nargs="+", metavar="KEY=V1,V2", help="measure a grid, e.g. batch=1,2,4 threads=1,2 concurrency=1,4")
    sweep.add_argument(
        "--latency-limit", type=float, metavar="MS",
        help="p99 limit in ms: with --sweep the best cell must stay under it, without it the model's p99 is checked; "
             "exit status 1 when no cell (or the model) stays under it",
    )


def options_from_args(args: argparse.Namespace) -> ProfileOptions:
    """Validated ProfileOptions from the command line (ConfigError before any worker starts)."""
    values: dict[str, Any] = {
        "provider": args.provider,
        "provider_options": list(args.provider_option),
        "io_binding": args.io_binding,
        "graph_optimization": args.opt_level,
        "intra_op_threads": args.threads,
        "inter_op_threads": args.inter_threads,
        "execution_mode": "parallel" if args.parallel else "sequential",
        "memory_arena": not args.no_arena,
        "memory_pattern": not args.no_mem_pattern,
        "batch": args.batch,
        "dims": parse_dims(args.dim),
        "data": args.data or "",
        "seed": args.seed,
        "warmup": args.warmup,
        "runs": args.runs,
        "duration_s": float(args.duration or 0.0),
        "pause_ms": float(args.pause),
    }
    if hasattr(args, "concurrency"):
        values.update(concurrency=args.concurrency, per_op=args.per_op, per_op_runs=args.per_op_runs)
    return ProfileOptions.from_any(values)


def parse_sweep(items: list[str]) -> dict[str, list[int]]:
    """`["batch=1,2,4", "threads=1,2"]` → {"batch": [1, 2, 4], "threads": [1, 2]}."""
    grid: dict[str, list[int]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or key not in SWEEP_KEYS:
            raise ConfigError(f"--sweep {item}: use {', '.join(k + '=V1,V2' for k in SWEEP_KEYS)}.", "sweep")
        try:
            numbers = [int(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise ConfigError(f"--sweep {item}: values must be whole numbers separated by commas.", "sweep") from None
        if not numbers or min(numbers) < (0 if key == "threads" else 1):
            raise ConfigError(f"--sweep {item}: give at least one value, each {'0 or more' if key == 'threads' else '1 or more'}.", "sweep")
        grid[key] = numbers
    return grid


class ProgressPrinter:
    """Live progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise."""

    def __init__(self, enabled: bool, label: str) -> None:
        self.enabled = enabled
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.last_message = ""

    def __call__(self, record: dict[str, Any]) -> None:
        if not self.enabled or record.get("kind") != "progress":
            return
        message = record.get("message", "")
        now = time.monotonic()
        phase_changed = message.split(" ")[0] != self.last_message.split(" ")[0]
        if not phase_changed and now - self.last < (0.1 if self.tty else 2.0):
            return
        self.last, self.last_message = now, message
        text = f"{self.label}: {message} ({record.get('fraction', 0.0) * 100:.0f}%)"
        if self.tty:
            sys.stderr.write("\r\033[K" + text)
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        """End the live line."""
        if self.enabled and self.tty and self.last_message:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    """Validate the options, run the worker, print the report."""
    options = options_from_args(args)
    if args.latency_limit is not None and args.latency_limit <= 0:
        raise ConfigError("--latency-limit must be a positive number of milliseconds.", "latency_limit_ms")
    printer = ProgressPrinter(not args.json, f"profile {args.model}")
    try:
        if args.sweep:
            grid = parse_sweep(args.sweep)
            params = {"model": args.model, "options": options.to_dict(), "latency_limit_ms": args.latency_limit, **grid}
            result = run_job("sweep", params, printer, timeout_s=args.timeout)
        else:
            result = run_job("profile", {"model": args.model, "options": options.to_dict()}, printer, timeout_s=args.timeout)
            if args.latency_limit is not None:
                result["latency_limit_ms"] = args.latency_limit
                result["within_latency_limit"] = result["latency_ms"]["p99"] <= args.latency_limit
    finally:
        printer.done()
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.sweep:
        print(format_sweep(result))
    else:
        print(format_profile(result))
    return EXIT_LIMIT_MISSED if missed_latency_limit(result) else 0


def missed_latency_limit(result: dict[str, Any]) -> bool:
    """True when a --latency-limit was given and nothing measured stayed under it."""
    if result.get("latency_limit_ms") is None:
        return False
    if "cells" in result:  # a sweep: the limit is missed when no cell qualified for "best"
        return result.get("best") is None
    return not result["within_latency_limit"]


def format_profile(result: dict[str, Any]) -> str:
    """A readable report of one profile result."""
    lat = result["latency_ms"]
    mem = result["memory"]
    inputs = ", ".join(f"{clean(i['name'])} {i['dtype']}{clean(i['shape'], 200)}" for i in result["inputs"])
    lines = [
        f"model      {clean(result['model'], 300)}",
        f"provider   {clean(result['provider'])}   inputs {inputs}",
        f"session    created in {result['session_create_s'] * 1e3:.1f} ms; warm-up {result['warmup']['runs']} runs (excluded)",
        f"runs       {result['runs']} in {result['wall_s']:.2f} s",
        "latency ms " + "  ".join(f"{k} {lat[k]:.3f}" for k in ("min", "mean", "p50", "p90", "p95", "p99", "max")),
        f"throughput {result['throughput_per_s']:.1f} runs/s ({result['samples_per_s']:.1f} samples/s)",
        f"memory     peak RSS {_memory(mem['peak_rss_bytes'])}, session {_memory(mem['session_rss_bytes'])}; GPU: "
        + (f"peak {_memory(mem['gpu']['peak_bytes'])}" if mem["gpu"]["available"] else f"not available ({clean(mem['gpu']['reason'], 300)})"),
    ]
    accuracy = result.get("accuracy")
    if accuracy:
        lines.append(f"accuracy   top-1 {accuracy['top1']:.2f}%, top-5 {accuracy['top5']:.2f}% on {accuracy['samples']} labelled samples")
    if "within_latency_limit" in result:
        verdict = "within" if result["within_latency_limit"] else "OVER"
        lines.append(f"limit      p99 {lat['p99']:.3f} ms is {verdict} the {result['latency_limit_ms']:g} ms limit")
    per_op = result.get("per_op")
    if per_op:
        lines.append(f"per op     kernel time {per_op['kernel_ms_per_run']:.3f} ms/run over {per_op['runs']} runs")
        lines.append("  op type                      ms/run   share  nodes")
        for op in per_op["op_types"][:12]:
            lines.append(f"  {clean(op['op_type'], 28):<28} {op['ms_per_run']:7.3f} {op['share'] * 100:6.1f}%  {op['nodes']:5d}")
        lines.append("  node (model node)                                   op            ms/run   share")
        for node in per_op["nodes"][:15]:
            label = node["node"] if node["model_node"] in (None, node["node"]) else f"{node['node']} ({node['model_node']})"
            label = label if node["model_node"] else f"{node['node']} [not a model node]"
            lines.append(f"  {clean(label, 50):<50} {clean(node['op_type'], 12):<12} {node['ms_per_run']:7.3f} {node['share'] * 100:6.1f}%")
    return "\n".join(lines)


def format_sweep(result: dict[str, Any]) -> str:
    """A readable grid of sweep cells and the best configuration."""
    lines = [f"model {clean(result['model'], 300)}", "threads  batch  concurrency    p50 ms    p99 ms   runs/s  samples/s"]
    for c in result["cells"]:
        lines.append(
            f"{c['threads']:7d}  {c['batch']:5d}  {c['concurrency']:11d}  {c['p50_ms']:8.3f}  {c['p99_ms']:8.3f}  {c['throughput_per_s']:7.1f}  {c['samples_per_s']:9.1f}"
        )
    best = result.get("best")
    if best:
        lines.append(f"best: threads {best['threads']}, batch {best['batch']}, concurrency {best['concurrency']} — {result['best_reason']}")
    else:
        lines.append(f"best: none — {result['best_reason']}")
    return "\n".join(lines)


def _memory(value: int | None) -> str:
    # Byte figures in powers of 1024 (KiB/MiB), 'n/a' where the worker could not measure.
    return size(value, missing="n/a")
