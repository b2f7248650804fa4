"""transformer-fusion fuses the sample encoders into ORT contrib ops that run with the same outputs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from pass_models import assert_same_outputs, build_dynamo_block, build_rms_norm_block, build_transformer, op_counts

from onnx_workbench.pipelines.errors import PassFailed
from onnx_workbench.pipelines.passes import run_pass
from onnx_workbench.pipelines.passes._rewrite import to_ir, to_proto
from onnx_workbench.pipelines.passes._rms_norm import standardize_rms_norms
from onnx_workbench.pipelines.passes.transformer_fusion import MODEL_TYPES, detect_attention_shape


def test_sample_transformer_auto(sample_transformer: Path, tmp_path: Path) -> None:
    result = run_pass("transformer-fusion", sample_transformer, tmp_path / "out.onnx")
    fused = result.details["fused"]
    assert fused["Attention"] == 2 and fused["SkipLayerNormalization"] == 4
    assert set(result.details["candidates"]) == {"onnxscript", "onnxruntime"}
    best = max(sum(c.values()) for c in result.details["candidates"].values())
    assert sum(fused.values()) == best
    assert (result.details["num_heads"], result.details["hidden_size"]) == (4, 128)
    assert result.flags == ["runs only on ONNX Runtime"]
    counts = op_counts(result.output)
    assert counts["Softmax"] == 0 and counts["Transpose"] == 0
    assert_same_outputs(sample_transformer, result.output, dims={"batch": 2, "sequence": 16})


@pytest.mark.parametrize("engine", ["onnxscript", "onnxruntime"])
def test_each_engine_on_masked_encoder(engine: str, transformer_path: Path, tmp_path: Path) -> None:
    result = run_pass("transformer-fusion", transformer_path, tmp_path / "out.onnx", {"engine": engine})
    fused = result.details["fused"]
    assert result.details["engine"] == engine
    assert fused["SkipLayerNormalization"] == 2 and fused["BiasGelu"] == 1
    assert fused.get("Attention", 0) + fused.get("MultiHeadAttention", 0) == 1
    assert op_counts(result.output)["Softmax"] == 0
    assert_same_outputs(transformer_path, result.output, dims={"batch": 2, "sequence": 8})


def test_opset13_encoder_with_spelled_out_layernorm(save, tmp_path: Path) -> None:
    from sample_models import build_transformer as build_sample

    source = save(build_sample(opset=13), "encoder13.onnx")
    result = run_pass("transformer-fusion", source, tmp_path / "out.onnx")
    # the ORT engine trips on the 1-element epsilon of the spelled-out LayerNorm; auto keeps
    # onnxscript's result and says why the other engine is missing
    assert result.details["fused"]["Attention"] == 2
    assert all("engine failed" in w for w in result.warnings)
    assert_same_outputs(source, result.output, dims={"batch": 2, "sequence": 16})


def test_deterministic(transformer_path: Path, tmp_path: Path) -> None:
    a = run_pass("transformer-fusion", transformer_path, tmp_path / "a.onnx").output
    b = run_pass("transformer-fusion", transformer_path, tmp_path / "b.onnx").output
    assert a.read_bytes() == b.read_bytes()


def test_cnn_has_nothing_to_fuse(cnn_path: Path, tmp_path: Path) -> None:
    result = run_pass("transformer-fusion", cnn_path, tmp_path / "out.onnx")
    assert result.details["fused"] == {} and result.flags == []
    assert "no transformer sub-graph matched" in result.warnings[0]
    assert op_counts(result.output) == op_counts(cnn_path)


def test_detects_heads_and_hidden() -> None:
    assert detect_attention_shape(build_transformer(hidden=48, heads=6)) == (6, 48)
    assert detect_attention_shape(onnx.ModelProto()) == (0, 0)


def test_inconsistent_override_fails_in_one_sentence(transformer_path: Path, tmp_path: Path) -> None:
    with pytest.raises(PassFailed, match=r"^pass 'transformer-fusion': hidden_size 32 is not a multiple of num_heads 5"):
        run_pass("transformer-fusion", transformer_path, tmp_path / "out.onnx", {"num_heads": 5})


def test_model_types_exist_in_onnxruntime() -> None:
    from onnxruntime.transformers.optimizer import MODEL_TYPES as ORT_TYPES

    assert set(MODEL_TYPES) <= set(ORT_TYPES)


@pytest.mark.parametrize("trans_b", [False, True], ids=["conv1d-weights", "linear-weights"])
def test_dynamo_block_fuses_attention_gelu_and_skip_norms(save, tmp_path: Path, trans_b: bool) -> None:
    """Reshape-Gemm-Reshape linears and the half-first tanh GELU are put in the shape both engines fuse.

    Without that, onnxscript's attention fusion fed its 3-D output to the 2-D output Gemm and
    the fused model did not load in ONNX Runtime.
    """
    source = save(build_dynamo_block(trans_b=trans_b), "block.onnx")
    result = run_pass("transformer-fusion", source, tmp_path / "out.onnx")
    assert result.details["prepared"] == {"flat_gemm": 4, "tanh_gelu": 1}
    assert result.details["fused"] == {"FastGelu": 1, "MultiHeadAttention": 1, "SkipLayerNormalization": 2}
    assert (result.details["num_heads"], result.details["hidden_size"]) == (2, 32)
    assert op_counts(result.output)["Gemm"] == 0
    assert_same_outputs(source, result.output, dims={"batch": 2, "sequence": 8})


def test_dynamo_linear_with_scaled_gemm_is_left_as_it_is(save, tmp_path: Path) -> None:
    model = build_dynamo_block()
    gemm = next(n for n in model.graph.node if n.name == "c_fc_addmm")
    gemm.attribute.append(onnx.helper.make_attribute("alpha", 0.5))
    source = save(model, "block.onnx")
    result = run_pass("transformer-fusion", source, tmp_path / "out.onnx", {"engine": "onnxscript"})
    assert result.details["prepared"]["flat_gemm"] == 3
    assert op_counts(result.output)["Gemm"] == 1
    assert_same_outputs(source, result.output, dims={"batch": 2, "sequence": 8})


def test_detects_heads_from_inferred_shapes_when_the_target_is_computed() -> None:
    model = onnx.shape_inference.infer_shapes(build_dynamo_block(), data_prop=True)
    heads_shape = next(t for t in model.graph.initializer if t.name == "heads_shape")
    model.graph.initializer.remove(heads_shape)
    # the exporter computes the target from the input's shape: here a runtime Concat
    model.graph.node.insert(0, onnx.helper.make_node("Concat", ["ids_shape", "c_attn.width"], ["heads_shape"], axis=0))
    assert detect_attention_shape(model) == (2, 32)


def test_onnxruntime_engine_prints_nothing_on_stdout(save, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """stdout carries --json output; ORT's optimizer print()s its shape inference failures."""
    source = save(build_dynamo_block(), "block.onnx")
    run_pass("transformer-fusion", source, tmp_path / "out.onnx", {"engine": "onnxruntime"})
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("engine", ["onnxscript", "onnxruntime"])
def test_rms_norm_without_residual_stays_valid_onnx(save, tmp_path: Path, engine: str) -> None:
    """The first RMSNorm of a Llama/T5 block fuses to ORT's standard-domain SimplifiedLayerNormalization.

    ONNX defines no such op, so the fused file failed validation ("No Op registered for
    SimplifiedLayerNormalization"); the pass writes that one norm in standard ops instead.
    """
    source = save(build_rms_norm_block(), "block.onnx")
    result = run_pass("transformer-fusion", source, tmp_path / "out.onnx", {"engine": engine})
    assert result.details["fused"] == {"SkipSimplifiedLayerNormalization": 1}
    fused = onnx.load(str(result.output))
    onnx.checker.check_model(fused)
    assert not any(n.op_type == "SimplifiedLayerNormalization" for n in fused.graph.node)
    assert_same_outputs(source, result.output, dims={"batch": 2, "sequence": 8})


@pytest.mark.parametrize("opset", [17, 18], ids=["axes-attribute", "axes-input"])
def test_standard_rms_norm_matches_its_definition(opset: int) -> None:
    """X / sqrt(mean over the axes from `axis` of X^2 + epsilon) * scale, with ReduceMean in the opset's spelling."""
    scale = np.linspace(0.5, 1.5, 12, dtype=np.float32).reshape(3, 4)
    node = helper.make_node("SimplifiedLayerNormalization", ["x", "scale"], ["y"], axis=-2, epsilon=1e-3)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])],
        [onnx.numpy_helper.from_array(scale, "scale")],
    )
    model = to_ir(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]))
    assert standardize_rms_norms(model) == 1
    proto = to_proto(model)
    onnx.checker.check_model(proto)
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    expected = x / np.sqrt((x**2).mean(axis=(1, 2), keepdims=True) + 1e-3) * scale
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], expected, rtol=1e-5)
