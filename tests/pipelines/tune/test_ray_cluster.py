"""The search through a Ray head started here on the loopback (skipped where Ray is not installed)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from onnx_workbench.pipelines.tune.candidates import Candidate  # noqa: E402
from onnx_workbench.pipelines.tune.ray_executor import RayExecutor  # noqa: E402
from onnx_workbench.pipelines.tune.search import Search, TuneSettings  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def head(tmp_path_factory) -> str:
    """`ray start --head` on 127.0.0.1 with one CPU; stopped (its processes only) afterwards."""
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    command = [sys.executable, "-m", "ray.scripts.scripts"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([*command, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
                    "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                   check=True, env=env, capture_output=True, timeout=180)
    yield f"127.0.0.1:{port}"
    subprocess.run([*command, "stop", "--force"], env=env, capture_output=True, timeout=120)


def test_candidates_run_as_ray_tasks_and_come_back_as_versions(head, digits_cnn, tmp_path: Path):
    candidates = [Candidate("simplify", (("simplify", {}),), "fusion"),
                  Candidate("simplify + fp16", (("simplify", {}), ("to-fp16", {})), "quantize")]
    executor = RayExecutor(head)
    try:
        assert executor.slots == 1
        search = Search(digits_cnn, TuneSettings(min_cosine=0.99, prune=False, threads=1, timing_seconds=0.2),
                        executor, session=tmp_path / "s", candidates=candidates)
        result = search.run()
    finally:
        executor.close()
    assert result.stopped == "done" and [r.candidate.name for r in result.results] == ["simplify", "simplify + fp16"]
    assert all(r.ok and r.within_budget for r in result.results)
    assert len(result.workspace.versions) == 3  # the simplify prefix built once, on the cluster
    assert result.best() is None or result.best().speedup > 1.0

