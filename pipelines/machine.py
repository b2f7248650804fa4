"""Where a measurement was taken: CPU, cores, memory, OS and library versions."""
from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

_LIBRARIES = ("onnx", "onnxruntime", "onnxruntime-gpu", "onnxsim", "onnxscript", "onnx-ir", "numpy")


def cpu_model() -> str:
    """The CPU's marketing name where the OS tells it, else the architecture."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def x86_without_vnni() -> bool:
    """True on an x86 CPU that lacks VNNI (AVX512-VNNI, AVX-VNNI or AMX-INT8 dot products)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return False
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return False  # not knowable here (macOS, Windows): assume a modern CPU
    for line in cpuinfo.read_text(errors="replace").splitlines():
        if line.lower().startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return not flags & {"avx512_vnni", "avx_vnni", "amx_int8"}
    return False


def installed_versions(names: Iterable[str]) -> dict[str, str]:
    """The installed version of each named distribution; those not installed are left out."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def machine_info() -> dict[str, Any]:
    """A plain-data description of this machine for reports."""
    import psutil  # here, not at the top: the window imports this module at start-up, where psutil costs 20-30 ms

    return {
        "cpu": cpu_model(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": psutil.cpu_count(logical=True),
        "memory_bytes": psutil.virtual_memory().total,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "libraries": installed_versions(_LIBRARIES),
    }
