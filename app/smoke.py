"""Smoke-test mode of the GUI: report the opened model on stdout and quit on a timer.

Set ONNX_WORKBENCH_SMOKE_EXIT_MS=N to make `onnx-workbench MODEL` print
"loaded <file name> <nodes> nodes" once the model is open and its analysis (a worker process)
has finished, then show the Netron tab, print "netron page loaded" and quit N ms later with
exit status 0; a refused model, a failed analysis or a Netron page that fails to load prints
why and exits 1. Without a model it quits N ms after start. Used by installer/smoke.py
to prove the frozen bundle can open a window, a model, its web view and a worker.
"""
from __future__ import annotations

import os
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

SMOKE_ENV = "ONNX_WORKBENCH_SMOKE_EXIT_MS"
EXIT_OPEN_FAILED = 1
NETRON_WAIT_MS = 60_000  # a page that never finishes loading fails rather than hangs


def smoke_exit_ms() -> int | None:
    """The delay asked for by ONNX_WORKBENCH_SMOKE_EXIT_MS, or None when smoke mode is off."""
    value = os.environ.get(SMOKE_ENV, "").strip()
    if not value:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        print(f"onnx-workbench: {SMOKE_ENV} must be a whole number of milliseconds, not {value!r}; ignoring it.", file=sys.stderr)
        return None


def install_smoke_exit(app: QApplication, window, model_path: str | None, delay_ms: int) -> None:
    """Make `app` quit `delay_ms` after `window` opened `model_path` (or failed to)."""
    reported: list[bool] = []  # the first Netron load decides; reloads later do not

    def on_analyzed(opened) -> None:
        print(f"loaded {opened.path.name} {len(opened.loaded.proto.graph.node)} nodes", flush=True)
        if opened.analysis is None:  # the worker failed; the warnings say how
            print("analysis failed: " + "; ".join(opened.warnings), file=sys.stderr, flush=True)
            QTimer.singleShot(delay_ms, lambda: app.exit(EXIT_OPEN_FAILED))
            return
        print(f"analysis {opened.analysis.get('params', '?')} params", flush=True)
        view = getattr(window, "netron_view", None)
        if view is None or not view.embedded:
            QTimer.singleShot(delay_ms, app.quit)
            return
        # Netron loads only when its tab shows; showing it proves QtWebEngine and the bundled
        # viewer files work, the part of a bundle most likely to break.
        view.loadFinished.connect(on_netron_loaded)
        window.tabs.setCurrentWidget(view)
        QTimer.singleShot(NETRON_WAIT_MS, lambda: None if reported else on_netron_loaded(False))

    def on_netron_loaded(ok: bool) -> None:
        if reported:
            return
        reported.append(ok)
        print(f"netron page {'loaded' if ok else 'failed to load'}", flush=True)
        QTimer.singleShot(delay_ms, app.quit if ok else lambda: app.exit(EXIT_OPEN_FAILED))

    def on_failed(path: str, message: str, detail: str) -> None:
        print(f"failed {path}: {message}", file=sys.stderr, flush=True)
        QTimer.singleShot(0, lambda: app.exit(EXIT_OPEN_FAILED))

    window.modelAnalyzed.connect(on_analyzed)
    window.openFailed.connect(on_failed)
    if not model_path:
        QTimer.singleShot(delay_ms, app.quit)
