"""Execution providers: discovery, friendly names, and GPU memory through NVML when present."""
from __future__ import annotations

import os
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError

# Short names users type on the command line, mapped to ONNX Runtime's provider names.
ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "directml": "DmlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "qnn": "QNNExecutionProvider",
    "webgpu": "WebGpuExecutionProvider",
}
# Providers whose tensors live in device memory: IO binding avoids a host copy per run.
GPU_PROVIDERS = frozenset(
    {
        "CUDAExecutionProvider",
        "TensorrtExecutionProvider",
        "DmlExecutionProvider",
        "ROCMExecutionProvider",
        "MIGraphXExecutionProvider",
        "WebGpuExecutionProvider",
    }
)
# NVML only sees NVIDIA devices.
NVIDIA_PROVIDERS = frozenset({"CUDAExecutionProvider", "TensorrtExecutionProvider"})
# Device type name OrtValue/IO binding uses for each GPU provider.
IO_BINDING_DEVICE = {"CUDAExecutionProvider": "cuda", "TensorrtExecutionProvider": "cuda", "DmlExecutionProvider": "dml", "ROCMExecutionProvider": "cuda"}
# How to get a provider that is missing from this ONNX Runtime build.
INSTALL_HINTS = {
    "CUDAExecutionProvider": "install onnxruntime-gpu and the CUDA/cuDNN libraries",
    "TensorrtExecutionProvider": "install onnxruntime-gpu with TensorRT",
    "DmlExecutionProvider": "install onnxruntime-directml (Windows)",
    "CoreMLExecutionProvider": "use the macOS onnxruntime wheel",
    "OpenVINOExecutionProvider": "install onnxruntime-openvino",
}


def available_providers() -> list[str]:
    """Providers compiled into the installed ONNX Runtime, in its priority order."""
    import onnxruntime

    return list(onnxruntime.get_available_providers())


def canonical_name(name: str) -> str:
    """ONNX Runtime's name for a provider given as 'cuda', 'CUDA' or 'CUDAExecutionProvider'."""
    key = name.strip()
    if key.lower() in ALIASES:
        return ALIASES[key.lower()]
    for full in (*ALIASES.values(), *available_providers()):
        if full.lower() in (key.lower(), key.lower() + "executionprovider"):
            return full
    return key


def resolve_provider(name: str, available: list[str] | None = None) -> str:
    """The canonical provider name, or ConfigError naming the providers this machine has."""
    full = canonical_name(name)
    available = available_providers() if available is None else available
    if full in available:
        return full
    hint = INSTALL_HINTS.get(full)
    listed = ", ".join(available)
    tail = f" ({hint} to use it)" if hint else ""
    raise ConfigError(
        f"execution provider '{name}' is not available in this ONNX Runtime build{tail}; available: {listed}.",
        "provider",
    )


def parse_provider_options(items: list[str]) -> dict[str, str]:
    """`["device_id=0", "arena_extend_strategy=kSameAsRequested"]` → a provider options dict."""
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"provider option '{item}' must look like KEY=VALUE.", "provider_options")
        options[key.strip()] = value.strip()
    return options


def is_gpu_provider(name: str) -> bool:
    """True for providers that run on a GPU (device memory, IO binding)."""
    return name in GPU_PROVIDERS


class GpuMemoryProbe:
    """Device memory in use through NVML; `available` False with a `reason` when it cannot be read."""

    def __init__(self, provider: str, device_id: int = 0) -> None:
        self.provider = provider
        self.device_id = device_id
        self.available = False
        self.reason = ""
        self.device_name = ""
        self._nvml: Any = None
        self._handle: Any = None
        if provider not in NVIDIA_PROVIDERS:
            self.reason = f"{provider} does not run on an NVIDIA GPU"
            return
        try:
            import pynvml  # from nvidia-ml-py, an optional dependency
        except ImportError:
            self.reason = "nvidia-ml-py is not installed (pip install nvidia-ml-py)"
            return
        try:
            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(device_id)
            name = pynvml.nvmlDeviceGetName(self._handle)
            self.device_name = name.decode() if isinstance(name, bytes) else str(name)
        except Exception as exc:  # noqa: BLE001 - pynvml raises NVMLError subclasses per cause
            self.reason = f"NVML could not open GPU {device_id} ({exc})"
            return
        self._nvml = pynvml
        self.available = True

    def sample(self) -> dict[str, Any]:
        """Used/total device memory and this process's share when the driver reports it."""
        if not self.available:
            return {"available": False, "reason": self.reason}
        nvml = self._nvml
        info = nvml.nvmlDeviceGetMemoryInfo(self._handle)
        process_bytes = None
        try:
            for proc in nvml.nvmlDeviceGetComputeRunningProcesses(self._handle):
                if proc.pid == os.getpid():
                    process_bytes = proc.usedGpuMemory
        except Exception:  # noqa: BLE001 - per-process figures need permissions some drivers deny
            pass
        return {
            "available": True,
            "device": self.device_name,
            "used_bytes": int(info.used),
            "total_bytes": int(info.total),
            "process_bytes": process_bytes,
        }

    def close(self) -> None:
        """Release NVML."""
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001 - shutting down twice or after a driver reset
                pass
            self._nvml = None
