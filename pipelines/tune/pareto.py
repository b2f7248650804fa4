"""The Pareto front: results no other result beats on every axis at once."""
from __future__ import annotations

from collections.abc import Sequence


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """True when `a` is no worse than `b` on every axis and better on one (lower is better)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_front(points: dict[str, Sequence[float]]) -> list[str]:
    """Keys of the points that no other point dominates, in the order given."""
    return [key for key, point in points.items()
            if not any(dominates(other, point) for name, other in points.items() if name != key)]
