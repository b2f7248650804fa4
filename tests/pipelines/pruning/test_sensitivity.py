"""Sensitivity scan, derived per-layer ratios, and the prune-scan command."""
from __future__ import annotations

import json
import math

import numpy as np
import onnx
import pytest
from prune_models import mlp, residual_concat_cnn, run

from onnx_workbench.app.cli import main
from onnx_workbench.pipelines.errors import Cancelled, ConfigError
from onnx_workbench.pipelines.passes.engine import run_pass
from onnx_workbench.pipelines.pruning.sensitivity import derive_ratios, scan_sensitivity
from onnx_workbench.pipelines.results import SensitivityRow, SensitivityTable


@pytest.fixture
def dead_cnn(tmp_path) -> str:
    path = tmp_path / "dead.onnx"
    onnx.save(residual_concat_cnn(dead=True), str(path))
    return str(path)


def test_scan_measures_every_unit_and_ratio(dead_cnn):
    seen: list[float] = []
    table = scan_sensitivity(dead_cnn, [0.13, 0.5], on_progress=lambda f, m: seen.append(f))
    assert table.mode == "channels"
    assert table.units() == ["stem", "b1", "c", "d"]
    assert len(table.rows) == 8 and seen[-1] == 1.0 and seen == sorted(seen)
    rows = {(r.unit, r.ratio): r for r in table.rows}
    # One dead channel out of 8: removing it is exact; half of the channels is not.
    assert rows[("b1", 0.13)].cosine == pytest.approx(1.0, abs=1e-6)
    assert rows[("b1", 0.13)].top1 == 1.0
    assert rows[("b1", 0.5)].cosine < 0.9999
    assert rows[("b1", 0.13)].params_removed == 8 * 9 + 1 + 8 * 9  # b1 filter + bias, b2 input column
    assert rows[("c", 0.13)].kept == 4  # floor(0.52) = 0 channels of 4
    data = json.loads(json.dumps(table.to_dict(), allow_nan=False))
    assert data["rows"][0]["unit"] == "stem"
    assert SensitivityTable.from_worker(data) == table  # typed again on the far side of the worker boundary


def test_non_finite_cosines_cross_the_worker_boundary_as_strings():
    table = SensitivityTable("m.onnx", "channels", [0.5], [SensitivityRow("conv", "channels", 0.5, 1, 2, math.nan, None, 3)])
    data = json.loads(json.dumps(table.to_dict(), allow_nan=False))
    assert data["rows"][0]["cosine"] == "nan"
    assert math.isnan(SensitivityTable.from_worker(data).rows[0].cosine)


def test_derived_ratios_keep_fidelity_when_applied(dead_cnn, tmp_path):
    table = scan_sensitivity(dead_cnn, [0.13, 0.5])
    derived = derive_ratios(table, min_cosine=0.9999)
    # Whole percents: 13% of 8 channels is the one dead channel, of 4 or 6 it is none.
    assert derived == {"stem": 13, "b1": 13, "c": 13, "d": 13}
    result = run_pass("prune-channels", dead_cnn, tmp_path / "pruned.onnx", {"ratio": 0.0, "round_to": 1, "layer_percent": derived})
    feeds = {"x": np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)}
    a, b = run(dead_cnn, feeds)[0].ravel(), run(str(result.output), feeds)[0].ravel()
    assert {g["group"]: g["kept"] for g in result.details["groups"]} == {"stem": 7, "b1": 7, "c": 4, "d": 6}
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) >= 0.9999


def test_scan_neurons_and_cancel(tmp_path):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), str(path))
    table = scan_sensitivity(path, [0.25])
    assert table.mode == "neurons" and table.units() == ["fc1", "fc2"] and "fc3" in table.skipped
    with pytest.raises(Cancelled):
        scan_sensitivity(path, [0.25], is_cancelled=lambda: True)
    with pytest.raises(ConfigError, match="ratios"):
        scan_sensitivity(path, [0.0, 0.95])


def test_scan_transformer_heads(sample_transformer):
    table = scan_sensitivity(sample_transformer, [0.5], dims={"batch": 1, "sequence": 8})
    kinds = {r.unit: r.kind for r in table.rows}
    assert kinds["encoder.layer.0.attention.scores"] == "heads"
    assert kinds["encoder.layer.1.intermediate.matmul"] == "neurons"
    assert all(0 < r.cosine < 1 for r in table.rows)
    assert "encoder.layer.0.attention.scores" not in derive_ratios(table, 0.0)


def test_cli_json_and_refusal(dead_cnn, capsys):
    assert main(["prune-scan", dead_cnn, "--ratios", "0.13,0.5", "--min-cosine", "0.9999", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layer_percent"]["b1"] == 13 and len(data["rows"]) == 8
    assert main(["prune-scan", dead_cnn]) == 0
    out = capsys.readouterr().out
    assert "b1" in out and "cosine" in out
    assert main(["prune-scan", dead_cnn, "--ratios", "a,b"]) == 2
    err = capsys.readouterr().err
    assert "--ratios" in err and err.count("\n") == 1
