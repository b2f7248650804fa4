"""Garbage collection paused while the app imports in bulk; what the imports made, frozen after.

A full collection walks every tracked object. With ONNX Runtime, onnx-ir, onnxscript and
pyqtgraph imported that is ~150 k objects and 0.1-0.3 s, during which the window cannot draw;
during start-up collections cost ~0.1-0.3 s of the time to the graph. Imports make almost no
garbage, so collections wait while they run (start-up, the background imports), and the
objects they made are then frozen (`gc.freeze`): later collections skip them. Reference
counting still frees frozen objects; only cycles alive at a freeze are never collected, and
freezes happen a few times per run, after imports.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # pauses in progress, on any thread


@contextmanager
def collection_paused() -> Iterator[None]:
    """No garbage collection while the block runs (nor while another pause does); then freeze."""
    global _pauses
    with _lock:
        _pauses += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0:
                gc.freeze()
                gc.enable()
