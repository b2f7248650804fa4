"""Open a model in the background: load + validate + analyze off the GUI thread.

Each request gets a generation id; a result whose generation is not the latest is dropped, so a
slow open of model A can never overwrite a later open of model B (the ndv pattern).
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
    """What the GUI needs after an open: the loaded model and its analysis (a plain dict)."""

    loaded: LoadedModel
    analysis: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        """Where the model was read from."""
        return self.loaded.path


def open_model_blocking(
    path: str | Path,
    *,
    use_worker: bool = True,
    on_job: Callable[[WorkerJob], None] | None = None,
) -> OpenedModel:
    """Load and validate `path` here and analyze it (in a worker process by default).

    The views need the ModelProto in this process, so it is loaded here (on the caller's
    thread); the analysis — concrete-shape inference and cost counting, the part that can take
    long or blow up on a hostile model — runs in the "analyze" worker at the same time, so a
    crash or out-of-memory there costs only the figures. Raises WorkbenchError subclasses.
    """
    job = WorkerJob("analyze", {"model": str(path)}).start() if use_worker else None
    if job is not None and on_job is not None:
        on_job(job)
    try:
        loaded = load_model(path, infer_shapes=True)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    warnings = list(loaded.warnings)
    analysis: dict[str, Any] | None = None
    try:
        if job is not None:
            analysis = job.wait_result(timeout_s=ANALYSIS_TIMEOUT_S)["analysis"]
        else:
            analysis = analyze(loaded.proto, path=loaded.path).to_dict()
    except Cancelled:
        raise
    except WorkbenchError as exc:
        # The model itself loaded fine: show it, without figures, and say why.
        warnings.append(f"Analysis failed: {exc}")
    return OpenedModel(loaded=loaded, analysis=analysis, warnings=warnings)


class ModelOpener(QObject):
    """Runs opens on a background thread and reports the latest one back on the GUI thread."""

    started = Signal(str)  # path
    opened = Signal(object)  # OpenedModel
    failed = Signal(str, str, str)  # path, one-sentence message, detailed text
    # Internal: carries results from the worker thread; Qt queues it onto the GUI thread.
    _finished = Signal(int, str, object, object)

    def __init__(self, parent: QObject | None = None, *, use_worker: bool = True) -> None:
        super().__init__(parent)
        self.use_worker = use_worker
        self._generation = 0
        self._busy = False
        self._jobs: dict[int, WorkerJob] = {}  # analysis workers by generation, while running
        self._jobs_lock = threading.Lock()
        self._finished.connect(self._on_finished)

    @property
    def busy(self) -> bool:
        """True while the latest requested open has not finished."""
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
        """Forget any open in flight: its result will be dropped when it arrives."""
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

    def _run(self, generation: int, path: str) -> None:
        try:
            result: object = open_model_blocking(
                path, use_worker=self.use_worker, on_job=lambda job: self._remember_job(generation, job)
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
        try:
            self._finished.emit(generation, path, result, error)
        except RuntimeError:
            pass  # the opener (and its window) was deleted meanwhile: nobody wants the result

    def _on_finished(self, generation: int, path: str, result: object, error: object) -> None:
        if generation != self._generation:
            return  # stale: a newer open (or a cancel) superseded this one
        self._busy = False
        if error is not None:
            message, detail = error  # type: ignore[misc]
            self.failed.emit(path, message, detail)
        else:
            self.opened.emit(result)
