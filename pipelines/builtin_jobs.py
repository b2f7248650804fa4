"""Thin worker jobs around the engine: "apply-pass" and "analyze".

They only translate params to calls and progress callbacks to records; the work itself lives
in pipelines.passes.engine, pipelines.versions, pipelines.verify and pipelines.analysis.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.worker import protocol

Emit = Callable[[dict[str, Any]], None]


def _on_progress(emit: Emit) -> Callable[[float, str], None]:
    return lambda fraction, message: emit(protocol.progress(fraction, message))


def apply_pass(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Run one pass in a workspace or on plain files.

    Workspace form: {"workspace": folder, "parent": version id, "pass": name, "config": {...},
    "verify": true} adds the version to the session folder and returns {"version": {...}}.
    File form: {"source": path, "target": path, "pass": name, "config": {...},
    "verify_against": optional reference model} returns the pass result (and fidelity).
    """
    name = params.get("pass")
    if not name:
        raise ConfigError("apply-pass needs a 'pass' name.", "pass")
    progress = _on_progress(emit)
    if params.get("workspace"):
        from onnx_workbench.pipelines.versions import Workspace

        workspace = Workspace.open(params["workspace"])
        version = workspace.apply(
            params.get("parent") or workspace.original.id,
            name,
            params.get("config") or {},
            verify=bool(params.get("verify", True)),
            on_progress=progress,
            save=False,  # the GUI owns workspace.json and records the version itself
        )
        return {"version": version.to_dict(), "workspace": str(workspace.root)}
    if not params.get("source") or not params.get("target"):
        raise ConfigError("apply-pass needs either a 'workspace' or a 'source' and a 'target'.", "source")
    from onnx_workbench.pipelines.passes.engine import run_pass

    result = run_pass(name, params["source"], params["target"], params.get("config") or {}, on_progress=progress)
    out = result.to_dict()
    reference = params.get("verify_against")
    if reference:
        from onnx_workbench.pipelines.verify import verify_models

        report = verify_models(Path(reference), result.output, on_progress=progress)
        out["fidelity"] = report.to_dict()
    return out


def run_recipe(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Replay a recipe on files: {"model", "recipe" (file-format data), "output", "scratch",
    "checks" (StepChecks data)} -> {"steps": [StepResult dicts]}."""
    from onnx_workbench.pipelines.recipe import Recipe
    from onnx_workbench.pipelines.replay import StepChecks
    from onnx_workbench.pipelines.replay import run_recipe as replay

    for key in ("model", "output", "scratch"):
        if not params.get(key):
            raise ConfigError(f"run-recipe needs a '{key}'.", key)
    results = replay(
        params["model"], Recipe.from_dict(params.get("recipe")), params["output"],
        StepChecks.from_dict(params.get("checks") or {}), on_progress=_on_progress(emit), scratch=params["scratch"],
    )
    return {"steps": [step.to_dict() for step in results]}


def analyze(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Load a model (validated, shapes inferred) and return pipelines.analysis figures for it."""
    from onnx_workbench.pipelines.analysis import analyze as analyze_model
    from onnx_workbench.pipelines.model import load_model

    if not params.get("model"):
        raise ConfigError("analyze needs a 'model' path.", "model")
    emit(protocol.progress(0.0, "loading model"))
    # Figures come from shapes and small constants: weights inside the .onnx stay in the file too
    # (this runs beside the window's open; parsing them would compete with it for the CPU).
    loaded = load_model(params["model"], weights=False, inline_weights=False)
    emit(protocol.progress(0.5, "analyzing"))
    analysis = analyze_model(loaded.proto, dims=params.get("dims") or None, path=loaded.path)
    emit(protocol.progress(1.0, "done"))
    return {"model": str(loaded.path), "size_bytes": loaded.size_bytes, "analysis": analysis.to_dict()}


def create_workspace(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Start a session on a model: {"source": path, "root": optional folder} -> {"root": folder}.

    Copying the model in and measuring version 0 (analysis, MACs) can take long on a big
    model, so the GUI runs it here and re-opens the workspace folder it returns.
    """
    from onnx_workbench.pipelines.versions import Workspace

    if not params.get("source"):
        raise ConfigError("workspace-create needs a 'source' model path.", "source")
    emit(protocol.progress(0.0, "copying the model into the session"))
    workspace = Workspace.create(params["source"], params.get("root"))
    emit(protocol.progress(1.0, "session ready"))
    return {"root": str(workspace.root)}


def export_model(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Copy a version out of a session: {"workspace", "version", "path", "recipe": optional} -> {"path"}.

    A multi-GB model takes a while to write; here it cannot stall the window.
    """
    from onnx_workbench.pipelines.versions import Workspace

    for key in ("workspace", "version", "path"):
        if not params.get(key):
            raise ConfigError(f"export-model needs a '{key}'.", key)
    emit(protocol.progress(0.0, "writing the model"))
    out = Workspace.open(params["workspace"]).export(params["version"], params["path"], params.get("recipe") or None)
    emit(protocol.progress(1.0, "exported"))
    return {"path": str(out)}


def quant_debug(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Per-tensor quantization error: {"float_model", "quant_model", "samples", "data"} -> report dict."""
    from onnx_workbench.pipelines.quant_debug import DEFAULT_SAMPLES, analyze_quantization

    for key in ("float_model", "quant_model"):
        if not params.get(key):
            raise ConfigError(f"quant-debug needs a '{key}' path.", key)
    report = analyze_quantization(
        params["float_model"], params["quant_model"], data=params.get("data") or None,
        samples=int(params.get("samples") or DEFAULT_SAMPLES), on_progress=_on_progress(emit),
    )
    return report.to_dict()


def prune_scan(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Pruning sensitivity: {"model", "ratios", "mode", "criterion"} -> SensitivityTable dict."""
    from onnx_workbench.pipelines.pruning.sensitivity import DEFAULT_RATIOS, scan_sensitivity

    if not params.get("model"):
        raise ConfigError("prune-scan needs a 'model' path.", "model")
    table = scan_sensitivity(
        params["model"], params.get("ratios") or DEFAULT_RATIOS, mode=params.get("mode") or "auto",
        criterion=params.get("criterion") or "l1", on_progress=_on_progress(emit),
    )
    return table.to_dict()


def tensor_stats(params: dict[str, Any], emit: Emit) -> dict[str, Any]:
    """Statistics of one initializer, reading only that tensor: {"model", "tensor"} -> summarize_values dict."""
    from onnx_workbench.pipelines.tensor_values import initializer_statistics

    for key in ("model", "tensor"):
        if not params.get(key):
            raise ConfigError(f"tensor-stats needs a '{key}'.", key)
    emit(protocol.progress(0.0, f"reading {params['tensor']}"))
    return initializer_statistics(params["model"], params["tensor"])
