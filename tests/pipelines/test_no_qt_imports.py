"""Rule 1 of the house: nothing under pipelines/ imports Qt (the engine must run headless)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"
# Qt bindings, and the GUI packages, which import Qt (the engine is imported by them, never
# the other way round).
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "qtpy", "Qt", "app", "widgets")


def qt_imports(source: str, filename: str = "<source>") -> list[str]:
    """Every forbidden module a piece of Python source imports, anywhere (including in functions)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        else:
            continue
        found.extend(n for n in names if n.split(".")[0] in FORBIDDEN)
    return found


def test_detector_catches_every_import_form() -> None:
    source = (
        "import os\n"
        "def late():\n    from PySide6.QtCore import QObject\n"
        "import pyqtgraph as pg\n"
        "import shiboken6\n"
        "import importlib\nimportlib.import_module('PySide6.QtWidgets')\n"
        "from pipelines import model\n"
        "from app import __version__\n"
    )
    assert sorted(qt_imports(source)) == ["PySide6.QtCore", "PySide6.QtWidgets", "app", "pyqtgraph", "shiboken6"]


@pytest.mark.parametrize(
    "path", sorted(PIPELINES.rglob("*.py")), ids=lambda p: str(p.relative_to(PIPELINES))
)
def test_pipelines_module_imports_no_qt(path: Path) -> None:
    assert qt_imports(path.read_text(encoding="utf-8"), str(path)) == [], f"{path} imports Qt"


def test_pipelines_tree_is_not_empty() -> None:
    assert len(list(PIPELINES.rglob("*.py"))) > 5
