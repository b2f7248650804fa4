"""Channel importance of a dependency group, and how many channels a ratio keeps."""
from __future__ import annotations

import math

import numpy as np

from onnx_workbench.pipelines.pruning.dependency import Group, Member
from onnx_workbench.pipelines.pruning.irutil import const_array


def member_scores(member: Member, size: int, criterion: str) -> np.ndarray:
    """Per-channel norm of one member's slice: l1, l2, or |value| for a per-channel vector."""
    array = np.moveaxis(const_array(member.value).astype(np.float64), member.axis, 0)
    count = member.modulo or size
    rows = array[member.offset : member.offset + count * member.block].reshape(count, -1)
    scores = np.sqrt(np.square(rows).sum(axis=1)) if criterion == "l2" else np.abs(rows).sum(axis=1)
    # A grouped conv's input slot serves one channel per group: every group gets the slot's score.
    return np.tile(scores, size // count)


def group_importance(group: Group, criterion: str) -> tuple[np.ndarray, str]:
    """Aggregated importance per channel of `group`, and the criterion actually used.

    Each member's scores are divided by their mean before summing, so a wide consumer weight
    does not drown a narrow producer (Torch-Pruning's group normalisation). bn-gamma falls back
    to l1 when the group has no BatchNormalization.
    """
    if criterion == "bn-gamma":
        members = [m for m in group.members if m.role == "bn-scale"]
        if members:
            return _aggregate(members, group.size, "l1"), "bn-gamma"
        criterion = "l1"
    members = [m for m in group.members if m.role in ("out", "in")]
    return _aggregate(members, group.size, criterion), criterion


def _aggregate(members: list[Member], size: int, criterion: str) -> np.ndarray:
    total = np.zeros(size)
    for member in members:
        scores = member_scores(member, size, criterion)
        total += scores / (scores.mean() + 1e-12)
    return total


def kept_count(size: int, ratio: float, round_to: int = 1) -> int:
    """Channels kept out of `size` when removing `ratio` of them, rounded up to `round_to`."""
    keep = size - int(math.floor(ratio * size + 1e-9))
    if round_to > 1:
        keep = min(size, int(math.ceil(keep / round_to)) * round_to)
    return max(keep, 1)


def folded_keep(scores: np.ndarray, ratio: float, round_to: int, fold: int) -> np.ndarray:
    """Channels to keep when every one of `fold` equal chunks must keep the same positions."""
    size = len(scores)
    chunk = size // fold
    keep_chunk = kept_count(chunk, ratio)
    if round_to > 1:
        step = math.lcm(round_to, fold)
        keep_chunk = min(size, int(math.ceil(keep_chunk * fold / step)) * step) // fold
    positions = channels_to_keep(scores.reshape(fold, chunk).sum(axis=0), keep_chunk)
    return (np.arange(fold)[:, None] * chunk + positions[None, :]).ravel()


def channels_to_keep(scores: np.ndarray, keep: int) -> np.ndarray:
    """Indices of the `keep` most important channels, in their original order (ties: lower index)."""
    order = np.argsort(-scores, kind="stable")
    return np.sort(order[:keep])
