"""Unexported versions are never dropped without asking: open, drop, recent, close, open session."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from onnx_workbench.app.version_display import LANE
from onnx_workbench.pipelines.opening import open_model_task
from onnx_workbench.pipelines.versions import ROOT_ID


@pytest.fixture
def answers(monkeypatch):
    """Record every question and answer with the button in `answers.reply`."""

    class Answers(list):
        reply = QMessageBox.StandardButton.Cancel

    asked = Answers()

    def question(*args, **_kwargs):
        asked.append(args[2])
        return asked.reply

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_cancel_keeps_the_session_on_open_close_and_open_session(session_window, dirty_session, answers, sample_cnn, tmp_path):
    workspace = dirty_session.workspace
    assert session_window.open_path(sample_cnn) is None  # also the path of drops and recent files
    assert not session_window.close_model()
    session_window.session_panels.commands.open_session(tmp_path / "ws")
    assert len(answers) == 3 and all("not exported" in text for text in answers)
    assert dirty_session.workspace is workspace and dirty_session.has_unexported_work
    assert not session_window.opening


def test_confirming_goes_on(session_window, dirty_session, answers):
    answers.reply = QMessageBox.StandardButton.Discard
    assert session_window.close_model()
    assert answers and dirty_session.workspace is None


def test_nothing_to_lose_asks_nothing(session_window, dirty_session, answers):
    dirty_session.dirty = False
    assert session_window.close_model()
    assert not answers


def test_report_keeps_unexported_work(qtbot, session_window, dirty_session, tmp_path):
    panels = session_window.session_panels
    with qtbot.waitSignal(panels.commands.reportWritten, timeout=30_000):
        panels.commands.export_report(path=tmp_path / "report.md")
    assert dirty_session.has_unexported_work  # a report exports no version


def test_closing_the_model_drops_a_version_still_loading(session_window, dirty_session, sample_cnn):
    panels = session_window.session_panels
    dirty_session.dirty = False
    jobs = session_window.jobs
    jobs.submit(LANE, open_model_task(sample_cnn), about=(ROOT_ID,))
    assert jobs.busy(LANE)
    assert session_window.close_model()
    assert not jobs.busy(LANE) and panels.version_display.shown_version is None
    assert not session_window.actions["profile"].isEnabled() and not session_window.actions["undo"].isEnabled()


def test_save_session_makes_a_new_folder_and_dialogs_start_beside_the_model(
        session_window, dirty_session, sample_cnn, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    panels = session_window.session_panels
    asked: list[str] = []
    target = tmp_path / "saves" / "my-session"  # neither folder exists yet

    def save_dialog(_parent, _title, start, *_args, **_kwargs):
        asked.append(start)
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    panels.commands.save_session()
    assert asked[0] == str(sample_cnn.parent / "resnet_small-session")  # beside the model, not the cwd
    assert (target / "workspace.json").is_file() and dirty_session.workspace.root == target
    panels.commands.export_recipe()
    # The next dialog starts where the user last saved, with the model's name and version.
    assert asked[1] == str(target.parent / "resnet_small_v0.yaml")


def test_sessions_manager_lists_the_cache_and_keeps_the_open_session(session_window, dirty_session, tmp_path,
                                                                     monkeypatch):
    from onnx_workbench.pipelines.versions import Workspace

    cache = tmp_path / "cache" / "sessions"
    monkeypatch.setattr("onnx_workbench.app.session_commands.default_sessions_dir", lambda: cache)
    other = Workspace.create(dirty_session.workspace.source, cache / "other")
    current = Workspace.create(dirty_session.workspace.source, cache / "current")
    dirty_session.adopt(current)
    dialog = session_window.session_panels.commands.manage_sessions()
    try:
        names = {dialog.tree.topLevelItem(i).text(4) for i in range(dialog.tree.topLevelItemCount())}
        assert names == {"other", "current"}
        open_row = next(dialog.tree.topLevelItem(i) for i in range(2) if dialog.tree.topLevelItem(i).text(4) == "current")
        assert open_row.text(0).endswith("(open now)")
        open_row.setSelected(True)
        assert not dialog.delete_button.isEnabled()  # the open session cannot be deleted
        open_row.setSelected(False)
        other_row = next(dialog.tree.topLevelItem(i) for i in range(2) if dialog.tree.topLevelItem(i).text(4) == "other")
        other_row.setSelected(True)
        dialog.delete_button.click()
        assert not other.root.exists() and current.root.exists()
        assert dialog.tree.topLevelItemCount() == 1
    finally:
        dialog.close()
