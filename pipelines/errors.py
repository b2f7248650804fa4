"""Errors that carry one readable sentence for the user."""
from __future__ import annotations


class WorkbenchError(Exception):
    """An error whose message is one sentence a user can act on."""


class ModelRefused(WorkbenchError):
    """The model file cannot be opened: missing, corrupt, hostile or unsupported."""


class ConfigError(WorkbenchError):
    """A pass, recipe or profile setting is invalid; raised before any work starts."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PassFailed(WorkbenchError):
    """A pass could not transform the model; the input version is untouched."""


class Cancelled(WorkbenchError):
    """The user cancelled long-running work."""


class WorkFailed(WorkbenchError):
    """Work on accepted input failed while running: a worker died or hung, ONNX Runtime could not
    run the model, the disk filled. The CLI exits 1 for these, 2 only for refused input."""


class RuntimeRefused(WorkFailed, ModelRefused):
    """ONNX Runtime could not load or run a model our own checks accepted: the work was started and
    failed (exit 1), though callers that catch ModelRefused still see a refused model."""


def os_error_sentence(exc: OSError) -> str:
    """One sentence for a failed file operation: which file, what the system said, what to do."""
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{reason[:1].lower()}{reason[1:]}; check the path, its permissions and the free disk space."


def error_sentence(exc: Exception, what: str = "it") -> str:
    """One sentence for the user: a WorkbenchError says it already; a file error names the file."""
    if isinstance(exc, WorkbenchError):
        return str(exc)
    if isinstance(exc, OSError):
        return os_error_sentence(exc)
    return f"Could not write {what} ({type(exc).__name__}: {exc}); please report this with the model."
