"""The session cache: listed with size and age, kept under a cap (oldest first), the open one kept."""
from __future__ import annotations

import json
import os

import pytest

from onnx_workbench.pipelines.session_cache import delete_session, enforce_cap, list_sessions
from onnx_workbench.pipelines.versions import WORKSPACE_FILE


def _session(cache, name: str, size: int, age_s: float):
    root = cache / name
    (root / "versions" / "original").mkdir(parents=True)
    (root / "versions" / "original" / "model.onnx").write_bytes(b"x" * size)
    state = root / WORKSPACE_FILE
    state.write_text(json.dumps({"source": f"/models/{name}.onnx", "versions": [{}, {}]}))
    stamp = 1_700_000_000 - age_s
    os.utime(state, (stamp, stamp))
    return root


def test_list_and_cap_delete_the_least_recently_used_but_never_the_open_one(tmp_path):
    cache = tmp_path / "sessions"
    old = _session(cache, "old", 4000, 3000)
    open_now = _session(cache, "open", 4000, 2000)  # older than 'mid', but in use
    mid = _session(cache, "mid", 4000, 1000)
    new = _session(cache, "new", 4000, 0)
    (cache / "stray").mkdir()  # not a session: never listed, never deleted
    listed = list_sessions(cache)
    assert [s.root.name for s in listed] == ["new", "mid", "open", "old"]
    assert listed[0].source == "/models/new.onnx" and listed[0].versions == 2
    assert listed[0].size_bytes >= 4000
    total = sum(s.size_bytes for s in listed)
    deleted = enforce_cap(cache, cap_bytes=total - 5000, keep={open_now})
    assert deleted == [old, mid]  # two had to go; the open one was skipped
    assert open_now.is_dir() and new.is_dir() and (cache / "stray").is_dir()
    assert enforce_cap(cache, cap_bytes=0, keep={open_now, new}) == []


def test_delete_refuses_anything_outside_the_cache(tmp_path):
    cache = tmp_path / "sessions"
    elsewhere = _session(tmp_path, "saved", 10, 0)
    with pytest.raises(ValueError, match="not a session of the cache"):
        delete_session(elsewhere, cache)
    assert elsewhere.is_dir()
