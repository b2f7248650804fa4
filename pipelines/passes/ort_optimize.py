"""ort-optimize: ONNX Runtime's own graph optimizations, saved as a model file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx
import onnxruntime as ort

from pipelines.errors import PassFailed
from pipelines.model import load_model, save_model
from pipelines.passes._scratch import scratch_folder
from pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option
from pipelines.passes._rewrite import op_counts

LEVELS = {
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "layout": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
# Tensors at least this big go to the external data file when the model uses one.
_MIN_EXTERNAL_BYTES = 1024


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
            # Azure's provider calls a remote endpoint; nothing leaves the machine, so it is not offered.
            choices=tuple(p for p in ort.get_available_providers() if p != "AzureExecutionProvider"),
        )

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        """Open an ORT session that writes its optimized graph, then save it atomically as `target`."""
        assert isinstance(config, OrtOptimize.Config)
        output = PassOutput()
        loaded = load_model(source, infer_shapes=False)
        with scratch_folder(target, "ort") as scratch:
            optimized = scratch / target.name
            options = ort.SessionOptions()
            options.graph_optimization_level = LEVELS[config.level]
            options.optimized_model_filepath = str(optimized)
            options.log_severity_level = 3
            if loaded.has_external_data:
                # ORT cannot write one protobuf over 2 GB; keep big models' weights beside the file.
                options.add_session_config_entry(
                    "session.optimized_model_external_initializers_file_name", f"{target.name}.data"
                )
                options.add_session_config_entry(
                    "session.optimized_model_external_initializers_min_size_in_bytes", str(_MIN_EXTERNAL_BYTES)
                )
            ctx.progress(0.1, f"ort-optimize: {config.level} on {config.provider}")
            try:
                ort.InferenceSession(str(source), options, providers=[config.provider])
            except Exception as exc:  # noqa: BLE001 - ORT errors carry a code prefix and a path
                reason = str(exc).split("failed:", 1)[-1].strip().splitlines()[0].rstrip(".")
                raise PassFailed(
                    f"pass 'ort-optimize': ONNX Runtime could not load {source.name} with {config.provider} ({reason})."
                ) from exc
            ctx.check_cancelled()
            result = load_model(optimized, infer_shapes=False)
            proto = result.proto
            # ORT stamps its own producer; keep the source's so re-running gives the same bytes.
            proto.producer_name, proto.producer_version = loaded.proto.producer_name, loaded.proto.producer_version
            _rename_new_nodes(proto.graph, {n.name for n in loaded.proto.graph.node})
            save_model(proto, target, external_data=True if loaded.has_external_data else None)
        counts = {op: n for op, n in op_counts(proto.graph).items() if "." in op}
        output.details.update({"level": config.level, "provider": config.provider, "runtime_ops": counts})
        if config.level != "basic":
            output.flags.append(f"runs only on ONNX Runtime with {config.provider}")
        if config.level == "layout":
            output.warnings.append(
                "ort-optimize: layout-level models are tuned to this machine's CPU features; "
                "re-optimize on the machine that will run them."
            )
        return output


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
