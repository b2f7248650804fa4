"""The optimization session without Qt: the state every view shows, and events when it changes.

`SessionModel` owns the Workspace, the current version, the history (undo/redo), the recipe
steps still to apply, the dirty flag and the figures measured in this run (profiles, the last
comparison, analyses by version). Everything slow goes through `JobLanes` as a `Request` that
names its lane and versions, so a result lands on the versions it was computed for and a stale
one is dropped. Views subscribe to the psygnal signals below (as napari's layer controls do);
nothing here knows about windows, so the whole session runs headless with an in-process executor.
The Workspace lives in this process: workers write only inside its folder and hand back plain
data merged with `Workspace.add_version` / `update_metrics`, so workspace.json always reflects
this process's view.
"""
from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any

from psygnal import Signal

from onnx_workbench.pipelines.background import JobLanes, Request, WorkerCall
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.history import History
from onnx_workbench.pipelines.passes.engine import make_config
from onnx_workbench.pipelines.recipe import Recipe, save_recipe
from onnx_workbench.pipelines.results import CompareResult, ProfileRun, QuantErrorReport, SensitivityTable, SweepResult
from onnx_workbench.pipelines.safe_write import source_files
from onnx_workbench.pipelines.versions import ROOT_ID, STAGING, Version, Workspace

# Lanes of background work: at most one request of each in flight.
OPEN, APPLY, PROFILE, COMPARE, ANALYSIS, EXPORT = "open", "apply", "profile", "compare", "analysis", "export"
LANES = (OPEN, APPLY, PROFILE, COMPARE, ANALYSIS, EXPORT)
FAILURE_TITLES = {PROFILE: "Profiling failed", COMPARE: "Comparison failed", ANALYSIS: "Analysis failed",
                  EXPORT: "Export failed"}
Analysis = QuantErrorReport | SensitivityTable  # what an analysis job of the "analysis" lane measured


