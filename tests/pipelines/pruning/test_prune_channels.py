"""prune-channels: expected parameters disappear, coupled channels move together, models stay valid."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from prune_models import caffe2_bn_cnn, cnn_with, grouped_cnn, mobilenet_block, padded_pool_cnn, param_count, residual_concat_cnn, run, se_block, upsample_cnn

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes.engine import make_config, run_pass


def _feeds(batch: int = 2, size: int = 8) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(7).standard_normal((batch, 3, size, size)).astype(np.float32)}


def _check_valid(path) -> onnx.ModelProto:
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return model


def _save(model: onnx.ModelProto, path) -> str:
    onnx.save(model, str(path))
    return str(path)


def _kept(size: int, ratio: float) -> int:
    # Independent of the implementation: remove floor(ratio * size) channels.
    return size - int(np.floor(ratio * size + 1e-9))


def _expected_resnet_params(model: onnx.ModelProto, ratio: float) -> int:
    """Parameter count after pruning every Conv output by `ratio` (only the RGB input and classes stay)."""
    total = 0
    for t in model.graph.initializer:
        dims = list(t.dims)
        if len(dims) == 4:  # Conv [out, in, k, k]; in == 3 is the image
            dims[0] = _kept(dims[0], ratio)
            dims[1] = dims[1] if dims[1] == 3 else _kept(dims[1], ratio)
        elif len(dims) == 1 and t.name.startswith(("bn", "layer", "conv")):
            dims[0] = _kept(dims[0], ratio)  # BatchNorm vectors follow their conv
        elif t.name == "fc.weight":
            dims[1] = _kept(dims[1], ratio)
        total += int(np.prod(dims))
    return total


def test_resnet_at_30_percent_removes_the_expected_parameters(sample_cnn, tmp_path):
    original = onnx.load(str(sample_cnn))
    result = run_pass("prune-channels", sample_cnn, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.3})
    pruned = _check_valid(result.output)
    assert param_count(pruned) == _expected_resnet_params(original, 0.3)
    assert result.details["params_removed"] == param_count(original) - param_count(pruned)
    feeds = {"input": np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)}
    (out,) = run(str(result.output), feeds)
    assert out.shape == (2, 100) and np.isfinite(out).all()
    assert result.warnings == []  # every group of the sample is prunable; the classifier is not a group


def test_resnet_residual_groups_keep_the_same_channels(sample_cnn, tmp_path):
    original = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(sample_cnn)).graph.initializer}
    result = run_pass("prune-channels", sample_cnn, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5, "criterion": "l2"})
    pruned = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(result.output)).graph.initializer}

    def kept_indices(bn: str) -> list[int]:
        # BatchNorm gammas are distinct random values: find which originals survived.
        return [int(np.flatnonzero(original[f"{bn}.weight"] == v)[0]) for v in pruned[f"{bn}.weight"]]

    stem = kept_indices("bn1")
    assert len(stem) == 16
    assert kept_indices("layer1.0.bn2") == stem == kept_indices("layer1.1.bn2")
    stage2 = kept_indices("layer2.0.bn2")
    assert kept_indices("layer2.0.downsample.1") == stage2 == kept_indices("layer2.1.bn2")
    # The consumer of the stem group reads exactly those input channels.
    np.testing.assert_array_equal(
        pruned["layer1.0.conv1.weight"], original["layer1.0.conv1.weight"][np.ix_(kept_indices("layer1.0.bn1"), stem)]
    )


def test_ratio_zero_gives_identical_outputs(sample_cnn, tmp_path):
    result = run_pass("prune-channels", sample_cnn, tmp_path / "same.onnx", {"round_to": 1, "ratio": 0.0})
    feeds = {"input": np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)}
    np.testing.assert_array_equal(run(str(sample_cnn), feeds)[0], run(str(result.output), feeds)[0])
    assert result.changes.is_empty


@pytest.mark.parametrize(
    ("builder", "percent", "expected_kept"),
    [
        (residual_concat_cnn, {"stem": 13, "b1": 13, "c": 25, "d": 17}, {"stem": 7, "b1": 7, "c": 3, "d": 5}),
        (mobilenet_block, {"expand": 13, "project": 7}, {"expand": 7, "project": 15}),
        (grouped_cnn, {"a": 25, "grouped": 25}, {"a": 6, "grouped": 6, "b": 8}),
    ],
    ids=["residual-concat-flatten", "depthwise", "grouped"],
)
def test_removing_dead_channels_keeps_outputs(builder, percent, expected_kept, tmp_path):
    """Dead channels rank last; slicing the wrong Concat offset / Flatten block / depthwise filter would change outputs."""
    source = _save(builder(dead=True), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.0, "layer_percent": percent})
    _check_valid(result.output)
    assert {g["group"]: g["kept"] for g in result.details["groups"]} == expected_kept
    feeds = _feeds()
    np.testing.assert_allclose(run(source, feeds)[0], run(str(result.output), feeds)[0], rtol=1e-5, atol=1e-5)


def test_concat_model_parameter_count_at_30_percent(tmp_path):
    source = _save(residual_concat_cnn(), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.3})
    pruned = _check_valid(result.output)
    s, b1, c, d = _kept(8, 0.3), _kept(8, 0.3), _kept(4, 0.3), _kept(6, 0.3)  # 6, 6, 3, 5
    expected = (
        s * 3 * 9 + s + 4 * s  # stem conv + bias + BatchNorm
        + b1 * s * 9 + b1  # b1
        + s * b1 * 9 + s  # b2 writes the residual channels
        + c * s * 9 + c  # branch c
        + d * (s + c) + d  # 1x1 conv over the Concat
        + 5 * d * 64 + 5  # Gemm over Flatten: 64 columns per channel
    )
    assert param_count(pruned) == expected
    assert run(str(result.output), _feeds())[0].shape == (2, 5)


def test_grouped_conv_loses_the_same_positions_in_every_group(tmp_path):
    source = _save(grouped_cnn(), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"ratio": 0.5, "round_to": 3})
    pruned = _check_valid(result.output)
    dims = {t.name: list(t.dims) for t in pruned.graph.initializer}
    # 4 per half -> 2 kept per half, 4 in all, rounded up to a multiple of lcm(3, 2 groups) = 6;
    # b (not grouped) keeps 4, rounded up to 6.
    assert dims["a.w"] == [6, 3, 3, 3] and dims["grouped.w"] == [6, 3, 3, 3] and dims["b.w"] == [6, 6, 3, 3]
    grouped = next(n for n in pruned.graph.node if n.name == "grouped")
    assert next(a.i for a in grouped.attribute if a.name == "group") == 2
    assert run(str(result.output), _feeds())[0].shape == (2, 4)


def test_depthwise_group_attribute_follows_channels(tmp_path):
    source = _save(mobilenet_block(), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    pruned = _check_valid(result.output)
    dw = next(n for n in pruned.graph.node if n.name == "dw")
    assert next(a.i for a in dw.attribute if a.name == "group") == 4
    weights = {t.name: list(t.dims) for t in pruned.graph.initializer}
    assert weights["dw.w"] == [4, 1, 3, 3] and weights["project.w"] == [8, 4, 1, 1] and weights["fc.w"] == [8, 4]


@pytest.mark.parametrize(
    ("consumer", "named"),
    [("LRN", "LRN node 'lrn'"), ("reshape", "Reshape node 'flat'")],
)
def test_unknown_consumer_skips_the_group_with_a_warning(consumer, named, tmp_path):
    source = _save(cnn_with(consumer), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    pruned = _check_valid(result.output)
    assert any("'a'" in w and named in w for w in result.warnings), result.warnings
    dims = {t.name: list(t.dims) for t in pruned.graph.initializer}
    assert dims["a.w"][0] == 8  # skipped group untouched
    if consumer != "reshape":
        assert dims["b.w"][0] == 4  # the rest is still pruned
    assert run(str(result.output), _feeds())[0].shape == (2, 4)


@pytest.mark.parametrize("opset", [13, 18])
def test_resize_and_reduce_mean_pass_channels_through(opset, tmp_path):
    source = _save(upsample_cnn(opset), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    dims = {t.name: list(t.dims) for t in _check_valid(result.output).graph.initializer}
    assert dims["a.w"] == [4, 3, 3, 3] and dims["c.w"] == [4, 4, 3, 3] and dims["fc.w"] == [4, 4]
    assert result.warnings == []
    assert run(str(result.output), _feeds())[0].shape == (2, 4)


def test_resize_to_fixed_sizes_blocks_the_group(tmp_path):
    source = _save(upsample_cnn(13, sizes=True), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    assert any("Group 'a'" in w and "Resize node 'up'" in w for w in result.warnings), result.warnings
    dims = {t.name: list(t.dims) for t in _check_valid(result.output).graph.initializer}
    assert dims["a.w"] == [8, 3, 3, 3] and dims["c.w"] == [4, 8, 3, 3]


def test_squeeze_excite_gate_is_coupled_and_bn_gamma_falls_back(tmp_path):
    source = _save(se_block(), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5, "criterion": "bn-gamma"})
    groups = {g["group"]: g for g in result.details["groups"]}
    assert groups["a"]["layers"] == ["a", "se_expand"] and groups["a"]["criterion"] == "bn-gamma"
    assert groups["p"]["criterion"] == "l1"
    assert any("Group 'p' has no BatchNormalization" in w for w in result.warnings)
    dims = {t.name: list(t.dims) for t in _check_valid(result.output).graph.initializer}
    assert dims["se_expand.w"] == [8, 2, 1, 1] and dims["slope"] == [4, 1, 1] and dims["fc.w"] == [4, 4]
    assert run(str(result.output), _feeds())[0].shape == (2, 4)


def test_round_to_skip_and_input_layer(tmp_path):
    source = _save(residual_concat_cnn(), tmp_path / "model.onnx")
    result = run_pass(
        "prune-channels", source, tmp_path / "pruned.onnx", {"ratio": 0.7, "round_to": 4, "skip_layers": ["c"]}
    )
    pruned = _check_valid(result.output)
    kept = {g["group"]: g["kept"] for g in result.details["groups"]}
    assert kept == {"stem": 4, "b1": 4, "c": 4, "d": 4}  # 8 -> 3 kept, rounded up to 4; 6 -> 2 -> 4
    stem = next(t for t in pruned.graph.initializer if t.name == "stem.w")
    assert stem.dims[1] == 3  # the model's input channels are never pruned


def test_bad_config_fails_before_work():
    with pytest.raises(ConfigError, match="layer_percent"):
        make_config("prune-channels", {"layer_percent": {"conv1": 95}})
    with pytest.raises(ConfigError, match="ratio"):
        make_config("prune-channels", {"ratio": 0.95})


def test_unknown_layer_name_is_refused(tmp_path):
    source = _save(residual_concat_cnn(), tmp_path / "model.onnx")
    with pytest.raises(ConfigError, match="'nope'"):
        run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "layer_percent": {"nope": 10}})
    assert not (tmp_path / "pruned.onnx").exists()


def test_shared_weights_block_their_groups(tmp_path):
    model = residual_concat_cnn()
    b2 = next(n for n in model.graph.node if n.name == "b2")
    b2.input[1] = "b1.w"  # weight tying: b1 and b2 read the same tensor
    model.graph.initializer.remove(next(t for t in model.graph.initializer if t.name == "b2.w"))
    source = _save(model, tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    status = {g["group"]: g["status"] for g in result.details["groups"]}
    assert "shared" in status["b1"] and "shared" in status["stem"], status
    assert status["c"] == "pruned" and status["d"] == "pruned"
    dims = {t.name: list(t.dims) for t in _check_valid(result.output).graph.initializer}
    assert dims["b1.w"] == [8, 8, 3, 3]
    assert run(str(result.output), _feeds())[0].shape == (2, 5)


@pytest.mark.parametrize("opset", [9, 13])
def test_caffe2_batchnorm_unsqueezed_constants_are_sliced_with_their_channels(opset, tmp_path):
    """Mul/Add/PRelu by Unsqueeze(vector) (axes attribute at 9, input at 13) follow conv 'a' instead of blocking it."""
    source = _save(caffe2_bn_cnn(opset), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    pruned = _check_valid(result.output)
    assert {g["group"]: g["kept"] for g in result.details["groups"]} == {"a": 4, "c": 2}
    axes = 3 * 2 if opset >= 13 else 0  # the Unsqueezes' axes inputs, in the source file only
    before = 8 * 3 * 9 + 4 * 8 + 3 * 8 + 4 * 8 + 4 + 5 * 4 + axes  # a, BatchNorm, three vectors, c + bias, fc
    after = 4 * 3 * 9 + 4 * 4 + 3 * 4 + 2 * 4 + 2 + 5 * 2
    assert (param_count(onnx.load(source)), param_count(pruned)) == (before, after)
    # Loading folds each Unsqueeze(vector) into a (C, 1, 1) constant (pipelines/quirks.py).
    vectors = {t.name: tuple(t.dims) for t in pruned.graph.initializer if t.name.startswith(("a_scale", "a_shift", "a_slope"))}
    assert vectors == {"a_scale_unsqueeze": (4, 1, 1), "a_shift_unsqueeze": (4, 1, 1), "a_slope_unsqueeze": (4, 1, 1)}
    assert run(str(result.output), _feeds())[0].shape == (2, 5)


def test_caffe2_batchnorm_dead_channels_pruned_keep_outputs(tmp_path):
    source = _save(caffe2_bn_cnn(dead=True), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.0, "layer_percent": {"a": 25}})
    assert {g["group"]: g["kept"] for g in result.details["groups"]} == {"a": 6, "c": 4}
    feeds = _feeds()
    np.testing.assert_allclose(run(source, feeds)[0], run(str(result.output), feeds)[0], rtol=1e-5, atol=1e-5)


def test_an_unsqueezed_constant_read_twice_blocks_its_group(tmp_path):
    model = caffe2_bn_cnn(13)
    add = next(n for n in model.graph.node if n.name == "a_add")
    add.input[1] = "a_scale_unsqueeze"  # the scale's Unsqueeze now also feeds the Add
    source = _save(model, tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    status = {g["group"]: g["status"] for g in result.details["groups"]}
    assert status["a"].startswith("not pruned") and "a_scale_unsqueeze" in status["a"]


@pytest.mark.parametrize("opset", [9, 13, 18])
def test_pad_of_the_spatial_axes_passes_channels_through(opset, tmp_path):
    """The legacy exporter's Pad before AveragePool (torchvision DenseNet's transitions) no longer blocks."""
    source = _save(padded_pool_cnn(opset), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    pruned = _check_valid(result.output)
    assert {g["group"]: g["kept"] for g in result.details["groups"]} == {"a": 4, "c": 2}
    dims = {t.name: list(t.dims) for t in pruned.graph.initializer}
    assert dims["c.w"] == [2, 4, 1, 1] and dims["fc.w"] == [2, 5]
    assert run(str(result.output), _feeds())[0].shape == (2, 5)


def test_pad_of_the_channel_axis_blocks_the_group(tmp_path):
    source = _save(padded_pool_cnn(13, pad_channels=True), tmp_path / "model.onnx")
    result = run_pass("prune-channels", source, tmp_path / "pruned.onnx", {"round_to": 1, "ratio": 0.5})
    status = {g["group"]: g["status"] for g in result.details["groups"]}
    assert status["a"] == "not pruned: Pad node 'pad' pads the channel axis"
    assert status["c"] == "pruned"
