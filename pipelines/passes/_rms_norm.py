"""Spell ONNX Runtime's standard-domain SimplifiedLayerNormalization (RMSNorm) in standard ONNX ops.

ONNX Runtime registers SimplifiedLayerNormalization in the standard ONNX domain at version 1
(onnxruntime/core/graph/contrib_ops/contrib_defs.cc; onnxscript's rms_normalization.py calls it
"placed in onnx domain by mistake"), but ONNX itself never defined it, so onnx.checker refuses
every model holding it ("No Op registered for SimplifiedLayerNormalization with domain_version
of 18") and load_model refuses the file. Both fusion engines write it for an RMSNorm that no
residual Add precedes (a Llama or T5 block's first norm); the others become the com.microsoft
SkipSimplifiedLayerNormalization, which is fine. The rule here writes the leftovers back as
X / Sqrt(ReduceMean(X^2) + epsilon) * scale, the form ONNX Runtime's own SimplifiedLayerNormFusion
matches when it loads the model, so nothing is lost at run time and the file stays valid ONNX.
Declares no pass; the engine imports it like any pass module.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import onnx_ir as ir
from onnxscript.rewriter import pattern

from onnx_workbench.pipelines.passes._rewrite import apply_rules

# ReduceMean takes its axes as an input from opset 18, as an attribute before.
_AXES_AS_INPUT_OPSET = 18


class _StandardRmsNorm(pattern.RewriteRuleClassBase):
    """SimplifiedLayerNormalization(x, scale) in the standard domain to Pow/ReduceMean/Add/Sqrt/Div/Mul."""

    def __init__(self, opset: int) -> None:
        super().__init__()
        self._opset = opset

    def pattern(self, op: Any, x: ir.Value, scale: ir.Value) -> ir.Value:
        return op.SimplifiedLayerNormalization(x, scale, _domain="", _outputs=["normalized"])

    def check(self, context: Any, x: ir.Value, scale: ir.Value, normalized: ir.Value, **_: Any) -> pattern.MatchResult:
        """The input and scale types are known floats and the axes can be named without the rank."""
        result = pattern.MatchResult()
        node = normalized.producer()
        if x.dtype is None or not x.dtype.is_floating_point() or scale.dtype is None:
            return result.fail("input or scale type unknown or not floating point.")
        if node.attributes.get_int("axis", -1) >= 0 and (x.shape is None or x.shape.rank() is None):
            return result.fail("a non-negative axis needs the input's rank.")
        return result

    def rewrite(self, op: Any, x: ir.Value, scale: ir.Value, normalized: ir.Value, **_: Any) -> ir.Value:
        """ORT's definition: stash_type is the compute type, the result takes the scale's type."""
        node = normalized.producer()
        axis = node.attributes.get_int("axis", -1)
        if axis < 0:
            axes = list(range(axis, 0))
        else:
            axes = list(range(axis, x.shape.rank()))
        compute = ir.DataType(node.attributes.get_int("stash_type", ir.DataType.FLOAT))
        epsilon = node.attributes.get_float("epsilon", 1e-5)
        numpy_type = compute.numpy()
        if x.dtype != compute:
            x = op.Cast(x, to=compute)
        square = op.Pow(x, op.Constant(value=ir.tensor(np.array(2.0, dtype=numpy_type))))
        if self._opset >= _AXES_AS_INPUT_OPSET:
            mean = op.ReduceMean(square, op.Constant(value_ints=axes), keepdims=1)
        else:
            mean = op.ReduceMean(square, axes=axes, keepdims=1)
        rms = op.Sqrt(op.Add(mean, op.Constant(value=ir.tensor(np.array(epsilon, dtype=numpy_type)))))
        y = op.Div(x, rms)
        if scale.dtype != compute:
            y = op.Cast(y, to=scale.dtype)
        return op.Mul(y, scale)


def standardize_rms_norms(model: ir.Model) -> int:
    """Rewrite standard-domain SimplifiedLayerNormalization nodes into standard ops; return how many."""
    opset = model.opset_imports.get("", 1)
    return apply_rules(model, [_StandardRmsNorm.rule(opset)])
