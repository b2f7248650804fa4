"""Pass forms: generated for every registered pass, values round-trip to a valid config, bounds hold."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes.engine import all_passes, make_config
from onnx_workbench.widgets.optimize_panel import OptimizePanel, load_presets
from onnx_workbench.widgets.pass_form import NodeListEditor, PassForm, PathEditor

PASSES = [cls for cls in all_passes()]


@pytest.mark.parametrize("cls", PASSES, ids=[cls.name for cls in PASSES])
def test_form_for_every_pass_round_trips_defaults(qtbot, cls):
    form = PassForm(cls.Config)
    qtbot.addWidget(form)
    assert set(form.editors) == {spec.name for spec in cls.Config.fields()}
    config = form.config()  # the defaults as shown must make a valid config
    assert config.to_dict() == cls.Config().to_dict()
    assert form.changed_values() == {}
    for spec in cls.Config.fields():
        editor = form.editors[spec.name]
        if spec.choices is not None and not spec.type.startswith("list["):
            assert isinstance(editor, QComboBox) and editor.count() == len(spec.choices)
        elif spec.type == "bool":
            assert isinstance(editor, QCheckBox)
        elif spec.type == "int":
            assert isinstance(editor, QSpinBox)
        elif spec.type == "float":
            assert isinstance(editor, QDoubleSpinBox)
        elif spec.widget == "nodes":
            assert isinstance(editor, NodeListEditor)
        elif spec.widget in ("file", "folder"):
            assert isinstance(editor, PathEditor)
        else:
            assert isinstance(editor, QLineEdit)


def test_edited_values_round_trip(qtbot):
    cls = next(c for c in PASSES if c.name == "quantize-static")
    form = PassForm(cls.Config)
    qtbot.addWidget(form)
    form.editors["samples"].setValue(8)
    form.editors["per_channel"].setChecked(True)
    combo = form.editors["method"]
    combo.setCurrentIndex(combo.findData("percentile"))
    form.editors["op_types_to_exclude"].setText("Gemm, MatMul")
    form.editors["nodes_to_exclude"].set_names(["conv1", "fc"])
    values = form.changed_values()
    assert values == {"samples": 8, "per_channel": True, "method": "percentile",
                      "op_types_to_exclude": ["Gemm", "MatMul"], "nodes_to_exclude": ["conv1", "fc"]}
    assert make_config("quantize-static", values).to_dict() == form.config().to_dict()
    other = PassForm(cls.Config)
    qtbot.addWidget(other)
    other.set_values(form.values())
    assert other.values() == form.values()


def test_bounds_come_from_the_declaration(qtbot):
    cls = next(c for c in PASSES if c.name == "prune-channels")
    form = PassForm(cls.Config)
    qtbot.addWidget(form)
    ratio = form.editors["ratio"]
    assert (ratio.minimum(), ratio.maximum()) == (0.0, 0.9)
    ratio.setValue(5.0)  # the spin box clamps to the declared max
    assert form.config().ratio == pytest.approx(0.9)
    round_to = form.editors["round_to"]
    round_to.setValue(0)
    assert round_to.value() == 1


def test_bad_text_names_the_field(qtbot):
    cls = next(c for c in PASSES if c.name == "prune-channels")
    form = PassForm(cls.Config)
    qtbot.addWidget(form)
    form.editors["layer_percent"].setText("conv1:lots")
    with pytest.raises(ConfigError) as info:
        form.config()
    assert info.value.field == "layer_percent"
    form.editors["layer_percent"].setText("conv1:20, conv2:40")
    assert form.config().layer_percent == {"conv1": 20, "conv2": 40}


def test_node_list_takes_the_graph_selection(qtbot):
    selection = ["conv3"]
    cls = next(c for c in PASSES if c.name == "quantize-dynamic")
    form = PassForm(cls.Config, selection=lambda: list(selection))
    qtbot.addWidget(form)
    editor = form.editors["nodes_to_exclude"]
    editor.add_selected()
    selection[:] = ["conv3", "fc"]
    editor.add_selected()  # no duplicates
    assert form.values()["nodes_to_exclude"] == ["conv3", "fc"]


def test_optimize_panel_lists_passes_and_presets(qtbot):
    panel = OptimizePanel()
    qtbot.addWidget(panel)
    assert sorted(panel.pass_names()) == sorted(c.name for c in PASSES)
    assert set(load_presets()) >= {"Fold and simplify", "CPU INT8", "Transformer INT8", "Half precision"}
    panel.select_pass("fold-batchnorm")
    assert panel.form_area.widget() is panel.form("fold-batchnorm")
    assert not panel.apply_button.isEnabled()  # no session yet
    panel.set_enabled_for_session(True)
    with qtbot.waitSignal(panel.applyRequested) as blocker:
        panel.form().editors["gemm"].setChecked(False)
        panel.apply_button.click()
    assert blocker.args == ["fold-batchnorm", {"conv": True, "conv_transpose": True, "gemm": False}]
