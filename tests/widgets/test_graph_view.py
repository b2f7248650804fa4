"""Graph view widget: model display, selection, overlays, highlights, LOD, subgraphs, export, scale."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.widgets import node_style as style
from onnx_workbench.widgets.graph_items import DETAIL_LOD, FAR_LOD, OVERVIEW_LOD, EdgeBatchItem, NodeItem
from onnx_workbench.widgets.graph_view import GraphView, Overlay


@pytest.fixture
def view(qtbot):
    widget = GraphView()
    widget.resize(900, 700)
    qtbot.addWidget(widget)
    return widget


@pytest.fixture(scope="module")
def cnn(sample_cnn) -> onnx.ModelProto:
    return onnx.shape_inference.infer_shapes(onnx.load(sample_cnn))


def loop_model() -> onnx.ModelProto:
    """A Loop whose body doubles the carried value: one subgraph to open by double-click."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going"),
         helper.make_node("Add", ["v_in", "v_in"], ["v_out"], name="double")],
        "body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [2])],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["trips", "cond", "v"], ["out"], name="repeat", body=body)],
        "main",
        [helper.make_tensor_value_info("trips", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def paint_item(item, scale: float, size: tuple[int, int] = (600, 300)) -> QImage:
    """Paint one scene item alone at a zoom, its box at the image origin."""
    image = QImage(*size, QImage.Format.Format_RGB32)
    image.fill(QColor(255, 255, 255))
    painter = QPainter(image)
    painter.scale(scale, scale)
    painter.translate(-item.box.x() + 4, -item.box.y() + 4)
    item.paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    return image


def colours_in_box(image: QImage, item, scale: float) -> set[tuple[int, int, int]]:
    """Distinct colours inside the item's box (1 px in from its edge) in a paint_item image."""
    w, h = int(item.box.width() * scale), int(item.box.height() * scale)
    x0 = y0 = int(4 * scale) + 1
    found = set()
    for y in range(y0, y0 + h - 2):
        for x in range(x0, x0 + w - 2):
            c = image.pixelColor(x, y)
            found.add((c.red(), c.green(), c.blue()))
    return found


def test_set_model_shows_every_node(view, cnn) -> None:
    view.set_model(cnn)
    names = view.node_names()
    assert len([n for n in names if not n.startswith(("input:", "output:"))]) == len(cnn.graph.node)
    assert cnn.graph.node[0].name in names
    conv = view.node_item(cnn.graph.node[0].name)
    assert conv.fill == style.CATEGORY_RGB["conv"]
    assert view.content_rect().contains(conv.box)


def test_select_node_emits_and_centres(view, qtbot, cnn) -> None:
    view.set_model(cnn)
    view.show()
    target = cnn.graph.node[-3].name
    with qtbot.waitSignal(view.nodeSelected, timeout=1000) as blocker:
        view.select_node(target)
    assert blocker.args == [target]
    assert view.selected_node() == target
    centre = view.mapToScene(view.viewport().rect().center())
    box = view.node_item(target).box
    assert abs(centre.y() - box.center().y()) < 5
    with qtbot.waitSignal(view.selectionCleared, timeout=1000):
        view.scene().clearSelection()
    with pytest.raises(WorkbenchError, match="no node called"):
        view.select_node("no such node")


def test_click_selects_a_node(view, qtbot, cnn) -> None:
    view.set_model(cnn)
    view.show()
    qtbot.waitExposed(view)
    name = cnn.graph.node[0].name
    view.centerOn(view.node_item(name).box.center())
    point = view.mapFromScene(view.node_item(name).box.center())
    with qtbot.waitSignal(view.nodeSelected, timeout=1000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args == [name]


def test_overlay_colours_min_and_max_nodes(view, cnn, monkeypatch) -> None:
    view.set_model(cnn)
    convs = [n.name for n in cnn.graph.node if n.op_type == "Conv"]
    values = {name: float(i) for i, name in enumerate(convs)}
    view.set_overlay(values, "latency", "ms")
    low, high = style.gradient(np.array([0.0, 1.0]))
    assert view.node_fill(convs[0]) == QColor(*low.tolist())
    assert view.node_fill(convs[-1]) == QColor(*high.tolist())
    # Nodes without a value turn neutral grey; dark fills get white text.
    relu = next(n.name for n in cnn.graph.node if n.op_type == "Relu")
    assert view.node_fill(relu) == QColor(*style.NO_VALUE_RGB)
    assert view.node_item(convs[-1]).light_text and not view.node_item(convs[0]).light_text
    assert not view.legend.isHidden() and view.legend.high == len(convs) - 1
    assert view.overlay() == Overlay(values, "latency", "ms")
    restyled = []
    monkeypatch.setattr(view, "_restyle", lambda: restyled.append(True))
    view.set_overlay(dict(values), "latency", "ms")  # the same again (a profile's record, then its result)
    view.set_overlay({**values, convs[0]: 0.5}, "latency", "ms")
    assert restyled == [True]  # only the change is drawn again
    monkeypatch.undo()
    view.clear_overlay()
    assert view.node_fill(convs[-1]) == QColor(*style.CATEGORY_RGB["conv"])
    assert view.legend.isHidden()


def test_highlight_rings_node_sets(view, cnn) -> None:
    view.set_model(cnn)
    a, b, c, d = (n.name for n in cnn.graph.node[:4])
    view.set_highlight(added={a}, removed={b}, changed={c})
    assert view.node_item(a).ring == style.HIGHLIGHT_RGB["added"]
    assert view.node_item(b).ring == style.HIGHLIGHT_RGB["removed"]
    assert view.node_item(c).ring == style.HIGHLIGHT_RGB["changed"]
    assert view.node_item(d).ring is None
    # The ring is actually painted around the box.
    image = paint_item(view.node_item(a), 1.0)
    edge = image.pixelColor(4, int(4 + view.node_item(a).box.height() / 2))
    assert (edge.red(), edge.green(), edge.blue()) == style.HIGHLIGHT_RGB["added"]
    view.set_highlight_visible(False)
    assert view.node_item(a).ring is None and not view.highlight_visible()
    view.set_highlight_visible(True)
    assert view.node_item(b).ring == style.HIGHLIGHT_RGB["removed"]
    view.clear_highlight()
    assert view.node_item(a).ring is None


def test_level_of_detail_drops_text_when_zoomed_out(view, cnn) -> None:
    view.set_model(cnn)
    item = view.node_item(cnn.graph.node[0].name)
    near = 2 * DETAIL_LOD
    far = FAR_LOD / 2
    near_colours = colours_in_box(paint_item(item, near), item, near)
    far_colours = colours_in_box(paint_item(item, far, (100, 100)), item, far)
    assert len(near_colours) > 5  # fill, text and its antialiased edges
    assert far_colours == {style.CATEGORY_RGB["conv"]}  # one flat block, no text or border


def test_zoom_keys_and_fit(view, qtbot, cnn) -> None:
    view.set_model(cnn)
    view.show()
    view.fit()
    fitted = view.zoom()
    view.zoom_in()
    assert view.zoom() == pytest.approx(fitted * 1.25)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert view.zoom() == pytest.approx(fitted)
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert view.zoom() == pytest.approx(fitted)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.adjusted(-1, -1, 1, 1).contains(view.content_rect())


def test_minimap_click_moves_the_view(view, qtbot, cnn) -> None:
    view.set_model(cnn)
    view.show()
    view.select_node(cnn.graph.node[0].name)  # zoomed in at the top
    before = view.mapToScene(view.viewport().rect().center())
    minimap = view.minimap
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=QPointF(minimap.width() / 2, minimap.height() - 3).toPoint())
    after = view.mapToScene(view.viewport().rect().center())
    assert after.y() > before.y() + 500


def test_the_minimap_is_rasterised_once_per_paint_however_often_the_graph_is_restyled(view, qtbot, cnn, monkeypatch) -> None:
    import onnx_workbench.widgets.minimap as minimap_module

    pictures: list[np.ndarray] = []
    real = minimap_module.rasterize
    monkeypatch.setattr(minimap_module, "rasterize", lambda boxes, colours, *a, **k: pictures.append(colours) or real(boxes, colours, *a, **k))
    view.set_model(cnn)
    view.set_overlay({cnn.graph.node[0].name: 1.0}, "x")
    view.set_highlight(added={cnn.graph.node[1].name})
    view.clear_overlay()  # restyled four times (the model, an overlay, rings, no overlay)
    assert pictures == []
    view.minimap.grab()  # painted: the last colours only
    assert len(pictures) == 1 and (pictures[0] == view._fill_rgb).all()


def test_double_click_opens_loop_body_and_back(view, qtbot) -> None:
    view.set_model(loop_model())
    view.show()
    qtbot.waitExposed(view)
    item = view.node_item("repeat")
    view.centerOn(item.box.center())
    point = view.mapFromScene(item.box.center())
    with qtbot.waitSignal(view.graphChanged, timeout=1000):
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert view.breadcrumb() == ["main", "repeat/body"]
    assert "double" in view.node_names()
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    assert view.breadcrumb() == ["main"]
    assert "repeat" in view.node_names()
    with pytest.raises(WorkbenchError):
        view.open_subgraph("repeat", "then_branch")


def test_render_png_and_svg(view, tmp_path, cnn) -> None:
    view.set_model(cnn)
    png = view.render_to_image(tmp_path / "g.png", Overlay({cnn.graph.node[0].name: 1.0}, "MACs"),
                               max_side=10_000)  # 1:1 scale
    image = QImage(str(png))
    rect = view.content_rect()
    assert (image.width(), image.height()) == (int(np.ceil(rect.width())), int(np.ceil(rect.height())) + 68)
    # The overlay was for the export only.
    assert view.overlay() is None
    # Not blank: the first Conv box is drawn in the overlay's top colour.
    box = view.node_item(cnn.graph.node[0].name).box
    c = image.pixelColor(int(box.center().x() - rect.x()), int(box.top() - rect.y() + 3))
    assert (c.red(), c.green(), c.blue()) == tuple(style.gradient(np.array([1.0]))[0].tolist())
    svg = view.render_to_image(tmp_path / "g.svg")
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and len(text) > 10_000
    with pytest.raises(WorkbenchError, match=".png or .svg"):
        view.render_to_image(tmp_path / "g.jpg")


def test_very_tall_graphs_export_in_columns(view, tmp_path) -> None:
    sample_models = pytest.importorskip("sample_models")
    view.set_model(sample_models.build_layered_graph(2_000))
    slices = view._export_slices(0)
    assert len(slices) > 3
    content = view.content_rect()
    assert slices[0].top() == content.top() and slices[-1].bottom() == content.bottom()
    # No box is cut by a column boundary.
    boxes = view.layout_result().boxes
    for cut in (s.top() for s in slices[1:]):
        assert not np.any((boxes[:, 1] < cut) & (boxes[:, 1] + boxes[:, 3] > cut))
    image = QImage(str(view.render_to_image(tmp_path / "tall.png", max_side=1500)))
    assert max(image.width(), image.height()) <= 1500 and image.width() > image.height() / 3


def test_styling_twenty_thousand_items(view, qtbot) -> None:
    """Guards the PySide6 6.12 setBrush/setPen abort: restyle and paint 20,000 nodes repeatedly."""
    sample_models = pytest.importorskip("sample_models")
    model = sample_models.build_layered_graph(20_000)
    with qtbot.waitSignal(view.graphBuilt, timeout=120_000):
        view.set_model(model)
        view.show()
    names = view.node_names()
    assert len(names) >= 20_000
    values = {name: float(i % 97) for i, name in enumerate(names)}
    for _ in range(2):
        view.set_overlay(values, "sparsity", "%")
        view.set_highlight(changed=set(names[::3]))
        view.fit()
        view.viewport().grab()  # paints every node at far LOD
        view.clear_overlay()
        view.clear_highlight()
    view.set_overlay(values, "sparsity", "%")
    top = max(values, key=values.get)
    assert view.node_fill(top) == QColor(*style.gradient(np.array([1.0]))[0].tolist())


def test_render_command_writes_overlay_image(tmp_path, sample_transformer, capsys) -> None:
    from onnx_workbench.app.cli import main

    out = tmp_path / "t.png"
    code = main(["render", str(sample_transformer), "-o", str(out), "--overlay", "macs", "--dim", "sequence=16"])
    assert code == 0 and "wrote" in capsys.readouterr().out
    assert not QImage(str(out)).isNull()
    assert main(["render", str(sample_transformer), "-o", str(tmp_path / "t.gif")]) == 2
    assert ".png or .svg" in capsys.readouterr().err


def test_empty_and_input_only_graphs(view, tmp_path) -> None:
    empty = helper.make_model(helper.make_graph([], "empty", [], []))
    view.set_model(empty)
    view.show()
    view.fit()
    assert view.node_names() == []
    assert view.render_to_image(tmp_path / "empty.png").stat().st_size > 0
    passthrough = helper.make_model(helper.make_graph(
        [], "passthrough", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])]))
    view.set_model(passthrough)
    assert view.node_names() == ["input:x", "output:x"]
    assert len(view.layout_result().graph.edge_src) == 1


