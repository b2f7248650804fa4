"""The context a running step works in: progress reporting, cancellation and a scratch folder."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from onnx_workbench.pipelines.errors import Cancelled


@dataclass
class PassContext:
    """What a running pass may use: progress reporting, cancellation and a scratch folder."""

    workdir: Path
    on_progress: Callable[[float, str], None] | None = None
    is_cancelled: Callable[[], bool] | None = None

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1]; also a cancellation point."""
        self.check_cancelled()
        if self.on_progress is not None:
            self.on_progress(min(max(fraction, 0.0), 1.0), message)

    def check_cancelled(self) -> None:
        """Raise Cancelled when the user asked to stop."""
        if self.is_cancelled is not None and self.is_cancelled():
            raise Cancelled("Cancelled by the user.")
