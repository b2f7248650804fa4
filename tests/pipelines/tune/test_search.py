"""The search on the trained classifier: versions through the cache, verdicts, front, best, stops."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.tune.candidates import Candidate
from onnx_workbench.pipelines.tune.search import Search, TuneSettings
from onnx_workbench.pipelines.versions import ROOT_ID
from tune_executors import InProcessExecutor

SIMPLIFY = ("simplify", {})
TO_FP16 = ("to-fp16", {})
DYNAMIC = ("quantize-dynamic", {})


@pytest.fixture(scope="module")
def labelled(digits_data: Path, tmp_path_factory) -> Path:
    with np.load(digits_data) as data:
        path = tmp_path_factory.mktemp("tune-data") / "digits30.npz"
        np.savez(path, image=data["image"][:30], labels=data["labels"][:30])
    return path


def _search(model: Path, tmp_path: Path, data: Path, candidates: list[Candidate], **settings: Any) -> Search:
    values = {"max_accuracy_drop": 0.5, "budget_minutes": 5, "threads": 1, "data": str(data), "prune": False,
              "timing_seconds": 0.2, **settings}
    return Search(model, TuneSettings(**values), InProcessExecutor(), session=tmp_path / "s", candidates=candidates)


def test_candidates_share_their_prefix_and_every_one_is_a_verified_timed_version(digits_cnn, labelled, tmp_path):
    candidates = [Candidate("simplify", (SIMPLIFY,), "fusion"),
                  Candidate("simplify + fp16", (SIMPLIFY, TO_FP16), "quantize"),
                  Candidate("simplify + dynamic", (SIMPLIFY, DYNAMIC), "quantize")]
    search = _search(digits_cnn, tmp_path, labelled, candidates)
    result = search.run()
    assert result.stopped == "done" and [r.candidate.name for r in result.results] == [c.name for c in candidates]
    ws = result.workspace
    # simplify was built once: three candidates, three new versions, all children of one simplify.
    assert len(ws.versions) == 4
    simplified = ws.children(ROOT_ID)
    assert len(simplified) == 1 and {v.id for v in ws.children(simplified[0].id)} == {r.version_id for r in result.results[1:]}
    for r in result.results:
        assert r.ok and r.fidelity["accuracy"]["samples"] == 30 and r.fidelity["tolerance"]["max_accuracy_drop"] == 0.5
        assert r.latency_ms == pytest.approx(result.original_ms / r.speedup)
        assert ws.get(r.version_id).metrics["tune"]["candidate"] == r.candidate.name
    best = result.best()
    assert best is None or (best.within_budget and best.speedup > 1.0 and best.latency_ms == min(
        x.latency_ms for x in result.results if x.within_budget and x.speedup > 1.0))
    front = result.front()
    assert front and all(not any(
        o.latency_ms < f.latency_ms and o.size_bytes < f.size_bytes and o.loss() < f.loss() for o in result.results) for f in front)
    data = result.to_dict()
    assert sum(c["on_front"] for c in data["candidates"]) == len(front)


def test_size_objective_picks_the_smallest_within_budget(digits_cnn, labelled, tmp_path):
    candidates = [Candidate("fp16", (TO_FP16,), "quantize"), Candidate("simplify", (SIMPLIFY,), "fusion")]
    result = _search(digits_cnn, tmp_path, labelled, candidates, objective="size").run()
    sizes = {r.candidate.name: r.size_bytes for r in result.results}
    assert sizes["fp16"] < sizes["simplify"]
    assert result.best().candidate.name == "fp16"


def test_cancel_keeps_what_finished_and_runs_nothing_more(digits_cnn, labelled, tmp_path):
    candidates = [Candidate("simplify", (SIMPLIFY,), "fusion"), Candidate("fp16", (TO_FP16,), "quantize")]
    holder: list[Search] = []
    executor = InProcessExecutor(stop_after=1, search=holder)
    search = Search(digits_cnn, TuneSettings(min_cosine=0.99, threads=1, prune=False, timing_seconds=0.2), executor,
                    session=tmp_path / "s", candidates=candidates)
    holder.append(search)
    result = search.run()
    assert result.stopped == "cancelled" and [r.candidate.name for r in result.results] == ["simplify"]
    assert len(executor.submitted) == 1


def test_settings_refuse_an_accuracy_budget_without_labels_and_two_budgets(digits_cnn, tmp_path):
    with pytest.raises(ConfigError, match="labelled data"):
        Search(digits_cnn, TuneSettings(max_accuracy_drop=1.0), InProcessExecutor(), session=tmp_path / "s", candidates=[])
    with pytest.raises(ConfigError, match="not both"):
        TuneSettings(max_accuracy_drop=1.0, min_cosine=0.9)


def test_a_failing_static_int8_keeps_its_worst_nodes_in_float_a_group_at_a_time(digits_cnn, tmp_path):
    static = ("quantize-static", {"format": "qdq", "per_channel": False, "reduce_range": False, "method": "minmax",
                                  "samples": 4})
    # A bound no INT8 model meets: groups of ranked nodes are added one more each time (stopped after two).
    settings = TuneSettings(min_cosine=0.999999, prune=False, threads=1, timing_seconds=0.1)
    holder: list[Search] = []
    search = Search(digits_cnn, settings, InProcessExecutor(stop_after=3, search=holder), session=tmp_path / "s",
                    candidates=[Candidate("int8", (SIMPLIFY, static), "quantize")])
    holder.append(search)
    result = search.run()
    excluded = [r.candidate.steps[-1][1]["nodes_to_exclude"] for r in result.results if r.candidate.stage == "exclude"]
    assert len(excluded) == 2 and all(r.candidate.steps[0] == SIMPLIFY for r in result.results)
    assert all(len(a) < len(b) and set(a) < set(b) for a, b in zip(excluded, excluded[1:]))
    assert not any(r.within_budget for r in result.results) and result.best() is None
