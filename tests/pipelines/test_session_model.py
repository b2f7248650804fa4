"""The session model without Qt: undo/redo, branching, stale results, dirty tracking, typed results."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from workbench_toy_passes import build_classifier, toy_passes  # noqa: F401 - autouse fixture: the toy passes

from onnx_workbench.pipelines.background import InProcessExecutor, JobLanes, ThreadCall
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.recipe import RECIPE_VERSION, Recipe
from onnx_workbench.pipelines.results import CompareResult, ProfileRun, VersionMetrics
from onnx_workbench.pipelines.session_model import APPLY, PROFILE, SessionModel
from onnx_workbench.pipelines.verify import FidelityReport
from onnx_workbench.pipelines.versions import ROOT_ID, Workspace


@pytest.fixture()
def model(tmp_path: Path) -> SessionModel:
    """A session on the toy classifier whose jobs run in this process, at once."""
    source = build_classifier(tmp_path / "user" / "model.onnx")
    session = SessionModel(JobLanes(InProcessExecutor()))
    session.adopt(Workspace.create(source, tmp_path / "session", samples=2))
    return session


def _events(model: SessionModel) -> list[tuple]:
    seen: list[tuple] = []
    model.current_changed.connect(lambda vid: seen.append(("current", vid)))
    model.dirty_changed.connect(lambda dirty: seen.append(("dirty", dirty)))
    model.version_added.connect(lambda vid: seen.append(("added", vid)))
    return seen


def test_undo_redo_walk_the_versions_made(model: SessionModel) -> None:
    model.apply("toy-scale", {"factor": 1.0})
    v1 = model.current_id
    model.apply("toy-rename", {})
    v2 = model.current_id
    assert [v.number for v in model.workspace.path_to(v2)] == [0, 1, 2]
    assert model.history.can_undo and not model.history.can_redo
    model.undo()
    assert model.current_id == v1 and model.history.can_redo
    model.undo()
    assert model.current_id == ROOT_ID and not model.history.can_undo
    model.undo()  # nothing left: stays
    assert model.current_id == ROOT_ID
    model.redo()
    model.redo()
    assert model.current_id == v2 and not model.history.can_redo


def test_a_step_after_an_undo_branches_and_drops_the_redo_side(model: SessionModel) -> None:
    model.apply("toy-scale", {"factor": 1.0})
    v1 = model.current_id
    model.apply("toy-rename", {})
    v2 = model.current_id
    model.undo()
    model.apply("toy-scale", {"factor": 2.0})  # from v1 again: a sibling branch of v2
    v3 = model.current
    assert v3.parent == v1 and v3.id != v2 and v3.number == 3
    assert {v.id for v in model.workspace.children(v1)} == {v2, v3.id}
    assert not model.history.can_redo  # v2 is no longer ahead in the history
    model.undo()
    assert model.current_id == v1
    model.go_to(v2)  # clicking a version is a move of its own
    model.undo()
    assert model.current_id == v1


def test_the_same_step_again_is_a_cache_hit_not_a_new_version(model: SessionModel) -> None:
    model.apply("toy-scale", {"factor": 1.0})
    v1 = model.current_id
    model.undo()
    seen = _events(model)
    model.apply("toy-scale", {"factor": 1.0})
    assert model.current_id == v1 and len(model.workspace.versions) == 2
    assert seen == [("current", v1)]  # moved there again; nothing added, dirty already


def test_dirty_follows_new_versions_exports_and_saves(model: SessionModel, tmp_path: Path) -> None:
    seen = _events(model)
    assert not model.has_unexported_work
    model.apply("toy-scale", {"factor": 1.0})
    v1 = model.current_id
    assert model.has_unexported_work and seen == [("dirty", True), ("added", v1), ("current", v1)]
    model.export_recipe(v1, tmp_path / "steps.yaml")
    assert not model.has_unexported_work and seen[-1] == ("dirty", False)
    model.apply("toy-rename", {})
    assert model.has_unexported_work
    model.save_as(tmp_path / "saved")
    assert not model.has_unexported_work and model.workspace.root == tmp_path / "saved"
    model.undo()  # moving between versions makes nothing new
    assert not model.has_unexported_work


def test_a_preset_applies_each_step_and_a_failure_drops_the_rest(model: SessionModel) -> None:
    failures: list[str] = []
    model.step_failed.connect(failures.append)
    recipe = Recipe.from_dict({"version": RECIPE_VERSION, "steps": [{"pass": "toy-scale", "config": {"factor": 1.0}},
                                         {"pass": "toy-fail"}, {"pass": "toy-rename"}]})
    model.apply_recipe(recipe)
    assert [v.pass_name for v in model.workspace.versions] == [None, "toy-scale"]
    assert failures and not model.pending_steps
    with pytest.raises(ConfigError) as info:
        model.apply("toy-scale", {"factor": 500.0})
    assert info.value.field == "factor" and not model.jobs.busy()


def test_a_superseded_result_is_dropped(model: SessionModel) -> None:
    executor = InProcessExecutor(deferred=True)
    model.jobs.executor = executor
    answers = iter([{"latency_ms": {"p50": 9.0}, "latencies_ms": [9.0]},
                    {"latency_ms": {"p50": 1.0}, "latencies_ms": [1.0]}])
    profiled: list[tuple[str, ProfileRun]] = []
    model.profiled.connect(lambda vid, run: profiled.append((vid, run)))
    for _ in range(2):  # the second request supersedes the first before either answers
        model.jobs.submit(PROFILE, ThreadCall("profile", lambda _ctx: next(answers)), about=(ROOT_ID,))
    first, second = (request for request, _work, _deliver in executor.pending)
    assert executor.cancelled == [first] and model.jobs.running(PROFILE) == second
    executor.run_pending()
    assert [(vid, run.latency_ms["p50"]) for vid, run in profiled] == [(ROOT_ID, 1.0)]
    assert model.current.metrics["latency_ms"] == {"p50": 1.0} and not model.jobs.busy(PROFILE)


def test_a_cancelled_step_leaves_the_current_version(model: SessionModel) -> None:
    executor = InProcessExecutor(deferred=True)
    model.jobs.executor = executor
    busy = []
    model.jobs.lane(APPLY).busy.connect(busy.append)
    model.apply("toy-scale", {"factor": 2.0})
    model.cancel_step()
    executor.run_pending()  # the job finishes anyway: its version is not taken
    assert model.current_id == ROOT_ID and len(model.workspace.versions) == 1 and busy == [True, False]
    assert not model.history.can_undo and not model.has_unexported_work


def test_results_are_typed_and_land_on_the_versions_they_were_made_for(model: SessionModel) -> None:
    model.apply("toy-scale", {"factor": 1.0})
    v1 = model.current_id
    executor = InProcessExecutor(deferred=True)
    model.jobs.executor = executor
    compared: list[CompareResult] = []
    model.compared.connect(compared.append)
    model.compare(ROOT_ID, v1)
    model.go_to(ROOT_ID)  # the user moves on while it runs
    worker_result = {"rounds": 3, "verdict": "no clear difference", "a": {"latency_ms": {"p50": 1.0}},
                     "b": {"latency_ms": {"p50": "inf"}}, "speedup": {"speedup": 1.0, "ci_low": "nan", "ci_high": 1.1}}
    request, _work, deliver = executor.pending.pop()
    deliver(request, {"kind": "result", "result": worker_result})
    (result,) = compared
    assert result.is_about(ROOT_ID, v1) and model.comparison is result and result.rounds == 3
    assert result.b.latency_ms["p50"] == float("inf") and math.isnan(result.speedup_ci[0])
    assert result.to_report()["latency_p50_ms"] == [1.0, "inf"]  # plain data: one convention for non-finite


def test_work_that_fails_is_one_problem_sentence(model: SessionModel) -> None:
    problems: list[str] = []
    model.problem.connect(problems.append)
    model.jobs.submit(PROFILE, ThreadCall("profile", lambda _ctx: 1 / 0), about=(ROOT_ID,))
    assert problems[-1] == "Profiling failed: the profile job failed: division by zero."
    assert not model.jobs.busy()


def test_a_versions_figures_read_back_typed(model: SessionModel) -> None:
    model.apply("toy-scale", {"factor": 1.0})
    stored = model.current.metrics
    figures = VersionMetrics.of(stored)
    assert stored["fidelity"]["outputs"][0]["snr_db"] == "inf"  # identical outputs; JSON holds no infinity
    assert figures.fidelity.passed and figures.fidelity.outputs[0].snr_db == math.inf
    assert FidelityReport.from_dict(figures.fidelity.to_dict()) == figures.fidelity
    assert figures.nodes == 4 and figures.profile is None and figures.sweep is None


def test_work_that_cannot_start_fails_and_frees_its_lane(model: SessionModel) -> None:
    class Broken(InProcessExecutor):
        def start(self, request, work, deliver):
            raise OSError(24, "Too many open files")

    model.jobs.executor = Broken()
    problems: list[str] = []
    model.problem.connect(problems.append)
    model.profile()
    assert problems == ["Profiling failed: the profile job failed: [Errno 24] Too many open files."]
    assert not model.jobs.busy(PROFILE)
