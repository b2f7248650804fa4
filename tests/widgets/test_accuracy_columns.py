"""The version tree and the compare view show top-1 accuracy on the session's labelled data."""
from __future__ import annotations

import pytest

from onnx_workbench.pipelines.versions import ROOT_ID, Workspace
from onnx_workbench.widgets.compare_view import CompareView
from onnx_workbench.widgets.version_tree import COLUMNS, VersionTree


@pytest.fixture(scope="module")
def labelled_session(tmp_path_factory, digits_cnn, digits_data) -> Workspace:
    ws = Workspace.create(digits_cnn, tmp_path_factory.mktemp("acc") / "ws", data=digits_data, samples=40)
    ws.apply(ROOT_ID, "to-fp16")
    return ws


def test_tree_shows_top1_and_the_drop_in_points(qtbot, labelled_session):
    tree = VersionTree()
    qtbot.addWidget(tree)
    tree.set_workspace(labelled_session, ROOT_ID)
    half = labelled_session.versions[1]
    accuracy = half.metrics["fidelity"]["accuracy"]
    gain = accuracy["candidate"]["top1"] - accuracy["reference"]["top1"]
    assert tree.cell(ROOT_ID, "Top-1") == f"{accuracy['reference']['top1']:.2f}%"
    assert tree.cell(half.id, "Top-1") == f"{accuracy['candidate']['top1']:.2f}% ({gain:+.2f})".replace("-", "−")
    assert not tree.isColumnHidden(COLUMNS.index("Top-1"))


def test_the_column_is_hidden_without_labelled_data(qtbot, tmp_path, digits_cnn):
    tree = VersionTree()
    qtbot.addWidget(tree)
    tree.set_workspace(Workspace.create(digits_cnn, tmp_path / "plain"), ROOT_ID)
    assert tree.isColumnHidden(COLUMNS.index("Top-1"))


def test_compare_view_has_accuracy_rows(qtbot, labelled_session):
    view = CompareView()
    qtbot.addWidget(view)
    view.set_workspace(labelled_session)
    view.pick("a", ROOT_ID)
    view.pick("b", labelled_session.versions[1].id)
    table = view.table
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(1, 4)] for r in range(table.rowCount())}
    accuracy = labelled_session.versions[1].metrics["fidelity"]["accuracy"]
    assert rows["Top-1 accuracy"][:2] == [f"{accuracy['reference']['top1']:.2f}%", f"{accuracy['candidate']['top1']:.2f}%"]
    assert rows["Top-5 accuracy"][2].endswith(" pts")
