"""Open a model in the background: load + validate + analyze off the GUI thread.

Each request gets a generation id; a result whose generation is not the latest is dropped, so a
slow open of model A can never overwrite a later open of model B (the ndv pattern).
"""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from pipelines.errors import WorkbenchError
from pipelines.model import LoadedModel, load_model


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


def open_model_blocking(path: str | Path) -> OpenedModel:
    """Load, validate and analyze `path` in the calling thread; raises WorkbenchError subclasses."""
    loaded = load_model(path, infer_shapes=True)
    warnings = list(loaded.warnings)
    analysis: dict[str, Any] | None = None
    try:
        from pipelines.analysis import analyze
    except ModuleNotFoundError as exc:  # analysis is optional for showing a model at all
        if exc.name != "pipelines.analysis":
            raise
        warnings.append("Model analysis is not available in this build; figures are omitted.")
    else:
        try:
            analysis = analyze(loaded.proto).to_dict()
        except WorkbenchError as exc:
            warnings.append(f"Analysis skipped: {exc}")
    return OpenedModel(loaded=loaded, analysis=analysis, warnings=warnings)


class ModelOpener(QObject):
    """Runs opens on a background thread and reports the latest one back on the GUI thread."""

    started = Signal(str)  # path
    opened = Signal(object)  # OpenedModel
    failed = Signal(str, str, str)  # path, one-sentence message, detailed text
    # Internal: carries results from the worker thread; Qt queues it onto the GUI thread.
    _finished = Signal(int, str, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._busy = False
        self._finished.connect(self._on_finished)

    @property
    def busy(self) -> bool:
        """True while the latest requested open has not finished."""
        return self._busy

    def open(self, path: str | Path) -> int:
        """Start opening `path`; returns the generation id of this request."""
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

    def _run(self, generation: int, path: str) -> None:
        try:
            result: object = open_model_blocking(path)
            error: object = None
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
