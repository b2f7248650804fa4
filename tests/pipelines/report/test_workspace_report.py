"""A report built from a session version: steps, fidelity and stored profiles, in every format."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from onnx_workbench.pipelines.report.build import build_workspace_report
from onnx_workbench.pipelines.report.render import write_report
from onnx_workbench.pipelines.versions import Workspace

SCHEMA = Path(__file__).resolve().parents[3] / "pipelines" / "report" / "report.schema.json"


def test_report_from_a_workspace_version(sample_cnn: Path, tmp_path: Path) -> None:
    ws = Workspace.create(sample_cnn, tmp_path / "ws", samples=2)
    folded = ws.apply("original", "fold-batchnorm")
    cleaned = ws.apply(folded.id, "cleanup")
    latency = {"min": 1.4, "mean": 1.5, "std": 0.1, "p50": 1.5, "p90": 1.58, "p95": 1.59, "p99": 1.6, "max": 1.6}
    ws.update_metrics(cleaned.id, latency_ms=latency, throughput_per_s=600.0, latencies_ms=[1.4, 1.5, 1.6],
                      peak_rss_bytes=90 * 2**20, provider="CPUExecutionProvider", options={"runs": 3},
                      session_create_s=0.05)
    report = build_workspace_report(ws, cleaned.id)
    jsonschema.validate(json.loads(json.dumps(report)), json.loads(SCHEMA.read_text()))
    assert [v["label"] for v in report["versions"]] == ["original", f"v{cleaned.number}"]
    assert [s["pass"] for s in report["steps"]] == ["fold-batchnorm", "cleanup"]
    assert report["steps"][0]["nodes_before"] > report["steps"][0]["nodes_after"]
    assert report["versions"][1]["fidelity"]["passed"] is True
    assert report["versions"][1]["profile"]["latency_ms"]["p50"] == 1.5
    assert report["versions"][0]["profile"] is None  # never profiled: nothing invented
    assert "fold-batchnorm" in report["recipe"]
    for suffix in (".html", ".md", ".json", ".csv"):
        out = write_report(report, tmp_path / f"report{suffix}")
        assert out.stat().st_size > 0
    assert "cleanup" in (tmp_path / "report.md").read_text()
    only_original = build_workspace_report(ws, "original")
    assert len(only_original["versions"]) == 1 and only_original["recipe"] is None and not only_original["steps"]
