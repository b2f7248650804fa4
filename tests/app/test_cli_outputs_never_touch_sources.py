"""Issue 15 items 1-3 and 11: outputs never land on the source or its data, passes run in a
worker, and a write that fails is reported, never "wrote"."""
from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from onnx_workbench.app.cli import main
from hostile_inputs import conv_with_zero_strides, matmul_model


def _outputs(model: Path) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": np.ones((1, 4), np.float32)})[0]


@pytest.mark.parametrize("clash", ["model", "output"])
def test_save_recipe_never_overwrites_the_model_or_the_output(tmp_path: Path, capsys, clash: str) -> None:
    model = matmul_model(tmp_path / "model.onnx")
    before = model.read_bytes()
    out = tmp_path / "o.onnx"
    recipe = model if clash == "model" else out
    code = main(["optimize", str(model), "--pass", "cleanup", "-o", str(out), "--save-recipe", str(recipe)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and ("choose another" in err or "its own path" in err)
    assert model.read_bytes() == before and not out.exists()


def test_report_never_overwrites_the_model(tmp_path: Path, capsys) -> None:
    model = matmul_model(tmp_path / "model.json")
    before = model.read_bytes()
    assert main(["report", str(model), "-o", str(model)]) == 2
    assert "is the source model" in capsys.readouterr().err
    assert model.read_bytes() == before


def test_output_data_file_never_replaces_the_sources_data(tmp_path: Path, capsys) -> None:
    source = matmul_model(tmp_path / "src.onnx", data_location="out.onnx.data")
    data = (tmp_path / "out.onnx.data").read_bytes()
    expected = _outputs(source)
    code = main(["optimize", str(source), "--pass", "cleanup", "-o", str(tmp_path / "out.onnx")])
    assert code == 2 and "source model or a file it references" in capsys.readouterr().err
    assert (tmp_path / "out.onnx.data").read_bytes() == data
    np.testing.assert_array_equal(_outputs(source), expected)


def test_a_native_crash_in_a_pass_is_one_sentence_and_leaves_nothing(tmp_path: Path, capsys) -> None:
    model = conv_with_zero_strides(tmp_path / "in" / "stride0.onnx")
    out_dir = tmp_path / "out"
    code = main(["optimize", str(model), "--pass", "simplify", "-o", str(out_dir / "o.onnx")])
    err = capsys.readouterr().err
    # The CLI survived the worker's SIGFPE: a failure of the work (1), in one line, nothing left.
    assert code == 1, err
    assert err.startswith("onnx-workbench: the run-recipe worker crashed") and err.count("\n") == 1
    assert "SIGFPE" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []


def test_render_to_a_full_disk_fails_and_leaves_no_empty_file(sample_cnn: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    import onnx_workbench.pipelines.safe_write as safe_write

    real_fsync = safe_write.os.fsync

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_write.os, "fsync", full_disk)
    out = tmp_path / "g.svg"
    assert main(["render", str(sample_cnn), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "wrote" not in captured.out and "no space left on device" in captured.err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(safe_write.os, "fsync", real_fsync)
    assert main(["render", str(sample_cnn), "-o", str(out)]) == 0 and out.stat().st_size > 0


def test_render_never_overwrites_its_model(tmp_path: Path, capsys) -> None:
    model = matmul_model(tmp_path / "m.svg")
    before = model.read_bytes()
    assert main(["render", str(model), "-o", str(model)]) == 2
    assert model.read_bytes() == before


def test_a_successful_pass_prints_nothing_on_stderr(sample_transformer: Path, tmp_path: Path, capsys) -> None:
    # onnx_ir logs tracebacks of the fusion rules it tries; they stay in the worker's log.
    assert main(["optimize", str(sample_transformer), "--pass", "transformer-fusion", "-o", str(tmp_path / "o.onnx")]) == 0
    assert capsys.readouterr().err == ""


def test_error_sentences_reach_the_terminal_without_control_characters(tmp_path: Path, capsys) -> None:
    # Item 8: recipe and model strings are quoted in error sentences; an OSC title or BEL must not pass.
    model = matmul_model(tmp_path / "m.onnx")
    recipe = tmp_path / "r.yaml"
    recipe.write_text('version: 1\nsteps: [{pass: "\\e]0;pwned\\a\\u202e"}]\n')
    assert main(["optimize", str(model), "--recipe", str(recipe), "-o", str(tmp_path / "o.onnx")]) == 2
    err = capsys.readouterr().err
    assert "unknown pass" in err and not any(ch in err for ch in "\x1b\x07\u202e")


@pytest.mark.parametrize("dim", ["batch=²", "batch=99999999999999999999", "batch=-1", "batch=٣"])
def test_bad_dim_values_are_one_sentence(tmp_path: Path, capsys, dim: str) -> None:
    # Item 10: '²'.isdigit() is True but int('²') raises; huge sizes overflowed numpy later.
    assert main(["inspect", str(matmul_model(tmp_path / "m.onnx")), "--dim", dim]) == 2
    err = capsys.readouterr().err
    assert err.startswith("onnx-workbench: --dim") and err.count("\n") == 1


def test_invalid_utf8_names_are_quoted_not_a_traceback(tmp_path: Path, capsys) -> None:
    # Found by the adversarial fuzz run: protobuf returns a name holding invalid UTF-8 as bytes.
    import onnx

    model = onnx.load(str(matmul_model(tmp_path / "m.onnx")))
    model.graph.node[0].input[0] = "zz_missing"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(model.SerializeToString().replace(b"zz_missing", b"zz_missin\xff"))
    assert main(["inspect", str(bad)]) == 2
    assert "zz_missin" in capsys.readouterr().err


def test_a_full_disk_during_a_pass_is_failed_work(tmp_path: Path, monkeypatch) -> None:
    # Found by the adversarial run on a full tmpfs: the pass's ENOSPC came back as a refused input (2).
    from onnx_workbench.pipelines.errors import WorkFailed
    from onnx_workbench.pipelines.passes.engine import get_pass, run_pass

    def full_disk(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(get_pass("cleanup"), "apply", full_disk)
    with pytest.raises(WorkFailed, match="could not write its model"):
        run_pass("cleanup", matmul_model(tmp_path / "m.onnx"), tmp_path / "o.onnx")
