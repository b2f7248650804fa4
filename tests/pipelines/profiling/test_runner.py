"""The profile job in-process: measurements, options, inputs and refusals."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from onnx_workbench.pipelines.errors import ConfigError, ModelRefused
from onnx_workbench.pipelines.profiling.measure import MemorySampler, timed_runs
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.runner import profile_model
from onnx_workbench.pipelines.worker import protocol


def _profile(model: Path, **options: object) -> tuple[dict, list[dict]]:
    records: list[dict] = []

    def emit(record: dict) -> None:
        protocol.encode(record)  # every record must be valid protocol
        records.append(record)

    return profile_model(model, ProfileOptions.from_any({"warmup": 2, "runs": 8, **options}), emit), records


def test_profile_reports_latency_memory_and_excludes_warmup(sample_cnn: Path) -> None:
    result, records = _profile(sample_cnn, warmup=3, runs=12, intra_op_threads=1, batch=2)
    assert result["runs"] == 12 and len(result["latencies_ms"]) == 12
    assert result["warmup"]["runs"] == 3 and len(result["warmup"]["latency_ms"]) == 3
    timed = [v for r in records if r["kind"] == "sample" and r["phase"] == "timed" for v in r["latencies_ms"]]
    assert timed == result["latencies_ms"]  # live samples carry every timed run, warm-up excluded
    lat = result["latency_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"]
    assert lat["p50"] == pytest.approx(float(np.percentile(result["latencies_ms"], 50)))
    assert result["samples_per_s"] == pytest.approx(2 * result["throughput_per_s"])
    assert result["inputs"][0]["shape"][0] == 2
    memory = result["memory"]
    assert memory["peak_rss_bytes"] >= memory["rss_after_session_bytes"] > 0
    assert memory["rss_series"] and memory["gpu"]["available"] is False and memory["gpu"]["reason"]
    assert result["session_create_s"] > 0
    assert "per_op" not in result
    json.dumps(result, allow_nan=False)


def test_duration_mode_runs_for_the_given_time(sample_cnn: Path) -> None:
    result, _ = _profile(sample_cnn, duration_s=0.3, runs=1)
    assert result["runs"] > 1
    assert 0.3 <= result["wall_s"] < 1.5


def test_concurrency_overlaps_requests(matmul_chain) -> None:
    model = matmul_chain(6, width=512)  # long enough per run that ORT holds no GIL most of the time
    result, _ = _profile(model, runs=30, concurrency=3, intra_op_threads=1, batch=16)
    assert result["runs"] == 30
    # With overlap, wall time is less than the sum of latencies.
    assert result["wall_s"] < sum(result["latencies_ms"]) / 1e3


def test_timed_runs_in_threads_report_errors() -> None:
    def boom() -> None:
        raise RuntimeError("kernel failed")

    with pytest.raises(RuntimeError, match="kernel failed"):
        timed_runs([boom], runs=5, concurrency=2)


def test_per_op_runs_in_a_separate_pass(sample_cnn: Path) -> None:
    result, records = _profile(sample_cnn, runs=3, per_op=True, per_op_runs=2)
    kinds = [r["kind"] for r in records]
    assert kinds.index("per_op") > kinds.index("stats")  # after the timed runs, never during
    assert result["per_op"]["runs"] == 2 and result["per_op"]["op_types"]


def test_dynamic_dims_take_user_values(sample_transformer: Path) -> None:
    result, records = _profile(sample_transformer, runs=2, dims={"sequence": 7}, batch=3)
    shapes = {i["name"]: i["shape"] for i in result["inputs"]}
    assert all(shape[:2] == [3, 7] for shape in shapes.values()), shapes


def test_batch_follows_the_model(matmul_chain) -> None:
    fixed = matmul_chain(1, batch=3)
    result, _ = _profile(fixed, runs=2)
    assert result["batch"] == 3 and result["samples_per_s"] == pytest.approx(3 * result["throughput_per_s"])
    with pytest.raises(ConfigError, match="fixed batch of 3") as caught:
        _profile(fixed, batch=8)
    assert caught.value.field == "batch"
    named = matmul_chain(1, batch="N")  # a first axis named by the user, not via --batch
    result, _ = _profile(named, runs=2, dims={"N": 5})
    assert result["batch"] == 5 and result["inputs"][0]["shape"] == [5, 64]


def test_npz_data_is_batched(tmp_path: Path, matmul_chain) -> None:
    model = matmul_chain(2)
    data = tmp_path / "inputs.npz"
    np.savez(data, x=np.random.default_rng(0).standard_normal((10, 64)).astype(np.float64))
    result, _ = _profile(model, data=str(data), batch=4, runs=4)
    assert result["inputs"] == [{"name": "x", "dtype": "float32", "shape": [4, 64]}]
    with pytest.raises(ConfigError, match="fewer than the batch size") as caught:
        _profile(model, data=str(data), batch=11)
    assert caught.value.field == "data"


def test_string_and_bool_inputs_get_generated_values(string_bool_model: Path) -> None:
    result, _ = _profile(string_bool_model, runs=3)
    dtypes = {i["name"]: i["dtype"] for i in result["inputs"]}
    assert dtypes == {"text": "object", "flags": "bool"}
    assert result["runs"] == 3


def test_a_model_ort_cannot_load_is_summarised(custom_op_model: Path) -> None:
    with pytest.raises(ModelRefused) as caught:
        _profile(custom_op_model)
    message = str(caught.value)
    assert message.startswith("ONNX Runtime cannot load custom.onnx: ")
    assert "MagicBlur" in message and "[ONNXRuntimeError]" not in message and "\n" not in message


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\xffnot a model" * 10)
    with pytest.raises(ModelRefused, match="junk.onnx is not a readable ONNX model"):
        _profile(junk)


def test_memory_sampler_tracks_peak_and_thins_long_series() -> None:
    seen: list[dict] = []
    with MemorySampler(0.005, on_sample=seen.append) as sampler:
        ballast = np.ones(64 << 20, dtype=np.uint8)  # 64 MiB touched while sampling
        ballast.sum()
        sampler.sample_now()
        del ballast
    assert sampler.peak_rss >= max(r["rss_bytes"] for r in seen) >= 64 << 20
    assert all(r["kind"] == "memory" for r in seen)
    for i in range(5000):
        sampler._keep(float(i), 1)
    assert len(sampler.points) <= 2000
