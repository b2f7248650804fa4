"""Work the window does in later turns of its event loop, one piece per turn.

When a model is shown the graph follows at once; the panels beside it (summary, search,
properties, Netron; after a step the diff and the compare table) each take a turn of their
own after it. One turn for all of them would hold the window up for their sum (~15 ms on a
small model, far more on a big one); a turn each lets it draw in between. Parts built in the
background take their steps the same way. A piece queued again before it ran is replaced by
the newer call (a model shown twice in a row is shown once), keeping its place in the queue.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer

_waiting: dict[Callable[..., None], tuple[QObject, tuple[Any, ...]]] = {}  # in queue order
_timer: QTimer | None = None


def later(owner: QObject, slot: Callable[..., None], *args: Any) -> None:
    """Call `slot(*args)` in a later event-loop turn, one queued call per turn; dropped if `owner` is gone by then."""
    global _timer
    _waiting[slot] = (owner, args)  # a replaced call keeps its place: dicts keep the first insertion's
    if _timer is None:
        _timer = QTimer()
        _timer.setSingleShot(True)
        _timer.setInterval(0)  # fires once the events waiting now are handled, the window's repaint among them
        _timer.timeout.connect(_run_one)
    if not _timer.isActive():
        _timer.start()


def deferred(owner: QObject, slot: Callable[..., None]) -> Callable[..., None]:
    """`slot` as a callable that runs it through `later` (for signal connections)."""
    return lambda *args: later(owner, slot, *args)


def _run_one() -> None:
    if not _waiting:
        return
    slot = next(iter(_waiting))
    owner, args = _waiting.pop(slot)
    if _waiting and _timer is not None:
        _timer.start()
    if shiboken6.isValid(owner):
        slot(*args)
