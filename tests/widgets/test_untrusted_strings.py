"""Model strings are untrusted: names that look like HTML show literally in tooltips and legends."""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper
from PySide6.QtGui import QTextDocument, Qt
from PySide6.QtWidgets import QTreeWidgetItem

from onnx_workbench.pipelines.results import SensitivityTable
from onnx_workbench.widgets.analysis_views import AnalysisViews
from onnx_workbench.widgets.formatting import plain_tooltip
from onnx_workbench.widgets.model_index import ModelIndex
from onnx_workbench.widgets.properties_panel import PropertiesPanel
from onnx_workbench.widgets.search_panel import SearchPanel
from onnx_workbench.widgets.welcome_page import WelcomePage

HOSTILE = "<b>x</b><img src=x>"


def _shown(tooltip: str) -> str:
    """The text Qt shows for a tooltip (rich text when it looks like rich text)."""
    if not Qt.mightBeRichText(tooltip):
        return tooltip
    document = QTextDocument()
    document.setHtml(tooltip)
    return document.toPlainText()


def _model() -> onnx.ModelProto:
    node = helper.make_node("Relu", ["x"], [HOSTILE], name=HOSTILE)
    node.attribute.append(helper.make_attribute("note", "<i>a</i>\nline two"))
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info(HOSTILE, TensorProto.FLOAT, [1])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _rows(tree) -> list[QTreeWidgetItem]:
    items, stack = [], [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        items.append(item)
        stack.extend(item.child(i) for i in range(item.childCount()))
    return items


def test_plain_tooltip_shows_text_literally():
    tip = plain_tooltip(HOSTILE + "\nsecond & line")
    assert "&lt;b&gt;" in tip and "<b>" not in tip and "<img" not in tip
    assert _shown(tip) == HOSTILE + "\nsecond & line"


def test_properties_and_search_tooltips_escape_names(qtbot):
    index = ModelIndex(_model())
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.set_model(index, None)
    assert panel.show_node(HOSTILE)
    tips = [item.toolTip(c) for item in _rows(panel.tree) for c in (0, 1) if item.toolTip(c)]
    assert any("&lt;b&gt;" in t for t in tips) and not any("<b>" in t or "<img" in t for t in tips)
    assert any(_shown(t) == "<i>a</i>\nline two" for t in tips)  # the attribute's full text
    search = SearchPanel()
    qtbot.addWidget(search)
    search.set_model(index)
    search.search("img")
    tip = search.results.item(0).toolTip()
    assert "&lt;b&gt;" in tip and HOSTILE in _shown(tip)


def test_welcome_page_and_legend_show_names_literally(qtbot):
    page = WelcomePage()
    qtbot.addWidget(page)
    page.set_recent([f"/tmp/{HOSTILE}.onnx"])
    assert _shown(page.recent.item(0).toolTip()) == f"/tmp/{HOSTILE}.onnx"
    views = AnalysisViews()
    qtbot.addWidget(views)
    rows = [{"unit": HOSTILE, "kind": "channels", "ratio": r, "kept": 1, "size": 2, "cosine": 0.9,
             "top1": None, "params_removed": 1} for r in (0.1, 0.5)]
    views.show_sensitivity(SensitivityTable.from_worker(
        {"model": "m.onnx", "mode": "channels", "ratios": [0.1, 0.5], "skipped": {}, "rows": rows}))
    labels = [label.item.toPlainText() for _sample, label in views.chart.getPlotItem().legend.items]
    assert labels == [HOSTILE]
