"""The model on screen without Qt: what the views hear when a model is shown, analysed, a subgraph
entered, or nothing is shown; and the views that follow it."""
from __future__ import annotations

from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.opening import OpenedModel
from onnx_workbench.widgets.shown_model import ShownModel


def _events(shown: ShownModel) -> list[tuple]:
    seen: list[tuple] = []
    shown.changed.connect(lambda opened: seen.append(("changed", opened)))
    shown.analysed.connect(lambda opened: seen.append(("analysed", opened)))
    shown.index_changed.connect(lambda index: seen.append(("index", index)))
    return seen


def test_showing_a_model_indexes_it_before_the_views_hear(branchy_model):
    shown = ShownModel()
    heard: list[object] = []
    shown.changed.connect(lambda _opened: heard.append(shown.index))  # a graph view follows at once
    seen = _events(shown)
    opened = OpenedModel(load_model(branchy_model))
    shown.show(opened)
    assert shown.name == "branchy.onnx" and heard == [shown.index] and shown.index is not None
    assert [kind for kind, _ in seen] == ["changed", "index"] and seen[0][1] is opened
    shown.show(opened, name="branchy.onnx · v2")
    assert shown.name == "branchy.onnx · v2"


def test_figures_of_a_model_no_longer_shown_are_dropped(branchy_model, sample_cnn):
    shown = ShownModel()
    first = OpenedModel(load_model(branchy_model))
    second = OpenedModel(load_model(sample_cnn))
    shown.show(first)
    shown.show(second)
    seen = _events(shown)
    assert not shown.set_analysis(OpenedModel(first.loaded, analysis={"params": 1}))
    assert seen == [] and shown.opened is second
    figures = OpenedModel(second.loaded, analysis={"params": 7})
    assert shown.set_analysis(figures)
    assert seen == [("analysed", figures)] and shown.opened is figures and shown.layer_figures() == {"params": 7}


def test_entering_a_subgraph_reindexes_once_and_hides_main_graph_figures(branchy_model):
    shown = ShownModel()
    loaded = load_model(branchy_model)
    shown.show(OpenedModel(loaded, analysis={"params": 0}))
    seen = _events(shown)
    shown.follow_graph([])  # the main graph again: nothing new to follow
    assert seen == []
    shown.follow_graph(["choose/then_branch"])
    assert [kind for kind, _ in seen] == ["index"]
    assert list(shown.index.nodes) == ["then/relu"] and shown.layer_figures() is None
    shown.follow_graph(["no/such_branch"])  # a view state it cannot follow: the main graph
    assert shown.index.graph is loaded.proto.graph and shown.layer_figures() == {"params": 0}


def test_clearing_tells_every_view_nothing_is_shown(branchy_model):
    shown = ShownModel()
    shown.show(OpenedModel(load_model(branchy_model)))
    seen = _events(shown)
    shown.clear()
    assert seen == [("changed", None), ("index", None)]
    assert shown.opened is None and shown.name == "" and shown.layer_figures() is None
    shown.follow_graph(["choose/then_branch"])  # a graph view emptied: nothing to follow
    assert len(seen) == 2


def test_views_follow_the_model_shown_and_its_subgraphs(qtbot, branchy_model):
    from onnx_workbench.widgets.graph_view import GraphView
    from onnx_workbench.widgets.properties_panel import PropertiesPanel
    from onnx_workbench.widgets.search_panel import SearchPanel
    from onnx_workbench.widgets.summary_panel import SummaryPanel

    shown = ShownModel()
    graph, properties, search, summary = GraphView(), PropertiesPanel(), SearchPanel(), SummaryPanel()
    for view in (graph, properties, search, summary):
        qtbot.addWidget(view)
        view.bind(shown)
    loaded = load_model(branchy_model)
    shown.show(OpenedModel(loaded), name="branchy.onnx · v1")
    # The graph at once; the panels each a turn later, so the window can draw in between.
    assert "choose" in graph.node_names() and summary.tree.value("Name") is None
    qtbot.waitUntil(lambda: summary.tree.value("Name") == "branchy.onnx · v1")
    assert summary.tree.value("Parameters") == "—" and search.search("relu") == []
    qtbot.waitUntil(lambda: properties.show_graph_key("input:x"))
    assert properties.title.text().endswith("x")
    shown.set_analysis(OpenedModel(loaded, analysis={"params": 1234, "nodes": 1}))
    qtbot.waitUntil(lambda: summary.tree.value("Parameters") == "1.23 k")
    graph.open_subgraph("choose", "then_branch")  # the graph view tells the model which graph it shows
    qtbot.waitUntil(lambda: search.search("relu") == [("node", "then/relu")] and properties.show_graph_key("then/relu"))
    shown.clear()
    assert graph.node_names() == []
    qtbot.waitUntil(lambda: search.search("choose") == [] and summary.tree.value("Name") is None)
