"""Launch → window and launch → graph shown: the workbench beside Netron embedded in QtWebEngine.

    python benchmarks/time_to_graph.py [--big] [--repeat 2] [--models A.onnx B.onnx ...]

For every model, each viewer is started as a fresh process (the clock starts just before the
process is spawned, so interpreter start and imports count) and reports when its window was
first on screen and when the model's graph was drawn, with the process's memory then. Both run
on the same files in the same run, alternating, so machine load hits them alike. --big also
generates a ~100 MB CNN with its weights inside the .onnx (97 MB) and a BERT-base-sized
transformer with external data (its vocabulary's output projection makes it 530 MB).
Runs offscreen unless a display is set; prints figures, never passes or fails.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T0_ENV = "TIME_TO_GRAPH_T0"
TIMEOUT_S = 300


# ---- the measured processes ------------------------------------------------------------------

def _since_launch() -> float:
    return time.time() - float(os.environ[T0_ENV])


def _memory() -> dict[str, float]:
    """This process's memory and the CPU time of all its threads (less sensitive to load than wall time)."""
    import resource

    import psutil

    return {"rss_mb": psutil.Process().memory_info().rss / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cpu_s": time.process_time()}


def child_workbench(model: str) -> None:
    """The workbench as a user starts it: window first, then the model; report both moments."""
    sys.path.insert(0, str(ROOT))
    from onnx_workbench.app.gui import window_module

    MainWindow = window_module().MainWindow  # noqa: N806 - imported as the app's launch imports it
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from onnx_workbench.app.settings import Settings
    from onnx_workbench.widgets.netron_view import ensure_webengine_environment

    ensure_webengine_environment()
    app = QApplication(sys.argv[:1])
    folder = tempfile.TemporaryDirectory(prefix="ttg-")  # the window's settings, removed after
    window = MainWindow(Settings(QSettings(f"{folder.name}/s.ini", QSettings.Format.IniFormat)))
    window.session_panels.commands.ask_before_close = False
    figures: dict[str, float] = {}

    def graph_drawn() -> None:
        if window.graph_view.is_building():  # its items are added a slice per turn: wait for the last
            QTimer.singleShot(5, graph_drawn)
            return
        window.graph_view.viewport().repaint()  # the whole graph's first frame, painted now
        figures["graph_s"] = _since_launch()
        figures.update(_memory())
        figures["web_engine_started"] = float(window.netron_view.started)
        print(json.dumps(figures), flush=True)
        window.jobs.cancel_all()
        app.quit()

    def window_shown() -> None:
        figures["window_s"] = _since_launch()
        window.open_path(model)

    window.modelOpened.connect(lambda _opened: QTimer.singleShot(0, graph_drawn))
    window.openFailed.connect(lambda _p, message, _d: (print(json.dumps({"error": message})), app.exit(1)))
    window.resize(1280, 800)
    window.show()
    QTimer.singleShot(0, window_shown)  # runs once the shown window got its first events
    app.exec()
    folder.cleanup()


def child_netron(model: str) -> None:
    """Netron embedded in QtWebEngine (the app's own hardened view) showing the same file."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from onnx_workbench.widgets.netron_view import NetronView, ensure_webengine_environment

    ensure_webengine_environment()
    app = QApplication(sys.argv[:1])
    view = NetronView()
    view.resize(1280, 800)
    figures: dict[str, float] = {}
    script = "(document.body ? document.body.className.trim() : '') + '|' + document.querySelectorAll('#canvas .node').length"

    def check(state: object) -> None:
        if isinstance(state, str) and "|" in state:
            cls, nodes = state.split("|")
            if cls == "default" and int(nodes) > 0:
                figures["graph_s"] = _since_launch()
                figures.update(_memory())  # this process only: Chromium's own processes come on top
                print(json.dumps(figures), flush=True)
                view.shutdown()
                app.quit()
                return
        QTimer.singleShot(50, poll)

    def poll() -> None:
        view.web.page().runJavaScript(script, 0, check)

    def shown() -> None:
        figures["window_s"] = _since_launch()
        poll()

    view.set_model(model)
    view.show()
    QTimer.singleShot(0, shown)
    app.exec()


# ---- the parent: models, runs, table ------------------------------------------------------------

def big_models(folder: Path) -> list[Path]:
    """A ~100 MB CNN (inline weights, 97 MB) and a BERT-base-sized encoder (external data, 530 MB)."""
    import onnx

    sys.path.insert(0, str(ROOT / "assets"))
    import sample_models

    cnn = folder / "cnn_100mb.onnx"
    onnx.save_model(sample_models.build_resnet(widths=(64, 128, 256, 512), blocks_per_stage=4,
                                               num_classes=1000, image_size=224, calibrate=False), cnn)
    bert = folder / "bert_base_400mb.onnx"
    onnx.save_model(sample_models.build_transformer(vocab_size=30522, d_model=768, heads=12, layers=12, d_ff=3072),
                    bert, save_as_external_data=True, location="bert_base_400mb.onnx.data")
    return [cnn, bert]


def run_child(kind: str, model: Path) -> dict[str, float]:
    """One fresh process of `kind` ("workbench" or "netron") on `model`; its figures."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    env.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    with tempfile.TemporaryDirectory(prefix="ttg-cache-") as cache:  # session copies stay out of the user's cache
        env["XDG_CACHE_HOME"] = cache
        env[T0_ENV] = repr(time.time())
        done = subprocess.run([sys.executable, __file__, "--child", kind, str(model)], env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:120]}
    return json.loads(lines[-1])


