"""ONNX Runtime's own telemetry, switched off in every process the workbench runs.

ONNX Runtime 1.32 ships a 1DS telemetry client on Linux too (it resolves
mobile.events.data.microsoft.com); its only switch is `onnxruntime.disable_telemetry_events()`
(the C API's DisableTelemetryEvents; there is no environment variable). Importing `pipelines`
calls `switch_off_ort_telemetry()`, so every process that runs workbench code (the window, the
CLI, every worker) switches it off, either at once when ONNX Runtime is already imported or,
through an import hook, the moment it is imported: before any session can be created.
Importing ONNX Runtime eagerly instead would cost every command ~0.4 s, even `--help`.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

_ORT = "onnxruntime"
_state = {"switched_off": False}


def switch_off_ort_telemetry() -> None:
    """Switch ONNX Runtime telemetry off now if it is imported, else the moment it is."""
    module = sys.modules.get(_ORT)
    if module is not None:
        _switch_off(module)
    elif not any(isinstance(finder, _SwitchOffOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SwitchOffOnImport())


def telemetry_switched_off() -> bool:
    """True once `onnxruntime.disable_telemetry_events()` has been called in this process."""
    return _state["switched_off"]


def _switch_off(module: ModuleType) -> None:
    disable = getattr(module, "disable_telemetry_events", None)
    if disable is not None:  # a partially imported or stub module has nothing to switch off
        disable()
        _state["switched_off"] = True


class _SwitchOffOnImport(importlib.abc.MetaPathFinder):
    """Finds `onnxruntime` through the other finders and switches telemetry off right after it executes."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """The real spec of onnxruntime with a loader that switches telemetry off; None for anything else."""
        if fullname != _ORT:
            return None
        # One shot: out of the way first, so the lookup below reaches the real finders.
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            _switch_off(module)

        # The loader object is this spec's own (finders build one per lookup): patching it
        # changes this import only.
        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
