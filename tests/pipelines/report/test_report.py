"""Reports: escaping of untrusted model strings, self-containment, schema, formats, CLI."""
from __future__ import annotations

import csv
import html.parser
import io
import json
from pathlib import Path

import jsonschema
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.app.cli import main
from onnx_workbench.pipelines.recipe import parse_recipe
from onnx_workbench.pipelines.report import build_report, write_report
from onnx_workbench.pipelines.report.render import render_html, render_markdown

SCHEMA = Path(__file__).resolve().parents[3] / "pipelines" / "report" / "report.schema.json"
SCRIPT = '<script>alert("owned")</script>'
HANDLER = '<img src=x onerror="alert(1)">'


def hostile_model(path: Path) -> Path:
    """A valid model whose names, doc strings and metadata carry HTML and script."""
    weight = numpy_helper.from_array(np.eye(4, dtype=np.float32), name=f"W{HANDLER}")
    node = helper.make_node("MatMul", [f"x{SCRIPT}", weight.name], ["y</td></tr>"], name=SCRIPT,
                            doc_string=HANDLER)
    graph = helper.make_graph(
        [node], f"graph{SCRIPT}",
        [helper.make_tensor_value_info(f"x{SCRIPT}", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y</td></tr>", TensorProto.FLOAT, ["batch", 4])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], doc_string=SCRIPT)
    model.ir_version = 8
    helper.set_model_props(model, {HANDLER: SCRIPT, "author": "javascript:alert(1)"})
    onnx.save(model, path)
    return path


class ElementCollector(html.parser.HTMLParser):
    """Every start tag with its attributes, and all text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> ElementCollector:
    collector = ElementCollector()
    collector.feed(markup)
    return collector


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    model = hostile_model(tmp_path_factory.mktemp("hostile") / "hostile.onnx")
    return build_report(model, profile_options={"runs": 5, "warmup": 1, "per_op": True})


def test_untrusted_strings_render_as_text_in_html(hostile_report: dict) -> None:
    page = parse(render_html(hostile_report))
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "img" not in tags
    handlers = [name for _, attrs in page.tags for name, _ in attrs if name.startswith("on")]
    assert handlers == []
    text = "".join(page.text)
    assert SCRIPT in text  # shown to the reader, as text
    assert HANDLER in text


def test_html_references_nothing_outside_itself(hostile_report: dict) -> None:
    markup = render_html(hostile_report)
    page = parse(markup)
    for tag, attrs in page.tags:
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
                assert (value or "").startswith(("data:", "#")), f"<{tag} {name}={value}>"
    assert "url(" not in markup.replace("url(#", "")
    assert "@import" not in markup
    # The only absolute URL is the SVG namespace name, which is never fetched.
    stripped = markup.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in stripped and "https://" not in stripped.replace("https://json-schema", "")


def test_markdown_escapes_untrusted_strings(hostile_report: dict) -> None:
    text = render_markdown(hostile_report)
    assert "<script" not in text and "<img" not in text and "</td>" not in text
    assert "&lt;script&gt;alert" in text


def test_json_validates_against_the_schema(hostile_report: dict, tmp_path: Path) -> None:
    path = write_report(hostile_report, tmp_path / "report.json")
    data = json.loads(path.read_text())
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    assert data["schema_version"] == 1
    assert data["versions"][0]["metadata"][HANDLER] == SCRIPT


def test_report_with_recipe_and_comparison_validates(sample_cnn: Path, tmp_path: Path) -> None:
    recipe = parse_recipe("version: 1\nsteps:\n  - pass: fold-batchnorm\n")
    report = build_report(sample_cnn, recipe=recipe, profile_options={"runs": 8, "warmup": 1})
    jsonschema.validate(json.loads(json.dumps(report)), json.loads(SCHEMA.read_text()))
    assert [v["label"] for v in report["versions"]] == ["original", "optimized"]
    assert report["steps"][0]["pass"] == "fold-batchnorm"
    assert report["versions"][1]["summary"]["op_types"].get("BatchNormalization") is None
    assert report["versions"][1]["fidelity"]["passed"] is True
    assert report["comparison"]["speedup"] > 0
    assert "fold-batchnorm" in report["recipe"]
    rows = list(csv.DictReader(io.StringIO(write_report(report, tmp_path / "r.csv").read_text())))
    assert sum(r["record"] == "run" for r in rows) == 16  # 8 runs for each of the two versions
    assert all(r["version"] in ("original", "optimized") for r in rows)


def test_cli_writes_every_format_and_refuses_unknown_suffix(sample_cnn: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = [tmp_path / f"report.{ext}" for ext in ("html", "md", "json")]
    args = ["report", str(sample_cnn)] + [a for out in outputs for a in ("-o", str(out))]
    assert main(args) == 0
    html_out, md_out, json_out = (out.read_text() for out in outputs)
    assert "710 k" in html_out and "710 k" in md_out  # the CNN's parameter count
    assert json.loads(json_out)["versions"][0]["summary"]["params"] == 710_468
    assert main(["report", str(sample_cnn), "-o", str(tmp_path / "report.pdf")]) == 2
    assert "report.pdf" in capsys.readouterr().err
