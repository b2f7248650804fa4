"""Open a model for the views: load + validate on a thread of this process, analyze in a worker process.

An open reports twice: a "loaded" record as soon as the model is loaded (the views can draw
it), then its result when the figures arrive from the "analyze" worker. It runs as a
`ThreadCall` through the app's one background mechanism (pipelines.background), so an open
superseded by a later one is dropped and its analysis worker terminated.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines.analysis import analyze
from onnx_workbench.pipelines.background import TaskContext, ThreadCall
from onnx_workbench.pipelines.errors import Cancelled, WorkbenchError
from onnx_workbench.pipelines.graph_layout import LayoutResult, layout_model
from onnx_workbench.pipelines.model import LoadedModel, load_model
from onnx_workbench.pipelines.worker.client import WorkerJob

ANALYSIS_TIMEOUT_S = 600.0


@dataclass
class OpenedModel:
    """What the GUI needs after an open: the loaded model and, once known, its analysis."""

    loaded: LoadedModel
    analysis: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    # The main graph laid out for the graph view, on the loading thread: for a big graph that is
    # seconds of Python the window's thread would otherwise spend.
    layout: LayoutResult | None = None

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
    lay_out: bool = False,
) -> OpenedModel:
    """Load and validate `path` on this thread while the worker analyzes it; raises WorkbenchError.

    The views need the ModelProto in this process, so it is loaded here; the analysis —
    concrete-shape inference and cost counting, the part that can take long or blow up on a
    hostile model — runs in the worker at the same time, so a crash or out-of-memory there
    costs only the figures. `on_loaded` is called between the two stages; `lay_out` adds the
    main graph's layout to what it gets.
    """
    job = start_analysis(path) if use_worker else None
    if job is not None and on_job is not None:
        on_job(job)
    try:
        # The window never reads weights it does not show, not even those inside the .onnx: a
        # clicked initializer's values are read on demand (pipelines.tensor_values).
        loaded = load_model(path, infer_shapes=True, weights=False, inline_weights=False)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    opened = OpenedModel(loaded=loaded, warnings=list(loaded.warnings), layout=_layout(loaded) if lay_out else None)
    if on_loaded is not None:
        on_loaded(opened)
    analysis, warnings = finish_analysis(job, loaded)
    return OpenedModel(loaded=loaded, analysis=analysis, warnings=opened.warnings + warnings, layout=opened.layout)


def _layout(loaded: LoadedModel) -> LayoutResult | None:
    try:
        return layout_model(loaded.proto)
    except Exception:  # noqa: BLE001 - the graph view lays the graph out itself and reports what goes wrong
        return None


def open_model_task(path: str | Path, *, use_worker: bool = True) -> ThreadCall:
    """The open of `path` as background work: a "loaded" record (with the layout), then the analysed OpenedModel.

    Any failure is one sentence (a WorkbenchError); a crash in loading names the file.
    """

    def run(context: TaskContext) -> OpenedModel:
        try:
            return open_model_blocking(path, use_worker=use_worker, on_job=context.attach, lay_out=True,
                                       on_loaded=lambda opened: context.emit({"kind": "loaded", "opened": opened}))
        except WorkbenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - any crash in loading must reach the user as a sentence
            raise WorkbenchError(f"{Path(path).name} could not be opened ({type(exc).__name__}: {exc}); "
                                 "check the file or report the problem.") from exc

    return ThreadCall(f"open {Path(path).name}", run)
