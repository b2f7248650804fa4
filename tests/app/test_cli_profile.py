"""`onnx-workbench profile --latency-limit`: a missed limit is exit status 1, in text and JSON."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from onnx_workbench.app.cli import main

FAST = ["--runs", "3", "--warmup", "0", "--threads", "1"]


@pytest.mark.parametrize(("limit", "code", "verdict"), [("10000", 0, "within"), ("0.000001", 1, "OVER")])
def test_single_profile_exit_status_follows_the_limit(sample_cnn: Path, capsys, limit: str, code: int, verdict: str) -> None:  # noqa: ANN001
    assert main(["profile", str(sample_cnn), *FAST, "--latency-limit", limit]) == code
    assert f"is {verdict} the" in capsys.readouterr().out


@pytest.mark.parametrize(("limit", "code"), [("10000", 0), ("0.000001", 1)])
def test_sweep_exit_status_is_1_when_no_cell_qualifies(sample_cnn: Path, capsys, limit: str, code: int) -> None:  # noqa: ANN001
    argv = ["profile", str(sample_cnn), *FAST, "--sweep", "batch=1,2", "--latency-limit", limit, "--json"]
    assert main(argv) == code
    result = json.loads(capsys.readouterr().out)
    assert (result["best"] is None) == bool(code)


def test_without_a_limit_a_slow_model_is_not_a_failure(sample_cnn: Path) -> None:
    assert main(["profile", str(sample_cnn), *FAST, "--json"]) == 0
