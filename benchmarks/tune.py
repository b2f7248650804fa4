"""Auto-optimize against what a user gets without it: the best single pass and ONNX Runtime by hand.

For each model, `onnx-workbench tune`'s search (pipelines.tune) runs within a time budget, then
four versions are timed round-robin in one process with the same threads (pipelines.speed):

- FP32: the original file;
- the best single pass the search found (the fastest one-step candidate within the budget);
- plain ONNX Runtime by hand, as its documentation has a user do it: `quantize_static` (QDQ,
  per tensor, uint8 activations, int8 weights, after onnx's opset-13 conversion and
  `quant_pre_process`) for CNNs, `quantize_dynamic` with its defaults for transformers;
- the tuned model (the search's best within the budget).

Fidelity is the search's own verification against the original (top-1 drop on the labelled
held-out split for the trained classifier, cosine on random inputs otherwise), and the same for
the hand-made model. Prints figures only, never pass/fail.

    .venv/bin/python benchmarks/tune.py [--only digits,resnet50,bert] [--budget 15] [--threads 1]

Cases: the committed trained digit classifier (`--max-accuracy-drop 0.5` on its held-out split),
and, when the model corpus is present (benchmarks/corpus.py; `--corpus`), the legacy opset-9
ResNet-50 (`--min-cosine 0.99`) and the dynamo BERT-base (`--min-cosine 0.999`), random weights.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import numpy as np  # noqa: E402
import onnx  # noqa: E402

from legacy_int8 import calibration_arrays, quantize_by_hand, upgrade_by_hand  # noqa: E402
from onnx_workbench.pipelines.speed import interleaved_latencies  # noqa: E402
from onnx_workbench.pipelines.tune.executor import LocalExecutor  # noqa: E402
from onnx_workbench.pipelines.tune.search import CandidateResult, Search, TuneSettings  # noqa: E402
from onnx_workbench.pipelines.units import size  # noqa: E402
from onnx_workbench.pipelines.verify import Tolerance, verify_models  # noqa: E402

CASES = {
    "digits": ("trained digit CNN", ROOT / "assets" / "models" / "digits_cnn.onnx", "static",
               {"max_accuracy_drop": 0.5, "data": str(ROOT / "assets" / "data" / "digits_test.npz")}),
    "resnet50": ("ResNet-50 (legacy, opset 9)", Path("legacy/resnet50.onnx"), "static", {"min_cosine": 0.99}),
    "bert": ("BERT-base (dynamo, opset 18)", Path("dynamo/bert_base.onnx"), "dynamic", {"min_cosine": 0.999}),
}


def main() -> None:
    """Tune each model, make the by-hand baseline, time the four versions together, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="digits,resnet50,bert", help="comma-separated cases")
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("CORPUS", "/work/corpus/models")))
    parser.add_argument("--budget", type=float, default=15.0, help="minutes of search per model")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for every timing")
    parser.add_argument("--runs", type=int, default=30, help="round-robin timed runs of the final table")
    args = parser.parse_args()
    rows = []
    for key in args.only.split(","):
        label, model, hand_kind, budget = CASES[key]
        model = model if model.is_absolute() else args.corpus / model
        if not model.is_file():
            print(f"{label}: {model} not found (make corpus); skipped", file=sys.stderr)
            continue
        rows.append(_case(label, model, hand_kind, budget, args))
    print(f"\nload average {' '.join(f'{v:.1f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs, "
          f"{args.threads} thread(s), budget {args.budget:g} min per model, {args.runs} round-robin runs")
    print("| model | budget | FP32 ms | best single pass | ORT by hand | tuned | tuned recipe |")
    print("|---|---|---:|---|---|---|---|")
    for row in rows:
        print(row)


