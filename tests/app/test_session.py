"""The session model on real worker processes (QtExecutor): analyses, a sibling version, open/save, cancel."""
from __future__ import annotations

import pytest

from onnx_workbench.app.background import QtExecutor
from onnx_workbench.pipelines.background import JobLanes
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.session_model import APPLY, SessionModel
from onnx_workbench.pipelines.versions import STAGING

WAIT_MS = 60_000


def _session() -> SessionModel:
    """A session whose jobs run in worker processes, their events handed over on the Qt event loop."""
    return SessionModel(JobLanes(QtExecutor()))


def test_quant_error_then_requantize_and_save(qtbot, sample_cnn, tmp_path):
    session = _session()
    session.start(sample_cnn, tmp_path / "ws")
    qtbot.waitUntil(lambda: session.workspace is not None, timeout=WAIT_MS)
    with pytest.raises(ConfigError, match="not a quantization step"):
        session.analyse_quantization()
    session.apply("quantize-static", {"samples": 2})
    qtbot.waitUntil(lambda: len(session.workspace.versions) == 2, timeout=WAIT_MS)
    quantized = session.current
    with qtbot.waitSignal(session.analysed, timeout=WAIT_MS) as blocker:
        session.analyse_quantization(samples=2)
    kind, vid, report = blocker.args
    assert (kind, vid) == ("quant-debug", quantized.id) and report.tensors  # typed once, as it arrived
    worst = report.worst_quant_nodes(2)
    session.requantize_excluding(quantized.id, worst)
    qtbot.waitUntil(lambda: len(session.workspace.versions) == 3, timeout=WAIT_MS)
    again = session.current
    assert again.parent == "original" and again.config["nodes_to_exclude"] == worst  # a sibling of v1
    session.undo()
    assert session.current_id == quantized.id

    # Save the session elsewhere and open it again: versions and metrics come back.
    assert session.has_unexported_work
    saved = session.save_as(tmp_path / "saved")
    assert not session.has_unexported_work
    other = _session()
    other.open(saved)
    assert [v.id for v in other.workspace.versions] == [v.id for v in session.workspace.versions]
    assert session.workspace.root == saved  # the session goes on in the saved folder
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        session.save_as(busy)


def test_cancel_leaves_the_current_version(qtbot, sample_cnn, tmp_path):
    session = _session()
    session.start(sample_cnn, tmp_path / "ws")
    qtbot.waitUntil(lambda: session.workspace is not None, timeout=WAIT_MS)
    with qtbot.waitSignal(session.jobs.lane(APPLY).cancelled, timeout=WAIT_MS):
        session.apply("quantize-static", {"samples": 64})
        session.cancel_step()
    qtbot.wait(500)
    assert session.current_id == "original" and len(session.workspace.versions) == 1
    assert not session.history.can_undo
    qtbot.waitUntil(lambda: not list(session.workspace.root.glob(f"versions/.*.{STAGING}.*")), timeout=WAIT_MS)


def test_bad_config_fails_before_any_work(qtbot, sample_cnn, tmp_path):
    session = _session()
    session.start(sample_cnn, tmp_path / "ws")
    qtbot.waitUntil(lambda: session.workspace is not None, timeout=WAIT_MS)
    with pytest.raises(ConfigError) as info:
        session.apply("prune-channels", {"ratio": 2.0})
    assert info.value.field == "ratio" and not session.jobs.busy(APPLY)


def test_preset_applies_every_step_as_a_version(qtbot, sample_cnn, tmp_path):
    from onnx_workbench.widgets.optimize_panel import load_presets

    session = _session()
    session.start(sample_cnn, tmp_path / "ws")
    qtbot.waitUntil(lambda: session.workspace is not None, timeout=WAIT_MS)
    recipe = load_presets()["Fold and simplify"]
    session.apply_recipe(recipe)
    qtbot.waitUntil(lambda: len(session.workspace.versions) == 1 + len(recipe.steps), timeout=WAIT_MS)
    chain = session.workspace.path_to(session.current_id)
    assert [v.pass_name for v in chain[1:]] == [s.pass_name for s in recipe.steps]
    assert session.recipe().to_dict() == recipe.to_dict()  # the session's recipe is the preset
    for _ in recipe.steps:
        session.undo()
    assert session.current_id == "original"
