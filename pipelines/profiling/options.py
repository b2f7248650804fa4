"""Profile settings, declared once like a pass config so the CLI and GUI forms derive from them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.config import PassConfig, option
from onnx_workbench.pipelines.profiling.providers import parse_provider_options, resolve_provider
from onnx_workbench.pipelines.runtime import OPTIMIZATION_LEVELS


@dataclass(frozen=True)
class ProfileOptions(PassConfig):
    """How to run and measure a model; every field is validated before a worker starts."""

    provider: str = option("CPUExecutionProvider", help="execution provider (cpu, cuda, tensorrt, ... or the full ONNX Runtime name)")
    provider_options: list[str] = option([], help="provider options as KEY=VALUE, e.g. device_id=0")
    io_binding: str = option("auto", choices=("auto", "on", "off"), help="bind inputs/outputs to the device once (auto: on for GPU providers)")
    graph_optimization: str = option("all", choices=OPTIMIZATION_LEVELS, help="ONNX Runtime graph optimization level")
    intra_op_threads: int = option(0, min=0, max=1024, help="threads inside one operator (0: ONNX Runtime default)")
    inter_op_threads: int = option(0, min=0, max=1024, help="threads across operators in parallel mode (0: default)")
    execution_mode: str = option("sequential", choices=("sequential", "parallel"), help="run independent branches one by one or in parallel")
    memory_arena: bool = option(True, help="use ONNX Runtime's CPU memory arena")
    memory_pattern: bool = option(True, help="pre-plan memory from the first run's allocation pattern")
    batch: int = option(1, min=1, max=1 << 20, help="size of a symbolic first (batch) axis")
    dims: dict[str, int] = option({}, help="sizes for other symbolic dims, NAME:VALUE")
    data: str = option("", widget="file", help=".npz file or folder of them for inputs (empty: seeded random data)")
    seed: int = option(0, min=0, help="seed of the random input data")
    warmup: int = option(10, min=0, max=1_000_000, help="untimed runs before measuring")
    runs: int = option(100, min=1, max=100_000_000, help="timed runs (ignored when duration_s is set)")
    duration_s: float = option(0.0, min=0.0, max=86_400.0, help="time the model for this many seconds instead of a run count (0: use runs)")
    pause_ms: float = option(0.0, min=0.0, max=60_000.0, help="pause between runs of one request stream")
    concurrency: int = option(1, min=1, max=256, help="parallel requests on one session (throughput under load)")
    per_op: bool = option(False, help="after the timed runs, profile time per operator in a separate pass")
    per_op_runs: int = option(20, min=1, max=100_000, help="runs in the per-operator pass")
    memory_interval_ms: float = option(50.0, min=5.0, max=10_000.0, help="how often worker memory is sampled")

    def validate(self) -> None:
        """Field bounds plus what depends on this machine: the provider must be installed."""
        super().validate()
        resolve_provider(self.provider)
        parse_provider_options(self.provider_options)
        if any(value < 0 for value in self.dims.values()):
            raise ConfigError("dim sizes must be zero or more.", "dims")

    @classmethod
    def from_any(cls, values: ProfileOptions | dict[str, Any] | None) -> ProfileOptions:
        """Options from a dict (validated) or an existing instance."""
        if isinstance(values, ProfileOptions):
            return values
        return cls.from_dict(values or {}, where="profile options")  # type: ignore[return-value]

    def replace(self, **changes: Any) -> ProfileOptions:
        """A validated copy with some fields changed (sweeps vary batch, threads, concurrency)."""
        return self.from_any({**self.to_dict(), **changes})

    @property
    def feed_dims(self) -> dict[str, int]:
        """The dims mapping pipelines.inputs expects: user dims plus the batch size."""
        return {**self.dims, "batch": self.batch}
