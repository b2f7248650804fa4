"""ONNX Runtime contrib ops get shapes and costs; figures derived by hand from the ops' semantics."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.analysis import analyze
from onnx_workbench.pipelines.contrib_ops import contrib_cost, contrib_output_shapes

MS = "com.microsoft"


def _node(op: str, inputs: list[str], outputs: list[str] | None = None, **attrs) -> onnx.NodeProto:
    return helper.make_node(op, inputs, outputs or ["y"], domain=MS, **attrs)


def test_attention():
    node = _node("Attention", ["x", "w", "b"], num_heads=4)
    ins = [(2, 8, 16), (16, 48), (48,)]
    assert contrib_output_shapes(node, ins) == [(2, 8, 16)]
    # QKV projection 2*8*16*48 = 12288; Q·Kᵀ 2*8*8*16 = 2048; probs·V 2048 -> 16384 MACs.
    # FLOPs: 2*16384 + bias 2*8*48 = 768 + softmax and scale 2*4*8*8*(5+1) = 3072.
    assert contrib_cost(node, ins, (2, 8, 16)) == (16384, 32768 + 768 + 3072)


def test_matmul_nbits():
    node = _node("MatMulNBits", ["a", "b", "scales"], K=64, N=32, bits=4, block_size=32)
    ins = [(1, 4, 64), (32, 2, 16), (64,)]
    assert contrib_output_shapes(node, ins) == [(1, 4, 32)]
    # 4 rows x 64 x 32 = 8192 MACs; the 64x32 weights dequantized once (2 FLOPs each).
    assert contrib_cost(node, ins, (1, 4, 32)) == (8192, 16384 + 4096)


def test_dynamic_quantize_matmul():
    node = _node("DynamicQuantizeMatMul", ["a", "b", "scale", "zp"])
    ins = [(3, 8), (8, 5), (1,), (1,)]
    assert contrib_output_shapes(node, ins) == [(3, 5)]
    # 3*8*5 = 120 MACs; 15 outputs scaled back (2 each); A's 24 values ranged and quantized (4 each).
    assert contrib_cost(node, ins, (3, 5)) == (120, 240 + 30 + 96)


def test_elementwise_contrib_ops():
    skip = _node("SkipLayerNormalization", ["x", "skip", "gamma", "beta", "bias"])
    assert contrib_output_shapes(skip, [(2, 8, 16)] * 2) == [(2, 8, 16)]
    assert contrib_cost(skip, [(2, 8, 16)], (2, 8, 16)) == (0, 256 * (1 + 1 + 8))  # skip, bias, normalize
    assert contrib_cost(_node("BiasGelu", ["x", "b"]), [(2, 8, 16)], (2, 8, 16)) == (0, 256 * 9)
    qadd = _node("QLinearAdd", ["a", "as", "az", "b", "bs", "bz", "cs", "cz"])
    ins = [(1, 4, 4, 8), (), (), (8,), (), (), (), ()]
    assert contrib_output_shapes(qadd, ins) == [(1, 4, 4, 8)]  # broadcast
    assert contrib_cost(qadd, ins, (1, 4, 4, 8)) == (0, 128 * (2 * 2 + 1 + 3))
    embed = _node("EmbedLayerNormalization", ["ids", "seg", "word", "pos", "segemb", "gamma", "beta"],
                  ["out", "mask"])
    assert contrib_output_shapes(embed, [(2, 8), None, (100, 16)]) == [(2, 8, 16), (2,)]
    assert contrib_cost(embed, [(2, 8)], (2, 8, 16)) == (0, 256 * 10)
    assert contrib_cost(helper.make_node("Relu", ["x"], ["y"]), [(4,)], (4,)) is None  # not a contrib op


def test_shapes_flow_through_contrib_ops_to_the_ops_after_them():
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
               for n, s in (("word", (100, 16)), ("pos", (32, 16)), ("gamma", (16,)), ("beta", (16,)),
                            ("w", (16, 48)), ("b", (48,)), ("proj", (16, 10)))]
    graph = helper.make_graph(
        [_node("EmbedLayerNormalization", ["ids", "", "word", "pos", "", "gamma", "beta"], ["e", "mask"]),
         _node("Attention", ["e", "w", "b", "mask"], ["att"], num_heads=4),
         helper.make_node("MatMul", ["att", "proj"], ["y"])],
        "g", [helper.make_tensor_value_info("ids", TensorProto.INT32, ["batch", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)])
    result = analyze(model, {"batch": 2, "seq": 8})
    macs = {layer.op_type: layer.macs for layer in result.layers}
    assert macs["Attention"] == 16384 and macs["MatMul"] == 2 * 8 * 16 * 10
    assert result.unknown_shape_nodes == 0 and result.macs == 16384 + 2560


@pytest.mark.parametrize("pass_name", ["transformer-fusion"])
def test_fusion_keeps_the_transformers_macs(tmp_path, sample_transformer, pass_name):
    from onnx_workbench.pipelines.model import load_model
    from onnx_workbench.pipelines.passes.engine import make_config, run_pass

    target = tmp_path / "fused.onnx"
    run_pass(pass_name, sample_transformer, target, make_config(pass_name, {}))
    fused = load_model(target).proto
    assert any(n.domain == MS for n in fused.graph.node)
    before, after = analyze(load_model(sample_transformer).proto), analyze(fused)
    assert after.macs == before.macs > 0  # an exact rewrite: the same products, now inside Attention
