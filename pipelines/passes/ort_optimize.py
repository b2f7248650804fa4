"""ort-optimize: ONNX Runtime's own graph optimizations, saved as a model file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

from onnx_workbench.pipelines.errors import PassFailed
from onnx_workbench.pipelines.model import load_model, save_model
from onnx_workbench.pipelines.staging import scratch_folder
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option
from onnx_workbench.pipelines.runtime import SessionSettings, open_session, unsupported_ir_version

# The pass's level names (what each adds) → ORT's optimization levels.
LEVELS = {"basic": "basic", "extended": "extended", "layout": "all"}
# Tensors at least this big go to the external data file when the model uses one.
_MIN_EXTERNAL_BYTES = 1024


def _providers() -> tuple[str, ...]:
    """The execution providers of this machine's ONNX Runtime an optimized model can be meant for."""
    from onnx_workbench.pipelines.profiling.providers import available_providers

    # Azure's provider calls a remote endpoint; nothing leaves the machine, so it is not offered.
    return tuple(p for p in available_providers() if p != "AzureExecutionProvider")


class OrtOptimize(Pass):
    """Let ONNX Runtime optimize the graph for a provider and save what it built."""

    name = "ort-optimize"
    category = "fusion"
    description = "Apply ONNX Runtime graph optimizations (basic, extended or layout) and save the optimized model."

    @dataclass(frozen=True)
    class Config(PassConfig):
        level: str = option(
            "extended",
            help="basic: standard-ONNX rewrites only; extended: ORT fused ops; layout: also hardware-specific layouts.",
            choices=tuple(LEVELS),
        )
        provider: str = option(
            "CPUExecutionProvider",
            help="Execution provider the optimized model is meant for.",
            # Asked when the field is first shown or checked: importing ONNX Runtime to declare
            # the pass would cost every process that lists the passes (the GUI's) its import.
            choices=_providers,
        )

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        """Open an ORT session that writes its optimized graph, then save it atomically as `target`."""
        from onnx_workbench.pipelines.passes._rewrite import op_counts

        assert isinstance(config, OrtOptimize.Config)
        output = PassOutput()
        loaded = load_model(source, infer_shapes=False)
        opset = next((o.version for o in loaded.proto.opset_import if o.domain in ("", "ai.onnx")), 0)
        disabled: list[str] = []
        with scratch_folder(target, "ort") as scratch:
            ctx.progress(0.1, f"ort-optimize: {config.level} on {config.provider}")
            # At most one retry per known offender: a fusion that emits an ORT-internal op under the
            # standard domain is turned off, since the file would fail ONNX validation everywhere else.
            for _attempt in range(len(_INTERNAL_STANDARD_OPS) + 1):
                optimized = scratch / f"try{_attempt}" / target.name
                optimized.parent.mkdir()
                _run_session(source, optimized, config, loaded.has_external_data, disabled, target.name)
                ctx.check_cancelled()
                proto = _load_unchecked(optimized)
                offenders = _nonstandard_default_ops(proto, opset)
                if not offenders:
                    break
                unknown = [op for op in offenders if op not in _INTERNAL_STANDARD_OPS]
                if unknown:
                    raise PassFailed(
                        f"pass 'ort-optimize': ONNX Runtime wrote {unknown[0]} under the standard domain, "
                        f"which opset {opset} does not define; use level basic or convert the opset first."
                    )
                for op in offenders:
                    disabled += _INTERNAL_STANDARD_OPS[op]
                    output.warnings.append(
                        f"ort-optimize: ONNX Runtime's {op} fusion was skipped because opset {opset} has no {op}."
                    )
            else:
                raise PassFailed("pass 'ort-optimize': ONNX Runtime kept writing ops that opset "
                                 f"{opset} does not define; use level basic.")
            # ORT stamps its own producer; keep the source's so re-running gives the same bytes.
            proto.producer_name, proto.producer_version = loaded.proto.producer_name, loaded.proto.producer_version
            _rename_new_nodes(proto.graph, {n.name for n in loaded.proto.graph.node})
            save_model(proto, target, external_data=True if loaded.has_external_data else None)
        counts = {op: n for op, n in op_counts(proto.graph).items() if "." in op}
        output.details.update(
            {"level": config.level, "provider": config.provider, "runtime_ops": counts, "disabled_optimizers": disabled}
        )
        if config.level != "basic":
            output.flags.append(f"runs only on ONNX Runtime with {config.provider}")
        if config.level == "layout":
            output.warnings.append(
                "ort-optimize: layout-level models are tuned to this machine's CPU features; "
                "re-optimize on the machine that will run them."
            )
        return output


# ORT-internal ops that ORT's fusions write under the standard ONNX domain, and the fusions that
# write them: LayerNormalization exists in ONNX only from opset 17, SimplifiedLayerNormalization never.
_INTERNAL_STANDARD_OPS = {
    "LayerNormalization": ["LayerNormFusionL1", "LayerNormFusionL2"],
    "SimplifiedLayerNormalization": ["SimplifiedLayerNormFusion"],
}


def _run_session(
    source: Path, optimized: Path, config: OrtOptimize.Config, external: bool, disabled: list[str], name: str
) -> None:
    """Create the ORT session whose side effect is the optimized model file."""
    # ORT cannot write one protobuf over 2 GB; keep big models' weights beside the file.
    entries = (
        ("session.optimized_model_external_initializers_file_name", f"{name}.data"),
        ("session.optimized_model_external_initializers_min_size_in_bytes", str(_MIN_EXTERNAL_BYTES)),
    )
    settings = SessionSettings(
        optimization=LEVELS[config.level], optimized_model_path=optimized, config_entries=entries if external else ()
    )
    try:
        open_session(source, settings, providers=[config.provider], disabled_optimizers=disabled)
    except Exception as exc:  # noqa: BLE001 - ORT errors carry a code prefix and a path
        reason = unsupported_ir_version(exc) or str(exc).split("failed:", 1)[-1].strip().splitlines()[0].rstrip(".")
        raise PassFailed(
            f"pass 'ort-optimize': ONNX Runtime could not load {source.name} with {config.provider} ({reason})."
        ) from exc


def _load_unchecked(path: Path) -> onnx.ModelProto:
    """Read ORT's own output (trusted, in our scratch folder) without the checker, data included."""
    # load_model would run onnx.checker, which refuses the very ops _nonstandard_default_ops looks for.
    return onnx.load(str(path), load_external_data=True)


def _nonstandard_default_ops(model: onnx.ModelProto, opset: int) -> list[str]:
    """Op types in the standard domain that the model's opset does not define, sorted."""
    missing = set()
    for node in model.graph.node:
        if node.domain in ("", "ai.onnx"):
            try:
                onnx.defs.get_schema(node.op_type, opset, "")
            except onnx.defs.SchemaError:
                missing.add(node.op_type)
    return sorted(missing)

def _rename_new_nodes(graph: onnx.GraphProto, source_names: set[str]) -> None:
    """Give nodes ORT created names by position and op type.

    ORT's layout transformer numbers the nodes it inserts in hash-map order, so two runs can
    swap names such as 'ReorderOutput' and 'ReorderOutput_token_5'; naming them by position
    makes the output byte-identical across runs. Nodes kept from the source keep their names.
    """
    taken = set(source_names)
    for index, node in enumerate(graph.node):
        if node.name in source_names:
            continue
        name = f"{node.op_type}_ort_{index}"
        while name in taken:
            name += "_"
        node.name = name
        taken.add(name)
