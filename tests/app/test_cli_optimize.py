"""`onnx-workbench passes` and `onnx-workbench optimize`, run in-process."""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import yaml

from onnx_workbench.app.cli import main
from workbench_toy_passes import build_classifier, toy_passes, toy_passes_in_workers  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("toy_passes_in_workers")


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    return build_classifier(tmp_path / "model.onnx")


def test_passes_json_lists_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["passes", "--json"]) == 0
    catalogue = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    fields = {f["name"]: f for f in catalogue["toy-rename"]["config"]}
    assert fields["mode"] == {
        "name": "mode", "type": "str", "default": "fast", "help": "how", "min": None, "max": None,
        "choices": ["fast", "exact"], "widget": "", "label": "Mode",
    }
    assert fields["count"]["min"] == 1 and fields["count"]["max"] == 5
    assert catalogue["toy-scale"]["category"] == "convert"


def test_passes_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["passes"]) == 0
    out = capsys.readouterr().out
    assert "  toy-rename: Rename nodes after their op type (test only)." in out
    assert "--set mode=<str>  how (default fast; one of fast, exact)" in out
    assert "--set count=<int>  how many (default 2; 1..5)" in out
    assert "[cleanup]" in out and "[convert]" in out


def test_set_applies_to_the_latest_pass(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, recipe = tmp_path / "out.onnx", tmp_path / "steps.yaml"
    code = main([
        "optimize", str(model), "--pass", "toy-rename", "--set", "mode=exact", "--set", "names=a,b",
        "--pass", "toy-scale", "--set", "factor=2", "--set", "tensor=W1",
        "-o", str(out), "--save-recipe", str(recipe),
    ])
    assert code == 0
    steps = yaml.safe_load(recipe.read_text())["steps"]
    assert steps[0]["config"]["mode"] == "exact" and steps[0]["config"]["names"] == ["a", "b"]
    assert steps[1]["config"] == {"tensor": "W1", "factor": 2.0}
    printed = capsys.readouterr().out
    assert "step 1  toy-rename" in printed and "step 2  toy-scale" in printed
    assert "changes:  ~1 MatMul" in printed and "nodes 4 -> 4" in printed
    assert "warning:  renamed 4 nodes" in printed
    assert onnx.load(str(out)).graph.node[0].name == "matmul_exact_0"
    # Replaying the saved recipe gives the very same bytes.
    again = tmp_path / "again.onnx"
    assert main(["optimize", str(model), "--recipe", str(recipe), "-o", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_verify_out_of_tolerance_exits_1_and_still_writes(model: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "scaled.onnx"
    code = main(["optimize", str(model), "--pass", "toy-scale", "--set", "factor=2",
                 "-o", str(out), "--verify", "--max-abs", "0.001", "--samples", "2"])
    assert code == 1 and out.is_file()
    printed = capsys.readouterr().out
    assert "fidelity: cosine 1.000000" in printed and "OUT OF TOLERANCE" in printed


def test_json_output(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "same.onnx"
    code = main(["optimize", str(model), "--pass", "toy-scale", "-o", str(out), "--verify", "--json",
                 "--dim", "batch=2"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True and data["output"] == str(out)
    (step,) = data["steps"]
    assert step["pass"] == "toy-scale" and step["summary"] == "no node changed"  # factor 1
    assert step["fidelity"]["outputs"][0]["snr_db"] == "inf"
    assert step["fidelity"]["outputs"][0]["shape"] == [2, 5]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pass", "toy-scale", "--set", "speed=3"], "--pass toy-scale: unknown field 'speed'"),
        (["--pass", "toy-scale", "--set", "factor=much"], "field 'factor' takes a number"),
        (["--pass", "toy-scale", "--set", "factor=500"], "command line, step 1 (toy-scale): field 'factor' must be at most"),
        (["--pass", "toy-rename", "--pass", "warp"], "command line, step 2: unknown pass 'warp'"),
        (["--pass", "toy-scale", "--set", "factor"], "--set takes KEY=VALUE"),
        (["--pass", "toy-scale", "--recipe", "r.yaml"], "either --recipe or --pass"),
        ([], "nothing to apply"),
        (["--pass", "toy-scale", "--dim", "batch=x"], "--dim batch=x: write NAME=SIZE"),
    ],
)
def test_refused_options_exit_2_with_one_sentence(model: Path, tmp_path: Path, capsys, extra, message) -> None:
    out = tmp_path / "never.onnx"
    assert main(["optimize", str(model), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not out.exists()


def test_corrupt_model_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not protobuf" * 3)
    assert main(["optimize", str(bad), "--pass", "toy-scale", "-o", str(tmp_path / "o.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("onnx-workbench: ") and "bad.onnx" in err and "Traceback" not in err


def test_failing_pass_exits_2(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.onnx"
    assert main(["optimize", str(model), "--pass", "toy-fail", "-o", str(out)]) == 2
    assert "pass 'toy-fail' failed: the tool crashed." in capsys.readouterr().err
    assert not out.exists()


def test_set_before_pass_is_a_usage_error(model: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["optimize", str(model), "--set", "factor=2", "--pass", "toy-scale", "-o", str(tmp_path / "o.onnx")])
    assert info.value.code == 2


def test_real_recipe_on_the_sample_transformer(sample_transformer: Path, tmp_path: Path, capsys) -> None:
    """Integration with the built-in passes: fuse, quantize, verify, replay byte for byte."""
    out, recipe = tmp_path / "fused.onnx", tmp_path / "fused.yaml"
    code = main(["optimize", str(sample_transformer), "--pass", "transformer-fusion", "--set", "engine=onnxruntime",
                 "--pass", "quantize-dynamic", "-o", str(out), "--save-recipe", str(recipe),
                 "--verify", "--samples", "2", "--min-cosine", "0.99", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["passed"] is True
    fused, quantized = data["steps"]
    assert fused["nodes_after"] < fused["nodes_before"]
    assert quantized["size_after"] < 0.5 * quantized["size_before"]  # int8 weights
    again = tmp_path / "again.onnx"
    assert main(["optimize", str(sample_transformer), "--recipe", str(recipe), "-o", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()
