"""What every registered pass (and a few recipes) does to the sample CNN and transformer.

For each step: node count, size on disk, fidelity against the original (worst cosine, max abs
error, top-1 agreement) and latency against the original on ONNX Runtime CPU, measured in
one interleaved run (A B A B ...) so machine noise hits both sides alike. For comparison:
onnxsim on its own and ONNX Runtime's own extended optimization saved through
SessionOptions.optimized_model_filepath. Prints a table; asserts nothing.

Both sides of every latency pair run with ORT's full graph optimization (how models are
deployed), so passes that only do what ORT does at load time show a speed-up near 1.0.
Passes that go through `load_model` keep the value_info of its shape inference; with it ORT
fuses SkipLayerNormalization in the sample transformer, which on a small model on a CPU can
be slower than the plain Add + LayerNormalization (measured about 0.8x on a 2-core VM).

    .venv/bin/python benchmarks/passes.py [--runs 50] [--threads 1] [--models cnn transformer]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from onnx_workbench.pipelines.errors import WorkbenchError  # noqa: E402
from onnx_workbench.pipelines.model import load_model  # noqa: E402
from onnx_workbench.pipelines.model_files import model_size_bytes  # noqa: E402
from onnx_workbench.pipelines.passes.engine import all_passes  # noqa: E402
from onnx_workbench.pipelines.recipe import Recipe  # noqa: E402
from onnx_workbench.pipelines.replay import run_recipe  # noqa: E402
from onnx_workbench.pipelines.speed import quick_latency_comparison  # noqa: E402
from onnx_workbench.pipelines.verify import Tolerance, verify_models  # noqa: E402

MODELS = {
    "cnn": ROOT / "assets" / "models" / "resnet_small.onnx",
    "transformer": ROOT / "assets" / "models" / "transformer_small.onnx",
}
# Recipes by intent; steps that are not registered are dropped, so the script runs on any tree.
RECIPES: dict[str, dict[str, list[str]]] = {
    "cnn": {
        "recipe: fuse": ["cleanup", "fold-batchnorm", "fuse-matmul-add", "simplify"],
        "recipe: fuse+int8 static": ["cleanup", "fold-batchnorm", "quantize-static"],
        "recipe: fuse+prune+int8": ["cleanup", "prune-channels", "fold-batchnorm", "quantize-static"],
    },
    "transformer": {
        "recipe: fuse": ["cleanup", "simplify", "transformer-fusion"],
        "recipe: fuse+int8 dynamic": ["cleanup", "transformer-fusion", "quantize-dynamic"],
        "recipe: fuse+fp16": ["cleanup", "transformer-fusion", "to-fp16"],
    },
}


@dataclass
class Row:
    """One line of the table."""

    model: str
    step: str
    nodes: int | None = None
    size: int | None = None
    cosine: float | None = None
    max_abs: float | None = None
    top1: float | None = None
    base_ms: float | None = None
    new_ms: float | None = None
    seconds: float | None = None
    note: str = ""


def measure(
    model_name: str, step: str, original: Path, produced: Path, runs: int, samples: int, seconds: float, threads: int
) -> Row:
    """Nodes, size, fidelity and interleaved latency of `produced` against `original`."""
    row = Row(model_name, step, seconds=seconds)
    row.nodes = len(load_model(produced, infer_shapes=False).proto.graph.node)
    row.size = model_size_bytes(produced)
    try:
        report = verify_models(original, produced, samples=samples, tolerance=Tolerance(min_cosine=None))
        row.cosine, row.max_abs = report.worst_cosine(), report.worst_max_abs()
        top1 = [o.top1 for o in report.outputs if o.top1 is not None]
        row.top1 = min(top1) if top1 else None
        latency = quick_latency_comparison(original, produced, runs=runs, warmup=3, threads=threads)
        row.base_ms, row.new_ms = latency.parent_ms, latency.child_ms
    except WorkbenchError as exc:
        row.note = f"not run: {exc}"
    return row


def timed(action: Callable[[], object]) -> float:
    """Seconds `action` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def onnxsim_alone(source: Path, target: Path) -> None:
    """onnxsim with its defaults, for comparison with our passes."""
    import onnx
    import onnxsim

    simplified, ok = onnxsim.simplify(onnx.load(str(source)))
    if not ok:
        raise RuntimeError("onnxsim could not validate its result")
    onnx.save(simplified, str(target))


