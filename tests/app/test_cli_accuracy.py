"""`--data` with labels: accuracy in optimize, profile, compare and report output."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from onnx_workbench.app.cli import main

SCHEMA = Path(__file__).resolve().parents[2] / "pipelines" / "report" / "report.schema.json"


@pytest.fixture(scope="module")
def few_digits(digits_data, tmp_path_factory) -> Path:
    """The first 30 labelled pictures: every sample is run, so a small set keeps the tests quick."""
    with np.load(digits_data) as data:
        path = tmp_path_factory.mktemp("few") / "few.npz"
        np.savez(path, image=data["image"][:30], labels=data["labels"][:30])
    return path


def test_optimize_json_carries_accuracy_and_its_drop(digits_cnn, digits_data, tmp_path, capsys):
    code = main(["optimize", str(digits_cnn), "--pass", "to-fp16", "-o", str(tmp_path / "half.onnx"),
                 "--verify", "--data", str(digits_data), "--samples", "40", "--max-accuracy-drop", "100", "--json"])
    step = json.loads(capsys.readouterr().out)["steps"][0]
    accuracy = step["fidelity"]["accuracy"]
    assert code == 0 and accuracy["samples"] == 40 and accuracy["max_drop"] == 100.0
    assert accuracy["top1_drop"] == accuracy["reference"]["top1"] - accuracy["candidate"]["top1"]


def test_profile_and_compare_measure_accuracy_after_timing(digits_cnn, few_digits, capsys):
    assert main(["profile", str(digits_cnn), "--runs", "3", "--warmup", "1", "--data", str(few_digits), "--json"]) == 0
    profiled = json.loads(capsys.readouterr().out)["accuracy"]
    assert profiled["samples"] == 30 and 0.0 < profiled["top1"] <= profiled["top5"] <= 100.0
    assert main(["compare", str(digits_cnn), str(digits_cnn), "--runs", "3", "--warmup", "1", "--data", str(few_digits)]) == 0
    out = capsys.readouterr().out
    assert f"accuracy on 30 labelled samples: top-1 A {profiled['top1']:.2f}%, B {profiled['top1']:.2f}% (+0.00 pts)" in out


def test_report_shows_accuracy_in_markdown_and_valid_json(digits_cnn, few_digits, tmp_path):
    recipe = tmp_path / "half.yaml"
    recipe.write_text("version: 1\nsteps:\n- pass: to-fp16\n")
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    assert main(["report", str(digits_cnn), "--recipe", str(recipe), "--data", str(few_digits), "-o", str(md), "-o", str(js)]) == 0
    report = json.loads(js.read_text())
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    accuracy = report["versions"][1]["fidelity"]["accuracy"]
    assert accuracy["samples"] == 30
    assert f"| Top-1 | {accuracy['reference']['top1']:.2f}% | {accuracy['candidate']['top1']:.2f}% |" in md.read_text()
