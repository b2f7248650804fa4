"""The job registry: which function runs each job kind inside a worker process.

A job is `run(params: dict, emit: Callable[[dict], None]) -> dict`: it reads plain-data
params, emits protocol records while it works and returns the plain-data result. Targets are
"module:function" strings imported only in the worker, so the parent never pays for (or
crashes on) what a job imports.

Extra kinds (tests' toy jobs, plug-ins) are named in the environment variable
ONNX_WORKBENCH_WORKER_JOBS="kind=module:function;kind2=/path/file.py:function".
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError

Emit = Callable[[dict[str, Any]], None]
Job = Callable[[dict[str, Any], Emit], dict[str, Any]]

ENV_EXTRA_JOBS = "ONNX_WORKBENCH_WORKER_JOBS"

JOBS: dict[str, str] = {
    "profile": "onnx_workbench.pipelines.profiling.runner:run",
    "sweep": "onnx_workbench.pipelines.profiling.sweep:run",
    "compare": "onnx_workbench.pipelines.profiling.compare:run",
    "apply-pass": "onnx_workbench.pipelines.builtin_jobs:apply_pass",
    "run-recipe": "onnx_workbench.pipelines.builtin_jobs:run_recipe",
    "analyze": "onnx_workbench.pipelines.builtin_jobs:analyze",
    "workspace-create": "onnx_workbench.pipelines.builtin_jobs:create_workspace",
    "export-model": "onnx_workbench.pipelines.builtin_jobs:export_model",
    "quant-debug": "onnx_workbench.pipelines.builtin_jobs:quant_debug",
    "prune-scan": "onnx_workbench.pipelines.builtin_jobs:prune_scan",
    "tensor-stats": "onnx_workbench.pipelines.builtin_jobs:tensor_stats",
    "tune-candidate": "onnx_workbench.pipelines.tune.job:run",
}


def known_kinds() -> list[str]:
    """Every job kind the worker can run, extra kinds from the environment included."""
    return sorted({**JOBS, **_env_jobs()})


def resolve_job(kind: str) -> Job:
    """Import and return the function that runs `kind`, or ConfigError listing the known kinds."""
    target = {**JOBS, **_env_jobs()}.get(kind)
    if target is None:
        raise ConfigError(f"unknown worker job '{kind}' (known jobs: {', '.join(known_kinds())}).")
    module_part, _, function = target.rpartition(":")
    if module_part.endswith(".py"):
        spec = importlib.util.spec_from_file_location(Path(module_part).stem, module_part)
        if spec is None or spec.loader is None:
            raise ConfigError(f"worker job '{kind}': cannot load {module_part}.")
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs, as `import` does: dataclasses look their module up there.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_part)
    return getattr(module, function)


def _env_jobs() -> dict[str, str]:
    jobs: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in os.environ.get(ENV_EXTRA_JOBS, "").split(";"))):
        kind, sep, target = entry.partition("=")
        if sep and ":" in target:
            jobs[kind.strip()] = target.strip()
    return jobs
