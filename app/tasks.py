"""Open a model in the background: load + validate off the GUI thread, analyze in a worker process.

An open reports twice: `opened` as soon as the model is loaded (the views can draw it), then
`analyzed` when the figures arrive from the "analyze" worker. Each request gets a generation
id; anything from a superseded generation is dropped, so a slow open of model A can never
overwrite a later open of model B (the ndv pattern), and its worker process is terminated.
"""
from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from pipelines.analysis import analyze
from pipelines.errors import Cancelled, WorkbenchError
from pipelines.model import LoadedModel, load_model
from pipelines.worker.client import WorkerJob

ANALYSIS_TIMEOUT_S = 600.0


@dataclass
class OpenedModel:
    """What the GUI needs after an open: the loaded model and, once known, its analysis."""

    loaded: LoadedModel
    analysis: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        """Where the model was read from."""
        return self.loaded.path


def start_analysis(path: str | Path) -> WorkerJob:
    """Start the "analyze" worker on `path` (it loads the file itself, in its own process)."""
    return WorkerJob("analyze", {"model": str(path)}).start()


def finish_analysis(job: WorkerJob | None, loaded: LoadedModel) -> tuple[dict[str, Any] | None, list[str]]:
    """Wait for the figures (from `job`, or computed here when None) and any warning about them.

    Analysis failing does not refuse the model, which loaded fine: it is shown without figures
    and the warning says why. Raises Cancelled when the job was cancelled.
    """
    try:
        if job is not None:
            return job.wait_result(timeout_s=ANALYSIS_TIMEOUT_S)["analysis"], []
        return analyze(loaded.proto, path=loaded.path).to_dict(), []
    except Cancelled:
        raise
    except WorkbenchError as exc:
        return None, [f"Analysis failed: {exc}"]


def open_model_blocking(
    path: str | Path,
    *,
    use_worker: bool = True,
    on_job: Callable[[WorkerJob], None] | None = None,
    on_loaded: Callable[[OpenedModel], None] | None = None,
) -> OpenedModel:
    """Load and validate `path` on this thread while the worker analyzes it; raises WorkbenchError.

    The views need the ModelProto in this process, so it is loaded here; the analysis —
    concrete-shape inference and cost counting, the part that can take long or blow up on a
    hostile model — runs in the worker at the same time, so a crash or out-of-memory there
    costs only the figures. `on_loaded` is called between the two stages.
    """
    job = start_analysis(path) if use_worker else None
    if job is not None and on_job is not None:
        on_job(job)
    try:
        # The window never reads weights it does not show: a clicked initializer's values are
        # read on demand (pipelines.tensor_values).
        loaded = load_model(path, infer_shapes=True, weights=False)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    opened = OpenedModel(loaded=loaded, warnings=list(loaded.warnings))
    if on_loaded is not None:
        on_loaded(opened)
    analysis, warnings = finish_analysis(job, loaded)
    return OpenedModel(loaded=loaded, analysis=analysis, warnings=opened.warnings + warnings)


class ModelOpener(QObject):
    """Runs opens on a background thread and reports the latest one back on the GUI thread."""

    started = Signal(str)  # path
    opened = Signal(object)  # OpenedModel without analysis: the model can be shown
    analyzed = Signal(object)  # the same OpenedModel, now with analysis (or warnings why not)
    failed = Signal(str, str, str)  # path, one-sentence message, detailed text
    # Internal: carry results from the worker thread; Qt queues them onto the GUI thread.
    _loaded = Signal(int, object)
    _finished = Signal(int, str, object, object)

    def __init__(self, parent: QObject | None = None, *, use_worker: bool = True) -> None:
        super().__init__(parent)
        self.use_worker = use_worker
        self._generation = 0
        self._busy = False
        self._jobs: dict[int, WorkerJob] = {}  # analysis workers by generation, while running
        self._jobs_lock = threading.Lock()
        self._loaded.connect(self._on_loaded)
        self._finished.connect(self._on_finished)

    @property
    def busy(self) -> bool:
        """True while the latest requested open (load or analysis) has not finished."""
        return self._busy

    def open(self, path: str | Path) -> int:
        """Start opening `path`; returns the generation id of this request."""
        self._cancel_jobs()
        self._generation += 1
        generation = self._generation
        self._busy = True
        self.started.emit(str(path))
        thread = threading.Thread(
            target=self._run, args=(generation, str(path)), name=f"open-{generation}", daemon=True
        )
        thread.start()
        return generation

    def cancel(self) -> None:
        """Forget any open in flight: its results will be dropped when they arrive."""
        self._generation += 1
        self._busy = False
        self._cancel_jobs()

    def _cancel_jobs(self) -> None:
        """Terminate superseded analysis workers, off the GUI thread (terminate may wait)."""
        with self._jobs_lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            threading.Thread(target=job.cancel, name="cancel-analysis", daemon=True).start()

    def _remember_job(self, generation: int, job: WorkerJob) -> None:
        with self._jobs_lock:
            stale = generation != self._generation
            if not stale:
                self._jobs[generation] = job
        if stale:  # superseded while the worker was starting
            job.cancel()

    def _emit(self, signal: Signal, *args: object) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass  # the opener (and its window) was deleted meanwhile: nobody wants the result

    def _run(self, generation: int, path: str) -> None:
        try:
            result: object = open_model_blocking(
                path,
                use_worker=self.use_worker,
                on_job=lambda job: self._remember_job(generation, job),
                on_loaded=lambda opened: self._emit(self._loaded, generation, opened),
            )
            error: object = None
        except Cancelled:
            return  # superseded: nobody waits for this result
        except WorkbenchError as exc:
            result, error = None, (str(exc), traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - any crash in loading must reach the user, not kill the thread silently
            result = None
            error = (
                f"{Path(path).name} could not be opened ({type(exc).__name__}: {exc}); "
                "check the file or report the problem.",
                traceback.format_exc(),
            )
        self._emit(self._finished, generation, path, result, error)

    def _on_loaded(self, generation: int, opened: OpenedModel) -> None:
        if generation == self._generation:
            self.opened.emit(opened)

    def _on_finished(self, generation: int, path: str, result: object, error: object) -> None:
        if generation != self._generation:
            return  # stale: a newer open (or a cancel) superseded this one
        self._busy = False
        with self._jobs_lock:
            self._jobs.pop(generation, None)
        if error is not None:
            message, detail = error  # type: ignore[misc]
            self.failed.emit(path, message, detail)
        else:
            self.analyzed.emit(result)
