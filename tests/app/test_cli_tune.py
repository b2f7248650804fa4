"""`onnx-workbench tune`: refusals before any work, and the minute budget stopping real workers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from onnx_workbench.app.cli import main


def test_budget_stops_the_search_and_nothing_is_written_without_a_winner(digits_cnn, digits_data, tmp_path, capsys):
    few = tmp_path / "few.npz"
    with np.load(digits_data) as data:
        np.savez(few, image=data["image"][:10], labels=data["labels"][:10])
    out = tmp_path / "best.onnx"
    # 0.01 minutes: the first candidate's worker is still building when the budget runs out.
    code = main(["tune", str(digits_cnn), "--data", str(few), "--max-accuracy-drop", "0.5", "--budget", "0.01",
                 "--no-prune", "--session", str(tmp_path / "s"), "-o", str(out), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["stopped"] == "budget" and result["best"] is None and result["output"] is None
    assert result["tolerance"]["max_accuracy_drop"] == 0.5 and result["tolerance"]["min_cosine"] is None
    assert not out.exists() and Path(result["session"]) == tmp_path / "s"


def test_refusals_are_one_sentence_before_any_work(digits_cnn, tmp_path, capsys):
    assert main(["tune", str(digits_cnn), "--max-accuracy-drop", "1", "-o", str(tmp_path / "b.onnx"),
                 "--session", str(tmp_path / "s1")]) == 2
    assert "needs labelled data" in capsys.readouterr().err
    assert main(["tune", str(digits_cnn), "-o", str(digits_cnn)]) == 2
    assert not (tmp_path / "s2").exists()