def test_overview_mode_far_out_keeps_selection_and_highlights(view, qtbot) -> None:
    sample_models = pytest.importorskip("sample_models")
    view.set_model(sample_models.build_layered_graph(3_000))
    view.show()
    view.select_node("block10.relu")
    view.set_highlight(changed={"block20.matmul"})
    cleared: list[bool] = []
    view.selectionCleared.connect(lambda: cleared.append(True))
    view.fit()  # a 3,000-node chain fits only far below the overview threshold
    assert view.zoom() < OVERVIEW_LOD
    assert not view.node_item("block10.relu").isVisible() and view._overview.isVisible()
    assert view.selected_node() == "block10.relu" and not cleared
    colours = {colour for colour, _, _ in view._overview.groups}
    assert style.HIGHLIGHT_RGB["changed"] in colours and style.SELECTED_RGB in colours
    image = view.viewport().grab().toImage()
    found = {image.pixelColor(x, y).rgb() for x in range(0, image.width(), 2) for y in range(image.height())}
    assert QColor(*style.HIGHLIGHT_RGB["changed"]).rgb() in found
    view.select_node("block30.tanh")  # zooms in, leaves the overview, selects
    assert view.node_item("block10.relu").isVisible() and view.selected_node() == "block30.tanh"


def test_model_strings_are_not_rendered_as_rich_text(view) -> None:
    model = loop_model()
    model.graph.node[0].name = "<b>bold</b><img src='x'>"
    view.set_model(model)
    item = view.node_item("<b>bold</b><img src='x'>")
    assert "&lt;b&gt;" in item.toolTip() and "<b>" not in item.toolTip()
    view.open_subgraph("<b>bold</b><img src='x'>", "body")
    assert view._crumb._label.textFormat() == Qt.TextFormat.PlainText
    assert "<b>bold</b>" in view._crumb._label.text()


