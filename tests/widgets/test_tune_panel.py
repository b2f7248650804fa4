"""The Auto-optimize panel: candidates land on the scatter as versions of the session; start and stop."""
from __future__ import annotations

import pytest

from onnx_workbench.pipelines.tune.candidates import Candidate
from onnx_workbench.pipelines.tune.search import Search, TuneSettings
from onnx_workbench.pipelines.versions import ROOT_ID, Workspace
from tune_executors import InProcessExecutor
from onnx_workbench.widgets.tune_panel import TunePanel


@pytest.fixture
def panel(qtbot, tmp_path, digits_cnn) -> TunePanel:
    widget = TunePanel()
    qtbot.addWidget(widget)
    widget.set_workspace(Workspace.create(digits_cnn, tmp_path / "ws"))
    return widget


def test_finished_candidates_are_points_and_new_versions(qtbot, panel):
    added: list[str] = []
    panel.versionAdded.connect(added.append)
    candidates = [Candidate("simplify", (("simplify", {}),), "fusion"),
                  Candidate("simplify + fp16", (("simplify", {}), ("to-fp16", {})), "quantize")]
    search = Search(panel.workspace.source, TuneSettings(min_cosine=0.99, prune=False, timing_seconds=0.2, threads=1),
                    InProcessExecutor(), workspace=panel.workspace, on_event=panel._event.emit, candidates=candidates)
    search.run()
    qtbot.waitUntil(lambda: "candidates (every candidate ran)" in panel.status.text())
    versions = panel.workspace.versions
    assert added == [v.id for v in versions[1:]]  # simplify once, then fp16 on it: both now in the session
    xs, ys = panel.points.getData()
    assert len(xs) == 2 and all(y == pytest.approx(1.0 - e["worst_cosine"]) for y, e in zip(ys, panel.candidates))
    front = panel.front()
    assert list(panel.front_line.getData()[0]) == sorted(e["latency_ms"] for e in front)
    activated: list[str] = []
    panel.versionActivated.connect(activated.append)
    panel._on_point_clicked(None, [panel.points.points()[1]])
    assert activated == [panel.candidates[1]["version"]]


def test_start_then_stop_runs_on_a_thread_and_comes_back(qtbot, panel):
    panel.limit_kind.setCurrentText("cosine at least")
    assert panel.settings().min_cosine == 0.99 and panel.settings().max_accuracy_drop is None
    panel.start()
    assert panel.start_button.text() == "Stop"
    panel.stop()
    qtbot.waitUntil(lambda: panel.start_button.text() == "Start", timeout=30_000)
    assert "stopped" in panel.status.text()
    assert panel.workspace.get(ROOT_ID)


def test_an_accuracy_budget_without_labels_is_one_sentence(panel):
    panel.start()
    assert "needs labelled data" in panel.status.text() and panel.search is None


def test_the_panel_follows_the_session_it_is_bound_to(qtbot, tmp_path, digits_cnn):
    from onnx_workbench.pipelines.background import InProcessExecutor as RunHere
    from onnx_workbench.pipelines.background import JobLanes
    from onnx_workbench.pipelines.session_model import SessionModel

    model = SessionModel(JobLanes(RunHere()))
    widget = TunePanel()
    qtbot.addWidget(widget)
    widget.bind(model)
    workspace = Workspace.create(digits_cnn, tmp_path / "ws")
    model.adopt(workspace)
    assert widget.workspace is workspace and widget.start_button.isEnabled()
    candidate = workspace.apply(ROOT_ID, "cleanup")  # as the search adds a candidate to the session
    added: list[str] = []
    model.version_added.connect(added.append)
    widget.versionAdded.emit(candidate.id)
    assert added == [candidate.id]
    widget.versionActivated.emit(candidate.id)  # a click on its point
    assert model.current_id == candidate.id
    model.close()
    assert widget.workspace is None and not widget.start_button.isEnabled()