class SessionModel:
    """One optimization session: versions, the current one, history, pending steps, figures, jobs."""

    workspace_changed = Signal()  # a session was started, opened, moved (save as) or closed
    version_added = Signal(str)
    version_changed = Signal(str)  # label or metrics changed
    current_changed = Signal(str)
    history_changed = Signal()  # can_undo / can_redo may have changed
    dirty_changed = Signal(bool)
    step_applied = Signal(str)  # the version a finished step made (or found in the cache)
    step_failed = Signal(str)  # one sentence: why no version was added
    profiled = Signal(str, object)  # version id, ProfileRun
    swept = Signal(str, object)  # version id, SweepResult
    compared = Signal(object)  # CompareResult
    analysed = Signal(str, str, object)  # "quant-debug" | "prune-scan", version id, QuantErrorReport | SensitivityTable
    exported = Signal(str)  # path of a model written by export_model
    message = Signal(str)  # a status line
    problem = Signal(str)  # one sentence: work that failed (profiling, comparison, analysis, export)

    def __init__(self, jobs: JobLanes) -> None:
        self.jobs = jobs  # shared with the window's own background work: one generation counter
        self.workspace: Workspace | None = None
        self.current_id: str | None = None
        self.history = History()
        self.dirty = False  # versions made since the last export or session save
        self.pending_steps: list[tuple[str, dict[str, Any]]] = []  # a preset's steps still to apply
        self.profiles: dict[str, ProfileRun] = {}  # full profiles of this run, by version
        self.comparison: CompareResult | None = None  # the last interleaved comparison
        self.analyses: dict[str, dict[str, Analysis]] = {}  # version id -> kind -> result
        lanes = self.jobs.lane
        lanes(OPEN).succeeded.connect(lambda _request, result: self.adopt(Workspace.open(result["root"])))
        lanes(APPLY).succeeded.connect(self._on_applied)
        lanes(PROFILE).succeeded.connect(self._on_profiled)
        lanes(COMPARE).succeeded.connect(self._on_compared)
        lanes(ANALYSIS).succeeded.connect(self._on_analysed)
        lanes(EXPORT).succeeded.connect(self._on_exported)
        for lane in (OPEN, APPLY):
            lanes(lane).failed.connect(self._on_step_failed)
        for lane, title in FAILURE_TITLES.items():
            lanes(lane).failed.connect(partial(self._on_problem, title))
        lanes(APPLY).cancelled.connect(self._on_step_cancelled)

    # ---- starting, opening, saving ------------------------------------------------------------
    def start(self, source: str | Path, root: str | Path | None = None) -> Request:
        """Start a new session on `source` in a worker (copy and measure version 0)."""
        params: dict[str, Any] = {"source": str(source)}
        if root is not None:
            params["root"] = str(root)
        return self.jobs.submit(OPEN, WorkerCall("workspace-create", params))

    def open(self, root: str | Path) -> None:
        """Reopen a saved session folder (raises ConfigError when it holds none)."""
        self.adopt(Workspace.open(root))

    def adopt(self, workspace: Workspace) -> None:
        """Continue with `workspace`, its original version current and nothing measured yet."""
        self.workspace = workspace
        self._forget_run()
        self.current_id = ROOT_ID
        self.history.reset(ROOT_ID)
        self.workspace_changed.emit()
        self.current_changed.emit(ROOT_ID)
        self.history_changed.emit()

    def close(self) -> None:
        """Forget the session (its folder stays on disk); its running work is cancelled."""
        for lane in LANES:
            self.jobs.cancel(lane)
        self.workspace = None
        self.current_id = None
        self.history.reset()
        self._forget_run()
        self.workspace_changed.emit()
        self.history_changed.emit()

    def _forget_run(self) -> None:
        self.profiles.clear()
        self.analyses.clear()
        self.comparison = None
        self.pending_steps = []
        self._set_dirty(False)

    def save_as(self, folder: str | Path) -> Path:
        """Copy the session folder to `folder` and continue there; returns the new root."""
        workspace = self.need_workspace()
        busy = [lane for lane in LANES if self.jobs.busy(lane)]
        if busy:
            # A running job writes into the current folder and its result would land in the old one.
            raise ConfigError(f"the session cannot be saved while work is running ({', '.join(busy)}); "
                              "wait for it or stop it, then save again.")
        folder = Path(folder)
        if folder.resolve() != workspace.root.resolve():
            if folder.exists() and any(folder.iterdir()):
                raise ConfigError(f"{folder} is not empty; choose an empty or new folder for the session.")
            workspace.save()
            shutil.copytree(workspace.root, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns(f".*.{STAGING}.*"))
            self.workspace = Workspace.open(folder)
            self.workspace_changed.emit()  # views hold the Workspace object: give them the new one
        self._set_dirty(False)
        self.message.emit(f"Session saved in {folder}")
        return folder

    # ---- queries ------------------------------------------------------------------------------
    @property
    def current(self) -> Version | None:
        """The version on screen."""
        if self.workspace is None or self.current_id is None:
            return None
        return self.workspace.get(self.current_id)

    @property
    def has_unexported_work(self) -> bool:
        """True when versions were made since the last export or session save."""
        return self.workspace is not None and self.dirty

    def version(self, version_id: str) -> Version:
        """A version of the open session (ConfigError when there is no session or no such version)."""
        return self.need_workspace().get(version_id)

    def version_path(self, version_id: str) -> Path:
        """The model file of a version."""
        return self.need_workspace().path_of(version_id)

    def recipe(self, version_id: str | None = None) -> Recipe:
        """The recipe from the original to `version_id` (default: the current version)."""
        return self.need_workspace().recipe_for(version_id or self.need_current())

    def stored_profile(self, version_id: str) -> ProfileRun | None:
        """The profile of a version: this run's full one, else the figures stored on it, else None."""
        return self.profiles.get(version_id) or ProfileRun.from_metrics(self.version(version_id).metrics)

    def need_workspace(self) -> Workspace:
        """The open Workspace; ConfigError in one sentence when none is open."""
        if self.workspace is None:
            raise ConfigError("no session is open; open a model first.")
        return self.workspace

    def need_current(self) -> str:
        """The current version's id; ConfigError when no session is open."""
        self.need_workspace()
        assert self.current_id is not None
        return self.current_id

    # ---- steps --------------------------------------------------------------------------------
    def apply(self, pass_name: str, config: dict[str, Any] | None = None, parent: str | None = None) -> Request:
        """Apply a pass to the current version (or `parent`) in a worker; bad config raises ConfigError first."""
        self.pending_steps = []
        return self._start_step(pass_name, config or {}, parent)

    def apply_recipe(self, recipe: Recipe) -> Request:
        """Apply every step of a recipe (a preset) one after another, each as a version."""
        steps = [(step.pass_name, step.config.to_dict()) for step in recipe.steps]
        if not steps:
            raise ConfigError("the recipe has no steps; add at least one pass.")
        # Set before the first step starts: an executor may finish it before _start_step returns.
        self.pending_steps = steps[1:]
        try:
            return self._start_step(*steps[0])
        except ConfigError:
            self.pending_steps = []
            raise

    def cancel_step(self) -> None:
        """Stop the running step; the current version stays as it was."""
        self.pending_steps = []
        self.jobs.cancel(APPLY)

    def _start_step(self, pass_name: str, config: dict[str, Any], parent: str | None = None) -> Request:
        workspace = self.need_workspace()
        config_dict = make_config(pass_name, config).to_dict()  # fails here, naming the field
        parent = workspace.get(parent).id if parent is not None else self.need_current()
        self.message.emit(f"Applying {pass_name}…")
        return self.jobs.submit(APPLY, WorkerCall("apply-pass", {
            "workspace": str(workspace.root), "parent": parent, "pass": pass_name, "config": config_dict,
            "verify": True,
        }), about=(parent,))

    def _on_applied(self, _request: Request, result: dict[str, Any]) -> None:
        workspace = self.need_workspace()
        version = Version.from_dict(result["version"])
        if version.id in {v.id for v in workspace.versions}:
            # A cache hit (same step again) or re-verified: take the worker's figures.
            workspace.update_metrics(version.id, **version.metrics)
        else:
            workspace.add_version(version)
            self._set_dirty(True)
            self.version_added.emit(version.id)
        self.go_to(version.id)
        self.message.emit(f"v{version.number} {version.pass_name}: {version.summary or 'done'}")
        self.step_applied.emit(version.id)
        if self.pending_steps:
            self._start_step(*self.pending_steps.pop(0))

    # ---- moving between versions --------------------------------------------------------------
    def go_to(self, version_id: str) -> None:
        """Make another version current, as a move the history can undo."""
        self.version(version_id)
        if self.history.move(version_id):
            self._set_current(version_id)
            self.history_changed.emit()

    def undo(self) -> None:
        """Back to the version current before the last move."""
        target = self.history.undo()
        if target is not None:
            self._set_current(target)
            self.history_changed.emit()

    def redo(self) -> None:
        """Forward again after an undo."""
        target = self.history.redo()
        if target is not None:
            self._set_current(target)
            self.history_changed.emit()

    def _set_current(self, version_id: str) -> None:
        self.current_id = version_id
        self.current_changed.emit(version_id)

    def rename(self, version_id: str, label: str) -> None:
        """Give a version a label."""
        self.need_workspace().rename(version_id, label)
        self.version_changed.emit(version_id)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)

    # ---- export -------------------------------------------------------------------------------
    def export_model(self, version_id: str, path: str | Path, recipe_path: str | Path | None = None) -> Request:
        """Write a version's model out of the session in a worker (atomic; never over the opened source)."""
        workspace = self.need_workspace()
        workspace.get(version_id)  # an unknown version is refused here, before any work
        return self.jobs.submit(EXPORT, WorkerCall("export-model", {
            "workspace": str(workspace.root), "version": version_id, "path": str(path),
            "recipe": str(recipe_path) if recipe_path is not None else "",
        }), about=(version_id,))

    def export_recipe(self, version_id: str, path: str | Path) -> Path:
        """Write the recipe that rebuilds `version_id`."""
        # Never over the model the session was opened from, or a data file it names.
        out = save_recipe(self.recipe(version_id), path, source_files(self.need_workspace().source))
        self._set_dirty(False)
        return out

    # ---- profiling and comparison -------------------------------------------------------------
    def profile(self, version_id: str | None = None, options: dict[str, Any] | None = None) -> Request:
        """Profile a version (default: current) in a worker; its records stream as job records."""
        vid = version_id or self.need_current()
        return self.jobs.submit(PROFILE, WorkerCall("profile", {
            "model": str(self.version_path(vid)), "options": options or {}}), about=(vid,))

    def sweep(self, version_id: str | None, options: dict[str, Any], batches: list[int], threads: list[int]) -> Request:
        """Measure a batch x threads grid of a version in a worker."""
        vid = version_id or self.need_current()
        return self.jobs.submit(PROFILE, WorkerCall("sweep", {
            "model": str(self.version_path(vid)), "options": options, "batch": batches, "threads": threads,
        }), about=(vid,))

    def stop_profile(self) -> None:
        """Stop profiling (the worker is terminated; nothing is stored)."""
        self.jobs.cancel(PROFILE)

    def compare(self, a: str, b: str, options: dict[str, Any] | None = None) -> Request:
        """Profile two versions interleaved in one worker."""
        return self.jobs.submit(COMPARE, WorkerCall("compare", {
            "model_a": str(self.version_path(a)), "model_b": str(self.version_path(b)), "options": options or {},
        }), about=(a, b))

    def _on_profiled(self, request: Request, result: dict[str, Any]) -> None:
        (vid,) = request.about
        if request.job == "sweep":
            sweep = SweepResult.from_worker(result)
            self.need_workspace().update_metrics(vid, **sweep.to_metrics())
            self.version_changed.emit(vid)
            self.swept.emit(vid, sweep)
            return
        run = ProfileRun.from_worker(result)
        self.profiles[vid] = run
        self.need_workspace().update_metrics(vid, **run.to_metrics())
        self.version_changed.emit(vid)
        self.profiled.emit(vid, run)
        self.message.emit(f"Profiled: p50 {run.latency_ms.get('p50', 0.0):.3f} ms")

    # ---- analyses -----------------------------------------------------------------------------
    def analyse_quantization(self, version_id: str | None = None, samples: int = 4) -> Request:
        """Per-tensor error of a quantized version against its parent (the float model), in a worker."""
        version = self.version(version_id or self.need_current())
        if version.parent is None or not (version.pass_name or "").startswith("quantize"):
            raise ConfigError(f"v{version.number} is not a quantization step; pick a version made by a quantize pass.")
        return self.jobs.submit(ANALYSIS, WorkerCall("quant-debug", {
            "float_model": str(self.version_path(version.parent)), "quant_model": str(self.version_path(version.id)),
            "samples": samples, "data": self.need_workspace().settings.get("data"),
        }), about=(version.id,))

    def scan_pruning(self, version_id: str | None = None, ratios: list[float] | None = None) -> Request:
        """Pruning sensitivity of a version (each unit pruned alone), in a worker."""
        vid = version_id or self.need_current()
        return self.jobs.submit(ANALYSIS, WorkerCall("prune-scan", {
            "model": str(self.version_path(vid)), "ratios": ratios or [0.1, 0.3, 0.5]}), about=(vid,))

    def requantize_excluding(self, version_id: str, nodes: list[str]) -> Request:
        """Quantize the parent of a quantize-static version again with `nodes` kept in float (a sibling version)."""
        version = self.version(version_id)
        if version.pass_name != "quantize-static" or version.parent is None:
            raise ConfigError(f"v{version.number} was not made by quantize-static; exclusion needs its settings.")
        excluded = list(dict.fromkeys([*version.config.get("nodes_to_exclude", []), *nodes]))
        return self.apply("quantize-static", {**version.config, "nodes_to_exclude": excluded}, parent=version.parent)

    # ---- job results --------------------------------------------------------------------------
    def _on_compared(self, request: Request, result: dict[str, Any]) -> None:
        self.comparison = CompareResult.from_worker(result, *request.about)
        self.compared.emit(self.comparison)

    def _on_analysed(self, request: Request, result: dict[str, Any]) -> None:
        (vid,) = request.about
        analysis = QuantErrorReport.from_worker(result) if request.job == "quant-debug" else SensitivityTable.from_worker(result)
        self.analyses.setdefault(vid, {})[request.job] = analysis
        self.analysed.emit(request.job, vid, analysis)

    def _on_exported(self, _request: Request, result: dict[str, Any]) -> None:
        self._set_dirty(False)
        self.exported.emit(result["path"])
        self.message.emit(f"Exported {Path(result['path']).name}")

    def _on_step_failed(self, _request: Request, text: str) -> None:
        self.pending_steps = []
        self.step_failed.emit(text)

    def _on_problem(self, title: str, _request: Request, text: str) -> None:
        self.problem.emit(f"{title}: {text}")

    def _on_step_cancelled(self, _request: Request) -> None:
        self.pending_steps = []
        self.message.emit("Step cancelled; the current version is unchanged.")
