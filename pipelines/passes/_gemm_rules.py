"""MatMul + bias Add into Gemm: onnxscript's rules with a check of the bias shape.

Declares no pass; fuse-matmul-add imports it when it runs.
"""
from __future__ import annotations

import onnx_ir as ir
from onnxscript.rewriter import MatchResult

# The public rule objects cannot be given an extra condition, so we subclass the rule classes.
from onnxscript.rewriter.rules.common._matmul_add_to_gemm import (
    MatMulAddToGemm,
    TransABMatMulAddToGemm,
    TransAMatMulAddToGemm,
    TransBMatMulAddToGemm,
)

# Gemm computes in these types only (opset 13 schema); MatMul also takes e.g. int8 or uint8.
_GEMM_TYPES = {
    ir.DataType.FLOAT, ir.DataType.FLOAT16, ir.DataType.DOUBLE, ir.DataType.BFLOAT16,
    ir.DataType.INT32, ir.DataType.INT64, ir.DataType.UINT32, ir.DataType.UINT64,
}


def _bias_fits(input_a: ir.Value, input_b: ir.Value, input_c: ir.Value, trans_b: bool) -> MatchResult:
    """Gemm's C must broadcast to [M, N] without changing the result's rank; we accept [N] and [1, N]."""
    result = MatchResult()
    shape, b_shape = input_c.shape, input_b.shape
    if shape is None or b_shape is None:
        return result.fail("bias or weight shape is unknown.")
    if input_a.dtype not in _GEMM_TYPES:
        return result.fail(f"Gemm does not compute in {input_a.dtype}.")
    n = b_shape[0] if trans_b else b_shape[1]
    dims = list(shape.dims)
    if len(dims) == 2 and dims[0] == 1:
        dims = dims[1:]
    if len(dims) != 1:
        return result.fail(f"bias of shape {shape} does not broadcast to [N] alone.")
    if dims[0] != n and dims[0] != 1:
        return result.fail(f"bias length {dims[0]} differs from the output width {n}.")
    return result


class _BiasChecked:
    """Mixin: onnxscript checks only that A and B are 2-D; a 3-D bias would change the output rank."""

    trans_b: bool

    def check(self, context, input_a, input_b, input_c, **kwargs):  # type: ignore[no-untyped-def]
        result = super().check(context, input_a=input_a, input_b=input_b, input_c=input_c, **kwargs)  # type: ignore[misc]
        if not result:
            return result
        return _bias_fits(input_a, input_b, input_c, self.trans_b)


class _Plain(_BiasChecked, MatMulAddToGemm):
    pass


class _TransA(_BiasChecked, TransAMatMulAddToGemm):
    pass


class _TransB(_BiasChecked, TransBMatMulAddToGemm):
    pass


class _TransAB(_BiasChecked, TransABMatMulAddToGemm):
    pass


# Transposed variants first so a Transpose feeding the MatMul is folded into transA/transB.
GEMM_RULES = [_TransAB().rule(), _TransA().rule(), _TransB().rule(), _Plain().rule()]
