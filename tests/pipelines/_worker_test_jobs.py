"""Job kinds used only by tests/pipelines/test_worker.py, registered through ONNX_WORKBENCH_WORKER_JOBS.

Loaded by file path in the worker, so production code carries no test hooks.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError


def abort(params: dict[str, Any], emit: Any) -> dict[str, Any]:
    """Say something, then die the way a native crash does."""
    emit({"kind": "progress", "fraction": 0.1, "message": "about to crash"})
    print("last words on stderr", file=sys.stderr, flush=True)
    os.abort()


def noisy(params: dict[str, Any], emit: Any) -> dict[str, Any]:
    """Write junk to stdout from Python and from the C level; the protocol must survive it."""
    print("stray print from python")
    sys.stdout.flush()
    os.write(1, b"stray write to fd 1 (as native libraries do)\n")
    emit({"kind": "progress", "fraction": 0.5, "message": "halfway"})
    return {"value": params.get("value")}


def bad_config(params: dict[str, Any], emit: Any) -> dict[str, Any]:
    """Refuse a setting with a field name."""
    raise ConfigError("field 'speed' must be at most 3.", "speed")


def broken(params: dict[str, Any], emit: Any) -> dict[str, Any]:
    """An unexpected exception inside a job."""
    raise ValueError("something odd happened\nsecond line")


def sleep(params: dict[str, Any], emit: Any) -> dict[str, Any]:
    """Emit one record, then stay silent (for cancel and timeout tests)."""
    emit({"kind": "progress", "fraction": 0.0, "message": "sleeping"})
    time.sleep(float(params.get("seconds", 60)))
    return {}


def stubborn(params: dict[str, Any], emit: Any) -> dict[str, Any]:
    """Ignore SIGTERM (as a job stuck in native code effectively does), then stay silent."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    emit({"kind": "progress", "fraction": 0.0, "message": "ignoring SIGTERM"})
    time.sleep(60)
    return {}


def niceness(params: dict[str, Any], emit: Any) -> dict[str, Any]:
    """The worker's scheduling niceness (Unix), and its session's where Linux has autogroups."""
    autogroup = Path("/proc/self/autogroup")
    session = int(autogroup.read_text().split()[-1]) if autogroup.exists() else None
    return {"niceness": os.nice(0), "session_niceness": session}
