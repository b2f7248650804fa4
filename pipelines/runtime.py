"""The one place that creates ONNX Runtime sessions.

Verification, profiling, timing, pruning scans, quantization debugging and the passes that run
ORT all open sessions here, so the settings that matter everywhere (errors-only logging, the
thread counts, the CPU fallback after a GPU provider) are decided once. Telemetry is already
off in every process that imports `pipelines` (see ort_telemetry).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CPU = "CPUExecutionProvider"
OPTIMIZATION_LEVELS = ("disabled", "basic", "extended", "all")

# ORT's refusal of a model newer than it understands, e.g. ONNX 1.19+ writes IR 11+ models that
# ORT 1.23 (the newest on Python 3.10) refuses; its own text is buried after a C++ signature.
_IR_VERSION = re.compile(r"Unsupported model IR version: (\d+), max supported IR version: (\d+)")


@dataclass(frozen=True)
class SessionSettings:
    """How a session is built: ORT's SessionOptions fields the workbench sets, by name."""

    optimization: str = "all"  # one of OPTIMIZATION_LEVELS; "all" is how models are deployed
    intra_op_threads: int = 0  # 0: ORT's default (one per core)
    inter_op_threads: int = 0
    parallel: bool = False  # ExecutionMode.ORT_PARALLEL instead of sequential
    memory_arena: bool = True
    memory_pattern: bool = True
    log_severity: int = 3  # errors only: ORT's warnings (unused initializers, …) are noise to the user
    profile_prefix: str | None = None  # ORT's own per-node profiler writes <prefix>_<date>.json
    optimized_model_path: Path | None = None  # ORT writes its optimized graph here (ort-optimize)
    config_entries: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def session_options(settings: SessionSettings) -> Any:
    """onnxruntime.SessionOptions for `settings`."""
    import onnxruntime as ort

    levels = {
        "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    options = ort.SessionOptions()
    options.graph_optimization_level = levels[settings.optimization]
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = settings.inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_PARALLEL if settings.parallel else ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = settings.memory_arena
    options.enable_mem_pattern = settings.memory_pattern
    options.log_severity_level = settings.log_severity
    if settings.profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = settings.profile_prefix
    if settings.optimized_model_path is not None:
        options.optimized_model_filepath = str(settings.optimized_model_path)
    for key, value in settings.config_entries:
        options.add_session_config_entry(key, value)
    return options


def open_session(
    model: str | Path | bytes,
    settings: SessionSettings = SessionSettings(),
    providers: list[Any] | None = None,
    disabled_optimizers: list[str] | None = None,
) -> Any:
    """An onnxruntime.InferenceSession on a model file (or serialized bytes), CPU unless told otherwise.

    ORT's own exceptions pass through: each caller turns them into the sentence its user needs.
    Optimizers known to crash ONNX Runtime on this model are disabled (pipelines.ort_workarounds).
    """
    import onnxruntime as ort

    from onnx_workbench.pipelines.ort_workarounds import crashing_optimizers

    source = model if isinstance(model, bytes) else str(model)
    disabled = [*(disabled_optimizers or []), *crashing_optimizers(model)]
    return ort.InferenceSession(
        source, session_options(settings), providers=providers or [CPU], disabled_optimizers=disabled or None
    )


def unsupported_ir_version(exc: BaseException) -> str | None:
    """What to do when ORT refused the model for its IR version (no full stop), else None."""
    found = _IR_VERSION.search(str(exc))
    if found is None:
        return None
    import onnxruntime as ort

    model_ir, max_ir = found.groups()
    return (
        f"its IR version {model_ir} is newer than ONNX Runtime {ort.__version__} supports (at most {max_ir}); "
        f"upgrade onnxruntime or save the model with IR version {max_ir} or lower"
    )


def ort_message(exc: BaseException) -> str:
    """ONNX Runtime's error text without its '[ONNXRuntimeError] : 1 : FAIL :' prefix, as a sentence."""
    ir_hint = unsupported_ir_version(exc)
    if ir_hint:
        return ir_hint + "."
    text = " ".join(str(exc).split())
    text = re.sub(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*", "", text)
    text = text[:300].rstrip(" .")
    return (text or type(exc).__name__) + "."
