"""fuse-matmul-add: MatMul + Add(bias) into Gemm, and merge Transpose/Transpose and Reshape/Reshape pairs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option

if TYPE_CHECKING:
    import onnx_ir as ir


class FuseMatMulAdd(Pass):
    """MatMul followed by a bias Add becomes one Gemm; chained Transposes and Reshapes collapse."""

    name = "fuse-matmul-add"
    category = "fusion"
    description = "Fuse MatMul + bias Add into Gemm (2-D inputs) and merge consecutive Transposes and Reshapes."

    @dataclass(frozen=True)
    class Config(PassConfig):
        gemm: bool = option(True, help="Fuse MatMul + Add(bias) into Gemm where A and B are 2-D and the bias is [N].")
        transposes: bool = option(True, help="Merge Transpose pairs into one (or none when the permutations cancel).")
        reshapes: bool = option(True, help="Merge Reshape pairs into one Reshape to the final shape.")

    def transform_ir(self, model_ir: ir.Model, config: PassConfig, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Apply the enabled rule groups and report how many of each fired."""
        from onnxscript.rewriter.rules.common import no_op_transpose_rule, reshape_reshape_rule, transpose_transpose_rule

        from onnx_workbench.pipelines.passes._gemm_rules import GEMM_RULES
        from onnx_workbench.pipelines.passes._rewrite import apply_rules, eliminate_identities, op_counts, remove_dead_code

        assert isinstance(config, FuseMatMulAdd.Config)
        applied: dict[str, int] = {}
        if config.transposes:
            applied["transpose_pairs"] = apply_rules(model_ir, [transpose_transpose_rule, no_op_transpose_rule])
        if config.reshapes:
            ctx.check_cancelled()
            applied["reshape_pairs"] = apply_rules(model_ir, [reshape_reshape_rule])
        if config.gemm:
            ctx.check_cancelled()
            # commute: the bias may be either input of the Add.
            applied["gemm"] = apply_rules(model_ir, GEMM_RULES, commute=True)
        # Cancelling transposes become Identity nodes; remove them without renaming outputs.
        eliminate_identities(model_ir)
        remove_dead_code(model_ir)
        output.details["applied"] = {k: v for k, v in applied.items() if v}
        output.details["gemm_count"] = op_counts(model_ir.graph)["Gemm"]
        return model_ir
