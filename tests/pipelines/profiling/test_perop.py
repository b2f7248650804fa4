"""Per-operator time: a real ONNX Runtime profile of the sample CNN, and name mapping rules."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from onnx_workbench.pipelines.analysis import node_keys
from onnx_workbench.pipelines.profiling import perop
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.perop import NodeRow, NodeTable
from onnx_workbench.pipelines.profiling.runner import per_op_profile
from onnx_workbench.pipelines.profiling.session import prepare_feeds, read_model_info


@pytest.fixture(scope="module")
def cnn_per_op(sample_cnn: Path) -> tuple[dict, onnx.ModelProto]:
    options = ProfileOptions.from_any({"per_op_runs": 4, "intra_op_threads": 1})
    info = read_model_info(sample_cnn)
    feed = prepare_feeds(info, options).feeds[0]
    return per_op_profile(info, options, feed), onnx.load(str(sample_cnn))


def test_real_profile_maps_kernels_to_model_nodes(cnn_per_op: tuple[dict, onnx.ModelProto]) -> None:
    result, model = cnn_per_op
    keys = dict(zip(node_keys(model.graph), model.graph.node))
    assert result["runs"] == 4  # the extra first run is dropped
    assert result["nodes"] and result["kernel_ms_per_run"] > 0
    model_convs = {k for k, n in keys.items() if n.op_type == "Conv"}
    mapped_convs = set()
    for node in result["nodes"]:
        assert node["calls"] == 4
        assert node["provider"] == "CPUExecutionProvider"
        if node["model_node"] is not None:
            assert node["model_node"] in keys
            assert set(node["model_nodes"]) <= set(keys)
            # ORT fuses Conv+BN+Relu; the reported op is the model node's own op.
            assert keys[node["model_node"]].op_type == node["op_type"]
            if node["op_type"] == "Conv":
                mapped_convs.add(node["model_node"])
        else:
            assert node["match"] == "runtime" and node["node"] in result["unmapped"]
    # Every Conv of the model is found behind ORT's renamed fused kernels.
    assert mapped_convs == model_convs


def test_real_profile_shares_add_up(cnn_per_op: tuple[dict, onnx.ModelProto]) -> None:
    result, _ = cnn_per_op
    assert sum(n["share"] for n in result["nodes"]) == pytest.approx(1.0)
    assert sum(o["share"] for o in result["op_types"]) == pytest.approx(1.0)
    assert sum(o["ms_per_run"] for o in result["op_types"]) == pytest.approx(result["kernel_ms_per_run"])
    assert sum(o["nodes"] for o in result["op_types"]) == len(result["nodes"])
    times = [n["ms_per_run"] for n in result["nodes"]]
    assert times == sorted(times, reverse=True)
    assert result["op_types"][0]["op_type"] == "Conv"  # a CNN spends its time in convolutions


def _event(name: str, op: str, ts: int, dur: int) -> dict:
    return {"cat": "Node", "name": f"{name}_kernel_time", "ts": ts, "dur": dur, "args": {"op_name": op, "provider": "CPUExecutionProvider"}}


def _run(ts: int, dur: int) -> dict:
    return {"cat": "Session", "name": "model_run", "ts": ts, "dur": dur}


def test_aggregate_skips_the_first_run_and_handles_ort_names() -> None:
    table = NodeTable(
        [
            NodeRow("conv_a", "conv_a", "Conv", ["x", "w"], ["c"]),
            NodeRow("bn_a", "bn_a", "BatchNormalization", ["c"], ["b"]),
            NodeRow("act", "act", "Relu", ["b"], ["act_out"]),
            NodeRow("g", "", "GlobalAveragePool", ["act_out"], ["g"]),  # unnamed: keyed by output
        ]
    )
    events = [
        _run(0, 100), _event("act_out_nchwc", "Conv", 10, 1000), _event("GlobalAveragePool_3", "GlobalAveragePool", 20, 1000),
        _run(200, 100), _event("act_out_nchwc", "Conv", 210, 30), _event("GlobalAveragePool_3", "GlobalAveragePool", 220, 10),
        _event("ReorderOutput_token_9", "ReorderOutput", 230, 10), _event("act_fence_before", "Relu", 240, 5),
        _run(400, 100), _event("act_out_nchwc", "Conv", 410, 50), _event("GlobalAveragePool_3", "GlobalAveragePool", 420, 10),
        _event("ReorderOutput_token_9", "ReorderOutput", 430, 10),
    ]
    events[7]["name"] = "act_fence_before"  # fences are not kernel time
    result = perop.aggregate(events, table)
    assert result["runs"] == 2
    by_name = {n["node"]: n for n in result["nodes"]}
    assert set(by_name) == {"act_out_nchwc", "GlobalAveragePool_3", "ReorderOutput_token_9"}
    fused = by_name["act_out_nchwc"]
    assert fused["model_node"] == "conv_a" and fused["model_nodes"] == ["conv_a", "bn_a", "act"]
    assert fused["ms_per_run"] == pytest.approx(0.040)  # (30 + 50) us over 2 runs
    assert by_name["GlobalAveragePool_3"]["model_node"] == "g" and by_name["GlobalAveragePool_3"]["match"] == "index"
    assert by_name["ReorderOutput_token_9"]["model_node"] is None
    assert result["unmapped"] == ["ReorderOutput_token_9"]
    assert result["kernel_ms_per_run"] == pytest.approx(0.060)
    assert fused["share"] == pytest.approx(80 / 120)


def test_exact_names_win_over_suffix_stripping() -> None:
    table = NodeTable([NodeRow("conv_1", "conv_1", "Conv", [], ["y1"]), NodeRow("conv", "conv", "Conv", [], ["y0"])])
    assert table.match("conv_1", "Conv") == ("conv_1", "name")
    assert table.match("conv_1_nchwc", "Conv") == ("conv_1", "fused")
    assert table.match("MemcpyToHost", "MemcpyToHost") == (None, "runtime")


def test_load_events_accepts_both_file_layouts(tmp_path: Path) -> None:
    plain, wrapped = tmp_path / "a.json", tmp_path / "b.json"
    plain.write_text('[{"cat": "Node"}]')
    wrapped.write_text('{"traceEvents": [{"cat": "Node"}]}')
    assert perop.load_events(plain) == perop.load_events(wrapped) == [{"cat": "Node"}]


def test_one_preempted_kernel_does_not_make_a_bottleneck() -> None:
    table = NodeTable([NodeRow("a", "a", "Add", [], ["ya"]), NodeRow("m", "m", "MatMul", [], ["ym"])])
    events = [_run(0, 10)]  # the dropped first run
    for run, add_us in enumerate([5, 4000, 6], start=1):  # one run where Add was preempted
        ts = run * 10_000
        events += [_run(ts, 9000), _event("a", "Add", ts + 1, add_us), _event("m", "MatMul", ts + 2, 50)]
    result = perop.aggregate(events, table)
    by_name = {n["node"]: n for n in result["nodes"]}
    assert result["runs"] == 3
    assert by_name["a"]["ms_per_run"] == pytest.approx(0.006) and by_name["a"]["calls"] == 3
    assert result["nodes"][0]["node"] == "m"
