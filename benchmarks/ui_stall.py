"""UI stall: a 10 ms QTimer heartbeat in the main window while a pass runs and while profiling runs.

    python benchmarks/ui_stall.py [--model assets/models/resnet_small.onnx] [--runs 2000]
                                  [--busy-core [elsewhere|here]]

Prints the worst and p99 gap between beats for each phase (the GUI should keep every gap under
~50 ms: all the work is in worker processes, records are polled, charts redraw at <= 20 Hz),
and the GUI thread's own CPU time within the worst gap: the rest of that gap the thread was
waiting, for a core (other processes ran) or for the interpreter lock (another thread did).
The first phase is the window settling after the open: the passes are imported and the
Profile charts built in the background then. --busy-core keeps one core busy with a second
process the whole time. Linux shares the cores between sessions first (autogroups): started
"here", in this benchmark's session, the busy process takes its share from the window's own,
the worst case (a busy job started from the terminal the workbench runs in); "elsewhere",
in a session of its own, it competes as another program (another terminal, the desktop's
apps) does. Prints figures only; never passes or fails.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

HEARTBEAT_MS = 10
PHASE_TAIL_S = 0.2  # each phase goes on this long after its end, so the gaps its end causes count


class Heartbeat:
    """Records the wall time between timer beats."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self.cpu: list[float] = []  # the GUI thread's CPU time within each gap, ms
        self._cpu_at = 0.0
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._beat)

    def start(self) -> None:
        """Start counting from now."""
        self.gaps, self.cpu = [], []
        self._cpu_at = time.thread_time()
        self.clock.start()
        self.timer.start()

    def stop(self) -> tuple[list[float], list[float]]:
        """Stop; the gaps and the GUI thread's CPU time within each, in ms."""
        self.timer.stop()
        return self.gaps, self.cpu

    def _beat(self) -> None:
        self.gaps.append(self.clock.nsecsElapsed() / 1e6)
        self.clock.restart()
        now = time.thread_time()
        self.cpu.append((now - self._cpu_at) * 1000)
        self._cpu_at = now


def wait_for(condition, timeout_s: float = 300.0) -> None:  # noqa: ANN001
    """Run the event loop until `condition()` holds, looked at every few ms.

    A real event loop, as the app's: a loop of processEvents() and short sleeps would add its
    sleeps to the gaps it measures.
    """
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    timed_out = False

    def look() -> None:
        nonlocal timed_out
        timed_out = time.monotonic() > deadline
        if timed_out or condition():
            loop.quit()

    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(look)
    poll.start()
    if not condition():
        loop.exec()
    poll.stop()
    if timed_out:
        raise TimeoutError("the benchmark step did not finish in time")


def run_for(seconds: float) -> None:
    """Run the event loop for `seconds`: what a phase set off right at its end (the new version's
    first paint) is counted in it, by the beats after it."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def report(name: str, beats: tuple[list[float], list[float]], seconds: float) -> None:
    """Print one phase's figures."""
    gaps, cpu = beats
    values = np.asarray(gaps[1:] or [0.0])
    worst = int(np.argmax(values))
    own = cpu[1:][worst] if len(cpu) > 1 else 0.0
    print(f"{name:<38} {seconds:6.2f} s  {len(gaps):5d} beats  worst gap {values.max():6.1f} ms "
          f"(GUI thread CPU {own:5.1f} ms)  p99 {np.percentile(values, 99):5.1f} ms  median {np.median(values):5.1f} ms")


def main() -> int:
    """Time the heartbeat, with a second process keeping a core busy when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "resnet_small.onnx"))
    parser.add_argument("--runs", type=int, default=2000, help="timed profile runs")
    parser.add_argument("--busy-core", nargs="?", const="here", choices=("here", "elsewhere"),
                        help="keep one core busy with a second process, started in this benchmark's "
                             "session (here, the default) or in a session of its own (elsewhere)")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="ui-stall-")  # the sessions' cache, removed after
    os.environ["XDG_CACHE_HOME"] = scratch.name
    # The busy process spins until its parent is gone, so a benchmark that dies leaves none behind.
    spin = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin], start_new_session=args.busy_core == "elsewhere") if args.busy_core else None
    try:
        return measure(args)
    finally:
        if spinner is not None:
            spinner.kill()
        scratch.cleanup()


def measure(args: argparse.Namespace) -> int:
    """Open the model and time the heartbeat while the window settles, during passes and profiling."""
    from onnx_workbench.app.gui import window_module
    from onnx_workbench.widgets.built_on_use import is_built

    MainWindow = window_module().MainWindow  # noqa: N806 - imported as the app's launch imports it

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()
    panels = window.session_panels
    panels.commands.ask_before_close = False
    window.resize(1400, 900)
    window.show()
    session = panels.session
    beat = Heartbeat()
    window.open_path(args.model)
    wait_for(lambda: session.workspace is not None)
    beat.start()
    started = time.perf_counter()
    wait_for(lambda: not window.opening and is_built(panels.profile_dashboard, "charts")
             and panels.optimize_panel.loaded and not window.graph_view.is_building())
    run_for(PHASE_TAIL_S)
    report("settling after the open", beat.stop(), time.perf_counter() - started)

    for name, values in (("fold-batchnorm", {}), ("quantize-static", {"samples": 8})):
        count = len(session.workspace.versions)
        beat.start()
        started = time.perf_counter()
        session.apply(name, values)
        # The new version's graph is added to its scene a slice per turn: the phase ends after the last.
        wait_for(lambda: len(session.workspace.versions) > count and panels.version_display.shown_version == session.current_id
                 and not window.graph_view.is_building())
        run_for(PHASE_TAIL_S)
        report(f"pass {name} (+verify, reload)", beat.stop(), time.perf_counter() - started)

    panels.profile_dashboard.runs.setValue(args.runs)
    panels.profile_dashboard.warmup.setValue(20)
    beat.start()
    started = time.perf_counter()
    window.actions["profile"].trigger()
    wait_for(lambda: "latency_ms" in session.current.metrics and not session.jobs.busy("profile"))
    run_for(PHASE_TAIL_S)
    report(f"profile ({args.runs} runs, per-op)", beat.stop(), time.perf_counter() - started)
    print(f"dashboard redraws: {panels.profile_dashboard.redraw_count}; load average (1, 5, 15 min) now: "
          + ", ".join(f"{load:.1f}" for load in os.getloadavg()))
    window.jobs.cancel_all()
    app.closeAllWindows()
    return 0


if __name__ == "__main__":
    sys.exit(main())
