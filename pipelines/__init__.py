"""The engine of ONNX Workbench, without Qt: model I/O, analysis, passes, verification, profiling,
recipes and reports. Everything the GUI does, Python and the CLI can do too."""

__version__ = "0.1.0"
