"""Version tree: rows per version with figures and fidelity badge; branches nest; context actions."""
from __future__ import annotations

import pytest

from onnx_workbench.pipelines.versions import Workspace
from onnx_workbench.widgets.version_tree import VersionTree


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, sample_cnn) -> Workspace:
    ws = Workspace.create(sample_cnn, tmp_path_factory.mktemp("ws") / "session", samples=2)
    folded = ws.apply("original", "fold-batchnorm")
    ws.apply(folded.id, "cleanup")
    ws.apply("original", "to-fp16")  # a second branch from the original
    ws.update_metrics(folded.id, latency_ms={"p50": 1.25, "p99": 2.0})
    return ws


def _text(tree: VersionTree, vid: str, column: str) -> str:
    return tree.cell(vid, column)


def test_rows_figures_and_branches(qtbot, workspace):
    tree = VersionTree()
    qtbot.addWidget(tree)
    versions = workspace.versions
    folded, cleaned, half = versions[1], versions[2], versions[3]
    tree.set_workspace(workspace, folded.id)
    root = tree.item_for("original")
    assert tree.topLevelItemCount() == 1 and root.childCount() == 2  # fold and fp16 branch off v0
    assert tree.item_for(cleaned.id).parent() is tree.item_for(folded.id)
    assert _text(tree, "original", "Fidelity") == "reference"
    assert _text(tree, folded.id, "Pass") == "fold-batchnorm"
    assert _text(tree, folded.id, "Nodes") == str(folded.metrics["nodes"])
    assert _text(tree, folded.id, "p50 latency") == "1.250 ms"
    assert _text(tree, cleaned.id, "p50 latency") == "—"
    badge = _text(tree, folded.id, "Fidelity")
    assert badge.startswith("✓") and tree.badge_state(folded.id) == "pass"
    assert _text(tree, half.id, "Fidelity")[0] in "✓✗"
    assert tree.item_for(folded.id).font(0).bold() and not root.font(0).bold()
    tree.set_current(half.id)
    assert tree.item_for(half.id).font(0).bold() and not tree.item_for(folded.id).font(0).bold()


def test_signals_and_updates(qtbot, workspace):
    tree = VersionTree()
    qtbot.addWidget(tree)
    tree.set_workspace(workspace, "original")
    folded = workspace.versions[1]
    with qtbot.waitSignal(tree.activated) as blocker:
        tree.setCurrentItem(tree.item_for(folded.id))  # a click or an arrow key
    assert blocker.args == [folded.id]
    with qtbot.assertNotEmitted(tree.activated):
        tree.set_current("original")  # the session moving: no echo back
        tree.refresh()
    workspace.rename(folded.id, "folded")
    tree.update_version(folded.id)
    assert _text(tree, folded.id, "Version") == f"v{folded.number} folded"
    workspace.rename(folded.id, "")


def test_a_click_nobody_follows_leaves_the_current_row_marked(qtbot, workspace):
    tree = VersionTree()
    qtbot.addWidget(tree)
    tree.set_workspace(workspace, "original")
    folded = workspace.versions[1]
    with qtbot.waitSignal(tree.activated):
        tree.setCurrentItem(tree.item_for(folded.id))  # the session refuses or ignores the move
    assert tree.currentItem() is tree.item_for("original") and tree.item_for("original").font(0).bold()
    tree.activated.connect(tree.set_current)  # a session that follows the click
    tree.setCurrentItem(tree.item_for(folded.id))
    assert tree.currentItem() is tree.item_for(folded.id) and tree.item_for(folded.id).font(0).bold()
