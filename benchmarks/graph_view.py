"""Graph view figures: layout time and time to first full paint for 1k–50k nodes, render wall time.

Prints figures only (never pass/fail). Run: .venv/bin/python benchmarks/graph_view.py [sizes…]
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "assets")]

import onnx  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from onnx_workbench.pipelines.graph_layout import extract_graph  # noqa: E402
from onnx_workbench.pipelines.graph_layout.layered import layout_graph_info  # noqa: E402
from sample_models import build_layered_graph  # noqa: E402
from onnx_workbench.widgets.graph_view import GraphView  # noqa: E402

SIZES = (1_000, 5_000, 20_000, 50_000)


def first_paint(app: QApplication, model: onnx.ModelProto) -> tuple[float, float, float]:
    """Seconds for set_model, for showing until the first frame is painted, and for a fit-all frame."""
    view = GraphView()
    view.resize(1200, 800)
    start = time.perf_counter()
    view.set_model(model)
    view.finish_building()  # all items in one go: their whole cost (the window adds them a slice per turn)
    built = time.perf_counter() - start
    start = time.perf_counter()
    view.show()
    app.processEvents()
    view.viewport().grab()  # forces a full paint of what is on screen
    shown = time.perf_counter() - start
    start = time.perf_counter()
    view.fit()
    view.viewport().grab()
    fitted = time.perf_counter() - start
    view.close()
    view.deleteLater()
    app.processEvents()
    return built, shown, fitted


def render_wall(model: onnx.ModelProto) -> float:
    """Wall time of `onnx-workbench render` (a fresh process, as a user would run it)."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "model.onnx"
        onnx.save(model, source)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "onnx_workbench.app.cli", "render", str(source), "-o", str(Path(folder) / "g.png")],
            cwd=ROOT, check=True,
        )
        return time.perf_counter() - start


def main() -> None:
    """Print one line per graph size, then the render wall time for 20k nodes."""
    sizes = [int(arg) for arg in sys.argv[1:]] or list(SIZES)
    app = QApplication.instance() or QApplication([])
    print(f"{'nodes':>7} {'extract s':>9} {'layout s':>9} {'set_model s':>11} {'first paint s':>13} "
          f"{'fit paint s':>11} {'total s':>8}")
    for size in sizes:
        model = build_layered_graph(size)
        start = time.perf_counter()
        info = extract_graph(model.graph)
        extracted = time.perf_counter() - start
        start = time.perf_counter()
        layout_graph_info(info)
        laid = time.perf_counter() - start
        built, shown, fitted = first_paint(app, model)
        print(f"{len(model.graph.node):>7} {extracted:>9.3f} {laid:>9.3f} {built:>11.3f} {shown:>13.3f} "
              f"{fitted:>11.3f} {built + shown:>8.3f}", flush=True)
    if 20_000 in sizes or not sys.argv[1:]:
        print(f"render 20k to PNG (fresh process, wall): {render_wall(build_layered_graph(20_000)):.2f} s")


if __name__ == "__main__":
    main()
