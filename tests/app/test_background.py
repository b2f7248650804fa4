"""QtExecutor: worker records and thread results reach the GUI thread; failures are one sentence; stale ones are dropped."""
from __future__ import annotations

from onnx_workbench.app.background import QtExecutor
from onnx_workbench.pipelines.background import JobLanes, ThreadCall, WorkerCall

WAIT_MS = 30_000


def _lanes() -> JobLanes:
    return JobLanes(QtExecutor())


def test_result_and_progress(qtbot, sample_cnn):
    lanes = _lanes()
    lane = lanes.lane("test")
    progress = []
    lane.progress.connect(lambda fraction, _message: progress.append(fraction))
    with qtbot.waitSignal(lane.succeeded, timeout=WAIT_MS) as blocker:
        request = lanes.submit("test", WorkerCall("analyze", {"model": str(sample_cnn)}), about=("v",))
    assert blocker.args[0] is request and request.about == ("v",) and request.job == "analyze"
    assert blocker.args[1]["analysis"]["nodes"] > 0
    assert progress and progress[-1] == 1.0
    assert not lanes.busy("test")


def test_failure_is_one_sentence(qtbot):
    lanes = _lanes()
    with qtbot.waitSignal(lanes.lane("test").failed, timeout=WAIT_MS) as blocker:
        lanes.submit("test", WorkerCall("apply-pass", {}))
    assert blocker.args[1] == "apply-pass needs a 'pass' name."


def test_superseded_job_is_dropped_and_cancel_stops(qtbot, sample_cnn):
    lanes = _lanes()
    lane = lanes.lane("test")
    results = []
    lane.succeeded.connect(lambda request, _result: results.append(request.generation))
    first = lanes.submit("test", WorkerCall("analyze", {"model": str(sample_cnn)}))
    with qtbot.waitSignal(lane.succeeded, timeout=WAIT_MS):
        second = lanes.submit("test", WorkerCall("analyze", {"model": str(sample_cnn)}))
    qtbot.wait(300)
    assert results == [second.generation] and first != second
    with qtbot.waitSignal(lane.cancelled, timeout=WAIT_MS):
        lanes.submit("test", WorkerCall("analyze", {"model": str(sample_cnn)}))
        lanes.cancel("test")
    qtbot.wait(500)
    assert results == [second.generation] and not lanes.busy("test")


def test_thread_work_reports_records_and_its_result_on_the_gui_thread(qtbot):
    import threading

    lanes = _lanes()
    lane = lanes.lane("thread")
    seen = []
    lane.record.connect(lambda _request, record: seen.append((record["kind"], threading.current_thread())))

    def work(context):
        context.emit({"kind": "loaded", "on": threading.current_thread().name})
        return 42

    with qtbot.waitSignal(lane.succeeded, timeout=WAIT_MS) as blocker:
        lanes.submit("thread", ThreadCall("answer", work))
    assert blocker.args[1] == 42
    assert seen == [("loaded", threading.main_thread())]
