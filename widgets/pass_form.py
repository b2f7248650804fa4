"""A form generated from a pass's config declaration: one editor per field, bounds included.

The editor follows the field's type and widget hint (FieldSpec): spin boxes carry the declared
min/max, choices become a combo box, bools a check box, lists and NAME:VALUE maps a line edit
(parsed with the same rules as the CLI), "file"/"folder" get a picker, "nodes" a list filled
from the graph selection. Nothing here knows a particular pass.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from onnx_workbench.pipelines.config import FieldSpec, PassConfig, parse_field_text

INT_LIMIT = 2_147_483_647  # QSpinBox holds a C int
FLOAT_LIMIT = 1e12


class NodeListEditor(QWidget):
    """A list of node names, filled from the graph selection."""

    changed = Signal()

    def __init__(self, selection: Callable[[], list[str]] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.selection = selection
        self.list = QListWidget(self)
        self.list.setMaximumHeight(90)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        add = QPushButton("Add selected nodes", self)
        add.setToolTip("Add the node selected in the graph")
        add.clicked.connect(self.add_selected)
        remove = QPushButton("Remove", self)
        remove.clicked.connect(self.remove_chosen)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    def names(self) -> list[str]:
        """The node names, in order."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def set_names(self, names: list[str]) -> None:
        """Replace the list."""
        self.list.clear()
        self.list.addItems(list(names))
        self.changed.emit()

    def add_selected(self) -> None:
        """Append the graph's selected nodes that are not listed yet."""
        if self.selection is None:
            return
        present = set(self.names())
        new = [n for n in self.selection() if n and n not in present]
        self.list.addItems(new)
        if new:
            self.changed.emit()

    def remove_chosen(self) -> None:
        """Drop the highlighted rows."""
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.changed.emit()


