"""Diff panel: groups of added, removed and changed nodes; long groups listed when unfolded."""
from __future__ import annotations

from onnx_workbench.widgets.diff_panel import MAX_LISTED, UNFOLDED_UP_TO, DiffPanel


def rows(group) -> list[str]:
    return [group.child(i).text(0) for i in range(group.childCount())]


def test_short_groups_are_listed_and_long_ones_when_unfolded(qtbot):
    panel = DiffPanel()
    qtbot.addWidget(panel)
    changed = [f"node{i:04d}" for i in range(MAX_LISTED + 20)]
    panel.set_changes({"added": ["b", "a"], "changed": changed}, "quantized")
    added, long_group = panel.tree.topLevelItem(0), panel.tree.topLevelItem(1)
    assert added.text(0) == "Added (2)" and added.isExpanded() and rows(added) == ["a", "b"]
    assert long_group.text(0) == f"Changed ({len(changed)})" and not long_group.isExpanded()
    assert long_group.childCount() == 0 and len(changed) > UNFOLDED_UP_TO  # made on unfolding, not before
    long_group.setExpanded(True)
    assert rows(long_group) == [*changed[:MAX_LISTED], "… and 20 more"]
    long_group.setExpanded(False)
    long_group.setExpanded(True)
    assert long_group.childCount() == MAX_LISTED + 1  # listed once
    activated = []
    panel.nodeActivated.connect(activated.append)
    panel.tree.itemClicked.emit(long_group.child(3), 0)
    assert activated == ["node0003"]
