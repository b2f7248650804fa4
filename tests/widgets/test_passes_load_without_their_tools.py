"""Listing the passes imports their declarations only: onnx-ir, onnxscript and ONNX Runtime wait for a pass to run.

The GUI process runs no pass, yet the Optimize panel lists every one; importing those tools
there held the GIL for up to 115 ms at a time and stalled the window. Run in a fresh
interpreter: this test process has imported them all long before.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

# sympy and onnx.reference come with onnx-ir and onnxscript; onnxruntime.quantization with calibration.
TOOLS = ("onnx_ir", "onnxscript", "sympy", "onnx.reference", "onnxruntime", "onnxruntime.quantization")

PANEL = """
import json, sys
from PySide6.QtWidgets import QApplication
from onnx_workbench.widgets.optimize_panel import OptimizePanel

app = QApplication(sys.argv[:1])
panel = OptimizePanel()
seen = {}

def note(moment):
    seen[moment] = [name for name in %r if name in sys.modules]

panel.ensure_loaded()  # the pass list and the presets, as load_in_background reads them
note("listed")
names = panel.pass_names()
for name in names:
    if name != "ort-optimize":
        panel.form(name)
note("forms built")
panel.form("ort-optimize")
note("ort-optimize's form built")
print(json.dumps({"passes": names, "presets": sorted(panel.presets), "seen": seen}))
""" % (TOOLS,)

CLI = """
import contextlib, io, json, sys
from onnx_workbench.app.cli import main

with contextlib.redirect_stdout(io.StringIO()) as listing:
    code = main(["passes"])
print(json.dumps({"code": code, "lines": len(listing.getvalue().splitlines()),
                  "seen": [name for name in %r if name in sys.modules]}))
""" % (TOOLS,)


def _run(script: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_optimize_panel_lists_passes_and_builds_their_forms_without_their_tools() -> None:
    result = _run(PANEL)
    assert len(result["passes"]) >= 15 and "quantize-static" in result["passes"]
    assert result["presets"] == ["CPU INT8", "Fold and simplify", "Half precision", "Transformer INT8"]
    assert result["seen"]["listed"] == []
    assert result["seen"]["forms built"] == []
    # Its provider choices are this machine's ONNX Runtime build: asked when the form is shown.
    assert result["seen"]["ort-optimize's form built"] == ["onnxruntime"]


def test_the_passes_command_imports_onnx_runtime_only_for_the_provider_list() -> None:
    result = _run(CLI)
    assert result["code"] == 0 and result["lines"] > 15
    assert result["seen"] == ["onnxruntime"]
