"""Reports: gather a version's figures (`build`) and write them as HTML, Markdown, JSON or CSV (`render`)."""
from onnx_workbench.pipelines.report.build import build_report, summarize
from onnx_workbench.pipelines.report.render import FORMATS, write_report

__all__ = ["FORMATS", "build_report", "summarize", "write_report"]
