"""transformer-fusion: fuse attention, SkipLayerNorm, GELU and embeddings into ONNX Runtime contrib ops."""
from __future__ import annotations

import copy
import logging
import sys
from collections import Counter
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import onnx
from onnx import numpy_helper

from onnx_workbench.pipelines.errors import ConfigError, PassFailed
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option

if TYPE_CHECKING:
    import onnx_ir as ir

ENGINES = ("auto", "onnxscript", "onnxruntime")
# Model types of onnxruntime.transformers.optimizer.MODEL_TYPES whose fusions run without torch
# at opt_level 0 (listed here so importing this module does not import the optimizer).
MODEL_TYPES = (
    "bert", "bart", "clip", "conformer", "gpt2", "gpt_neox", "phi", "swin", "t5", "tnlr", "unet", "vae", "vit",
)
CONTRIB_DOMAIN = "com.microsoft"
# Models from this size on are fused in onnx-ir by onnxscript alone. The protobuf path holds the
# weights several times (the load, a copy per engine, ORT's optimizer, the checks): 12.1 GB peak
# for the 1.96 GB decoder of benchmarks/big_model.py, and nothing above protobuf's 2 GB.
IR_FUSION_MIN_BYTES = 1 << 30


def fused_op_counts(model: onnx.ModelProto | ir.Model) -> dict[str, int]:
    """Count of each ONNX Runtime contrib op (com.microsoft domain) in the main graph."""
    nodes = model.graph.node if isinstance(model, onnx.ModelProto) else model.graph
    return dict(sorted(Counter(n.op_type for n in nodes if n.domain == CONTRIB_DOMAIN).items()))