def ort_extended(source: Path, target: Path) -> None:
    """ONNX Runtime's extended optimization, saved to a file."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.log_severity_level = 3
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def bench_model(model_name: str, source: Path, work: Path, runs: int, samples: int, threads: int) -> list[Row]:
    """Every pass alone, the recipes, and the two reference tools on one model."""
    rows = [measure(model_name, "original", source, source, runs, samples, 0.0, threads)]
    registered = {p.name for p in all_passes()}
    plans: list[tuple[str, list[str]]] = [(p.name, [p.name]) for p in all_passes()]
    for label, steps in RECIPES.get(model_name, {}).items():
        kept = [s for s in steps if s in registered]
        if kept:
            plans.append((f"{label} ({' > '.join(kept)})", kept))
    for index, (label, steps) in enumerate(plans):
        target = work / f"{model_name}-{index}.onnx"
        try:
            recipe = Recipe.from_steps([(s, {}) for s in steps])
            seconds = timed(lambda: run_recipe(source, recipe, target))
        except WorkbenchError as exc:
            rows.append(Row(model_name, label, note=f"refused: {exc}"))
            continue
        rows.append(measure(model_name, label, source, target, runs, samples, seconds, threads))
    for label, tool in (("onnxsim alone", onnxsim_alone), ("ORT extended (optimized_model_filepath)", ort_extended)):
        target = work / f"{model_name}-{tool.__name__}.onnx"
        try:
            seconds = timed(lambda: tool(source, target))
        except Exception as exc:  # noqa: BLE001 - a comparison tool failing is a table row, not a crash
            rows.append(Row(model_name, label, note=f"failed: {str(exc).splitlines()[0][:80]}"))
            continue
        rows.append(measure(model_name, label, source, target, runs, samples, seconds, threads))
    return rows


def print_table(rows: list[Row]) -> None:
    """Fixed-width table; latency ratio is original / new (above 1 = faster)."""
    header = f"{'model':<12}{'step':<58}{'nodes':>6}{'size KB':>10}{'cosine':>11}{'max abs':>10}{'top-1':>7}{'orig ms':>9}{'new ms':>9}{'speedup':>8}{'pass s':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        if r.nodes is None:
            print(f"{r.model:<12}{r.step[:57]:<58}  {r.note}")
            continue
        speed = f"{r.base_ms / r.new_ms:.2f}x" if r.base_ms and r.new_ms else "-"
        print(
            f"{r.model:<12}{r.step[:57]:<58}{r.nodes:>6}{r.size / 1024:>10.1f}"
            f"{_num(r.cosine, '.6f'):>11}{_num(r.max_abs, '.2e'):>10}{_num(r.top1, '.0%'):>7}"
            f"{_num(r.base_ms, '.3f'):>9}{_num(r.new_ms, '.3f'):>9}{speed:>8}{_num(r.seconds, '.2f'):>8}"
            + (f"  {r.note[:100]}" if r.note else "")
        )


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=sorted(MODELS))
    parser.add_argument("--runs", type=int, default=50, help="timed runs per model in each interleaved pair")
    parser.add_argument("--samples", type=int, default=4, help="input samples for the fidelity check")
    # One thread by default: on a small shared machine, ORT's thread pool spinning against
    # other processes swamps the differences between models.
    parser.add_argument("--threads", type=int, default=1, help="ORT intra-op threads (0 = ORT default)")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-passes-") as work:
        for name in args.models:
            rows.extend(bench_model(name, MODELS[name], Path(work), args.runs, args.samples, args.threads))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