class PathEditor(QWidget):
    """A line edit with a file or folder picker."""

    def __init__(self, folder: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.edit = QLineEdit(self)
        button = QPushButton("Browse…", self)
        button.clicked.connect(self.browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(button)

    def browse(self) -> None:
        """Pick a file or folder."""
        if self.folder:
            path = QFileDialog.getExistingDirectory(self, "Choose a folder", self.edit.text())
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a file", self.edit.text())
        if path:
            self.edit.setText(path)


class PassForm(QWidget):
    """Editors for every field of one config class; `values()` and `config()` read them back."""

    changed = Signal()

    def __init__(
        self,
        config_class: type[PassConfig],
        selection: Callable[[], list[str]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.config_class = config_class
        self.specs = {spec.name: spec for spec in config_class.fields()}
        self.editors: dict[str, QWidget] = {}
        self._exact: dict[str, float] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for spec in self.specs.values():
            editor = self._editor(spec, selection)
            editor.setToolTip(spec.help)
            editor.setObjectName(f"field-{spec.name}")
            label = QLabel(spec.label, self)
            label.setToolTip(spec.help)
            layout.addRow(label, editor)
            self.editors[spec.name] = editor
        if not self.specs:
            layout.addRow(QLabel("This pass has no settings.", self))
        self.set_values({name: spec.default for name, spec in self.specs.items()})

    # ---- building ---------------------------------------------------------------------------
    def _editor(self, spec: FieldSpec, selection: Callable[[], list[str]] | None) -> QWidget:
        if spec.choices is not None and not spec.type.startswith("list["):
            combo = QComboBox(self)
            for choice in spec.choices:
                combo.addItem(str(choice), choice)
            combo.currentIndexChanged.connect(self.changed)
            return combo
        if spec.type == "bool":
            box = QCheckBox(self)
            box.toggled.connect(self.changed)
            return box
        if spec.type == "int":
            spin = QSpinBox(self)
            spin.setRange(int(spec.min) if spec.min is not None else -INT_LIMIT,
                          int(min(spec.max, INT_LIMIT)) if spec.max is not None else INT_LIMIT)
            spin.valueChanged.connect(self.changed)
            return spin
        if spec.type == "float":
            spin = QDoubleSpinBox(self)
            spin.setDecimals(_decimals(spec))
            spin.setRange(spec.min if spec.min is not None else -FLOAT_LIMIT,
                          spec.max if spec.max is not None else FLOAT_LIMIT)
            spin.setSingleStep(_step(spec))
            spin.valueChanged.connect(self.changed)
            return spin
        if spec.widget == "nodes" and spec.type == "list[str]":
            nodes = NodeListEditor(selection, self)
            nodes.changed.connect(self.changed)
            return nodes
        if spec.widget in ("file", "folder") and spec.type == "str":
            picker = PathEditor(spec.widget == "folder", self)
            picker.edit.textChanged.connect(self.changed)
            return picker
        edit = QLineEdit(self)
        # Wide enough to read its placeholder; in a narrow dock the row wraps under its label.
        edit.setMinimumWidth(150)
        if spec.type.startswith("list["):
            edit.setPlaceholderText("comma-separated")
        elif spec.type.startswith("dict["):
            edit.setPlaceholderText("NAME:VALUE, …")
        edit.textChanged.connect(self.changed)
        return edit

    # ---- values -----------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """Every field's value as the config expects it (raises ConfigError on unparsable text)."""
        return {name: self._value(self.specs[name], editor) for name, editor in self.editors.items()}

    def changed_values(self) -> dict[str, Any]:
        """Only the fields that differ from their defaults."""
        return {k: v for k, v in self.values().items() if v != self.specs[k].default}

    def config(self) -> PassConfig:
        """A validated config from the form (ConfigError names the field when a value is bad)."""
        return self.config_class.from_dict(self.values())

    def set_values(self, values: dict[str, Any]) -> None:
        """Show `values` (fields not given keep their current value)."""
        for name, value in values.items():
            editor = self.editors.get(name)
            if editor is not None:
                self._set(self.specs[name], editor, value)

    def _value(self, spec: FieldSpec, editor: QWidget) -> Any:
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, QDoubleSpinBox):
            # The spin box rounds to its decimals; keep the exact value it was given (1/255)
            # unless the user changed it.
            exact = self._exact.get(spec.name)
            if exact is not None and editor.value() == round(exact, editor.decimals()):
                return float(exact)
            return float(editor.value())
        if isinstance(editor, NodeListEditor):
            return editor.names()
        if isinstance(editor, PathEditor):
            return editor.edit.text().strip()
        assert isinstance(editor, QLineEdit)
        text = editor.text()
        if spec.type == "str":
            return text
        return parse_field_text(spec, text)  # lists and NAME:VALUE maps, as on the command line

    def _set(self, spec: FieldSpec, editor: QWidget, value: Any) -> None:
        if isinstance(editor, QComboBox):
            index = editor.findData(value)
            editor.setCurrentIndex(max(index, 0))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QDoubleSpinBox):
            self._exact[spec.name] = float(value)
            editor.setValue(value)
        elif isinstance(editor, QSpinBox):
            editor.setValue(value)
        elif isinstance(editor, NodeListEditor):
            editor.set_names(list(value))
        elif isinstance(editor, PathEditor):
            editor.edit.setText(str(value))
        elif isinstance(editor, QLineEdit):
            if isinstance(value, dict):
                editor.setText(", ".join(f"{k}:{v}" for k, v in value.items()))
            elif isinstance(value, list):
                editor.setText(", ".join(str(v) for v in value))
            else:
                editor.setText(str(value))


def _decimals(spec: FieldSpec) -> int:
    """Enough decimals to show the default exactly (e.g. 1/255 for image scale)."""
    default = float(spec.default)
    for decimals in range(2, 6):
        if abs(round(default, decimals) - default) < 1e-12:
            return decimals
    return 6


def _step(spec: FieldSpec) -> float:
    if spec.min is not None and spec.max is not None and spec.max - spec.min <= 1.0:
        return 0.05
    return 1.0 if abs(float(spec.default)) >= 1 else 0.1
