"""fold-batchnorm: fold inference BatchNormalization into the Conv, ConvTranspose or Gemm before it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option

if TYPE_CHECKING:
    import onnx_ir as ir

    from onnxscript.rewriter import RewriteRule


def _rules() -> dict[str, RewriteRule]:
    """onnxscript's fold rule for each producer type."""
    from onnxscript.rewriter.rules.common import (
        fuse_batchnorm_into_conv_rule,
        fuse_batchnorm_into_conv_transpose_rule,
        fuse_batchnorm_into_gemm_rule,
    )

    # onnxscript's rules cover every case we need: they refuse a match when the producer's output
    # has another consumer (the matcher checks intermediate uses), when weights, bias or BN
    # statistics are not constant initializers, or when a weight is shared with another node;
    # ConvTranspose scaling is group-aware and Gemm honours transB and its beta attribute.
    return {
        "Conv": fuse_batchnorm_into_conv_rule,
        "ConvTranspose": fuse_batchnorm_into_conv_transpose_rule,
        "Gemm": fuse_batchnorm_into_gemm_rule,
    }


class FoldBatchNorm(Pass):
    """Fold BatchNormalization into the preceding Conv, ConvTranspose or Gemm weights and bias."""

    name = "fold-batchnorm"
    category = "fusion"
    description = "Fold BatchNormalization into the Conv, ConvTranspose or Gemm that feeds it."

    @dataclass(frozen=True)
    class Config(PassConfig):
        conv: bool = option(True, help="Fold BatchNormalization that follows a Conv.")
        conv_transpose: bool = option(True, help="Fold BatchNormalization that follows a ConvTranspose.")
        gemm: bool = option(True, help="Fold BatchNormalization that follows a Gemm.")

    def transform_ir(self, model_ir: ir.Model, config: PassConfig, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Apply the enabled fold rules, one producer type at a time, and count the folds."""
        from onnx_workbench.pipelines.passes._rewrite import apply_rules, op_counts, producer_names, remove_dead_code, restore_names

        assert isinstance(config, FoldBatchNorm.Config)
        enabled = {"Conv": config.conv, "ConvTranspose": config.conv_transpose, "Gemm": config.gemm}
        batchnorms = op_counts(model_ir.graph)["BatchNormalization"]
        rules = _rules()
        names = producer_names(model_ir, "BatchNormalization", set(rules))
        folded: dict[str, int] = {}
        for producer, rule in rules.items():
            if enabled[producer]:
                ctx.check_cancelled()
                count = apply_rules(model_ir, [rule])
                if count:
                    folded[producer] = count
        remove_dead_code(model_ir)
        restore_names(model_ir, names)
        left = op_counts(model_ir.graph)["BatchNormalization"]
        output.details["folded"] = folded
        output.details["batchnorm_left"] = left
        if batchnorms == 0:
            output.warnings.append("fold-batchnorm: the model has no BatchNormalization node.")
        elif left:
            output.warnings.append(
                f"fold-batchnorm: {left} BatchNormalization node(s) were kept because their producer "
                "is not a Conv/ConvTranspose/Gemm with constant weights used only by them."
            )
        return model_ir
