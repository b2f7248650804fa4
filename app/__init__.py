"""ONNX Workbench: the application (CLI, main window, session, background tasks)."""

# One version for the whole distribution, kept by the engine (which must not import app).
from onnx_workbench.pipelines import __version__

__all__ = ["__version__"]
