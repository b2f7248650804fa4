"""The File commands of a session: save and reopen session folders, manage the cache, export a
version's model, its recipe and a report, and ask before unexported work is dropped.

They ask for files where none is given, run slow work in the background (the report, trimming
the cache) and turn a refusal into one sentence in the Optimize panel and the Messages log.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from onnx_workbench.app.version_display import VersionDisplay
from onnx_workbench.pipelines.background import TaskContext, ThreadCall
from onnx_workbench.pipelines.errors import WorkbenchError, error_sentence
from onnx_workbench.pipelines.session_cache import enforce_cap
from onnx_workbench.pipelines.session_model import SessionModel
from onnx_workbench.pipelines.versions import default_sessions_dir
from onnx_workbench.widgets import formatting
from onnx_workbench.widgets.optimize_panel import OptimizePanel
from onnx_workbench.widgets.sessions_dialog import SessionsDialog

if TYPE_CHECKING:
    from onnx_workbench.app.main_window import MainWindow

REPORT_FILTER = "HTML report (*.html);;Markdown (*.md);;JSON (*.json);;CSV (*.csv)"
RECIPE_FILTER = "Recipes (*.yaml *.yml)"
MODEL_FILTER = "ONNX models (*.onnx)"


class SessionCommands(QObject):
    """Save/open/export commands on one SessionModel, with the dialogs and messages around them."""

    reportWritten = Signal(str)

    def __init__(self, window: MainWindow, model: SessionModel, version_display: VersionDisplay,
                 optimize_panel: OptimizePanel) -> None:
        super().__init__(window)
        self.window = window
        self.session = model
        self.version_display = version_display
        self.optimize_panel = optimize_panel  # where a refusal is said, beside the step it concerns
        # Tests and scripted runs turn this off: a modal question would block them.
        self.ask_before_close = True
        reports = window.jobs.lane("report")
        reports.succeeded.connect(self._on_report_written)
        reports.failed.connect(lambda _request, text: self.error(text))
        window.jobs.lane("trim-cache").succeeded.connect(self._on_cache_trimmed)
        model.workspace_changed.connect(self._trim_cache)

    def save_session(self, folder: str | Path | None = None) -> None:
        """Copy the session folder where the user chooses (a new folder is made) and continue there."""
        if folder is None:
            ws = self.session.workspace
            suggested = f"{ws.source.stem}-session" if ws is not None else "session"
            # A file dialog, not a folder picker: the user types the name of a folder that does
            # not exist yet (a folder picker refuses those with "Directory not found").
            folder = self._ask_path("Save session as a new folder", suggested, "",
                                    QFileDialog.Option.DontConfirmOverwrite)
            if not folder:
                return
        if self.guard(self.session.save_as, folder) is not None:
            self.window.settings.set_export_dir(Path(folder).parent)

    def manage_sessions(self) -> SessionsDialog:
        """File ▸ Manage Sessions: list the cached sessions; open or delete them."""
        ws = self.session.workspace
        dialog = SessionsDialog(default_sessions_dir(), ws.root if ws is not None else None,
                                self.window.settings.cache_cap_bytes(), self.window)
        dialog.openRequested.connect(self.open_session)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _trim_cache(self) -> None:
        """Keep the session cache under its cap (oldest sessions first, never the open one), off the GUI thread."""
        if self.session.workspace is None:
            return
        cache, cap, in_use = default_sessions_dir(), self.window.settings.cache_cap_bytes(), self.session.workspace.root

        def trim(_context: TaskContext) -> int:
            try:
                return len(enforce_cap(cache, cap, keep={in_use}))
            except OSError:
                return 0  # a folder in use by another process: the next session start tries again

        self.window.jobs.submit("trim-cache", ThreadCall("trim the session cache", trim))

    def _on_cache_trimmed(self, _request: Any, deleted: int) -> None:
        if deleted:
            self.window.log("info", f"Deleted the {deleted} oldest cached session{'s' if deleted > 1 else ''} to keep "
                                    f"the cache under {formatting.size(self.window.settings.cache_cap_bytes())} "
                                    "(File ▸ Manage Sessions).")

    def open_session(self, folder: str | Path | None = None) -> None:
        """Reopen a saved session folder and show its original version."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.window, "Open a session folder", str(self._dialog_dir()))
            if not folder:
                return
        if not self.confirm_discard("Open another session"):
            return
        self.version_display.forget()  # version 0 is read from the session's folder
        self.guard(self.session.open, folder)

    def export_model(self, vid: str | None = None, path: str | Path | None = None) -> None:
        """Export a version's model (default: the current one)."""
        vid = vid or self.session.current_id
        path = path or (vid and self._ask_path("Export model", self._export_name(vid, ".onnx"), MODEL_FILTER))
        if vid and path and self.guard(self.session.export_model, vid, path) is not None:
            self.status(f"Exporting {Path(path).name}…")

    def export_recipe(self, vid: str | None = None, path: str | Path | None = None) -> None:
        """Export the recipe that rebuilds a version (default: the current one)."""
        vid = vid or self.session.current_id
        path = path or (vid and self._ask_path("Export recipe", self._export_name(vid, ".yaml"), RECIPE_FILTER))
        if vid and path and self.guard(self.session.export_recipe, vid, path) is not None:
            self.status(f"Exported recipe {Path(path).name}")

    def export_report(self, path: str | Path | None = None) -> None:
        """Write a report on the current version (.html/.md/.json/.csv by suffix) on a thread."""
        ws, vid = self.session.workspace, self.session.current_id
        if ws is None or vid is None:
            return
        path = path or self._ask_path("Export report", self._export_name(vid, "-report.html"), REPORT_FILTER)
        if not path:
            return
        profiles, comparison = dict(self.session.profiles), self.session.comparison

        def write(_context: TaskContext) -> str:
            from onnx_workbench.pipelines.report.build import build_workspace_report
            from onnx_workbench.pipelines.report.render import write_report
            from onnx_workbench.pipelines.safe_write import source_files

            try:
                report = build_workspace_report(ws, vid, profiles=profiles, comparison=comparison)
                write_report(report, path, source_files(ws.source))
            except Exception as exc:  # noqa: BLE001 - any failure must reach the user as one sentence
                raise WorkbenchError(error_sentence(exc, f"the report {Path(path).name}")) from exc
            return str(path)

        self.status("Writing report…")
        self.window.jobs.submit("report", ThreadCall("report", write), about=(vid,))

    def _on_report_written(self, _request: Any, path: str) -> None:
        # A report exports no version: unexported work stays unexported.
        self.status(f"Report written: {Path(path).name}")
        self.reportWritten.emit(path)

    def confirm_discard(self, action: str) -> bool:
        """Ask before `action` (e.g. "Open another model") drops unexported versions; True to go on."""
        if not self.session.has_unexported_work or not self.ask_before_close:
            return True
        go_on = QMessageBox.StandardButton.Close if action == "Close" else QMessageBox.StandardButton.Discard
        answer = QMessageBox.question(
            self.window, "Unexported work",
            f"This session has versions you have not exported or saved. {action} anyway?\n"
            "(The session folder stays in the cache and can be reopened with File ▸ Open Session.)",
            go_on | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == go_on

    def _ask_path(self, title: str, name: str, filters: str,
                  options: QFileDialog.Option = QFileDialog.Option(0)) -> str:
        """A save dialog starting in `_dialog_dir` with `name`; the folder chosen is remembered ("" when cancelled)."""
        path, chosen = QFileDialog.getSaveFileName(self.window, title, str(self._dialog_dir() / name), filters,
                                                   options=options)
        if not path:
            return ""
        self.window.settings.set_export_dir(Path(path).parent)
        if filters == REPORT_FILTER and not Path(path).suffix:
            path += "." + chosen.split("*.")[-1].rstrip(")")
        return path

    def _dialog_dir(self) -> Path:
        """Where file dialogs start: the last export folder, else beside the opened model."""
        remembered = self.window.settings.export_dir()
        if remembered is not None:
            return remembered
        ws = self.session.workspace
        return ws.source.parent if ws is not None and ws.source.parent.is_dir() else Path.home()

    def _export_name(self, vid: str, suffix: str) -> str:
        """'resnet50_v2.onnx': the model's name and the version number."""
        ws = self.session.workspace
        if ws is None:
            return f"model{suffix}"
        return f"{ws.source.stem}_v{ws.get(vid).number}{suffix}"

    def guard(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a command; a WorkbenchError or OSError becomes a message instead of an exception."""
        try:
            result = function(*args)
        except (WorkbenchError, OSError) as exc:
            self.error(error_sentence(exc))
            return None
        return True if result is None else result

    def error(self, text: str) -> None:
        """A refusal or failure: in the Optimize panel and the Messages log."""
        self.optimize_panel.show_error(text)
        self.window.log("error", text)

    def status(self, text: str) -> None:
        """A status line, kept in the Messages log."""
        self.window.log("info", text)