def node_items_in_scene(view) -> list:
    return [item for item in view.scene().items() if item.type() == NodeItem.Type]


def test_a_big_graph_is_added_a_slice_per_turn_and_styled_as_it_comes(view, qtbot) -> None:
    """The window draws between slices; rings and heat set meanwhile reach the items added later."""
    sample_models = pytest.importorskip("sample_models")
    model = sample_models.build_layered_graph(3_000)
    view.show()
    view.set_model(model)
    names = view.node_names()
    assert view.is_building() and not node_items_in_scene(view)
    qtbot.wait(1)  # one turn or a few of the event loop: a slice each
    added = len(node_items_in_scene(view))
    assert 0 < added < len(names)
    last = names[-2]  # the last operator: added in the last slice
    view.set_highlight(changed={last})
    view.set_overlay({last: 5.0, names[0]: 1.0}, "time share", "%")
    with qtbot.waitSignal(view.graphBuilt, timeout=60_000):
        pass
    assert not view.is_building() and len(node_items_in_scene(view)) == len(names)
    edges = [item for item in view.scene().items() if isinstance(item, EdgeBatchItem)]
    assert sum(len(item.path().toSubpathPolygons()) for item in edges) >= len(view.layout_result().graph.edge_src)
    item = view.node_item(last)
    assert item.ring == style.HIGHLIGHT_RGB["changed"]
    assert item.fill == tuple(style.gradient(np.array([1.0]))[0].tolist())


