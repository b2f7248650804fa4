"""`onnx-workbench render --overlay`: each choice colours nodes by the matching per-node figure."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from onnx_workbench.app.commands.render import OVERLAYS, _overlay


def test_each_overlay_reads_its_own_figure(sample_cnn: Path) -> None:
    model = onnx.load(str(sample_cnn))
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    conv_params = sum(int(np.prod(weights[name].shape)) for name in conv.input if name in weights)
    overlays = {which: _overlay(model, which, {"batch": 1}) for which in OVERLAYS}
    assert {which: o.label for which, o in overlays.items()} == {"macs": "MACs", "flops": "FLOPs", "params": "Parameters"}
    assert overlays["params"].values[conv.name] == conv_params
    assert overlays["macs"].values[conv.name] > conv_params  # a Conv reuses each weight at every position
    assert all(overlays["flops"].values[n] >= overlays["macs"].values[n] for n in overlays["macs"].values)
