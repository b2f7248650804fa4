"""Session commands fail in one sentence: saving while work runs, report errors, file errors."""
from __future__ import annotations

import pytest

import onnx_workbench.pipelines.report.build as report_build
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.session_model import PROFILE

WAIT_MS = 60_000


def test_save_as_switches_every_view_to_the_new_folder(session_window, dirty_session, tmp_path):
    panels = session_window.session_panels
    old = dirty_session.workspace
    panels.commands.save_session(tmp_path / "saved")
    assert dirty_session.workspace is not old and dirty_session.workspace.root == tmp_path / "saved"
    assert panels.version_tree.workspace is dirty_session.workspace
    assert panels.compare_view.workspace is dirty_session.workspace
    assert not dirty_session.has_unexported_work


def test_save_as_is_refused_while_work_runs(qtbot, session_window, dirty_session, tmp_path):
    dirty_session.profile(None, {"runs": 1_000_000, "warmup": 1})
    try:
        with pytest.raises(ConfigError, match="while work is running"):
            dirty_session.save_as(tmp_path / "saved")
        session_window.session_panels.commands.save_session(tmp_path / "saved")  # the panel says it instead
        assert "while work is running" in session_window.statusBar().currentMessage()
        assert not (tmp_path / "saved").exists()
    finally:
        with qtbot.waitSignal(dirty_session.jobs.lane(PROFILE).cancelled, timeout=WAIT_MS):
            dirty_session.stop_profile()


def test_report_failure_reaches_the_window(qtbot, session_window, dirty_session, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("no figures")

    monkeypatch.setattr(report_build, "build_workspace_report", broken)
    panels = session_window.session_panels
    with qtbot.waitSignal(session_window.jobs.lane("report").failed, timeout=WAIT_MS) as blocker:
        panels.commands.export_report(path=tmp_path / "report.html")
    assert "no figures" in blocker.args[1] and blocker.args[1].count(".") <= 2
    assert "no figures" in session_window.statusBar().currentMessage()  # not "Writing report…"


def test_file_errors_become_one_sentence(session_window, dirty_session, tmp_path):
    panels = session_window.session_panels
    missing = tmp_path / "missing" / "model.onnx"

    def write() -> None:
        missing.write_bytes(b"")

    assert panels.commands.guard(write) is None
    message = session_window.statusBar().currentMessage()
    assert str(missing) in message and message.endswith(".")