def test_a_model_shown_while_another_is_being_added_replaces_it(view, qtbot) -> None:
    sample_models = pytest.importorskip("sample_models")
    view.show()
    view.set_model(sample_models.build_layered_graph(3_000))
    qtbot.wait(1)
    view.fit()  # far out: the overview draws the boxes, items added from now on come hidden
    assert view.zoom() < OVERVIEW_LOD
    small = loop_model()
    with qtbot.waitSignal(view.graphBuilt, timeout=60_000):
        view.set_model(small)
    assert sorted(item.name for item in node_items_in_scene(view)) == sorted(view.node_names())
    view.set_model(sample_models.build_layered_graph(3_000))
    qtbot.wait(1)
    view.fit()
    assert view.zoom() < OVERVIEW_LOD
    with qtbot.waitSignal(view.graphBuilt, timeout=60_000):
        pass
    assert not any(item.isVisible() for item in node_items_in_scene(view))
    view.select_node("block30.tanh")  # zooms in: every item comes back
    assert all(item.isVisible() for item in node_items_in_scene(view))


def test_exports_and_lookups_do_not_wait_for_the_slices(view, tmp_path) -> None:
    sample_models = pytest.importorskip("sample_models")
    view.set_model(sample_models.build_layered_graph(2_000))
    assert view.is_building()
    view.render_to_image(tmp_path / "whole.png")
    assert not view.is_building() and len(node_items_in_scene(view)) == len(view.node_names())


