"""Each step is held to a tolerance that fits it: exact rewrites near 1.0, INT8 and pruning looser."""
from __future__ import annotations

import json

from onnx_workbench.app.cli import main
from onnx_workbench.pipelines.passes.base import DEFAULT_MIN_COSINE
from onnx_workbench.pipelines.passes.engine import all_passes, get_pass
from onnx_workbench.pipelines.tolerances import default_tolerance
from onnx_workbench.pipelines.versions import ROOT_ID, Workspace


def test_every_pass_declares_a_default_by_kind():
    assert get_pass("fold-batchnorm").min_cosine == 0.9999
    assert get_pass("quantize-static").min_cosine == 0.98
    assert get_pass("to-fp16").min_cosine == 0.999  # its own, closer than its category's INT8 bound
    for cls in all_passes():
        assert 0.0 < cls.min_cosine <= 1.0
    assert DEFAULT_MIN_COSINE["cleanup"] > DEFAULT_MIN_COSINE["quantize"] > DEFAULT_MIN_COSINE["prune"]


def test_a_chain_is_held_to_its_loosest_step():
    assert default_tolerance(["fold-batchnorm"]).min_cosine == 0.9999
    assert default_tolerance(["fold-batchnorm", "quantize-static"]).min_cosine == 0.98
    assert default_tolerance(["quantize-static", "cleanup"]).min_cosine == 0.98  # errors accumulate


def test_passes_json_shows_the_default(capsys):
    assert main(["passes", "--json"]) == 0
    described = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert described["quantize-static"]["min_cosine"] == 0.98
    assert described["fold-batchnorm"]["min_cosine"] == 0.9999


def test_a_session_step_records_the_tolerance_it_was_held_to(tmp_path, sample_cnn):
    ws = Workspace.create(sample_cnn, tmp_path / "ws", samples=2)
    folded = ws.apply(ROOT_ID, "fold-batchnorm")
    assert folded.metrics["fidelity"]["tolerance"]["min_cosine"] == 0.9999 and folded.metrics["fidelity"]["passed"]
    quantized = ws.apply(folded.id, "quantize-static", {"samples": 2, "per_channel": True})
    assert quantized.metrics["fidelity"]["tolerance"]["min_cosine"] == 0.98
