"""prune-neurons: FFN neurons and attention heads of the sample transformer and an MLP."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from prune_models import kill_head, kill_neuron, mlp, param_count, run
from sample_models import build_transformer

from onnx_workbench.pipelines.passes.engine import run_pass
from onnx_workbench.pipelines.inputs import random_inputs


def _tokens(model: onnx.ModelProto, sequence: int = 12) -> dict[str, np.ndarray]:
    return random_inputs(model, dims={"batch": 2, "sequence": sequence}, seed=3)


def _save(model: onnx.ModelProto, path) -> str:
    onnx.save(model, str(path))
    return str(path)


def _valid(path) -> onnx.ModelProto:
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return model


def test_transformer_at_30_percent_removes_the_expected_parameters(sample_transformer, tmp_path):
    original = onnx.load(str(sample_transformer))
    result = run_pass(
        "prune-neurons", sample_transformer, tmp_path / "pruned.onnx", {"ratio": 0.3, "heads_ratio": 0.5}
    )
    pruned = _valid(result.output)
    d_model, d_ff, heads, layers = 128, 512, 4, 2  # the sample's architecture
    head_dim = d_model // heads
    ffn_removed = int(np.floor(0.3 * d_ff)) * (d_model + 1 + d_model)  # W1 column + b1 + W2 row
    heads_removed = int(np.floor(0.5 * heads)) * head_dim * (3 * (d_model + 1) + d_model)  # Q/K/V cols+bias, Wo rows
    assert param_count(original) - param_count(pruned) == layers * (ffn_removed + heads_removed)
    assert [h["kept_heads"] for h in result.details["attention"]] == [2, 2]
    feeds = _tokens(original)
    (logits,) = run(str(result.output), feeds)
    assert logits.shape == (2, 12, 1000) and np.isfinite(logits).all()
    assert result.warnings == []


def test_ratio_zero_gives_identical_outputs(sample_transformer, tmp_path):
    result = run_pass("prune-neurons", sample_transformer, tmp_path / "same.onnx", {"ratio": 0.0})
    feeds = _tokens(onnx.load(str(sample_transformer)))
    np.testing.assert_array_equal(run(str(sample_transformer), feeds)[0], run(str(result.output), feeds)[0])


@pytest.mark.parametrize("opset", [17, 20], ids=["erf-gelu", "gelu-op"])
def test_dead_heads_and_neurons_are_removed_exactly(opset, tmp_path):
    """A zeroed head / FFN neuron ranks last; removing the wrong slice would change the logits."""
    model = build_transformer(opset, seed=1, vocab_size=50, d_model=32, heads=4, layers=2, d_ff=64, max_positions=32)
    model = kill_head(model, "encoder.layer.0.attention", head=1, head_dim=8)
    model = kill_head(model, "encoder.layer.1.attention", head=3, head_dim=8)
    model = kill_neuron(kill_neuron(model, 0, 17), 1, 40)
    source = _save(model, tmp_path / "model.onnx")
    config = {"ratio": 0.0, "heads_ratio": 0.25, "layer_percent": {
        "encoder.layer.0.intermediate.matmul": 2, "encoder.layer.1.intermediate.matmul": 2}}
    result = run_pass("prune-neurons", source, tmp_path / "pruned.onnx", config)
    pruned = _valid(result.output)
    shapes = {t.name: list(t.dims) for t in pruned.graph.initializer}
    assert shapes["encoder.layer.0.attention.query.weight"] == [32, 24]
    assert shapes["encoder.layer.1.attention.output.weight"] == [24, 32]
    assert shapes["encoder.layer.0.intermediate.weight"] == [32, 63]
    reshapes = {n.input[1] for n in pruned.graph.node if n.op_type == "Reshape"}
    split = [numpy_value(pruned, name) for name in reshapes]
    assert [0, 0, 3, 8] in split and [0, 0, 24] in split
    feeds = _tokens(model)
    np.testing.assert_allclose(run(source, feeds)[0], run(str(result.output), feeds)[0], rtol=1e-4, atol=1e-5)


def numpy_value(model: onnx.ModelProto, name: str) -> list[int]:
    """An initializer as a plain list."""
    return onnx.numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == name)).tolist()


def test_mlp_dead_neurons_and_round_to(tmp_path):
    source = _save(mlp(dead=True), tmp_path / "mlp.onnx")
    result = run_pass("prune-neurons", source, tmp_path / "pruned.onnx", {"ratio": 0.0, "layer_percent": {"fc1": 4, "fc2": 5}})
    _valid(result.output)
    feeds = {"x": np.random.default_rng(2).standard_normal((3, 16)).astype(np.float32)}
    np.testing.assert_allclose(run(source, feeds)[0], run(str(result.output), feeds)[0], rtol=1e-5, atol=1e-6)
    rounded = run_pass("prune-neurons", source, tmp_path / "rounded.onnx", {"ratio": 0.5, "round_to": 8})
    groups = {g["group"]: g["kept"] for g in rounded.details["groups"]}
    assert groups == {"fc1": 16, "fc2": 16, "fc3": 4}  # 24 -> 12 kept, rounded up to 16; fc3 is the output
    dims = {t.name: list(t.dims) for t in _valid(rounded.output).graph.initializer}
    assert dims["fc1.w"] == [16, 16] and dims["fc2.w"] == [16, 16] and dims["fc3.w"] == [16, 4]


@pytest.mark.parametrize(
    ("reshape", "named"),
    [("context.reshape", "Attention block at 'encoder.layer.0.attention.scores'"),
     ("query.reshape", "Softmax node 'encoder.layer.0.attention.softmax'")],
    ids=["merge-reshape", "split-reshape"],
)
def test_unrecognised_attention_is_skipped_with_a_warning(reshape, named, tmp_path):
    model = build_transformer(17, seed=0, vocab_size=50, d_model=32, heads=4, layers=1, d_ff=64, max_positions=32)
    # Give one Reshape a target computed at run time (Shape -> Concat): no longer the pattern.
    graph = model.graph
    node = next(n for n in graph.node if n.name.endswith(reshape))
    tail = [32] if reshape == "context.reshape" else [4, 8]
    shape_node = onnx.helper.make_node("Shape", [node.input[0]], ["dyn_shape"], name="dyn_shape", start=0, end=2)
    graph.initializer.append(onnx.numpy_helper.from_array(np.array(tail, np.int64), "tail"))
    concat = onnx.helper.make_node("Concat", ["dyn_shape", "tail"], ["dyn_target"], name="dyn_target", axis=0)
    index = list(graph.node).index(node)
    graph.node.insert(index, concat)
    graph.node.insert(index, shape_node)
    node.input[1] = "dyn_target"
    source = _save(model, tmp_path / "model.onnx")
    result = run_pass("prune-neurons", source, tmp_path / "pruned.onnx", {"ratio": 0.25, "heads_ratio": 0.5})
    assert any(named in w and "left alone" in w for w in result.warnings), result.warnings
    pruned = _valid(result.output)
    dims = {t.name: list(t.dims) for t in pruned.graph.initializer}
    assert dims["encoder.layer.0.attention.query.weight"] == [32, 32]  # heads untouched
    assert dims["encoder.layer.0.intermediate.weight"] == [32, 48]  # FFN still pruned
    assert run(str(result.output), _tokens(model))[0].shape == (2, 12, 50)
