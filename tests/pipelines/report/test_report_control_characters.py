"""Issue 15 item 9: model strings reach no report as a spreadsheet formula, a terminal escape
or a right-to-left override."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from hostile_inputs import matmul_model
from onnx_workbench.pipelines.report import build_report
from onnx_workbench.pipelines.report.render import render_csv, render_html, render_markdown

FORMULA = "=HYPERLINK(\"http://x\")"
ESCAPES = "\x1b]0;pwned\x07\x1b[31m"
RLO = "\u202egnp.exe"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    model = matmul_model(tmp_path_factory.mktemp("ctl") / "m.onnx", node_name=FORMULA + ESCAPES + RLO)
    return build_report(model, profile_options={"runs": 3, "warmup": 1, "per_op": True})


def test_csv_cells_never_start_a_formula(report: dict) -> None:
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    names = [row[3] for row in rows[1:] if row[1] == "op"]
    assert names and all(not name.startswith(("=", "+", "-", "@", "\t", "\r")) for name in names)
    assert any(name.startswith("'=HYPERLINK") for name in names)


@pytest.mark.parametrize("render", [render_csv, render_markdown, render_html])
def test_no_control_or_bidi_characters_survive(report: dict, render) -> None:  # noqa: ANN001
    text = render(report)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "gnp.exe" in text  # the name is still shown, as plain text