def _case(label: str, model: Path, hand_kind: str, budget: dict[str, Any], args: argparse.Namespace) -> str:
    settings = TuneSettings(budget_minutes=args.budget, threads=args.threads, **budget)
    search = Search(model, settings, LocalExecutor(), on_event=_log)
    result = search.run()
    print(f"{label}: {len(result.results)} candidates, stopped: {result.stopped}, session {result.workspace.root}", file=sys.stderr)
    tuned = result.best()
    singles = [r for r in result.results if r.within_budget and len(r.candidate.steps) == 1]
    single = max(singles, key=lambda r: r.speedup, default=None)
    original = result.workspace.path_of("original")
    with tempfile.TemporaryDirectory(prefix="tune-bench-") as scratch:
        hand, hand_note = _by_hand(hand_kind, original, Path(scratch), settings)
        paths = [original] + [p for p in (_path(result, single), hand, _path(result, tuned)) if p is not None]
        latencies = dict(zip(paths, interleaved_latencies(paths, runs=args.runs, warmup=3, threads=args.threads)))
        base = latencies[original]
        hand_cell = f"failed: {hand_note}" if hand is None else f"{_speed(base, latencies[hand])}, {hand_note}"
    constraint = (f"top-1 drop ≤ {settings.max_accuracy_drop:g} pts" if settings.max_accuracy_drop is not None
                  else f"cosine ≥ {settings.min_cosine:g}")
    return (f"| {label} | {constraint} | {base:.2f} | {_cell(result, single, latencies, base)} | {hand_cell} | "
            f"{_cell(result, tuned, latencies, base)} | {tuned.candidate.name if tuned else 'none within the budget'} |")


def _by_hand(kind: str, original: Path, folder: Path, settings: TuneSettings) -> tuple[Path | None, str]:
    """ONNX Runtime's quantizer used as its documentation shows, and its fidelity in words."""
    from onnxruntime.quantization import quantize_dynamic

    target = folder / "by_hand.onnx"
    try:
        if kind == "static":
            fp32 = upgrade_by_hand(original, folder / "fp32.opset13.onnx")
            data = _calibration_inputs(settings.data, folder / "calib.npz") if settings.data else calibration_arrays(
                onnx.load(str(fp32), load_external_data=False), 16, folder / "calib.npz")
            quantize_by_hand(fp32, data, target)
        else:
            quantize_dynamic(str(original), str(target))
        report = verify_models(original, target, data=settings.data, samples=None if settings.data else 4,
                               tolerance=Tolerance(min_cosine=settings.min_cosine, max_accuracy_drop=settings.max_accuracy_drop))
    except Exception as exc:  # noqa: BLE001 - a baseline that fails is a figure too
        return None, str(exc).splitlines()[0][:120]
    if report.accuracy is not None:
        return target, f"top-1 drop {report.accuracy.top1_drop:.2f} pts"
    return target, f"cosine {report.worst_cosine():.5f}"


def _calibration_inputs(data: str, path: Path) -> Path:
    """The first 32 samples of a labelled .npz, inputs only, stacked (N, 1, ...) as the by-hand reader takes them."""
    with np.load(data) as arrays:
        np.savez(path, **{name: arrays[name][:32, None] for name in arrays.files if name != "labels"})
    return path


def _path(result: Any, candidate: CandidateResult | None) -> Path | None:
    return result.workspace.path_of(candidate.version_id) if candidate is not None else None


def _cell(result: Any, candidate: CandidateResult | None, latencies: dict[Path, float], base: float) -> str:
    if candidate is None:
        return "none within the budget"
    entry = candidate.to_dict()
    fidelity = (f"top-1 drop {entry['accuracy']['top1_drop']:.2f} pts" if entry["accuracy"]
                else f"cosine {entry['worst_cosine']:.5f}")
    return f"{_speed(base, latencies[_path(result, candidate)])}, {fidelity}, {size(candidate.size_bytes)}"


def _speed(base: float, ms: float) -> str:
    return f"{ms:.2f} ms ({base / ms:.2f}×)"


def _log(kind: str, data: dict[str, Any]) -> None:
    if kind == "candidate-finished":
        verdict = data["error"] or f"{data['speedup']:.2f}x, {'within' if data['fidelity_passed'] else 'OUT OF'} budget"
        print(f"  {verdict}: {data['name']}", file=sys.stderr, flush=True)
    elif kind == "stage":
        print(f"  {data['name']}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
