"""The session folder's copy of the Messages log (messages.log, beside workspace.json): a saved
session reopened later still says what happened to it."""
from __future__ import annotations

import time

from onnx_workbench.pipelines.session_model import SessionModel
from onnx_workbench.widgets.message_log import MessageLog

MESSAGES_FILE = "messages.log"


def keep_messages_in_session(log: MessageLog, model: SessionModel) -> None:
    """Append every line `log` gets to the open session's messages.log (none while no session is open)."""

    def append(level: str, text: str) -> None:
        if model.workspace is None:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            with open(model.workspace.root / MESSAGES_FILE, "a", encoding="utf-8") as handle:
                handle.write(f"{stamp} {level:<7} {text}\n")
        except OSError:
            pass  # the log on screen has it; a read-only or vanished folder must not break the window

    log.added.connect(append)
