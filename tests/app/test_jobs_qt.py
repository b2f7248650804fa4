"""JobSlot: worker records become Qt signals; failures are one sentence; superseded jobs are dropped."""
from __future__ import annotations

from app.jobs_qt import JobSlot

WAIT_MS = 30_000


def test_result_and_progress(qtbot, sample_cnn):
    slot = JobSlot("test")
    progress = []
    slot.progress.connect(lambda _g, fraction, _m: progress.append(fraction))
    with qtbot.waitSignal(slot.succeeded, timeout=WAIT_MS) as blocker:
        generation = slot.start("analyze", {"model": str(sample_cnn)})
    assert blocker.args[0] == generation
    assert blocker.args[1]["analysis"]["nodes"] > 0
    assert progress and progress[-1] == 1.0
    assert not slot.busy


def test_failure_is_one_sentence(qtbot):
    slot = JobSlot("test")
    with qtbot.waitSignal(slot.failed, timeout=WAIT_MS) as blocker:
        slot.start("apply-pass", {})
    assert blocker.args[1] == "apply-pass needs a 'pass' name."


def test_superseded_job_is_dropped_and_cancel_stops(qtbot, sample_cnn):
    slot = JobSlot("test")
    results = []
    slot.succeeded.connect(lambda g, r: results.append(g))
    first = slot.start("analyze", {"model": str(sample_cnn)})
    with qtbot.waitSignal(slot.succeeded, timeout=WAIT_MS):
        second = slot.start("analyze", {"model": str(sample_cnn)})
    qtbot.wait(300)
    assert results == [second] and first != second
    with qtbot.waitSignal(slot.cancelled, timeout=WAIT_MS):
        slot.start("analyze", {"model": str(sample_cnn)})
        slot.cancel()
    qtbot.wait(500)
    assert results == [second] and not slot.busy
