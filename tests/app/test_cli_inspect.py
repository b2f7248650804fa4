"""`onnx-workbench inspect`: text and JSON summaries; exit 2 with one sentence on a refused model."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from onnx_workbench.app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_json_has_the_documented_keys_and_figures(sample_cnn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(sample_cnn), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("params", "macs", "flops", "nodes", "size_bytes", "inputs", "outputs", "opsets", "op_types", "assumed_dims", "layers"):
        assert key in data, key
    assert (data["params"], data["macs"], data["nodes"]) == (710_468, 27_111_936, 54)
    assert data["size_bytes"] == sample_cnn.stat().st_size
    assert data["opsets"] == {"ai.onnx": 13}
    assert data["assumed_dims"] == {"batch": 1}
    assert data["inputs"][0]["name"] == "input" and data["inputs"][0]["shape"] == ["batch", 3, 64, 64]
    assert len(data["layers"]) == 54 and data["layers"][0]["name"] == "conv1"


def test_dims_override_the_assumed_values(sample_transformer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(sample_transformer), "--json", "--dim", "batch=2", "--dim", "sequence=16"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["assumed_dims"] == {}
    assert data["inputs"][0]["concrete_shape"] == [2, 16]


def test_text_summary(sample_transformer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(sample_transformer), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "input_ids  int64 [batch, sequence]  (counted as [1, 128])" in out
    assert "Parameters    719,361" in out
    assert "MACs          75.1 M (75,104,256)" in out
    assert "Assumed dims  batch=1, sequence=128" in out
    assert "Heaviest layers (by MACs, top 3):" in out
    assert "lm_head.matmul" in out
    assert "Top op types: Add 20, MatMul 17" in out


def test_untrusted_names_cannot_drive_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from onnx import TensorProto, helper

    # A terminal escape sequence in a node name: printed raw it would recolour the terminal.
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="\x1b[31mred")
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], [0.5] * 16)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [weight],
    )
    path = tmp_path / "hostile.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString())
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "?[31mred" in out


@pytest.mark.parametrize("content", [b"", b"<html>not a model</html>"])
def test_refused_model_exits_2_with_one_sentence(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "onnx_workbench.app.cli", "inspect", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onnx-workbench: broken.onnx ")


def test_missing_file_and_bad_dim(tmp_path: Path, sample_cnn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "nope.onnx")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["inspect", str(sample_cnn), "--dim", "batch=many"]) == 2
    assert "--dim batch=many" in capsys.readouterr().err


def test_inspect_never_reads_the_weights(
    sample_cnn: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx

    import onnx_workbench.pipelines.model as model_io

    path = model_io.save_model(onnx.load(str(sample_cnn)), tmp_path / "cnn.onnx", external_data=True)
    assert main(["inspect", str(path), "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    data = path.with_name("cnn.onnx.data")
    data.write_bytes(b"\xff" * data.stat().st_size)  # garbled weights (NaN everywhere) of the right length
    limits: list[int | None] = []
    real_read = model_io.read_external_tensors
    monkeypatch.setattr(
        model_io, "read_external_tensors", lambda *a, **k: limits.append(k.get("max_bytes")) or real_read(*a, **k)
    )
    assert main(["inspect", str(path), "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after == before and after["has_external_data"] and after["params"] == 710_468
    assert limits and None not in limits  # only small tensors (shapes, axes) were read, never all


def test_inspect_imports_only_what_it_needs(sample_cnn: Path) -> None:
    # Each command module imports what its own work needs; `inspect` must stay quick on any model.
    code = (
        "import sys; from onnx_workbench.app.cli import main; main(['inspect', sys.argv[1], '--json']); "
        "print(sorted(m for m in ('onnx_ir', 'onnxruntime', 'sympy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(sample_cnn)], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
