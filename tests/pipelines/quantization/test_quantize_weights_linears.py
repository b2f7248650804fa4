"""quantize-weights on linear layers as torch exporters write them: Gemm, Transpose(W) and a tied LM head."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from quant_models import dynamo_linears_model, op_types, worst_cosine

from onnx_workbench.pipelines.passes._linear_weights import expose_linear_weights
from onnx_workbench.pipelines.passes._rewrite import to_ir, to_proto
from onnx_workbench.pipelines.passes.engine import run_pass


def _run(model: onnx.ModelProto, ids: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids})[0]


def test_exposing_the_weights_keeps_the_outputs_and_leaves_only_constant_matmuls(tmp_path: Path) -> None:
    source = onnx.load(str(dynamo_linears_model(tmp_path / "m.onnx")))
    model = to_ir(onnx.load(str(tmp_path / "m.onnx")))
    exposed = expose_linear_weights(model)
    rewritten = to_proto(model)
    assert (exposed.gemms, exposed.transposes) == (2, 2)
    matmuls = [n for n in rewritten.graph.node if n.op_type == "MatMul"]
    constants = {t.name: t for t in rewritten.graph.initializer}
    assert [n.name for n in matmuls] == ["fc_in", "fc_out", "proj", "lm_head"]
    assert all(n.input[1] in constants and len(constants[n.input[1]].dims) == 2 for n in matmuls)
    assert not any(n.op_type in ("Gemm", "Transpose") for n in rewritten.graph.node)
    # alpha and beta of the transB Gemm are folded into its weight and bias
    ids = np.array([[3, 17, 42, 95, 0]], np.int64)
    np.testing.assert_allclose(_run(rewritten, ids), _run(source, ids), rtol=1e-5, atol=1e-5)


def test_tied_head_gets_one_transposed_copy_and_the_embedding_stays(tmp_path: Path) -> None:
    model = to_ir(onnx.load(str(dynamo_linears_model(tmp_path / "m.onnx"))))
    exposed = expose_linear_weights(model)
    assert [(t.source, t.matmul_outputs) for t in exposed.tied] == [("wte", ("logits",))]
    rewritten = to_proto(model)
    shapes = {t.name: tuple(t.dims) for t in rewritten.graph.initializer}
    assert shapes["wte"] == (96, 64) and shapes[exposed.tied[0].copy] == (64, 96)
    # the untied weights were replaced, not copied
    assert "proj.weight" not in shapes and "fc_out.weight" not in shapes


def test_quantizes_every_linear_spelling_of_a_dynamo_export(tmp_path: Path) -> None:
    source = dynamo_linears_model(tmp_path / "m.onnx")
    target = tmp_path / "m.q4.onnx"
    result = run_pass("quantize-weights", source, target, {"block_size": 32})
    assert result.details["matmuls_quantized"] == 4
    assert result.details["linears_exposed"] == {"gemm": 2, "transposed_weight": 2}
    assert {"Gemm", "MatMul", "Transpose"}.isdisjoint(op_types(target))
    tied = result.details["tied_copies"]["wte_transposed"]
    # 64 x 96 weights at 4 bits plus one float scale per 32 of them
    assert tied == {"source": "wte", "bytes": 64 * 96 // 2 + 64 * 96 // 32 * 4}
    assert any("'wte' is shared" in w and "4-bit transposed copy" in w for w in result.warnings)
    assert worst_cosine(source, target) >= 0.98


def test_an_excluded_tied_head_makes_no_copy(tmp_path: Path) -> None:
    source = dynamo_linears_model(tmp_path / "m.onnx")
    target = tmp_path / "m.q4.onnx"
    result = run_pass(
        "quantize-weights", source, target, {"block_size": 32, "nodes_to_exclude": ["lm_head", "fc_in"]}
    )
    assert result.details["matmuls_quantized"] == 2
    assert "tied_copies" not in result.details and not result.warnings
    nodes = {n.name: n.op_type for n in onnx.load(str(target)).graph.node}
    assert (nodes["lm_head"], nodes["lm_head_t"], nodes["fc_in"]) == ("MatMul", "Transpose", "Gemm")
    assert worst_cosine(source, target) >= 0.98


@pytest.mark.parametrize("trans_a", [1, 0])
def test_gemm_with_transposed_input_or_runtime_weight_is_left_alone(tmp_path: Path, trans_a: int) -> None:
    source = onnx.load(str(dynamo_linears_model(tmp_path / "m.onnx")))
    gemm = next(n for n in source.graph.node if n.name == "fc_out")
    if trans_a:
        gemm.attribute.append(onnx.helper.make_attribute("transA", 1))
    else:
        source.graph.input.append(onnx.helper.make_tensor_value_info("fc_out.weight", onnx.TensorProto.FLOAT, [64, 128]))
    model = to_ir(source)
    exposed = expose_linear_weights(model)
    assert exposed.gemms == 1
    assert [n.op_type for n in model.graph if n.name == "fc_out"] == ["Gemm"]
