"""Fidelity metrics on hand-made models and arrays."""
from __future__ import annotations

import math
import weakref
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from onnx_workbench.pipelines.errors import ConfigError, ModelRefused
from onnx_workbench.pipelines.passes.engine import run_pass
from onnx_workbench.pipelines.verify import (
    Tolerance,
    compare_output,
    cosine_similarity,
    looks_like_class_scores,
    snr_db,
    verify_models,
)
from workbench_toy_passes import build_classifier, toy_passes  # noqa: F401 - autouse fixture: the toy passes


@pytest.fixture()
def reference(tmp_path: Path) -> Path:
    return build_classifier(tmp_path / "ref.onnx")


def _edit(source: Path, target: Path, edit) -> Path:
    model = onnx.load(str(source))
    edit(model)
    onnx.save(model, str(target))
    return target


def _perturb_w2(model: onnx.ModelProto) -> None:
    for index, tensor in enumerate(model.graph.initializer):
        if tensor.name == "W2":
            weights = numpy_helper.to_array(tensor)
            noise = np.random.default_rng(7).standard_normal(weights.shape).astype(np.float32)
            model.graph.initializer[index].CopyFrom(numpy_helper.from_array(weights + 0.5 * noise, "W2"))


def test_identical_models_agree_exactly(reference: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(reference.read_bytes())
    report = verify_models(reference, copy, samples=3)
    (out,) = report.outputs
    assert report.passed and report.samples == 3
    assert out.cosine == 1.0 and out.max_abs == 0.0 and out.mean_abs == 0.0
    assert math.isinf(out.snr_db) and out.snr_db > 0
    assert out.top1 == 1.0
    assert report.assumed_dims == {"batch": 1}
    data = report.to_dict()
    assert data["outputs"][0]["snr_db"] == "inf" and data["passed"] is True


def test_perturbed_weights_fail_default_tolerance(reference: Path, tmp_path: Path) -> None:
    candidate = _edit(reference, tmp_path / "noisy.onnx", _perturb_w2)
    report = verify_models(reference, candidate, samples=8, tolerance=Tolerance(min_cosine=0.999, min_top1=0.99))
    (out,) = report.outputs
    assert not report.passed
    assert out.cosine < 0.999 and out.max_abs > 0.1 and math.isfinite(out.snr_db)
    assert out.top1 is not None and out.top1 < 1.0
    assert any("cosine" in f for f in out.failures) and any("top-1" in f for f in out.failures)
    assert "OUT OF TOLERANCE" in report.summary()
    # The same pair passes once the tolerance is loose enough.
    loose = verify_models(reference, candidate, samples=8, tolerance=Tolerance(min_cosine=0.0))
    assert loose.passed


def test_scaled_output_keeps_cosine_but_fails_max_abs(reference: Path, tmp_path: Path) -> None:
    candidate = tmp_path / "scaled.onnx"
    run_pass("toy-scale", reference, candidate, {"factor": 2.0})
    report = verify_models(reference, candidate, tolerance=Tolerance(min_cosine=0.999, max_abs=1e-3))
    (out,) = report.outputs
    assert out.cosine == pytest.approx(1.0, abs=1e-9)
    assert out.top1 == 1.0  # scaling never moves the arg-max
    assert not report.passed and any("max abs" in f for f in out.failures)
    assert out.snr_db == pytest.approx(0.0, abs=1e-6)  # error as large as the signal


def test_fp16_candidate_with_fp16_inputs(reference: Path, tmp_path: Path) -> None:
    def to_fp16(model: onnx.ModelProto) -> None:
        for index, tensor in enumerate(model.graph.initializer):
            half = numpy_helper.to_array(tensor).astype(np.float16)
            model.graph.initializer[index].CopyFrom(numpy_helper.from_array(half, tensor.name))
        for value in [*model.graph.input, *model.graph.output]:
            value.type.tensor_type.elem_type = TensorProto.FLOAT16

    candidate = _edit(reference, tmp_path / "fp16.onnx", to_fp16)
    report = verify_models(reference, candidate, samples=2)
    (out,) = report.outputs
    assert out.candidate_dtype == "float16" and out.dtype == "float32"
    assert 0 < out.max_abs < 0.1 and out.cosine > 0.9999 and report.passed


def test_renamed_output_is_matched_by_position(reference: Path, tmp_path: Path) -> None:
    def rename(model: onnx.ModelProto) -> None:
        model.graph.node[-1].output[0] = "scores"
        model.graph.output[0].name = "scores"

    candidate = _edit(reference, tmp_path / "renamed.onnx", rename)
    report = verify_models(reference, candidate, samples=1)
    assert report.matched_by == "position"
    assert report.outputs[0].candidate_name == "scores" and report.passed


def test_dynamic_dims_and_npz_data(reference: Path, tmp_path: Path) -> None:
    report = verify_models(reference, reference, samples=1, dims={"batch": 3})
    assert report.outputs[0].shape == [3, 5] and report.assumed_dims == {}
    data = tmp_path / "data.npz"
    np.savez(data, x=np.random.default_rng(1).standard_normal((6, 8)))  # float64: cast to float32
    from_data = verify_models(reference, reference, data=data, samples=4)
    assert from_data.samples == 4 and from_data.inputs == str(data) and from_data.passed
    assert from_data.outputs[0].shape == [1, 5]


def test_model_runtime_cannot_load_is_refused(reference: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    run_pass("toy-break", reference, broken)
    with pytest.raises(ModelRefused, match="ONNX Runtime cannot load broken.onnx") as info:
        verify_models(reference, broken)
    assert "\n" not in str(info.value)


def test_bad_sample_count() -> None:
    with pytest.raises(ConfigError, match="samples"):
        verify_models("a.onnx", "b.onnx", samples=0)


def test_nan_and_inf_positions() -> None:
    ref = [np.array([[1.0, np.nan, np.inf, 2.0]], dtype=np.float32)]
    same = compare_output("y", "y", ref, [ref[0].copy()], Tolerance())
    assert same.passed and same.nonfinite_mismatches == 0 and same.max_abs == 0.0
    other = [np.array([[1.0, 3.0, -np.inf, 2.0]], dtype=np.float32)]
    worse = compare_output("y", "y", ref, other, Tolerance(min_cosine=None))
    assert worse.nonfinite_mismatches == 2 and not worse.passed
    assert "NaN/Inf" in worse.failures[0]


def test_top1_agreement_counts_rows() -> None:
    ref = [np.array([[0.1, 0.9], [0.8, 0.2]], dtype=np.float32), np.array([[0.3, 0.7], [0.6, 0.4]], dtype=np.float32)]
    cand = [np.array([[0.2, 0.8], [0.1, 0.9]], dtype=np.float32), np.array([[0.3, 0.7], [0.6, 0.4]], dtype=np.float32)]
    out = compare_output("p", "p", ref, cand, Tolerance(min_cosine=None, min_top1=0.8))
    assert out.top1 == pytest.approx(0.75)
    assert not out.passed and "top-1" in out.failures[0]


def test_class_score_detection() -> None:
    assert looks_like_class_scores((4, 10), np.dtype(np.float32))
    assert looks_like_class_scores((1, 16, 30522), np.dtype(np.float16))
    assert not looks_like_class_scores((1, 64, 7, 7), np.dtype(np.float32))  # feature map
    assert not looks_like_class_scores((4, 10), np.dtype(np.int64))
    assert not looks_like_class_scores((4, 1), np.dtype(np.float32))


def test_shape_mismatch_fails() -> None:
    out = compare_output("y", "y", [np.zeros((1, 4))], [np.zeros((1, 5))], Tolerance())
    assert not out.passed and "shape" in out.failures[0]


def test_streamed_statistics_equal_pooled_ones() -> None:
    rng = np.random.default_rng(3)
    ref = [rng.standard_normal((2, 6)).astype(np.float32) for _ in range(3)]
    cand = [a + 0.1 * rng.standard_normal(a.shape).astype(np.float32) for a in ref]
    out = compare_output("y", "y", ref, cand, Tolerance(min_cosine=None))
    flat_ref = np.concatenate([a.ravel() for a in ref]).astype(np.float64)
    flat_cand = np.concatenate([b.ravel() for b in cand]).astype(np.float64)
    error = np.abs(flat_ref - flat_cand)
    expected_cosine = flat_ref @ flat_cand / (np.linalg.norm(flat_ref) * np.linalg.norm(flat_cand))
    assert out.cosine == pytest.approx(expected_cosine, rel=1e-12)
    assert out.max_abs == pytest.approx(error.max()) and out.mean_abs == pytest.approx(error.mean())
    assert out.snr_db == pytest.approx(10 * np.log10((flat_ref**2).sum() / (error**2).sum()))


def test_cosine_and_snr_edge_cases() -> None:
    zeros, ones = np.zeros(4), np.ones(4)
    assert cosine_similarity(zeros, zeros) == 1.0 and cosine_similarity(zeros, ones) == 0.0
    assert cosine_similarity(ones, -ones) == -1.0
    assert snr_db(ones, ones) == math.inf and snr_db(zeros, ones) == -math.inf
    assert snr_db(ones * 10, ones * 9) == pytest.approx(20.0)


def test_tolerance_bounds() -> None:
    with pytest.raises(ConfigError, match="min_cosine must be a number from -1.0 to 1.0"):
        Tolerance(min_cosine=1.5)
    with pytest.raises(ConfigError, match="min_top1"):
        Tolerance(min_top1=95)
    assert Tolerance.from_dict(Tolerance(max_abs=0.1).to_dict()) == Tolerance(max_abs=0.1)


def test_data_that_does_not_fit_the_model(reference: Path, tmp_path: Path) -> None:
    data = tmp_path / "wrong.npz"
    np.savez(data, x=np.zeros((2, 3), dtype=np.float32))  # the model takes 8 features
    with pytest.raises(ConfigError, match=r"ref.onnx failed on sample 1 of .*wrong.npz .*check that the arrays") as info:
        verify_models(reference, reference, data=data)
    assert "\n" not in str(info.value)


def test_short_memory_runs_the_models_one_after_the_other(
    reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx_workbench.pipelines.verify as verify

    candidate = _edit(reference, tmp_path / "noisy.onnx", _perturb_w2)
    both = verify_models(reference, candidate, samples=3)
    assert both.ran == verify.RAN_TOGETHER  # two tiny models, plenty of memory

    live: set[int] = set()
    most = 0
    real_session = verify._session

    def tracked(path: Path):  # noqa: ANN202 - an ORT session
        nonlocal most
        session = real_session(path)
        live.add(id(session))
        most = max(most, len(live))
        weakref.finalize(session, live.discard, id(session))
        return session

    monkeypatch.setattr(verify, "_session", tracked)
    monkeypatch.setattr(verify, "available_memory_bytes", lambda: 1000)  # "memory is short"
    progress: list[float] = []
    alone = verify_models(reference, candidate, samples=3, on_progress=lambda f, _m: progress.append(f))
    assert most == 1  # never both sessions at once
    assert alone.ran == verify.RAN_SEQUENTIALLY and alone.to_dict()["ran"] == "one after the other"
    assert "one after the other" in alone.summary()
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) == 6
    # The same figures either way.
    assert alone.outputs[0].to_dict() == both.outputs[0].to_dict()
