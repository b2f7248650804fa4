"""Open time: load + validate + shape inference, then analyze, for the samples and big graphs.

    python benchmarks/open_model.py [--nodes 10000 50000] [--repeat 3]

Prints figures (best of --repeat runs); never passes or fails.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "assets"))

import sample_models  # noqa: E402

from onnx_workbench.pipelines.analysis import analyze  # noqa: E402
from onnx_workbench.pipelines.model import load_model  # noqa: E402


def best_of(repeat: int, work) -> tuple[float, object]:  # noqa: ANN001 - any callable
    """Fastest wall time of `repeat` calls and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(path: Path, repeat: int) -> None:
    """Print load and analyze times for one model file."""
    load_s, loaded = best_of(repeat, lambda: load_model(path))
    analyze_s, analysis = best_of(repeat, lambda: analyze(loaded.proto, path=path))
    print(
        f"{path.name:<28} {analysis.nodes:>7,} nodes {loaded.size_bytes / 1e6:>7.2f} MB   "
        f"load+validate {load_s * 1000:>8.1f} ms   analyze {analyze_s * 1000:>8.1f} ms   "
        f"total {(load_s + analyze_s) * 1000:>8.1f} ms   ({analysis.macs / 1e6:.1f} M MACs)"
    )


def main() -> None:
    """Run the benchmark and print one line per model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="*", default=[10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    models = ROOT / "assets" / "models"
    for name in ("resnet_small.onnx", "transformer_small.onnx"):
        measure(models / name, args.repeat)
    with tempfile.TemporaryDirectory(prefix="onnx-workbench-bench-") as folder:
        for count in args.nodes:
            path = Path(folder) / f"layered_{count}.onnx"
            path.write_bytes(sample_models.build_layered_graph(count).SerializeToString())
            measure(path, max(1, args.repeat if count <= 10_000 else 1))


if __name__ == "__main__":
    main()
