"""Test-only spy, put on PYTHONPATH by tests/test_ort_telemetry.py: Python imports it at start-up
in every process of the command under test (the CLI, its workers, the window).

Without importing ONNX Runtime itself, it wraps the import so that it can record whether
`disable_telemetry_events()` was called and whether any InferenceSession was created before
that; at exit it writes one JSON file per process into $ORT_TELEMETRY_SPY_DIR.
With $ORT_TELEMETRY_SPY_IMPORT_AT_EXIT set, it imports ONNX Runtime at exit first: a process that
never needed it (the window opens models without it) still proves its import would be switched off.
"""
from __future__ import annotations

import atexit
import importlib.abc
import importlib.util
import json
import os
import sys

STATE = {"argv": sys.argv, "pid": os.getpid(), "imported": False, "disabled": False, "sessions": 0, "sessions_before_off": 0}


class _Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):  # noqa: ANN001, ANN201
        if fullname != "onnxruntime":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        execute = spec.loader.exec_module

        def exec_module(module):  # noqa: ANN001, ANN202
            execute(module)
            STATE["imported"] = True
            real_disable, real_init = module.disable_telemetry_events, module.InferenceSession.__init__

            def disable() -> None:
                STATE["disabled"] = True
                real_disable()

            def init(session, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
                STATE["sessions"] += 1
                STATE["sessions_before_off"] += not STATE["disabled"]
                real_init(session, *args, **kwargs)

            module.disable_telemetry_events = disable
            module.InferenceSession.__init__ = init

        spec.loader.exec_module = exec_module
        return spec


def _write() -> None:
    with open(os.path.join(os.environ["ORT_TELEMETRY_SPY_DIR"], f"{os.getpid()}.json"), "w") as handle:
        json.dump(STATE, handle)


def _import_ort() -> None:
    import onnxruntime  # noqa: F401  (the spy and the workbench's hook record what happens)


if os.environ.get("ORT_TELEMETRY_SPY_DIR"):
    sys.meta_path.insert(0, _Spy())
    atexit.register(_write)
    if os.environ.get("ORT_TELEMETRY_SPY_IMPORT_AT_EXIT"):
        atexit.register(_import_ort)  # atexit runs last-registered first: imported before written
