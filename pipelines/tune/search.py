"""The search: run candidates under a time budget, keep every result, find the front and the best.

Every candidate becomes versions in one session folder (pipelines.versions), so shared
prefixes are built once and every candidate can be opened, compared, profiled or exported
later, in the window too. Two stages start from results: when the fastest static-INT8
candidate misses the fidelity budget, quant-debug ranks its nodes and candidates keep the
worst ones in float, one group more at a time until the budget holds; and pruning candidates
use per-layer ratios from the sensitivity scan. Candidates are compared by their speed-up over
the original measured in their own interleaved run; `latency_ms` is that speed-up applied to the
original's median over all runs, so every candidate sits on one scale despite load drift.
"""
from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from onnx_workbench.pipelines.errors import ConfigError, WorkbenchError
from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.tune.candidates import (
    STATIC,
    CalibrationData,
    Candidate,
    ModelTraits,
    exclusion_candidate,
    initial_candidates,
    model_traits,
    pruning_candidates,
)
from onnx_workbench.pipelines.tune.executor import Executor, Finished
from onnx_workbench.pipelines.tune.pareto import pareto_front
from onnx_workbench.pipelines.verify import Tolerance
from onnx_workbench.pipelines.versions import ROOT_ID, Version, Workspace

DEFAULT_MIN_COSINE = 0.99
DEFAULT_ACCURACY_DROP = 1.0
# The sensitivity scan's ratios, and the cosine a layer must keep when pruned alone.
PRUNE_RATIOS = (0.125, 0.25, 0.5)
PRUNE_LAYER_COSINE = 0.99
POLL_S = 0.1

Event = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class TuneSettings:
    """What the user asked for: objective, fidelity budget, time budget, how to time and on what data."""

    objective: Literal["latency", "size"] = "latency"
    max_accuracy_drop: float | None = None  # top-1 points; needs labelled data
    min_cosine: float | None = None
    budget_minutes: float = 10.0
    threads: int = 0
    batch: int = 1
    data: str | None = None
    prune: bool = True
    timing_seconds: float = 2.0  # per candidate, original and candidate interleaved

    def __post_init__(self) -> None:
        if self.objective not in ("latency", "size"):
            raise ConfigError(f"objective must be latency or size, not '{self.objective}'.", "objective")
        if self.max_accuracy_drop is not None and self.min_cosine is not None:
            raise ConfigError("give either a maximum accuracy drop or a minimum cosine, not both.", "max_accuracy_drop")
        if not self.budget_minutes > 0:
            raise ConfigError(f"the budget must be a positive number of minutes, got {self.budget_minutes}.", "budget")
        if self.batch < 1 or self.threads < 0:
            raise ConfigError("batch must be at least 1 and threads 0 (ONNX Runtime's choice) or more.", "batch")

    def tolerance(self, labelled: bool) -> Tolerance:
        """The bound every candidate is held to: accuracy drop with labels, cosine otherwise."""
        if self.max_accuracy_drop is not None or (labelled and self.min_cosine is None):
            if not labelled:
                raise ConfigError("--max-accuracy-drop needs labelled data: an .npz with 'labels' or an image folder of classes.", "data")
            drop = self.max_accuracy_drop if self.max_accuracy_drop is not None else DEFAULT_ACCURACY_DROP
            return Tolerance(min_cosine=None, max_accuracy_drop=drop)
        return Tolerance(min_cosine=self.min_cosine if self.min_cosine is not None else DEFAULT_MIN_COSINE)


