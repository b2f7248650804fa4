"""The session's actions (undo, redo, profile, open/save/export) bound to a SessionModel: what
they do, and when they can be used."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction

from onnx_workbench.app.session_commands import SessionCommands
from onnx_workbench.pipelines.session_model import SessionModel

NEED_SESSION = ("profile", "save_session", "export_model", "export_recipe", "export_report")


def bind_session_actions(actions: dict[str, QAction], model: SessionModel, commands: SessionCommands,
                         profile: Callable[[], None]) -> None:
    """Connect the session's actions to `model` and `commands`; they follow the model's history
    and whether a session is open (all off until there is something to undo, redo or export)."""
    slots: dict[str, Callable[[], object]] = {
        "undo": model.undo,
        "redo": model.redo,
        "profile": profile,
        "open_session": commands.open_session,
        "save_session": commands.save_session,
        "manage_sessions": commands.manage_sessions,
        "export_model": commands.export_model,
        "export_recipe": commands.export_recipe,
        "export_report": commands.export_report,
    }
    for name, slot in slots.items():
        # triggered(bool) would land in the command's first parameter (a folder, a version id).
        actions[name].triggered.connect(lambda _checked=False, slot=slot: slot())

    def follow_history() -> None:
        actions["undo"].setEnabled(model.history.can_undo)
        actions["redo"].setEnabled(model.history.can_redo)

    def follow_workspace() -> None:
        for name in NEED_SESSION:
            actions[name].setEnabled(model.workspace is not None)

    model.history_changed.connect(follow_history)
    model.workspace_changed.connect(follow_workspace)
    follow_history()
    follow_workspace()
