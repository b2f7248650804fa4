"""simplify: onnxsim's constant folding, shape inference and dead-code elimination."""
from __future__ import annotations

import contextlib
import inspect
import io
import re
from dataclasses import dataclass
from pathlib import Path

import onnx

from onnx_workbench.pipelines.errors import PassFailed
from onnx_workbench.pipelines.model import load_model, save_model
from onnx_workbench.pipelines.staging import scratch_folder
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, drop_unused_opset_imports, option
from onnx_workbench.pipelines.passes.fix_shapes import fix_dims, parse_input_shapes
from onnx_workbench.pipelines.runtime import SessionSettings, open_session

# onnxsim optimizers that emit ONNX Runtime contrib ops (com.microsoft Attention, GroupQueryAttention);
# a standard-ONNX cleanup pass must not, so they are always skipped. transformer-fusion does that job.
RUNTIME_SPECIFIC_OPTIMIZERS = ("fuse_attention", "fuse_gqa")
# onnxsim 0.7's batched MatMul+Add -> Gemm fusion flattens 3-D activations to 2-D and does not
# restore their shape when dims are dynamic, so the next Reshape fails in ONNX Runtime; 0.8
# (Python 3.11+) computes the shape at run time. Old versions always skip it.
BROKEN_IN_ONNXSIM_07 = ("fuse_matmul_add_bias_into_gemm_batched",)
STANDARD_DOMAINS = ("", "ai.onnx")


class Simplify(Pass):
    """Run onnxsim on a file (it handles external data itself) and save its result atomically."""

    name = "simplify"
    category = "cleanup"
    description = "Fold constants, infer shapes and remove dead code with onnxsim."

    @dataclass(frozen=True)
    class Config(PassConfig):
        perform_optimization: bool = option(True, help="Run onnxsim's graph optimizers (fusions, no-op removal).")
        skip_fuse_bn: bool = option(False, help="Keep BatchNormalization nodes instead of folding them into Conv.",
                                    label="Keep BatchNorm")
        skipped_optimizers: list[str] = option(
            [], help="onnxsim optimizers to skip by name, e.g. fuse_matmul_add_bias_into_gemm."
        )
        dims: dict[str, int] = option({}, help="Fix named dynamic dimensions first, e.g. batch:1,sequence:128.")
        input_shapes: list[str] = option([], help="Fix whole input shapes first, e.g. input:1x3x224x224.")
        tensor_size_threshold_mb: int = option(
            1536, help="Do not fold constants whose result would exceed this many MB.", min=1, max=1 << 20,
            label="Largest folded constant (MB)",
        )
        check_n: int = option(
            0, help="Random-input checks onnxsim runs itself (the workbench verifies every version anyway).", min=0, max=10,
            label="onnxsim's own checks",
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
            # onnxsim 0.8+ writes the file itself, external data included, so a model over 2 GB
            # never becomes one protobuf message; 0.7 (the newest for Python 3.10) only returns
            # the model, which save_model then writes.
            writes_file = "output_path" in inspect.signature(onnxsim.simplify).parameters
            skipped = set(config.skipped_optimizers) | set(RUNTIME_SPECIFIC_OPTIMIZERS)
            if not writes_file:
                skipped |= set(BROKEN_IN_ONNXSIM_07)
            options: dict[str, object] = {
                "check_n": config.check_n,
                "perform_optimization": config.perform_optimization,
                "skip_fuse_bn": config.skip_fuse_bn,
                "skipped_optimizers": sorted(skipped),
                "tensor_size_threshold": f"{config.tensor_size_threshold_mb}MB",
            }
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
            if not writes_file:
                # onnxsim 0.7 has known wrong rewrites (see BROKEN_IN_ONNXSIM_07); one ORT run of
                # the result catches any other before a broken model becomes a version.
                _refuse_if_broken(model_path, simplified_path, loaded.proto, source.name)
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
        drop_unused_opset_imports(result, keep=source_domains)
        _strip_onnxsim_metadata(result, output)
        if "removed_nodes" not in output.details["onnxsim"]:
            # onnxsim 0.7 records no counts; named source nodes that are gone is the same figure
            # for the models we see (onnxsim keeps the names of the nodes it keeps).
            kept_names = {n.name for n in result.graph.node}
            output.details["onnxsim"]["removed_nodes"] = sum(
                1 for n in loaded.proto.graph.node if n.name and n.name not in kept_names
            )
        if config.check_n and not ok:
            output.warnings.append(
                "simplify: onnxsim's own check found differing outputs; compare this version with the original."
            )
        save_model(result, target, external_data=True if loaded.has_external_data else None)
        return output


# "/onnxruntime_src/.../reshape_helper.h:45 onnxruntime::ReshapeHelper::ReshapeHelper(...)" in ORT's messages.
_CPP_LOCATION = re.compile(r"\S+\.(?:cc|cpp|h):\d+ [^()]*\([^)]*\)\s*")


def _refuse_if_broken(source: Path, simplified: Path, source_proto: onnx.ModelProto, name: str) -> None:
    """Raise PassFailed when ORT cannot run the simplified model on random inputs but can run the source."""
    import onnxsim

    from onnx_workbench.pipelines.inputs import random_inputs

    def run(path: Path) -> str | None:
        try:
            # Severity 4 (fatal only): the failure is reported in our sentence, not on stderr.
            session = open_session(path, SessionSettings(log_severity=4))
            session.run(None, random_inputs(source_proto))
        except Exception as exc:  # noqa: BLE001 - any ORT failure means "does not run"
            text = " ".join(str(exc).split()).rsplit(" : ", 1)[-1].split("Status Message:")[-1]
            return _CPP_LOCATION.sub("", text).strip()[:200].rstrip(".")
        return None

    problem = run(simplified)
    if problem is not None and run(source) is None:
        raise PassFailed(
            f"pass 'simplify': onnxsim {onnxsim.__version__.lstrip('v')} turned {name} into a model "
            f"ONNX Runtime cannot run ({problem}); add the optimizer that broke it to skipped_optimizers or use onnxsim 0.8 or later."
        )


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
