"""`onnx-workbench render MODEL -o graph.png|graph.svg`: the graph view as an image, no window.

    onnx-workbench render model.onnx -o graph.svg --overlay macs --dim sequence=256
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from onnx_workbench.app.commands.text import clean, parse_dims
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.safe_write import check_targets, source_files

NAME = "render"
HELP = "draw a model's graph to a PNG or SVG file (optionally coloured by MACs, FLOPs or params)"

# --overlay choice (a per-node field of pipelines.analysis.LayerInfo) -> legend label. The
# figures are plain counts, so the legend shows no unit.
OVERLAYS = {"macs": "MACs", "flops": "FLOPs", "params": "Parameters"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `render` subcommand."""
    parser.add_argument("model", help="ONNX model to draw")
    parser.add_argument("-o", "--output", required=True, help="image to write: .png or .svg")
    parser.add_argument("--overlay", choices=sorted(OVERLAYS), help="colour nodes by this per-node figure")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=VALUE",
                        help="size of a symbolic dim for --overlay figures (repeatable), e.g. batch=8")
    parser.add_argument("--max-size", type=int, default=4096, metavar="PX",
                        help="longest side of the image in pixels (default 4096)")
    parser.add_argument("--columns", type=int, default=0, metavar="N",
                        help="wrap the drawing into N columns (default: automatic for very tall graphs)")


def run(args: argparse.Namespace) -> int:
    """Load the model, lay it out in an offscreen graph view and export it."""
    output = Path(args.output)
    if output.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"-o {output.name}: the image must end in .png or .svg.", "output")
    if args.max_size < 64:
        raise ConfigError(f"--max-size {args.max_size}: use at least 64 pixels.", "max_size")
    if args.columns < 0:
        raise ConfigError(f"--columns {args.columns}: use 0 (automatic) or a positive number.", "columns")
    dims = parse_dims(args.dim)
    check_targets([output], source_files(args.model))
    # A window system is not needed to draw into an image; without a display use offscreen.
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    loaded = load_model(args.model, weights=False)  # a picture of the graph needs no weight
    overlay = _overlay(loaded.proto, args.overlay, dims) if args.overlay else None

    from PySide6.QtWidgets import QApplication

    from onnx_workbench.widgets.graph_view import GraphView

    app = QApplication.instance() or QApplication([])  # noqa: F841 - must outlive the view
    view = GraphView()
    view.set_model(loaded.proto)
    written = view.render_to_image(output, overlay, max_side=args.max_size, columns=args.columns,
                                   protected=source_files(args.model))
    print(f"wrote {clean(written, 300)} ({len(view.node_names())} nodes)")
    return 0


def _overlay(model, which: str, dims: dict[str, int]):  # noqa: ANN001, ANN202 - lazy Qt import
    """Per-node MACs, FLOPs or parameter counts from pipelines.analysis, as an Overlay."""
    from onnx_workbench.pipelines.analysis import analyze
    from onnx_workbench.widgets.graph_view import Overlay

    analysis = analyze(model, dims)
    return Overlay({layer.name: float(getattr(layer, which)) for layer in analysis.layers}, OVERLAYS[which])
