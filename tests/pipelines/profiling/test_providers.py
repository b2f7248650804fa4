"""Provider discovery and the GPU paths, exercised without a GPU."""
from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.profiling import providers
from onnx_workbench.pipelines.profiling.measure import timed_runs
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.providers import GpuMemoryProbe, canonical_name, resolve_provider
from onnx_workbench.pipelines.profiling.session import create_session, io_binding_wanted, make_runner, prepare_feeds, provider_list, read_model_info


def test_short_names_map_to_onnx_runtime_names() -> None:
    assert canonical_name("cpu") == "CPUExecutionProvider"
    assert canonical_name("CUDA") == "CUDAExecutionProvider"
    assert canonical_name("tensorrt") == "TensorrtExecutionProvider"
    assert canonical_name("CPUExecutionProvider") == "CPUExecutionProvider"
    assert canonical_name("cpuexecutionprovider") == "CPUExecutionProvider"


def test_cpu_is_always_available() -> None:
    assert "CPUExecutionProvider" in providers.available_providers()
    assert resolve_provider("cpu") == "CPUExecutionProvider"


def test_missing_provider_names_the_available_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_provider("cuda", available=["CPUExecutionProvider"])
    message = str(caught.value)
    assert "'cuda' is not available" in message and "available: CPUExecutionProvider" in message
    assert "onnxruntime-gpu" in message and caught.value.field == "provider"
    assert message.count(". ") == 0  # one sentence


def test_options_refuse_a_provider_this_machine_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(ConfigError, match="not available") as caught:
        ProfileOptions.from_any({"provider": "cuda"})
    assert caught.value.field == "provider"


def test_options_validate_fields_before_work() -> None:
    with pytest.raises(ConfigError) as caught:
        ProfileOptions.from_any({"runs": 0})
    assert caught.value.field == "runs"
    with pytest.raises(ConfigError) as caught:
        ProfileOptions.from_any({"provider_options": ["device_id"]})
    assert caught.value.field == "provider_options"
    with pytest.raises(ConfigError):
        ProfileOptions.from_any({"graph_optimization": "ludicrous"})


def test_gpu_providers_get_io_binding_and_cpu_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    options = ProfileOptions.from_any({"provider": "cuda", "provider_options": ["device_id=1"]})
    assert io_binding_wanted(options)
    assert provider_list(options) == [("CUDAExecutionProvider", {"device_id": "1"}), "CPUExecutionProvider"]
    assert not io_binding_wanted(ProfileOptions.from_any({}))
    assert not io_binding_wanted(options.replace(io_binding="off"))


def test_a_provider_that_falls_back_to_cpu_is_refused(monkeypatch: pytest.MonkeyPatch, sample_cnn: Path) -> None:
    # ORT quietly runs on CPU when CUDA libraries are missing; a figure labelled CUDA must not come out.
    monkeypatch.setattr(providers, "available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    options = ProfileOptions.from_any({"provider": "cuda"})
    import onnxruntime

    real = onnxruntime.InferenceSession

    def cpu_only(path: str, sess_options: object = None, providers: object = None, **kwargs: object) -> object:
        return real(path, sess_options=sess_options, providers=["CPUExecutionProvider"], **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", cpu_only)
    with pytest.raises(ConfigError, match="could not start") as caught:
        create_session(sample_cnn, options)
    assert caught.value.field == "provider"


def test_io_binding_on_cpu_runs_from_concurrent_threads(sample_cnn: Path) -> None:
    options = ProfileOptions.from_any({"io_binding": "on", "concurrency": 3, "runs": 12, "warmup": 1, "intra_op_threads": 1})
    assert io_binding_wanted(options)
    session, seconds = create_session(sample_cnn, options)
    feed = prepare_feeds(read_model_info(sample_cnn), options).feeds[0]
    runner = make_runner(session, feed, options)
    timed = timed_runs([runner], runs=options.runs, concurrency=options.concurrency)
    assert len(timed.latencies_ns) == 12 and seconds > 0


def test_nvml_is_not_available_for_cpu() -> None:
    probe = GpuMemoryProbe("CPUExecutionProvider")
    assert not probe.available and "does not run on an NVIDIA GPU" in probe.reason
    assert probe.sample() == {"available": False, "reason": probe.reason}


def test_nvml_missing_means_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails as if not installed
    probe = GpuMemoryProbe("CUDAExecutionProvider")
    assert not probe.available and "nvidia-ml-py is not installed" in probe.reason


def test_nvml_without_a_driver_means_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.SimpleNamespace(nvmlInit=lambda: (_ for _ in ()).throw(RuntimeError("Driver Not Loaded")))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    probe = GpuMemoryProbe("CUDAExecutionProvider")
    assert not probe.available and "Driver Not Loaded" in probe.reason


def test_nvml_samples_device_and_process_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    shutdowns = []
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: shutdowns.append(True),
        nvmlDeviceGetHandleByIndex=lambda index: f"gpu{index}",
        nvmlDeviceGetName=lambda handle: b"Fake GPU",
        nvmlDeviceGetMemoryInfo=lambda handle: types.SimpleNamespace(used=3 << 30, total=16 << 30),
        nvmlDeviceGetComputeRunningProcesses=lambda handle: [
            types.SimpleNamespace(pid=1, usedGpuMemory=1 << 30),
            types.SimpleNamespace(pid=os.getpid(), usedGpuMemory=512 << 20),
        ],
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    probe = GpuMemoryProbe("CUDAExecutionProvider", device_id=1)
    assert probe.available and probe.device_name == "Fake GPU"
    sample = probe.sample()
    assert sample == {"available": True, "device": "Fake GPU", "used_bytes": 3 << 30, "total_bytes": 16 << 30, "process_bytes": 512 << 20}
    probe.close()
    assert shutdowns == [True]
