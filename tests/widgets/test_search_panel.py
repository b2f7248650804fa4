"""Search panel: node names, op types and tensor names; activation emits the target."""
from __future__ import annotations

import onnx
from PySide6.QtCore import Qt

from onnx_workbench.widgets.model_index import ModelIndex
from onnx_workbench.widgets.search_panel import SearchPanel


def test_finds_by_name_op_type_and_tensor(qtbot, sample_cnn):
    panel = SearchPanel()
    qtbot.addWidget(panel)
    model = onnx.load(str(sample_cnn))
    panel.set_model(ModelIndex(model))
    by_op = panel.search("maxpool")
    assert ("node", "maxpool") in by_op
    convs = panel.search("Conv")
    assert len([k for k, t in convs if k == "node"]) >= sum(n.op_type == "Conv" for n in model.graph.node)
    assert ("initializer", "conv1.weight") in panel.search("conv1.weight")
    # A tensor produced by a node leads to that node.
    produced = model.graph.node[0].output[0]
    assert ("node", model.graph.node[0].name) in panel.search(produced)
    assert panel.search("no-such-thing-anywhere") == []
    assert panel.status.text() == "0 results"


def test_activation_emits_node_and_initializer(qtbot, sample_cnn):
    panel = SearchPanel()
    qtbot.addWidget(panel)
    panel.set_model(ModelIndex(onnx.load(str(sample_cnn))))
    qtbot.keyClicks(panel.query, "bn1")
    with qtbot.waitSignal(panel.nodeActivated) as blocker:
        qtbot.keyClick(panel.query, Qt.Key.Key_Return)
    assert blocker.args == ["bn1"]
    panel.query.setText("bn1.weight")
    row = next(i for i in range(panel.results.count()) if "initializer" in panel.results.item(i).text())
    with qtbot.waitSignal(panel.initializerActivated) as blocker:
        panel.results.itemActivated.emit(panel.results.item(row))
    assert blocker.args == ["bn1.weight"]


def test_disabled_without_model(qtbot):
    panel = SearchPanel()
    qtbot.addWidget(panel)
    assert not panel.query.isEnabled()
    assert panel.search("anything") == []


def test_down_arrow_walks_into_results(qtbot, sample_cnn):
    panel = SearchPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_model(ModelIndex(onnx.load(str(sample_cnn))))
    panel.focus_query()
    qtbot.keyClicks(panel.query, "relu")
    qtbot.keyClick(panel.query, Qt.Key.Key_Down)
    assert panel.results.currentRow() == 0
    with qtbot.waitSignal(panel.nodeActivated) as blocker:
        qtbot.keyClick(panel.results, Qt.Key.Key_Down)
        qtbot.keyClick(panel.results, Qt.Key.Key_Return)
    assert blocker.args == [panel.results.item(1).data(Qt.ItemDataRole.UserRole + 1)]
