"""Static INT8 of legacy exports: our one-step quantize-static against plain ONNX Runtime by hand.

For each legacy model (opset 9, weights listed as graph inputs: torch's legacy exporter with
keep_initializers_as_inputs=True, or the model zoo's IR 3), two INT8 models are made from the
same calibration arrays:

- ours: `quantize-static` in one step on the file as it is (calibration "arrays");
- by hand, as ONNX Runtime's documentation has a user do it: onnx's version converter to
  opset 13 (IR 7), initializers taken out of the graph inputs, `quant_pre_process`, then
  `quantize_static` (QDQ, MinMax, per tensor) with the types ORT recommends for x86 CPUs and
  our defaults: uint8 activations, int8 weights (ORT's own default, int8 activations, runs
  about half as fast on a CPU without VNNI, which would flatter us).

Then the FP32 model (upgraded and cleaned the same way, so ONNX Runtime can fold it: the
fastest FP32 there is) and both INT8 models are timed round-robin in one process with the same
threads, each round starting one model later (FP32 A B, A B FP32, B FP32 A, ...), and their
outputs are compared with the original file's on held-out random inputs (cosine over all
values). It also says whether the two INT8 graphs are byte-identical (nodes, initializers,
inputs, outputs; the opset imports aside), and if not, how many nodes differ. Prints figures
only, never pass/fail.

    .venv/bin/python benchmarks/legacy_int8.py [--corpus build/corpus] [--runs 20] [--threads 1] [--samples 16]

Models: legacy/resnet50.onnx and legacy/densenet121.onnx from the model corpus (`make corpus`,
benchmarks/corpus.py) when present, else a generated opset-9 IR-3 ResNet with its weights as
graph inputs. The calibration arrays are
stored (N, 1, C, H, W), N batch-1 samples stacked, the way most people save them.
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

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import helper  # noqa: E402

from onnx_workbench.pipelines.inputs import input_specs  # noqa: E402
from onnx_workbench.pipelines.passes.engine import run_pass  # noqa: E402
from onnx_workbench.pipelines.speed import interleaved_timings  # noqa: E402
from onnx_workbench.pipelines.verify import verify_models  # noqa: E402

LEGACY_MODELS = {"ResNet-50": "legacy/resnet50.onnx", "DenseNet-121": "legacy/densenet121.onnx"}
HELD_OUT_SEED = 100  # verification inputs: other seeds than the calibration arrays


def main() -> None:
    """Quantize each legacy model both ways, then time and compare all three versions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "build" / "corpus", help="folder made by benchmarks/corpus.py")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per model (round-robin)")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads for every model (0: ORT default)")
    parser.add_argument("--samples", type=int, default=16, help="calibration samples (the same arrays for both)")
    parser.add_argument("--eval", type=int, default=8, help="held-out samples for the fidelity figures")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # ORT's quantization tools log advice at WARNING
    print(f"load average before: {_load()}; threads {args.threads}; calibration {args.samples} samples; {args.runs} timed runs")
    with tempfile.TemporaryDirectory(prefix="legacy-int8.") as folder:
        for label, source in _models(args.corpus, Path(folder)):
            _benchmark(label, source, Path(folder), args)
    print(f"load average after: {_load()}")


def _models(corpus: Path, folder: Path) -> list[tuple[str, Path]]:
    found = [(label, corpus / name) for label, name in LEGACY_MODELS.items() if (corpus / name).is_file()]
    if found:
        return found
    from sample_models import build_resnet

    model = build_resnet(opset=9, image_size=128)
    model.ir_version = 3  # the model zoo's vintage: every weight is also a graph input
    model.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in model.graph.initializer)
    path = folder / "generated_resnet_opset9_ir3.onnx"
    onnx.save(model, str(path))
    print(f"(no legacy models in {corpus}: using a generated opset-9 IR-3 ResNet instead)")
    return [("generated ResNet (opset 9, IR 3)", path)]


