"""Replaying a recipe headless (the CLI's `optimize`, a report's recipe): steps applied through a throwaway workspace.

A step is orchestrated in one place, `Workspace.apply` (run the pass, measure, verify against the
original, time against the parent), for the window's session and for a one-off run alike. Here
the recipe's steps are applied in turn in a workspace that lives in a scratch folder beside the
output and is never saved; the last version is moved to the output.
"""
from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.pipelines.recipe import Recipe
from onnx_workbench.pipelines.results import VersionMetrics
from onnx_workbench.pipelines.safe_write import check_targets, source_files
from onnx_workbench.pipelines.staging import publish_model, scratch_folder
from onnx_workbench.pipelines.verify import FidelityReport, Tolerance
from onnx_workbench.pipelines.versions import Version, Workspace


@dataclass(frozen=True)
class StepChecks:
    """What the engine checks after every step of a recipe, as the window's session does."""

    verify: bool = False  # compare with the original, held to `tolerance`
    tolerance: Tolerance | None = None  # None: the default of the steps so far (pipelines.tolerances)
    data: str | None = None  # inputs for verification: .npz (labels add accuracy) or an image folder; None: random
    samples: int | None = 4  # None: every sample of `data`
    dims: dict[str, int] = field(default_factory=dict)
    time_steps: bool = False  # a few interleaved runs against the step's parent (StepResult.latency)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a worker job's params."""
        return {
            "verify": self.verify, "tolerance": self.tolerance.to_dict() if self.tolerance is not None else None,
            "data": self.data, "samples": self.samples, "dims": dict(self.dims), "time_steps": self.time_steps,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepChecks:
        """The checks a worker job was sent (missing keys: defaults)."""
        tolerance = data.get("tolerance")
        return cls(
            verify=bool(data.get("verify")), tolerance=Tolerance.from_dict(tolerance) if tolerance else None,
            data=str(data["data"]) if data.get("data") else None,
            samples=None if data.get("samples", 4) is None else int(data.get("samples", 4)),
            dims=dict(data.get("dims") or {}), time_steps=bool(data.get("time_steps")),
        )


@dataclass(frozen=True)
class StepResult:
    """What one recipe step did: the version it made, and the figures of the version before it."""

    index: int
    version: Version
    before: VersionMetrics
    after: VersionMetrics

    @classmethod
    def of(cls, index: int, parent: Version, version: Version) -> StepResult:
        """Step `index`, which made `version` from `parent`."""
        return cls(index, version, VersionMetrics.of(parent.metrics), VersionMetrics.of(version.metrics))

    @property
    def fidelity(self) -> FidelityReport | None:
        """The comparison with the original (None when the step was not verified)."""
        return self.after.fidelity

    @property
    def latency(self) -> dict[str, Any] | None:
        """LatencyComparison.to_dict() against the parent step (None when it was not timed)."""
        return self.version.metrics.get("step_latency")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `optimize --json`; the intermediate file is left out (it is gone)."""
        version = self.version
        return {
            "step": self.index, "pass": version.pass_name, "config": version.config, "changes": version.changes,
            "summary": version.summary, "seconds": version.seconds, "warnings": version.warnings,
            "flags": version.flags, "details": version.details,
            "size_before": self.before.size_bytes, "size_after": self.after.size_bytes,
            "nodes_before": self.before.nodes, "nodes_after": self.after.nodes,
            "fidelity": version.metrics.get("fidelity"), "latency": self.latency,
        }


def run_recipe(
    model_path: str | Path,
    recipe: Recipe,
    out_path: str | Path,
    checks: StepChecks = StepChecks(),
    *,
    on_progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    scratch: str | Path | None = None,
) -> list[StepResult]:
    """Apply every step in order to `model_path`, write the last model to `out_path`.

    The steps go through `Workspace.apply` in a throwaway workspace in a scratch folder next to
    `out_path` (same file system, so the final move is a rename; `scratch` names one the caller
    owns), and only the latest model is kept. `checks` says what is measured after each step.
    Nothing is written to `out_path` unless every step succeeds, and never over the source or
    its data files.
    """
    from onnx_workbench.pipelines.model import load_model, save_model

    model_path, out_path = Path(model_path), Path(out_path)
    protected = source_files(model_path)
    check_targets([out_path, out_path.with_name(f"{out_path.name}.data")], protected)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results: list[StepResult] = []
    total = max(len(recipe.steps), 1)
    with contextlib.ExitStack() as stack:
        if scratch is None:
            scratch = stack.enter_context(scratch_folder(out_path, "recipe"))
        # Versions are named like the output: external data a pass writes ('<name>.data') keeps
        # a name that cannot clash with another model's data in the output folder.
        workspace = Workspace.throwaway(
            model_path, scratch, model_file=out_path.name, dims=checks.dims, data=checks.data,
            samples=checks.samples, tolerance=checks.tolerance,
        )
        parent = workspace.original
        for index, step in enumerate(recipe.steps, 1):

            def progress(fraction: float, message: str, _i: int = index) -> None:
                if on_progress is not None:
                    on_progress((_i - 1 + fraction) / total, f"step {_i}/{total}: {message}")

            with _errors_name_step(Path(scratch), index, step.pass_name):
                version = workspace.apply(
                    parent.id, step.pass_name, step.config, verify=checks.verify, on_progress=progress,
                    is_cancelled=is_cancelled, save=False, time_step=checks.time_steps,
                )
            results.append(StepResult.of(index, parent, version))
            # Only the latest model is needed: a long recipe must not keep every intermediate.
            workspace.drop_files(parent.id)
            parent = version
        if not recipe.steps:
            # An empty recipe still yields a file: the original, re-saved (external data inlined).
            save_model(load_model(model_path, infer_shapes=False).proto, out_path, source=model_path)
        else:
            publish_model(workspace.path_of(parent.id), out_path, protected)
    return results


def run_recipe_in_worker(
    model_path: str | Path,
    recipe: Recipe,
    out_path: str | Path,
    checks: StepChecks = StepChecks(),
    *,
    on_progress: Callable[[float, str], None] | None = None,
) -> list[dict[str, Any]]:
    """`run_recipe` in a worker process; returns each step's `StepResult.to_dict()`.

    A pass or ONNX Runtime crashing in native code (a hostile attribute can raise SIGFPE) ends
    the worker, not the caller: it surfaces as WorkerCrashed, one sentence. The scratch folder
    belongs to this process, so a killed worker leaves nothing behind in the output folder.
    """
    from onnx_workbench.pipelines.worker.client import run_job

    model_path, out_path = Path(model_path), Path(out_path)
    # Refused here, before a worker starts: the same check run_recipe makes.
    check_targets([out_path, out_path.with_name(f"{out_path.name}.data")], source_files(model_path))
    out_path.parent.mkdir(parents=True, exist_ok=True)

    def forward(record: dict[str, Any]) -> None:
        if on_progress is not None and record.get("kind") == "progress":
            on_progress(float(record.get("fraction", 0.0)), str(record.get("message", "")))

    with scratch_folder(out_path, "recipe") as scratch:
        params = {
            "model": str(model_path.absolute()), "recipe": recipe.to_dict(), "output": str(out_path.absolute()),
            "checks": checks.to_dict(), "scratch": str(scratch),
        }
        return run_job("run-recipe", params, forward)["steps"]


@contextlib.contextmanager
def _errors_name_step(scratch: Path, index: int, pass_name: str) -> Iterator[None]:
    """Errors of a step name the step and the file, not the scratch folders the user never sees."""
    try:
        yield
    except WorkbenchError as exc:
        text = str(exc)
        for root in {str(scratch), str(scratch.resolve())}:
            # Every folder under the scratch root, up to the file name.
            text = re.sub(re.escape(root) + r"(?:[/\\][^/\\\s'\"]+)*[/\\]", "", text)
        if text == str(exc):
            raise
        clone = copy.copy(exc)
        clone.args = (f"step {index} ({pass_name}): {text}", *exc.args[1:])
        raise clone from exc.__cause__
