"""The Messages log follows a session itself: status lines, failures and each step's warnings."""
from __future__ import annotations

from pathlib import Path

from workbench_toy_passes import build_classifier, toy_passes  # noqa: F401 - autouse fixture: the toy passes

from onnx_workbench.pipelines.background import InProcessExecutor, JobLanes
from onnx_workbench.pipelines.session_model import SessionModel
from onnx_workbench.pipelines.versions import Workspace
from onnx_workbench.widgets.message_log import MessageLog


def test_the_log_hears_the_session_and_passes_each_line_on(qtbot, tmp_path: Path) -> None:
    source = build_classifier(tmp_path / "user" / "model.onnx")
    model = SessionModel(JobLanes(InProcessExecutor()))
    model.adopt(Workspace.create(source, tmp_path / "session", samples=2))
    log = MessageLog()
    qtbot.addWidget(log)
    log.bind(model)
    passed_on: list[tuple[str, str]] = []
    log.added.connect(lambda level, text: passed_on.append((level, text)))
    model.message.emit("Session saved in /somewhere")
    model.problem.emit("Profiling failed: the worker ran out of memory.")
    model.step_failed.emit("the model has no BatchNormalization node.")
    model.apply("toy-rename", {})  # the pass warns how many nodes it renamed
    lines = [(m.level, m.text) for m in log.messages()]
    assert lines[:3] == [("info", "Session saved in /somewhere"),
                         ("error", "Profiling failed: the worker ran out of memory."),
                         ("error", "Step failed: the model has no BatchNormalization node.")]
    assert lines[3:] == [("info", "Applying toy-rename…"),
                         ("info", "v1 toy-rename: -1 Add, -2 MatMul, -1 Relu, +1 Add, +2 MatMul, +1 Relu"),
                         ("warning", "v1 toy-rename: renamed 4 nodes")]
    assert passed_on == lines
