"""Rewrites that give dynamo-exported transformers the graph shape the fusion engines expect.

`torch.onnx.export(..., dynamo=True)` writes each linear layer of a [batch, sequence, hidden]
activation as Reshape to 2-D, `Gemm`, Reshape back (torch's addmm), and GPT-2's tanh GELU as
`(0.5 * x) * (1 + tanh(...))`. Both engines miss these: ORT's fusions look for MatMul + Add on
3-D tensors, and onnxscript's attention fusion, which does not check the Reshape after the
attention (a TODO in onnxscript's mha.py), replaces the 2-D [batch*sequence, hidden] tensor
feeding the output Gemm with its own 3-D output, writing a model ONNX Runtime refuses to load.
onnxscript's own `gemm_to_matmul_add_rule` takes the same Reshape-Gemm-Reshape only for
static shapes and transB=0, and its GELU rules only `x * (0.5 * (1 + tanh(...)))`, so the
rules here cover the dynamo spelling. Declares no pass; the engine imports it like any pass module.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx_ir as ir
from onnxscript.rewriter import RewriteRule, pattern

from onnx_workbench.pipelines.passes._rewrite import apply_rules

_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


class _FlatGemm(pattern.RewriteRuleClassBase):
    """Reshape(x, [-1, K]) -> Gemm(W, b) -> Reshape([..., N]) becomes MatMul(x, W[K, N]) + b on x's own rank."""

    def check(self, context: Any, x: ir.Value, weight: ir.Value, gemm: ir.Value, out: ir.Value, bias: ir.Value | None = None, **_: Any) -> pattern.MatchResult:
        """A plain linear layer whose output Reshape restores x's leading dimensions."""
        result = pattern.MatchResult()
        attrs = gemm.producer().attributes
        if attrs.get_int("transA", 0) or attrs.get_float("alpha", 1.0) != 1.0 or attrs.get_float("beta", 1.0) != 1.0:
            return result.fail("Gemm transposes A or scales by alpha/beta.")
        if weight.const_value is None or len(weight.const_value.shape) != 2:
            return result.fail("Gemm weight is not a constant matrix.")
        rows, cols = weight.const_value.shape
        k, n = (cols, rows) if attrs.get_int("transB", 0) else (rows, cols)
        if bias is not None and (bias.shape is None or tuple(bias.shape) not in ((n,), (1, n))):
            return result.fail("Gemm bias is not a vector of the output width.")
        if x.shape is None or out.shape is None or out.shape.rank() < 2:
            return result.fail("input or output shape unknown.")
        lead = len(out.shape) - 1
        if len(x.shape) <= lead or not _same_dims(list(x.shape)[:lead], list(out.shape)[:lead]) or out.shape[lead] != n:
            return result.fail("the output Reshape does not restore the input's leading dimensions.")
        folded = list(x.shape)[lead:]
        if not all(isinstance(d, int) for d in folded) or int(np.prod(folded)) != k:
            return result.fail("the flattened input dimensions do not make the weight's input width.")
        return result

    def rewrite(self, op: Any, x: ir.Value, weight: ir.Value, gemm: ir.Value, out: ir.Value, bias: ir.Value | None = None, **_: Any) -> ir.Value:
        """MatMul on x (merging trailing dims such as attention heads first) and the bias Add."""
        lead = len(out.shape) - 1
        if gemm.producer().attributes.get_int("transB", 0):
            # ORT and onnxscript fuse only constant [K, N] weights; the Gemm was the weight's
            # only reader in every export seen, so this replaces rather than copies it.
            weight = op.initializer(ir.tensor(np.ascontiguousarray(weight.const_value.numpy().T)), name=_fresh(weight, "_kn"))
        if len(x.shape) > lead + 1:
            k = weight.const_value.shape[0]
            x = op.Reshape(x, op.Constant(value_ints=[0] * lead + [k]))
        y = op.MatMul(x, weight)
        return op.Add(y, bias) if bias is not None else y


class _FlatGemmWithBias(_FlatGemm):
    def pattern(self, op: Any, x: ir.Value, flat_shape: ir.Value, weight: ir.Value, bias: ir.Value, out_shape: ir.Value) -> ir.Value:
        y = op.Gemm(op.Reshape(x, flat_shape), weight, bias, _outputs=["gemm"])
        return op.Reshape(y, out_shape, _outputs=["out"])


class _FlatGemmNoBias(_FlatGemm):
    def pattern(self, op: Any, x: ir.Value, flat_shape: ir.Value, weight: ir.Value, out_shape: ir.Value) -> ir.Value:
        y = op.Gemm(op.Reshape(x, flat_shape), weight, _outputs=["gemm"])
        return op.Reshape(y, out_shape, _outputs=["out"])


class _GeluTanhHalfFirst(pattern.RewriteRuleClassBase):
    """(0.5 * x) * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), GPT-2's GELU as dynamo writes it, to FastGelu."""

    def pattern(self, op: Any, x: ir.Value) -> ir.Value:
        inner = op.Mul(op.Add(x, op.Mul(op.Pow(x, 3.0), 0.044715)), _SQRT_TWO_OVER_PI)
        return op.Mul(op.Mul(x, 0.5), op.Add(op.Tanh(inner), 1.0))

    def rewrite(self, op: Any, x: ir.Value) -> ir.Value:
        return op.FastGelu(x, _domain="com.microsoft")


def _same_dims(a: list[Any], b: list[Any]) -> bool:
    """Dimension lists known to be equal: the same integers or the same named symbols (unnamed ones prove nothing)."""
    named = all(isinstance(d, int) or d.value is not None for d in a + b)
    return named and a == b


def _fresh(value: ir.Value, suffix: str) -> str:
    taken = value.graph.initializers if value.graph is not None else {}
    name, index = f"{value.name}{suffix}", 1
    while name in taken:
        name, index = f"{value.name}{suffix}{index}", index + 1
    return name


LINEAR_RULES: list[RewriteRule] = [_FlatGemmWithBias.rule(), _FlatGemmNoBias.rule()]
GELU_RULES: list[RewriteRule] = [_GeluTanhHalfFirst.rule()]


def prepare_for_fusion(model: ir.Model) -> dict[str, int]:
    """Rewrite dynamo-style linear layers and GELUs in place; return how many of each changed."""
    counts = {"flat_gemm": apply_rules(model, LINEAR_RULES), "tanh_gelu": apply_rules(model, GELU_RULES, commute=True)}
    return {name: count for name, count in counts.items() if count}
