"""prune-neurons: structured pruning of MLP / FFN neurons and whole attention heads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option
from onnx_workbench.pipelines.passes.prune_channels import MAX_RATIO, check_layer_percent

if TYPE_CHECKING:
    import onnx_ir as ir


class PruneNeurons(Pass):
    """Remove FFN hidden neurons (and optionally attention heads) with the smallest weights."""

    name = "prune-neurons"
    category = "prune"
    # The pruning code infers the shapes it needs; an unchanged model is written back as it was.
    infer_shapes = False
    description = (
        "Remove the least important hidden neurons between two MatMul/Gemm layers (FFN, MLP) and, "
        "with heads_ratio, whole attention heads."
    )

    @dataclass(frozen=True)
    class Config(PassConfig):
        ratio: float = option(0.3, help="Fraction of hidden neurons to remove from every prunable layer pair.", min=0.0, max=MAX_RATIO)
        heads_ratio: float = option(0.0, help="Fraction of attention heads to remove from every recognised attention block.", min=0.0, max=MAX_RATIO)
        layer_percent: dict[str, int] = option(
            {}, help="Percent to remove per layer (the first MatMul/Gemm of a pair), overriding ratio."
        )
        criterion: str = option("l1", help="How neurons and heads are ranked: l1 or l2 norm of their weights.", choices=("l1", "l2"))
        round_to: int = option(1, help="Keep a multiple of this many neurons (e.g. 8 for fast kernels).", min=1, max=256)
        skip_layers: list[str] = option([], help="MatMul/Gemm nodes (or attention score MatMuls) left alone.", widget="nodes")

        def validate(self) -> None:
            """Field bounds plus the per-layer percentages."""
            super().validate()
            check_layer_percent(self.layer_percent)

    def transform_ir(self, model_ir: ir.Model, config: Config, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Prune neuron groups, then attention heads; unrecognised attention is skipped with a warning."""
        from onnx_workbench.pipelines.pruning.neurons import prune_neurons

        ctx.progress(0.1, "prune-neurons: finding layer pairs and attention blocks")
        pruned, report, heads = prune_neurons(
            model_ir,
            ratio=config.ratio,
            heads_ratio=config.heads_ratio,
            layer_ratios={k: v / 100 for k, v in config.layer_percent.items()},
            criterion=config.criterion,
            round_to=config.round_to,
            skip=config.skip_layers,
        )
        output.warnings.extend(report.warnings)
        output.details.update(report.to_dict())
        output.details["attention"] = heads
        return pruned