def detect_attention_shape(model: onnx.ModelProto) -> tuple[int, int]:
    """(num_heads, hidden_size) from the head-splitting Reshapes to [batch, sequence, heads, head_dim]; (0, 0) when unknown.

    The target shape is read from a constant, or (dynamo exports compute it from the input's
    shape at run time) from the Reshape output's inferred shape.
    """
    constants = {t.name: t for t in model.graph.initializer}
    constants.update(
        {n.output[0]: a.t for n in model.graph.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"}
    )
    inferred = {v.name: v.type.tensor_type.shape for v in model.graph.value_info if v.type.HasField("tensor_type")}
    found: Counter[tuple[int, int]] = Counter()
    for node in model.graph.node:
        if node.op_type != "Reshape" or len(node.input) < 2:
            continue
        if node.input[1] in constants:
            shape = numpy_helper.to_array(constants[node.input[1]]).tolist()
        elif node.output[0] in inferred:
            shape = [d.dim_value if d.HasField("dim_value") else 0 for d in inferred[node.output[0]].dim]
        else:
            continue
        if len(shape) == 4 and shape[2] > 0 and shape[3] > 0:
            found[(int(shape[2]), int(shape[2] * shape[3]))] += 1
    return found.most_common(1)[0][0] if found else (0, 0)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence warnings and prints while the ORT optimizer runs."""
    # Its modules log under their bare names (fusion_skiplayernorm, onnx_model, ...) at warning
    # level for every pattern that does not match, e.g. "Model producer not matched"; passes run
    # in a worker process, so disabling logging for the call affects nothing else.
    # It also print()s failures (e.g. "failed in shape inference"); stdout carries `--json`
    # output and worker messages, so prints go to stderr.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        logging.disable(previous)


def fuse_with_onnxscript(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxscript's ORT fusions (match dynamo-style exports)."""
    from onnx_workbench.pipelines.passes._rewrite import to_ir, to_proto

    return to_proto(fuse_ir_with_onnxscript(to_ir(copy.deepcopy(model))))


def fuse_ir_with_onnxscript(model: ir.Model) -> ir.Model:
    """onnxscript's ORT fusions on an onnx-ir model (edited in place)."""
    from onnxscript.rewriter.ort_fusions import optimize_for_ort

    from onnx_workbench.pipelines.passes._rms_norm import standardize_rms_norms

    fused, _counts = optimize_for_ort(model)
    standardize_rms_norms(fused)
    return fused


def fuse_with_onnxruntime(model: onnx.ModelProto, model_type: str, heads: int, hidden: int) -> onnx.ModelProto:
    """onnxruntime.transformers' fusions, Python only (opt_level 0 needs no torch and no ORT session)."""
    from onnxruntime.transformers.optimizer import optimize_model

    from onnx_workbench.pipelines.passes._rewrite import to_ir, to_proto
    from onnx_workbench.pipelines.passes._rms_norm import standardize_rms_norms

    with _quiet():
        optimizer = optimize_model(
            copy.deepcopy(model),  # the optimizer edits the proto it is given
            model_type=model_type,
            num_heads=heads,
            hidden_size=hidden,
            opt_level=0,
            only_onnxruntime=False,
        )
    optimizer.topological_sort()
    fused = optimizer.model
    # The optimizer adds the contrib domain only when saving to a file; add it here.
    if any(n.domain == CONTRIB_DOMAIN for n in fused.graph.node) and not any(
        o.domain == CONTRIB_DOMAIN for o in fused.opset_import
    ):
        fused.opset_import.append(onnx.helper.make_opsetid(CONTRIB_DOMAIN, 1))
    fused_ir = to_ir(fused)
    return to_proto(fused_ir) if standardize_rms_norms(fused_ir) else fused


def _score(model: onnx.ModelProto) -> tuple[int, int]:
    # More fused contrib ops first, then fewer nodes overall.
    return sum(fused_op_counts(model).values()), -len(model.graph.node)


class TransformerFusion(Pass):
    """Fuse transformer sub-graphs into ONNX Runtime's contrib ops."""

    name = "transformer-fusion"
    category = "fusion"
    description = "Fuse attention, SkipLayerNorm, GELU and embedding sub-graphs into ONNX Runtime contrib ops."

    @dataclass(frozen=True)
    class Config(PassConfig):
        engine: str = option(
            "auto", help="Fusion engine: auto tries both and keeps the one that fused more.", choices=ENGINES
        )
        model_type: str = option("bert", help="Architecture for the onnxruntime engine.", choices=MODEL_TYPES)
        num_heads: int = option(0, help="Attention heads (onnxruntime engine); 0 detects them.", min=0, max=1024)
        hidden_size: int = option(0, help="Hidden size (onnxruntime engine); 0 detects it.", min=0, max=65536)

    def uses_ir(self, source: Path) -> bool:
        """Models of IR_FUSION_MIN_BYTES or more are fused in onnx-ir (transform_ir); the others in one protobuf."""
        from onnx_workbench.pipelines.model_files import model_size_bytes

        return model_size_bytes(source) >= IR_FUSION_MIN_BYTES

    def transform_ir(self, model_ir: ir.Model, config: PassConfig, ctx: PassContext, output: PassOutput) -> ir.Model:
        """From 1 GB: onnxscript's fusions on the onnx-ir model, whose weights stay in their data file.

        ONNX Runtime's fusion tool edits one ModelProto holding every weight (its attention
        fusion reads and concatenates them), and the candidates are checked as protobufs: both
        hold the weights several times over, and neither works beyond protobuf's 2 GB, so only
        the onnxscript engine runs here.
        """
        from onnx_workbench.pipelines.ir_weights import call_without_weights
        from onnx_workbench.pipelines.passes._fusion_prep import prepare_for_fusion

        assert isinstance(config, TransformerFusion.Config)
        if config.engine == "onnxruntime":
            raise ConfigError(
                "pass 'transformer-fusion': the onnxruntime engine holds the whole model in one protobuf several times "
                "over, so it runs on models under 1 GB only; choose engine onnxscript (or auto) for this model.",
                "engine",
            )
        prepared = prepare_for_fusion(model_ir)
        ctx.progress(0.1, "transformer-fusion: onnxscript")
        fused = fuse_ir_with_onnxscript(model_ir)
        call_without_weights(onnx.checker.check_model, fused)
        counts = fused_op_counts(fused)
        output.details.update({"engine": "onnxscript", "prepared": prepared, "fused": counts, "candidates": {"onnxscript": counts}})
        if config.engine == "auto":
            output.warnings.append(
                "transformer-fusion: the model is 1 GB or more, so only the onnxscript engine ran "
                "(the onnxruntime engine holds the whole model in one protobuf several times over)."
            )
        if counts:
            output.flags.append("runs only on ONNX Runtime")
        else:
            output.warnings.append("transformer-fusion: no transformer sub-graph matched.")
        return fused

    def transform(
        self, model: onnx.ModelProto, config: PassConfig, ctx: PassContext, output: PassOutput
    ) -> onnx.ModelProto:
        """Run the chosen engine(s), keep the best result and report the fused ops."""
        from onnx_workbench.pipelines.passes._fusion_prep import prepare_for_fusion
        from onnx_workbench.pipelines.passes._rewrite import to_ir, to_proto

        assert isinstance(config, TransformerFusion.Config)
        model_ir = to_ir(model)
        prepared = prepare_for_fusion(model_ir)
        if prepared:
            model = to_proto(model_ir)
        detected = detect_attention_shape(model)
        heads = config.num_heads or detected[0]
        hidden = config.hidden_size or detected[1]
        if heads and hidden and hidden % heads:
            raise PassFailed(
                f"pass 'transformer-fusion': hidden_size {hidden} is not a multiple of num_heads {heads}; fix one of them."
            )
        engines = ("onnxscript", "onnxruntime") if config.engine == "auto" else (config.engine,)
        results: dict[str, onnx.ModelProto] = {}
        errors: dict[str, str] = {}
        for index, engine in enumerate(engines):
            ctx.progress(index / len(engines), f"transformer-fusion: {engine}")
            try:
                if engine == "onnxscript":
                    candidate = fuse_with_onnxscript(model)
                else:
                    candidate = fuse_with_onnxruntime(model, config.model_type, heads, hidden)
                # An engine may write ops the model's opset lacks (LayerNormalization before 17);
                # such a file would be refused everywhere, so it does not compete.
                onnx.checker.check_model(candidate)
                results[engine] = candidate
            except Exception as exc:  # noqa: BLE001 - one engine failing must not hide the other
                errors[engine] = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if not results:
            engine, error = next(iter(errors.items()))
            raise PassFailed(f"pass 'transformer-fusion': the {engine} engine failed ({error.rstrip('.')}).")
        # Ties go to the first engine tried, so the choice is deterministic.
        chosen = max(results, key=lambda name: _score(results[name]))
        fused = results[chosen]
        counts = fused_op_counts(fused)
        output.details.update(
            {
                "engine": chosen,
                "prepared": prepared,
                "fused": counts,
                "num_heads": heads,
                "hidden_size": hidden,
                "candidates": {name: fused_op_counts(m) for name, m in results.items()},
            }
        )
        for engine, error in errors.items():
            output.warnings.append(f"transformer-fusion: the {engine} engine failed ({error.rstrip('.')}).")
        if counts:
            output.flags.append("runs only on ONNX Runtime")
        else:
            output.warnings.append("transformer-fusion: no transformer sub-graph matched; the model is unchanged.")
            return model
        return fused