def test_edges_are_batched_by_segment_in_bands_down_the_graph() -> None:
    """A skip connection over a deep chain is split over the bands it passes, not one batch as tall as the graph."""
    from onnx_workbench.pipelines.graph_layout import layout_graph
    from onnx_workbench.widgets.scene_building import SEGMENTS_PER_BATCH, segment_bands

    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=f"relu{i}") for i in range(300)]
    nodes.append(helper.make_node("Add", ["t0", "t300"], ["y"], name="skip"))
    graph = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    layout = layout_graph(helper.make_model(graph).graph)
    bands = segment_bands(layout)
    offsets, points = layout.edge_offsets, layout.edge_points
    every_segment = sorted(set(range(len(points))) - set((offsets[1:] - 1).tolist()))
    assert sorted(np.concatenate([starts for _, starts in bands]).tolist()) == every_segment
    assert all(len(starts) <= SEGMENTS_PER_BATCH for _, starts in bands)
    tops = [top for top, _ in bands]
    assert tops == sorted(tops) and all(points[starts, 1].min() == top for top, starts in bands)
    skip = next(e for e in range(len(offsets) - 1) if offsets[e + 1] - offsets[e] > 2)  # the one long edge
    skip_starts = set(range(offsets[skip], offsets[skip + 1] - 1))
    assert sum(1 for _, starts in bands if skip_starts & set(starts.tolist())) > 1
