"""ONNX Workbench: the application (CLI, main window, session, background tasks)."""
__version__ = "0.1.0"
