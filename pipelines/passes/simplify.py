"""simplify: onnxsim's constant folding, shape inference and dead-code elimination."""
from __future__ import annotations

import contextlib
import inspect
import io
from dataclasses import dataclass
from pathlib import Path

import onnx

from pipelines.errors import PassFailed
from pipelines.model import load_model, save_model
from pipelines.passes._scratch import scratch_folder
from pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option
from pipelines.passes.fix_shapes import fix_dims, parse_input_shapes

# onnxsim optimizers that emit ONNX Runtime contrib ops (com.microsoft Attention, GroupQueryAttention);
# a standard-ONNX cleanup pass must not, so they are always skipped. transformer-fusion does that job.
RUNTIME_SPECIFIC_OPTIMIZERS = ("fuse_attention", "fuse_gqa")
STANDARD_DOMAINS = ("", "ai.onnx")


class Simplify(Pass):
    """Run onnxsim on a file (it handles external data itself) and save its result atomically."""

    name = "simplify"
    category = "cleanup"
    description = "Fold constants, infer shapes and remove dead code with onnxsim."

    @dataclass(frozen=True)
    class Config(PassConfig):
        perform_optimization: bool = option(True, help="Run onnxsim's graph optimizers (fusions, no-op removal).")
        skip_fuse_bn: bool = option(False, help="Keep BatchNormalization nodes instead of folding them into Conv.")
        skipped_optimizers: list[str] = option(
            [], help="onnxsim optimizers to skip by name, e.g. fuse_matmul_add_bias_into_gemm."
        )
        dims: dict[str, int] = option({}, help="Fix named dynamic dimensions first, e.g. batch:1,sequence:128.")
        input_shapes: list[str] = option([], help="Fix whole input shapes first, e.g. input:1x3x224x224.")
        tensor_size_threshold_mb: int = option(
            1536, help="Do not fold constants whose result would exceed this many MB.", min=1, max=1 << 20
        )
        check_n: int = option(
            0, help="Random-input checks onnxsim runs itself (the workbench verifies every version anyway).", min=0, max=10
        )

        def validate(self) -> None:
            """Bounds per field, then the input shape syntax."""
            super().validate()
            parse_input_shapes(self.input_shapes, "simplify")

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        """Simplify `source` via a scratch folder next to `target`; never touches `source`."""
        import onnxsim

        assert isinstance(config, Simplify.Config)
        output = PassOutput()
        loaded = load_model(source, infer_shapes=False)
        source_domains = {o.domain for o in loaded.proto.opset_import}
        with scratch_folder(target, "sim") as scratch:
            model_path = source
            if config.dims or config.input_shapes:
                # The same helper as fix-shapes (not onnxsim's overwrite_input_shapes), so a wrong
                # name or rank fails as a ConfigError naming the field.
                fix_dims(loaded.proto, config.dims, parse_input_shapes(config.input_shapes, self.name), self.name)
                model_path = save_model(loaded.proto, scratch / "input.onnx")
            simplified_path = scratch / "simplified.onnx"
            ctx.progress(0.1, "simplify: running onnxsim")
            options: dict[str, object] = {
                "check_n": config.check_n,
                "perform_optimization": config.perform_optimization,
                "skip_fuse_bn": config.skip_fuse_bn,
                "skipped_optimizers": sorted(set(config.skipped_optimizers) | set(RUNTIME_SPECIFIC_OPTIMIZERS)),
                "tensor_size_threshold": f"{config.tensor_size_threshold_mb}MB",
            }
            # onnxsim 0.8+ writes the file itself, external data included, so a model over 2 GB
            # never becomes one protobuf message; 0.7 (the newest for Python 3.10) only returns
            # the model, which save_model then writes.
            writes_file = "output_path" in inspect.signature(onnxsim.simplify).parameters
            if writes_file:
                options["output_path"] = str(simplified_path)
            try:
                # Its progress prints would corrupt the CLI's JSON on stdout, so they are swallowed.
                with contextlib.redirect_stdout(io.StringIO()):
                    simplified, ok = onnxsim.simplify(str(model_path), **options)
            except Exception as exc:  # noqa: BLE001 - onnxsim raises bare RuntimeErrors from C++
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
                raise PassFailed(f"pass 'simplify': onnxsim could not simplify {source.name} ({first}).") from exc
            if not writes_file:
                save_model(simplified, simplified_path, external_data=True if loaded.has_external_data else None)
            del simplified
            ctx.check_cancelled()
            result = load_model(simplified_path, infer_shapes=False).proto
        new_ops = sorted(
            {f"{n.domain}.{n.op_type}" for n in result.graph.node if n.domain not in STANDARD_DOMAINS}
            - {f"{n.domain}.{n.op_type}" for n in loaded.proto.graph.node}
        )
        if new_ops:
            raise PassFailed(
                f"pass 'simplify': onnxsim produced the runtime-specific op {new_ops[0]}; "
                "add the optimizer that made it to skipped_optimizers."
            )
        # onnxsim may import domains (com.microsoft) that no node uses any more; drop those.
        used = {n.domain for n in result.graph.node}
        imports = [o for o in result.opset_import if o.domain in source_domains or o.domain in used]
        del result.opset_import[:]
        result.opset_import.extend(imports)
        _strip_onnxsim_metadata(result, output)
        if config.check_n and not ok:
            output.warnings.append(
                "simplify: onnxsim's own check found differing outputs; compare this version with the original."
            )
        save_model(result, target, external_data=True if loaded.has_external_data else None)
        return output


def _strip_onnxsim_metadata(model: onnx.ModelProto, output: PassOutput) -> None:
    """Move onnxsim's bookkeeping out of the model's metadata into the pass details."""
    # onnxsim records its settings and long lists of removed nodes as metadata_props; the
    # workbench keeps provenance in the version history instead, so the file stays clean.
    kept, details = [], {}
    for prop in model.metadata_props:
        if prop.key.startswith("onnxsim."):
            if prop.key.endswith(".count"):
                details[prop.key.removeprefix("onnxsim.").removesuffix(".count")] = int(prop.value or 0)
        else:
            kept.append((prop.key, prop.value))
    del model.metadata_props[:]
    for key, value in kept:
        model.metadata_props.add(key=key, value=value)
    output.details["onnxsim"] = details
