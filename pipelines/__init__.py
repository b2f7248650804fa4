"""The engine of ONNX Workbench, without Qt: model I/O, analysis, passes, verification, profiling,
recipes and reports. Everything the GUI does, Python and the CLI can do too."""

__version__ = "0.1.0"

from onnx_workbench.pipelines.ort_telemetry import switch_off_ort_telemetry  # noqa: E402 - after the docstring on purpose

# Nothing leaves the machine: every process that imports the engine switches ONNX Runtime's
# telemetry off before it can create a session (see pipelines/ort_telemetry.py).
switch_off_ort_telemetry()
