"""Gather what a report shows: summaries, steps, fidelity, profiles, comparison, recipe."""
from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines import __version__
from onnx_workbench.pipelines.analysis import analyze
from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.recipe import Recipe
from onnx_workbench.pipelines.replay import StepChecks, run_recipe_in_worker
from onnx_workbench.pipelines.machine import machine_info
from onnx_workbench.pipelines.results import CompareResult, ProfileRun, VersionMetrics
from onnx_workbench.pipelines.verify import verify_models

SCHEMA_VERSION = 1
# The summary keeps the heaviest layers only: a per-node list of a 50,000-node model would
# dwarf everything else in the report.
TOP_LAYERS = 15

Progress = Callable[[float, str], None]


def summarize(path: str | Path, label: str, dims: dict[str, int] | None = None) -> dict[str, Any]:
    """A version entry for a report: the model's analysis and metadata, without per-node rows."""
    loaded = load_model(path, weights=False)  # a report shows figures, not weights
    analysis = analyze(loaded.proto, dims, path=path)
    summary = analysis.to_dict()
    summary.pop("layers")
    summary["heaviest_layers"] = [layer.to_dict() for layer in analysis.heaviest(TOP_LAYERS)]
    proto = loaded.proto
    return {
        "label": label,
        "path": str(path),
        "summary": summary,
        "metadata": {p.key: p.value for p in proto.metadata_props},
        "doc_string": proto.doc_string or proto.graph.doc_string,
        "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
        "fidelity": None,
        "profile": None,
    }


def new_report(title: str, versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The report skeleton every builder fills: schema version, machine, versions."""
    return {
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "generated_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "tool": {"name": "onnx-workbench", "version": __version__},
        "machine": machine_info(),
        "versions": versions,
        "steps": [],
        "recipe": None,
        "comparison": None,
    }


def step_entry(step: dict[str, Any]) -> dict[str, Any]:
    """The fields of a recipe step or a workspace version that a report shows."""
    keys = ("pass", "config", "summary", "seconds", "warnings", "flags", "fidelity",
            "size_before", "size_after", "nodes_before", "nodes_after")
    return {key: step.get(key) for key in keys}


def build_report(
    model: str | Path,
    *,
    recipe: Recipe | None = None,
    compare: str | Path | None = None,
    profile_options: dict[str, Any] | None = None,
    dims: dict[str, int] | None = None,
    data: str | Path | None = None,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Report on `model`; with a recipe, on the model it produces; with `compare`, side by side.

    `data`: verify on these inputs (every sample) instead of random ones; labelled data adds
    top-1 / top-5 accuracy and its drop (pipelines.labelled).

    Profiling (when `profile_options` is given) runs in worker processes, as in the GUI, so
    memory figures belong to the model. Intermediate files live in a temporary folder.
    """
    progress = on_progress or (lambda fraction, message: None)
    model = Path(model)
    with tempfile.TemporaryDirectory(prefix="onnx-workbench-report-") as scratch:
        progress(0.0, "analysing")
        versions = [summarize(model, "original", dims)]
        steps: list[dict[str, Any]] = []
        if recipe is not None:
            optimized = Path(scratch) / "optimized.onnx"
            # In a worker, as everywhere a pass runs: a native crash is a sentence, not a dead report.
            checks = StepChecks(verify=True, dims=dims or {}, data=str(data) if data else None, samples=None if data else 4)
            results = run_recipe_in_worker(model, recipe, optimized, checks, on_progress=lambda f, m: progress(0.4 * f, m))
            steps = [step_entry(r) for r in results]
            versions.append(summarize(optimized, "optimized", dims))
            if results and results[-1]["fidelity"] is not None:
                versions[-1]["fidelity"] = results[-1]["fidelity"]
        if compare is not None:
            other = summarize(compare, Path(compare).stem, dims)
            other["fidelity"] = verify_models(model, compare, dims=dims, data=data, samples=None).to_dict()
            versions.append(other)
        report = new_report(model.name, versions)
        report["steps"] = steps
        report["recipe"] = recipe.to_yaml() if recipe is not None else None
        if profile_options is not None:
            attach_profiles(report, profile_options, lambda f, m: progress(0.4 + 0.6 * f, m))
    progress(1.0, "report ready")
    return report


def attach_profiles(report: dict[str, Any], options: dict[str, Any], progress: Progress) -> None:
    """Profile every version in a worker process; with two versions also an interleaved comparison."""
    from onnx_workbench.pipelines.worker.client import run_job

    versions = report["versions"]
    jobs = len(versions) + (1 if len(versions) == 2 else 0)
    for index, version in enumerate(versions):
        progress(index / jobs, f"profiling {version['label']}")
        version["profile"] = run_job("profile", {"model": version["path"], "options": options})
    if len(versions) == 2:
        progress((jobs - 1) / jobs, "interleaved comparison")
        result = run_job("compare", {"model_a": versions[0]["path"], "model_b": versions[1]["path"], "options": options})
        report["comparison"] = CompareResult.from_worker(result).to_report()


def build_workspace_report(
    workspace: Any,
    version_id: str,
    *,
    profiles: dict[str, ProfileRun] | None = None,
    comparison: CompareResult | None = None,
) -> dict[str, Any]:
    """Report on a session version (pipelines.versions.Workspace): original vs `version_id`.

    Nothing is re-run: steps, fidelity and profiles come from what the session measured;
    `profiles` holds this run's profiles by version id (else the figures stored on the version).
    """
    profiles = profiles or {}
    chain = workspace.path_to(version_id)
    shown = [chain[0]] if len(chain) == 1 else [chain[0], chain[-1]]
    dims = workspace.settings.get("dims") or None
    versions = []
    for version in shown:
        entry = summarize(workspace.path_of(version.id), version.label or f"v{version.number}", dims)
        metrics = VersionMetrics.of(version.metrics)
        entry["fidelity"] = metrics.fidelity.to_dict() if metrics.fidelity is not None else None
        profile = profiles.get(version.id) or metrics.profile
        entry["profile"] = profile.to_report() if profile is not None else None
        versions.append(entry)
    report = new_report(workspace.source.name, versions)
    report["steps"] = [step_entry(_version_step(workspace, v)) for v in chain[1:]]
    report["recipe"] = workspace.recipe_for(version_id).to_yaml() if len(chain) > 1 else None
    if comparison is not None:
        report["comparison"] = comparison.to_report()
    return report


def _version_step(workspace: Any, version: Any) -> dict[str, Any]:
    """A workspace version in the shape of a recipe step result."""
    before, after = VersionMetrics.of(workspace.get(version.parent).metrics), VersionMetrics.of(version.metrics)
    return {
        "pass": version.pass_name, "config": version.config, "summary": version.summary,
        "seconds": version.seconds, "warnings": version.warnings, "flags": version.flags,
        "fidelity": after.fidelity.to_dict() if after.fidelity is not None else None,
        "size_before": before.size_bytes, "size_after": after.size_bytes,
        "nodes_before": before.nodes, "nodes_after": after.nodes,
    }