def data_size(model: Path) -> float:
    """MB of the model file and its external data beside it."""
    extra = model.with_name(model.name + ".data")
    return (model.stat().st_size + (extra.stat().st_size if extra.exists() else 0)) / 1e6


def main() -> None:
    """Measure every model with both viewers and print one line per model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("KIND", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--big", action="store_true", help="also generate a ~100 MB CNN and a BERT-base-sized transformer (530 MB)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per viewer and model (best kept)")
    parser.add_argument("--models", nargs="*", type=Path, help="models to measure (default: the samples)")
    args = parser.parse_args()
    if args.child:
        {"workbench": child_workbench, "netron": child_netron}[args.child[0]](args.child[1])
        return
    models = args.models or [ROOT / "assets" / "models" / n for n in ("resnet_small.onnx", "transformer_small.onnx")]
    # An installed app has its bytecode; without this a checkout run under PYTHONDONTWRITEBYTECODE
    # would compile every module of the app again in each measured process (~1 s).
    for package in ("app", "widgets", "pipelines"):
        compileall.compile_dir(ROOT / package, quiet=1)
    with tempfile.TemporaryDirectory(prefix="ttg-models-") as folder:
        if args.big:
            models = [*models, *big_models(Path(folder))]
        print(f"{'model':<26}{'MB':>8}  {'workbench window / graph / CPU / RSS':>44}  "
              f"{'Netron embedded window / graph / CPU / RSS':>48}")
        for model in models:
            best: dict[str, dict[str, float]] = {}
            for _ in range(args.repeat):
                for kind in ("workbench", "netron"):  # alternating: load hits both alike
                    figures = run_child(kind, model)
                    if "graph_s" in figures and figures["graph_s"] < best.get(kind, {}).get("graph_s", float("inf")):
                        best[kind] = figures
                    best.setdefault(kind, figures)
            cells = []
            for kind in ("workbench", "netron"):
                f = best[kind]
                cells.append(f"error: {f['error']}" if "error" in f else
                             f"{f['window_s']:5.2f} s / {f['graph_s']:5.2f} s / {f['cpu_s']:5.2f} s / {f['rss_mb']:5.0f} MB")
            print(f"{model.name:<26}{data_size(model):>8.1f}  {cells[0]:>44}  {cells[1]:>48}", flush=True)
    print("CPU and RSS: the viewer's own process when the graph is drawn (all its threads; Chromium's renderer "
          "processes and the workbench's worker processes not included).")


if __name__ == "__main__":
    main()