def _benchmark(label: str, source: Path, folder: Path, args: argparse.Namespace) -> None:
    work = folder / source.stem
    work.mkdir()
    model = onnx.load(str(source), load_external_data=False)
    data = calibration_arrays(model, args.samples, work / "calibration.npz")

    started = time.perf_counter()
    ours = work / "ours.int8.onnx"
    run_pass("quantize-static", source, ours, {"calibration": "arrays", "data": str(data), "samples": args.samples})
    ours_s = time.perf_counter() - started

    started = time.perf_counter()
    fp32 = upgrade_by_hand(source, work / "fp32.opset13.onnx")
    by_hand = quantize_by_hand(fp32, data, work / "by_hand.int8.onnx")
    hand_s = time.perf_counter() - started

    timings = interleaved_timings([fp32, ours, by_hand], runs=args.runs, warmup=3, threads=args.threads)
    fp32_ms, ours_ms, hand_ms = (statistics.median(t) / 1e6 for t in timings)
    cosine = {
        name: verify_models(source, path, samples=args.eval, seed=HELD_OUT_SEED).worst_cosine()
        for name, path in (("ours", ours), ("by hand", by_hand))
    }
    print(f"\n{label}  ({source.name}, opset {_opset(model)}, IR {model.ir_version}, {len(_weight_inputs(model))} weights listed as inputs)")
    print(f"  FP32 (opset 13, weights out of inputs)  {fp32_ms:8.2f} ms")
    for name, ms, seconds in (("ours: quantize-static, one step", ours_ms, ours_s), ("ORT by hand: upgrade, clean, pre-process, QDQ", hand_ms, hand_s)):
        key = "ours" if name.startswith("ours") else "by hand"
        print(f"  {name:<46} {ms:8.2f} ms  speed-up {fp32_ms / ms:5.2f}x  cosine {cosine[key]:.6f}  (made in {seconds:.0f} s)")
    print(f"  ours vs by hand: {hand_ms / ours_ms:.2f}x the speed; {_graph_difference(ours, by_hand)}; load average now {_load()}")


def calibration_arrays(model: onnx.ModelProto, count: int, path: Path) -> Path:
    """Seeded random samples of every input, stacked (N, 1, ...) for batch-1 inputs."""
    rng = np.random.default_rng(0)
    arrays = {spec.name: rng.standard_normal((count, *spec.shape)).astype(spec.dtype) for spec in input_specs(model)}
    np.savez(path, **arrays)
    return path


def upgrade_by_hand(source: Path, target: Path) -> Path:
    """What a user does first: opset 13 with onnx's converter, weights out of the graph inputs."""
    from onnx import version_converter

    model = version_converter.convert_version(onnx.load(str(source)), 13)
    model.ir_version = max(model.ir_version, 7)
    weights = set(_weight_inputs(model))
    kept = [v for v in model.graph.input if v.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    onnx.save(model, str(target))
    return target


def quantize_by_hand(fp32: Path, data: Path, target: Path) -> Path:
    """ORT's documented recipe: quant_pre_process, then quantize_static (QDQ) on the same arrays."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = target.with_name("by_hand.pre.onnx")
    quant_pre_process(str(fp32), str(prepared))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            with np.load(data) as arrays:
                samples = {name: arrays[name] for name in arrays.files}
            self.feeds = iter([{name: values[i] for name, values in samples.items()} for i in range(len(next(iter(samples.values()))))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.feeds, None)

    quantize_static(
        str(prepared),
        str(target),
        Reader(),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    return target


def _graph_difference(a: Path, b: Path) -> str:
    """'identical graphs', or how many nodes differ (weights included, opset imports aside)."""
    first, second = (onnx.load(str(p)).graph for p in (a, b))
    if first.SerializeToString(deterministic=True) == second.SerializeToString(deterministic=True):
        return "identical graphs"
    nodes = sum(x != y for x, y in zip(first.node, second.node)) + abs(len(first.node) - len(second.node))
    return f"graphs differ ({nodes} of {len(first.node)} nodes)"


def _weight_inputs(model: onnx.ModelProto) -> list[str]:
    initializers = {t.name for t in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name in initializers]


def _opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
