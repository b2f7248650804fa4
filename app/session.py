"""The optimization session seen from the window: a Workspace, the current version, undo/redo.

Everything slow runs in worker processes through `JobSlot`s: opening the session (copy and
measure version 0), applying passes, profiling, sweeps and interleaved comparisons. The
Workspace object lives here, on the GUI thread; workers write only inside its folder and hand
back plain data that is merged with `Workspace.add_version` / `update_metrics`, so
`workspace.json` always reflects this process's view.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.jobs_qt import JobSlot
from pipelines.errors import ConfigError
from pipelines.passes.engine import make_config
from pipelines.recipe import Recipe, save_recipe
from pipelines.safe_write import source_files
from pipelines.versions import ROOT_ID, Version, Workspace

# Latencies kept on a version for the compare view's distributions; workspace.json stays small.
KEPT_LATENCIES = 2000
# Per-node shares kept on a version for the heat map (the heaviest ones).
KEPT_PER_OP_NODES = 400


class MoveToVersion(QUndoCommand):
    """One step in the version history: make `target` current (undo goes back to `previous`)."""

    def __init__(self, session: Session, previous: str, target: str, text: str) -> None:
        super().__init__(text)
        self.session = session
        self.previous = previous
        self.target = target

    def redo(self) -> None:  # noqa: D102 - Qt API
        self.session._set_current(self.target)

    def undo(self) -> None:  # noqa: D102 - Qt API
        self.session._set_current(self.previous)


class Session(QObject):
    """The session controller: owns the Workspace and runs every long task in a worker process."""

    workspaceChanged = Signal()  # a session was started, opened or closed
    exported = Signal(str)  # path of a model written by export_model
    versionAdded = Signal(str)
    versionChanged = Signal(str)  # label or metrics changed
    currentVersionChanged = Signal(str)
    stepFailed = Signal(str)  # one sentence: why no version was added
    message = Signal(str)  # a status-bar line
    problem = Signal(str)  # one sentence: work that failed (profiling, comparison, analysis, export)
    profileRecord = Signal(dict)
    profileFinished = Signal(str, dict)  # version id, full result
    sweepFinished = Signal(str, dict)
    compareRecord = Signal(dict)
    compareFinished = Signal(str, str, dict)  # a id, b id, result
    comparePicked = Signal(str, str)  # "a" | "b", version id
    analysisFinished = Signal(str, str, dict)  # "quant-debug" | "prune-scan", version id, result

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.current_id: str | None = None
        self.undo_stack = QUndoStack(self)
        self.dirty = False  # versions made since the last export or session save
        self.profiles: dict[str, dict[str, Any]] = {}  # full profile results of this run, by version
        self.compare_pick: dict[str, str | None] = {"a": None, "b": None}
        self._pending_steps: list[tuple[str, dict[str, Any]]] = []
        self._profiling: str | None = None
        self._comparing: tuple[str, str] | None = None

        self.open_slot = JobSlot("open", self)
        self.apply_slot = JobSlot("apply", self)
        self.profile_slot = JobSlot("profile", self)
        self.compare_slot = JobSlot("compare", self)
        self.analysis_slot = JobSlot("analysis", self)
        self.export_slot = JobSlot("export", self)
        self._analysing: tuple[str, str] | None = None
        self.analysis_slot.succeeded.connect(self._on_analysed)
        self.analysis_slot.failed.connect(lambda _g, text: self.problem.emit(f"Analysis failed: {text}"))
        self.open_slot.succeeded.connect(self._on_created)
        self.open_slot.failed.connect(lambda _g, text: self.stepFailed.emit(text))
        self.apply_slot.succeeded.connect(self._on_applied)
        self.apply_slot.failed.connect(self._on_apply_failed)
        self.apply_slot.cancelled.connect(self._on_apply_cancelled)
        self.profile_slot.record.connect(lambda _g, record: self.profileRecord.emit(record))
        self.profile_slot.succeeded.connect(self._on_profiled)
        self.profile_slot.failed.connect(lambda _g, text: self.problem.emit(f"Profiling failed: {text}"))
        self.compare_slot.record.connect(lambda _g, record: self.compareRecord.emit(record))
        self.compare_slot.succeeded.connect(self._on_compared)
        self.compare_slot.failed.connect(lambda _g, text: self.problem.emit(f"Comparison failed: {text}"))
        self.export_slot.succeeded.connect(self._on_exported)
        self.export_slot.failed.connect(lambda _g, text: self.problem.emit(f"Export failed: {text}"))

    # ---- starting and saving ----------------------------------------------------------------
    def start(self, source: str | Path, root: str | Path | None = None) -> int:
        """Start a new session on `source` in a worker (copy + measure version 0)."""
        params: dict[str, Any] = {"source": str(source)}
        if root is not None:
            params["root"] = str(root)
        return self.open_slot.start("workspace-create", params)

    def open(self, root: str | Path) -> None:
        """Reopen a saved session folder (raises ConfigError when it holds none)."""
        self._adopt(Workspace.open(root))

    def close(self) -> None:
        """Forget the session (its folder stays on disk); running work is cancelled."""
        for slot in self.slots:
            slot.cancel()
        self.workspace = None
        self.current_id = None
        self.undo_stack.clear()
        self.profiles.clear()
        self.dirty = False
        self.workspaceChanged.emit()

    def save_as(self, folder: str | Path) -> Path:
        """Copy the session folder to `folder` and continue there; returns the new root."""
        workspace = self._need_workspace()
        busy = [slot.name for slot in self.slots if slot.busy]
        if busy:
            # A running job writes into the current folder and its result would land in the old one.
            raise ConfigError(f"the session cannot be saved while work is running ({', '.join(busy)}); "
                              "wait for it or stop it, then save again.")
        folder = Path(folder)
        if folder.resolve() != workspace.root.resolve():
            if folder.exists() and any(folder.iterdir()):
                raise ConfigError(f"{folder} is not empty; choose an empty or new folder for the session.")
            workspace.save()
            shutil.copytree(workspace.root, folder, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".staging-*"))
            current = self.current_id
            self.workspace = Workspace.open(folder)
            self.current_id = current
            self.workspaceChanged.emit()  # views hold the Workspace object: give them the new one
        self.dirty = False
        self.message.emit(f"Session saved in {folder}")
        return folder

    def _on_created(self, _generation: int, result: dict[str, Any]) -> None:
        self._adopt(Workspace.open(result["root"]))

    def _adopt(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.undo_stack.clear()
        self.profiles.clear()
        self.dirty = False
        self.compare_pick = {"a": None, "b": None}
        self.current_id = ROOT_ID
        self.workspaceChanged.emit()
        self.currentVersionChanged.emit(ROOT_ID)

    # ---- queries ----------------------------------------------------------------------------
    @property
    def slots(self) -> list[JobSlot]:
        """Every kind of background work this session runs."""
        return [self.open_slot, self.apply_slot, self.profile_slot, self.compare_slot, self.analysis_slot,
                self.export_slot]

    @property
    def profiling_version(self) -> str | None:
        """The version the running (or last) profile or sweep measures."""
        return self._profiling

    @property
    def current(self) -> Version | None:
        """The version on screen."""
        if self.workspace is None or self.current_id is None:
            return None
        return self.workspace.get(self.current_id)

    def version_path(self, version_id: str) -> Path:
        """The model file of a version."""
        return self._need_workspace().path_of(version_id)

    def recipe(self, version_id: str | None = None) -> Recipe:
        """The recipe from the original to `version_id` (default: the current version)."""
        return self._need_workspace().recipe_for(version_id or self._need_current())

    # ---- steps ------------------------------------------------------------------------------
    def apply(self, pass_name: str, config: dict[str, Any] | None = None, parent: str | None = None) -> int:
        """Apply a pass to the current version (or `parent`) in a worker; bad config raises ConfigError first."""
        self._pending_steps = []
        return self._start_step(pass_name, config or {}, parent)

    def apply_recipe(self, recipe: Recipe) -> int:
        """Apply every step of a recipe (a preset) one after another, each as a version."""
        steps = [(step.pass_name, step.config.to_dict()) for step in recipe.steps]
        if not steps:
            raise ConfigError("the recipe has no steps; add at least one pass.")
        self._pending_steps = steps[1:]
        return self._start_step(*steps[0])

    def cancel_step(self) -> None:
        """Stop the running step; the current version stays as it was."""
        self._pending_steps = []
        self.apply_slot.cancel()

    def _start_step(self, pass_name: str, config: dict[str, Any], parent: str | None = None) -> int:
        workspace = self._need_workspace()
        config_dict = make_config(pass_name, config).to_dict()  # fails here, naming the field
        if parent is not None:
            workspace.get(parent)
        self.message.emit(f"Applying {pass_name}…")
        return self.apply_slot.start("apply-pass", {
            "workspace": str(workspace.root), "parent": parent or self._need_current(),
            "pass": pass_name, "config": config_dict, "verify": True,
        })

    def _on_applied(self, _generation: int, result: dict[str, Any]) -> None:
        workspace = self._need_workspace()
        version = Version.from_dict(result["version"])
        known = version.id in {v.id for v in workspace.versions}
        if known:
            # A cache hit (same step again) or re-verified: take the worker's figures.
            workspace.get(version.id).metrics.update(version.metrics)
            workspace.save()
        else:
            workspace.add_version(version)
            self.dirty = True
            self.versionAdded.emit(version.id)
        previous = self._need_current()
        if version.id != previous:
            self.undo_stack.push(MoveToVersion(self, previous, version.id, f"apply {version.pass_name}"))
        self.message.emit(f"v{version.number} {version.pass_name}: {version.summary or 'done'}")
        if self._pending_steps:
            self._start_step(*self._pending_steps.pop(0))

    def _on_apply_failed(self, _generation: int, text: str) -> None:
        self._pending_steps = []
        self.stepFailed.emit(text)

    def _on_apply_cancelled(self, _generation: int) -> None:
        self._pending_steps = []
        self.message.emit("Step cancelled; the current version is unchanged.")

    # ---- moving between versions ------------------------------------------------------------
    def go_to(self, version_id: str) -> None:
        """Make another version current, as an undoable move."""
        self._need_workspace().get(version_id)
        previous = self._need_current()
        if version_id != previous:
            self.undo_stack.push(MoveToVersion(self, previous, version_id, f"go to {version_id}"))

    def _set_current(self, version_id: str) -> None:
        self.current_id = version_id
        self.currentVersionChanged.emit(version_id)

    def rename(self, version_id: str, label: str) -> None:
        """Give a version a label."""
        self._need_workspace().rename(version_id, label)
        self.versionChanged.emit(version_id)

    def pick_for_compare(self, side: str, version_id: str) -> None:
        """Choose the A or B side of the compare view."""
        self.compare_pick[side] = version_id
        self.comparePicked.emit(side, version_id)

    # ---- export -----------------------------------------------------------------------------
    def export_model(self, version_id: str, path: str | Path, recipe_path: str | Path | None = None) -> int:
        """Write a version's model out of the session in a worker (atomic; never over the opened source).

        `exported` carries the path when it is written; a refusal arrives as a `message`.
        """
        workspace = self._need_workspace()
        workspace.get(version_id)  # an unknown version is refused here, before any work
        return self.export_slot.start("export-model", {
            "workspace": str(workspace.root), "version": version_id, "path": str(path),
            "recipe": str(recipe_path) if recipe_path is not None else "",
        })

    def _on_exported(self, _generation: int, result: dict[str, Any]) -> None:
        self.dirty = False
        self.exported.emit(result["path"])
        self.message.emit(f"Exported {Path(result['path']).name}")

    def export_recipe(self, version_id: str, path: str | Path) -> Path:
        """Write the recipe that rebuilds `version_id`."""
        # Never over the model the session was opened from, or a data file it names.
        out = save_recipe(self.recipe(version_id), path, source_files(self._need_workspace().source))
        self.dirty = False
        return out

    @property
    def has_unexported_work(self) -> bool:
        """True when versions were made since the last export or session save."""
        return self.workspace is not None and self.dirty

    # ---- profiling and comparison -------------------------------------------------------------
    def profile(self, version_id: str | None = None, options: dict[str, Any] | None = None) -> int:
        """Profile a version (default: current) in a worker; records stream to the dashboard."""
        vid = version_id or self._need_current()
        self._profiling = vid
        return self.profile_slot.start("profile", {"model": str(self.version_path(vid)), "options": options or {}})

    def sweep(self, version_id: str | None, options: dict[str, Any], batches: list[int], threads: list[int]) -> int:
        """Measure a batch x threads grid of a version in a worker."""
        vid = version_id or self._need_current()
        self._profiling = vid
        return self.profile_slot.start("sweep", {
            "model": str(self.version_path(vid)), "options": options, "batch": batches, "threads": threads,
        })

    def stop_profile(self) -> None:
        """Stop profiling (the worker is terminated; nothing is stored)."""
        self.profile_slot.cancel()

    def _on_profiled(self, _generation: int, result: dict[str, Any]) -> None:
        vid = self._profiling
        if vid is None or self.workspace is None:
            return
        if "cells" in result:  # a sweep
            self.workspace.update_metrics(vid, sweep={"cells": result["cells"], "best": result.get("best"),
                                                      "best_reason": result.get("best_reason", "")})
            self.versionChanged.emit(vid)
            self.sweepFinished.emit(vid, result)
            return
        self.profiles[vid] = result
        self.workspace.update_metrics(vid, **profile_metrics(result))
        self.versionChanged.emit(vid)
        self.profileFinished.emit(vid, result)
        self.message.emit(f"Profiled: p50 {result['latency_ms'].get('p50', 0):.3f} ms")

    def compare(self, a: str, b: str, options: dict[str, Any] | None = None) -> int:
        """Profile two versions interleaved in one worker."""
        self._comparing = (a, b)
        return self.compare_slot.start("compare", {
            "model_a": str(self.version_path(a)), "model_b": str(self.version_path(b)), "options": options or {},
        })

    def _on_compared(self, _generation: int, result: dict[str, Any]) -> None:
        if self._comparing is None:
            return
        a, b = self._comparing
        self.compareFinished.emit(a, b, result)

    # ---- analyses -----------------------------------------------------------------------------
    def analyse_quantization(self, version_id: str | None = None, samples: int = 4) -> int:
        """Per-tensor error of a quantized version against its parent (the float model), in a worker."""
        version = self._need_workspace().get(version_id or self._need_current())
        if version.parent is None or not (version.pass_name or "").startswith("quantize"):
            raise ConfigError(f"v{version.number} is not a quantization step; pick a version made by a quantize pass.")
        self._analysing = ("quant-debug", version.id)
        return self.analysis_slot.start("quant-debug", {
            "float_model": str(self.version_path(version.parent)), "quant_model": str(self.version_path(version.id)),
            "samples": samples, "data": self._need_workspace().settings.get("data"),
        })

    def scan_pruning(self, version_id: str | None = None, ratios: list[float] | None = None) -> int:
        """Pruning sensitivity of a version (each unit pruned alone), in a worker."""
        vid = version_id or self._need_current()
        self._analysing = ("prune-scan", vid)
        return self.analysis_slot.start("prune-scan", {"model": str(self.version_path(vid)), "ratios": ratios or [0.1, 0.3, 0.5]})

    def requantize_excluding(self, version_id: str, nodes: list[str]) -> int:
        """Quantize the parent of a quantize-static version again with `nodes` kept in float (a sibling version)."""
        version = self._need_workspace().get(version_id)
        if version.pass_name != "quantize-static" or version.parent is None:
            raise ConfigError(f"v{version.number} was not made by quantize-static; exclusion needs its settings.")
        excluded = list(dict.fromkeys([*version.config.get("nodes_to_exclude", []), *nodes]))
        return self.apply("quantize-static", {**version.config, "nodes_to_exclude": excluded}, parent=version.parent)

    def _on_analysed(self, _generation: int, result: dict[str, Any]) -> None:
        if self._analysing is not None:
            kind, vid = self._analysing
            self.analysisFinished.emit(kind, vid, result)

    # ---- helpers ----------------------------------------------------------------------------
    def _need_workspace(self) -> Workspace:
        if self.workspace is None:
            raise ConfigError("no session is open; open a model first.")
        return self.workspace

    def _need_current(self) -> str:
        self._need_workspace()
        assert self.current_id is not None
        return self.current_id


def profile_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The part of a profile result stored on a version (small enough for workspace.json)."""
    metrics: dict[str, Any] = {
        "latency_ms": result.get("latency_ms"),
        "throughput_per_s": result.get("throughput_per_s"),
        "peak_rss_bytes": (result.get("memory") or {}).get("peak_rss_bytes"),
        "latencies_ms": list(result.get("latencies_ms") or [])[:KEPT_LATENCIES],
        "provider": result.get("provider"),
        "options": result.get("options") or {},
        "session_create_s": result.get("session_create_s"),
        # When and under which machine load: profiles taken apart are not comparable figures.
        "measured_at": time.time(),
        "load_avg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    per_op = result.get("per_op")
    if per_op:
        nodes = sorted(per_op.get("nodes", []), key=lambda n: n.get("ms_per_run", 0.0), reverse=True)
        metrics["per_op"] = {"op_types": per_op.get("op_types", []), "nodes": nodes[:KEPT_PER_OP_NODES]}
    return metrics
