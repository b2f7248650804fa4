"""Collections wait while imports run on any thread; what exists then is frozen out of later ones."""
from __future__ import annotations

import gc
import threading

from onnx_workbench.widgets.gc_pauses import collection_paused


def test_collection_resumes_after_the_last_pause_with_its_objects_frozen():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    inner_started, inner_may_end = threading.Event(), threading.Event()

    def other_pause() -> None:
        with collection_paused():
            inner_started.set()
            inner_may_end.wait(5)

    try:
        with collection_paused():
            assert not gc.isenabled()
            thread = threading.Thread(target=other_pause)
            thread.start()
            inner_started.wait(5)
            made = [[] for _ in range(100)]
        assert not gc.isenabled()  # the other thread's pause still runs
        inner_may_end.set()
        thread.join(5)
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(made)
    finally:
        gc.unfreeze()  # the rest of the test run collects as usual
        gc.enable()
