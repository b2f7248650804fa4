"""The version history of a session: which version was current, in order, with undo and redo."""
from __future__ import annotations


class History:
    """Moves between versions; a move after an undo drops the redo side (as an editor's undo stack)."""

    def __init__(self) -> None:
        self._visited: list[str] = []
        self._index = -1

    def reset(self, start: str | None = None) -> None:
        """Forget every move; `start` (if given) is where the history begins."""
        self._visited = [start] if start is not None else []
        self._index = len(self._visited) - 1

    @property
    def current(self) -> str | None:
        """The version the history stands on."""
        return self._visited[self._index] if self._visited else None

    @property
    def can_undo(self) -> bool:
        """True when there is an earlier version to go back to."""
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        """True after an undo, until the next move."""
        return self._index < len(self._visited) - 1

    def move(self, target: str) -> bool:
        """Make `target` current; False (and nothing recorded) when it already is."""
        if target == self.current:
            return False
        del self._visited[self._index + 1:]
        self._visited.append(target)
        self._index += 1
        return True

    def undo(self) -> str | None:
        """Step back; returns the version now current (None when there is nothing to undo)."""
        if not self.can_undo:
            return None
        self._index -= 1
        return self.current

    def redo(self) -> str | None:
        """Step forward again; returns the version now current (None when there is nothing to redo)."""
        if not self.can_redo:
            return None
        self._index += 1
        return self.current
