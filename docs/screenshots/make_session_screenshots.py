"""Regenerate the session screenshots offscreen: `python docs/screenshots/make_session_screenshots.py`.

Drives a real session on the sample CNN (fold BatchNorm, static INT8, profile both, compare)
and saves the main window mid-session at 1280×800 and 1600×1000, light and dark
(main_window_session[_1280][_dark].png), plus each panel: optimize_panel.png,
profile_dashboard.png, compare_view.png, version_tree.png, diff_panel.png, analysis_views.png.
"""
from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import shiboken6  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

import event_loop  # noqa: E402 - beside this script
from onnx_workbench.app.settings import Settings  # noqa: E402
from onnx_workbench.pipelines.results import SweepResult  # noqa: E402
from onnx_workbench.app.theme import apply_theme, use_theme  # noqa: E402

MODEL = ROOT / "assets" / "models" / "resnet_small.onnx"
OUT = Path(__file__).resolve().parent


def main() -> None:
    """Run the session and save the screenshots."""
    app = QApplication([])
    apply_theme(app, dark=False)
    from onnx_workbench.app.main_window import MainWindow

    spin = functools.partial(event_loop.spin, app, step_s=0.01)

    def save(widget: QWidget, name: str, size: tuple[int, int] | None = None) -> None:
        if size is not None:
            widget.setFixedSize(*size)
        spin(0.3)
        widget.grab().save(str(OUT / name))
        print(f"{name}: {(OUT / name).stat().st_size / 1024:.0f} KiB")

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp
        window = MainWindow(Settings(QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat)))
        panels = window.session_panels
        panels.commands.ask_before_close = False
        session = panels.session
        window.resize(1280, 800)  # the default size: first-run dock sizes are made for it
        window.show()
        window.open_path(MODEL)
        spin(60, lambda: session.workspace is not None)

        def apply(name: str, values: dict) -> None:
            count = len(session.workspace.versions)
            panels.optimize_panel.select_pass(name)
            panels.optimize_panel.form().set_values(values)
            panels.optimize_panel.apply_button.click()
            spin(120, lambda: len(session.workspace.versions) > count and panels.version_display.shown_version == session.current_id)

        apply("fold-batchnorm", {})
        folded = session.current_id
        apply("quantize-static", {"samples": 8, "per_channel": True})
        quantized = session.current_id
        panels.profile_dashboard.runs.setValue(400)  # enough for readable charts; light on a shared machine
        session.profile(folded, panels.profile_dashboard.options())
        spin(120, lambda: "latency_ms" in session.workspace.get(folded).metrics and not session.jobs.busy("profile"))
        session.compare(folded, quantized, {"runs": 150, "warmup": 10})
        spin(120, lambda: session.comparison is not None)
        session.sweep(quantized, {"runs": 40, "warmup": 5}, [1, 2, 4], [1, 2])
        spin(180, lambda: not session.jobs.busy("profile"))
        sweep = SweepResult.from_metrics(session.workspace.get(quantized).metrics)
        window.actions["profile"].trigger()
        spin(120, lambda: "latency_ms" in session.workspace.get(quantized).metrics and not session.jobs.busy("profile"))
        panels.profile_dashboard.show_sweep(sweep)
        panels.diff_panel.toggle.setChecked(False)  # show the per-op heat map without diff rings
        window.graph_view.fit()
        panels.profile_dock.raise_()
        spin(1.0)
        for size, suffix in (((1280, 800), "_1280"), ((1600, 1000), "")):
            window.resize(*size)
            for theme in ("light", "dark"):
                use_theme(app, theme)
                spin(1.0)
                window.repaint()  # docks moved by the first-run sizes: paint them all before grabbing
                save(window, f"main_window_session{suffix}{'_dark' if theme == 'dark' else ''}.png")
        use_theme(app, "light")

        panels.compare_view.show_result(session.comparison)
        panels.diff_panel.toggle.setChecked(True)
        for widget, name, size in (
            (panels.optimize_panel, "optimize_panel.png", (420, 760)),
            (panels.profile_dashboard, "profile_dashboard.png", (1200, 640)),
            (panels.compare_view, "compare_view.png", (1100, 560)),
            (panels.version_tree, "version_tree.png", (700, 120)),
            (panels.diff_panel, "diff_panel.png", (380, 600)),
        ):
            widget.setParent(None)  # grab the panel alone, at a readable size (it stays undocked)
            widget.show()
            save(widget, name, size)
            widget.hide()

        session.analyse_quantization(quantized, samples=4)
        spin(120, lambda: panels.analysis_views.quant_report is not None)
        quant_report = panels.analysis_views.quant_report
        # The panel shows the results of the current version only: the scan runs on v1.
        session.go_to(folded)
        spin(60, lambda: panels.version_display.shown_version == folded)
        session.scan_pruning(folded, [0.1, 0.3, 0.5])
        spin(180, lambda: panels.analysis_views.sensitivity is not None)
        views = panels.analysis_views
        views.show_quant_report(quant_report)  # both analyses in one picture
        views.setParent(None)
        views.show()
        save(views, "analysis_views.png", (900, 800))
        window.jobs.cancel_all()
        window.close()
        shiboken6.delete(window)


if __name__ == "__main__":
    main()