@dataclass
class CandidateResult:
    """A finished candidate: its version, figures and verdict, or the sentence it failed with."""

    candidate: Candidate
    version_id: str | None = None
    latency: dict[str, Any] | None = None
    size_bytes: int | None = None
    fidelity: dict[str, Any] | None = None
    error: str | None = None
    latency_ms: float | None = None  # on the common scale (see the module docstring)

    @property
    def ok(self) -> bool:
        """Built, verified and timed."""
        return self.error is None and self.latency is not None

    @property
    def within_budget(self) -> bool:
        """Verified within the fidelity budget."""
        return self.ok and bool(self.fidelity) and bool(self.fidelity.get("passed"))

    @property
    def speedup(self) -> float:
        """Original / candidate latency in its own interleaved run."""
        return float(self.latency["speedup"]) if self.latency else 0.0

    def loss(self) -> float:
        """How far from the original: accuracy points lost with labels, else 1 - worst cosine."""
        if not self.fidelity:
            return float("inf")
        if self.fidelity.get("accuracy"):
            return max(0.0, float(self.fidelity["accuracy"]["top1_drop"]))
        cosines = [o["cosine"] for o in self.fidelity.get("outputs", []) if isinstance(o.get("cosine"), (int, float))]
        return 1.0 - min(cosines) if cosines else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `--json` and the panel."""
        accuracy = (self.fidelity or {}).get("accuracy")
        return {
            **self.candidate.to_dict(),
            "version": self.version_id,
            "error": self.error,
            "latency_ms": self.latency_ms,
            "speedup": self.speedup if self.ok else None,
            "timing": self.latency,
            "size_bytes": self.size_bytes,
            "fidelity_passed": self.within_budget if self.ok else None,
            "fidelity_summary": (self.fidelity or {}).get("summary"),
            "worst_cosine": min((o["cosine"] for o in (self.fidelity or {}).get("outputs", [])
                                 if isinstance(o.get("cosine"), (int, float))), default=None),
            "accuracy": accuracy,
        }


@dataclass
class TuneResult:
    """Every candidate that finished, the front, the best within budget and how the search ended."""

    workspace: Workspace
    settings: TuneSettings
    tolerance: Tolerance
    results: list[CandidateResult] = field(default_factory=list)
    stopped: str = "done"  # done | budget | cancelled
    original_ms: float | None = None
    original_size: int = 0
    seconds: float = 0.0

    def front(self) -> list[CandidateResult]:
        """Candidates on the Pareto front of latency, size and loss (verified and timed ones)."""
        timed = {str(i): r for i, r in enumerate(self.results) if r.ok and r.latency_ms is not None}
        keys = pareto_front({k: (r.latency_ms, r.size_bytes or 0, r.loss()) for k, r in timed.items()})
        return [timed[k] for k in keys]

    def best(self) -> CandidateResult | None:
        """Within the fidelity budget and better than the original on the objective, the best one."""
        def objective(r: CandidateResult) -> tuple[float, float]:
            latency, size = r.latency_ms or float("inf"), float(r.size_bytes or 0)
            return (latency, size) if self.settings.objective == "latency" else (size, latency)

        better = [r for r in self.results if r.within_budget and (
            r.speedup > 1.0 if self.settings.objective == "latency" else (r.size_bytes or 0) < self.original_size)]
        return min(better, key=objective, default=None)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        front = {id(r) for r in self.front()}
        best = self.best()
        return {
            "session": str(self.workspace.root),
            "objective": self.settings.objective,
            "tolerance": self.tolerance.to_dict(),
            "budget_minutes": self.settings.budget_minutes,
            "seconds": round(self.seconds, 2),
            "stopped": self.stopped,
            "original": {"latency_ms": self.original_ms, "size_bytes": self.original_size},
            "best": best.to_dict() if best is not None else None,
            "candidates": [{**r.to_dict(), "on_front": id(r) in front} for r in self.results],
        }


class Search:
    """One tuning run: `run()` drives the executor until done, out of time or cancelled."""

    def __init__(
        self,
        model: str | Path,
        settings: TuneSettings,
        executor: Executor,
        *,
        session: str | Path | None = None,
        on_event: Event | None = None,
        workspace: Workspace | None = None,
        candidates: list[Candidate] | None = None,
    ) -> None:
        """`workspace`: an open session to add the candidates to (the window's); `candidates`:
        try these instead of the generated ones (the result-driven stages still follow)."""
        from onnx_workbench.pipelines.labelled import data_source
        from onnx_workbench.pipelines.machine import x86_without_vnni

        source = data_source(settings.data) if settings.data else None
        labelled = source is not None and source.labelled
        self.tolerance = settings.tolerance(labelled)
        # Verification over every labelled sample: the accuracy a user reports.
        samples = None if labelled else 4
        self.workspace = workspace or Workspace.create(
            model, session, data=settings.data, samples=samples, tolerance=self.tolerance, dims={"batch": settings.batch})
        if workspace is not None and settings.data:
            # An open session (the window's) verifies every version on the same data: from now on, this.
            workspace.settings.update(data=settings.data, samples=samples)
            workspace.save()
        self.settings, self.executor = settings, executor
        self.on_event = on_event or (lambda kind, data: None)
        proto = load_model(self.workspace.path_of(ROOT_ID), infer_shapes=False, weights=False).proto
        self.traits: ModelTraits = model_traits(proto)
        calibration = CalibrationData() if source is None else CalibrationData(source.kind, str(source.path))
        self.queue: deque[Candidate] = deque(
            candidates if candidates is not None else initial_candidates(self.traits, calibration, x86_without_vnni()))
        self.result = TuneResult(self.workspace, settings, self.tolerance,
                                 original_size=int(self.workspace.original.metrics.get("size_bytes") or 0))
        self._running: dict[str, Candidate] = {}
        self._seen: set[str] = set()
        self._exclusion: tuple[Candidate, list[str], int] | None = None  # base, ranked nodes, groups tried
        self._pruned = not settings.prune
        self._cancelled = False

    def cancel(self) -> None:
        """Stop at the next poll: running candidates are ended, finished ones kept."""
        self._cancelled = True

    def run(self) -> TuneResult:
        """Run candidates until the queue is empty, the budget is spent or `cancel()` is called."""
        started = time.monotonic()
        deadline = started + self.settings.budget_minutes * 60.0
        self.on_event("started", {"session": str(self.workspace.root), "queued": len(self.queue)})
        try:
            while not self._cancelled:
                if time.monotonic() >= deadline:
                    self.result.stopped = "budget"
                    break
                for finished in self.executor.poll():
                    self._record(finished)
                if not self._running and (not self.queue or self.queue[0].stage == "grid"):
                    # The stages that start from results go before the rest of the grid.
                    if not self._more_stages() and not self.queue:
                        break
                self._start_what_fits()
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            self._cancelled = True
        finally:
            if self._cancelled:
                self.result.stopped = "cancelled"
            for finished in self.executor.poll():  # what ended meanwhile is kept
                self._record(finished)
            self.executor.cancel_all()
            self.result.seconds = time.monotonic() - started
        best = self.result.best()
        self.on_event("finished", {"stopped": self.result.stopped, "best": best.to_dict() if best else None})
        return self.result

    # ---- internals ----------------------------------------------------------------------

    def _start_what_fits(self) -> None:
        while self.queue and self.executor.has_room() and not self._cancelled:
            candidate = self.queue.popleft()
            key = repr(candidate.steps)  # the same recipe reached by two stages runs once
            if key in self._seen:
                continue
            self._seen.add(key)
            task_id = f"c{len(self._seen)}"
            self._running[task_id] = candidate
            self.executor.submit(task_id, {
                "workspace": str(self.workspace.root), "steps": candidate.to_dict()["steps"],
                "tolerance": self.tolerance.to_dict(), "threads": self.settings.threads, "batch": self.settings.batch,
                "timing_s": self.settings.timing_seconds,
            })
            self.on_event("candidate-started", {"name": candidate.name, "queued": len(self.queue)})

    def _record(self, finished: Finished) -> None:
        candidate = self._running.pop(finished.task_id)
        result = CandidateResult(candidate, error=finished.error)
        added = []
        if finished.result is not None:
            for data in finished.result["versions"]:
                if self._keep_version(Version.from_dict(data)):
                    added.append(data["id"])
            version = self.workspace.get(finished.result["final"])
            result.version_id = version.id
            result.latency = finished.result["latency"]
            result.size_bytes = version.metrics.get("size_bytes")
            result.fidelity = version.metrics.get("fidelity")
            if result.fidelity is None:
                result.error = "; ".join(version.flags) or "not verified"
            self.workspace.update_metrics(version.id, tune={**result.latency, "candidate": candidate.name})
        self.result.results.append(result)
        self._rescale()
        self.on_event("candidate-finished", {**result.to_dict(), "versions_added": added})

    def _keep_version(self, version: Version) -> bool:
        """Record a version the worker built (True when new); a cached one may come back with a new verdict."""
        try:
            known = self.workspace.get(version.id)
        except ConfigError:
            self.workspace.add_version(version)
            return True
        if version.metrics.get("fidelity") != known.metrics.get("fidelity"):
            known.flags = version.flags
            self.workspace.update_metrics(version.id, **version.metrics)
        return False

    def _rescale(self) -> None:
        """Put every timed candidate on the original's median latency over all runs."""
        originals = [r.latency["original_ms"] for r in self.result.results if r.latency]
        if not originals:
            return
        self.result.original_ms = statistics.median(originals)
        for r in self.result.results:
            if r.latency and r.speedup > 0:
                r.latency_ms = self.result.original_ms / r.speedup

    def _more_stages(self) -> bool:
        """Queue the stages that start from results; True when something was queued."""
        return self._queue_exclusion() or self._queue_pruning()

    def _queue_exclusion(self) -> bool:
        """Keep the worst nodes of the fastest static-INT8 candidate in float, a group more each time.

        Only QDQ candidates qualify: quant-debug reads the float tensors that QOperator nodes hide.
        """
        static = [r for r in self.result.results if r.ok and r.candidate.stage in ("quantize", "grid", "exclude")
                  and r.candidate.steps[-1][0] == STATIC and r.candidate.steps[-1][1].get("format") == "qdq"]
        if not static or any(r.within_budget and r.candidate.stage == "exclude" for r in self.result.results):
            return False
        fastest = max(static, key=lambda r: r.speedup)
        if fastest.within_budget and fastest.candidate.stage != "exclude":
            return False
        if self._exclusion is None:
            if fastest.candidate.stage == "exclude":
                return False
            nodes = self._rank_quant_nodes(fastest)
            self._exclusion = (fastest.candidate, nodes, 0)
        base, nodes, groups = self._exclusion
        candidate = exclusion_candidate(base, nodes, groups + 1)
        self._exclusion = (base, nodes, groups + 1)
        if candidate is None:
            return False
        self.queue.appendleft(candidate)
        return True

    def _rank_quant_nodes(self, result: CandidateResult) -> list[str]:
        """Nodes of a quantized candidate ranked by the error quantization added (worst first)."""
        from onnx_workbench.pipelines.results import QuantErrorReport
        from onnx_workbench.pipelines.worker.client import run_job

        self.on_event("stage", {"name": "ranking quantized nodes (quant-debug)"})
        try:
            report = run_job("quant-debug", {
                "float_model": str(self.workspace.path_of(ROOT_ID)),
                "quant_model": str(self.workspace.path_of(result.version_id or ROOT_ID)),
                "data": self.settings.data,
            })
        except WorkbenchError as exc:
            self.on_event("stage", {"name": f"quant-debug failed: {exc}"})
            return []
        return QuantErrorReport.from_worker(report).worst_quant_nodes(10_000)

    def _queue_pruning(self) -> bool:
        """Pruning at the ratios each layer kept fidelity at alone, alone and under the best quantization."""
        if self._pruned:
            return False
        self._pruned = True
        if not (self.traits.conv or self.traits.linear):
            return False
        from onnx_workbench.pipelines.pruning.sensitivity import derive_ratios
        from onnx_workbench.pipelines.results import SensitivityTable
        from onnx_workbench.pipelines.worker.client import run_job

        self.on_event("stage", {"name": "pruning sensitivity scan"})
        try:
            data = run_job("prune-scan", {"model": str(self.workspace.path_of(ROOT_ID)), "ratios": list(PRUNE_RATIOS)})
        except WorkbenchError as exc:
            self.on_event("stage", {"name": f"pruning scan failed: {exc}"})
            return False
        table = SensitivityTable.from_worker(data)
        quantized = [r for r in self.result.results if r.within_budget and r.candidate.stage in ("quantize", "exclude")]
        best_quant = max(quantized, key=lambda r: r.speedup, default=None)
        quant_tail = Candidate(best_quant.candidate.name, tuple(
            s for s in best_quant.candidate.steps if not s[0].startswith("prune")), "prune") if best_quant else None
        candidates = pruning_candidates(self.traits, derive_ratios(table, PRUNE_LAYER_COSINE), quant_tail)
        self.queue.extendleft(reversed(candidates))
        return bool(candidates)


def run_search(model: str | Path, settings: TuneSettings, executor: Executor, **kwargs: Any) -> TuneResult:
    """Search recipes for `model` (see Search)."""
    return Search(model, settings, executor, **kwargs).run()
