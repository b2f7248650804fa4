"""ONNX Runtime sessions and input feeds built from ProfileOptions (shared by profile, sweep, compare)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from onnx_workbench.pipelines.analysis import node_keys
from onnx_workbench.pipelines.errors import ConfigError, ModelRefused, RuntimeRefused
from onnx_workbench.pipelines.inputs import graph_inputs, input_specs, random_inputs
from onnx_workbench.pipelines.labelled import data_source
from onnx_workbench.pipelines.labelled import samples as labelled_samples
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.perop import NodeRow
from onnx_workbench.pipelines.runtime import SessionSettings, open_session, ort_message
from onnx_workbench.pipelines.profiling.providers import (
    IO_BINDING_DEVICE,
    canonical_name,
    is_gpu_provider,
    parse_provider_options,
)

# Distinct batches of user data cycled through the timed runs; more would only cost memory.
MAX_DATA_FEEDS = 16


@dataclass
class ModelInfo:
    """What profiling needs from the model file: its inputs and a node table for per-op mapping."""

    path: Path
    nodes: list[NodeRow]
    proto_inputs: onnx.ModelProto  # graph without weights; enough for input specs and feeds


@dataclass
class Prepared:
    """Feeds for one batch size and a description of them for the report."""

    feeds: list[dict[str, Any]]
    batch: int = 1  # samples per run as fed (a fixed-batch model dictates its own)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    assumed_dims: dict[str, int] = field(default_factory=dict)


def read_model_info(path: str | Path) -> ModelInfo:
    """Read the graph without external weights (they are ONNX Runtime's business, and their memory should count for the session)."""
    path = Path(path)
    if not path.is_file():
        raise ModelRefused(f"{path}: no such file; check the path.")
    try:
        # Direct onnx.load rather than pipelines.model.load_model: we need no shape inference
        # and no external data, only inputs, initializer dims and node names.
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a model"
        raise ModelRefused(f"{path.name} is not a readable ONNX model ({_first_line(exc)}).") from exc
    nodes = [
        NodeRow(key, n.name, n.op_type, list(n.input), list(n.output))
        for key, n in zip(node_keys(proto.graph), proto.graph.node)
    ]
    return ModelInfo(path=path, nodes=nodes, proto_inputs=proto)


def prepare_feeds(info: ModelInfo, options: ProfileOptions) -> Prepared:
    """Seeded random inputs, or batches assembled from the user's .npz samples."""
    symbolic, fixed = _first_axes(info.proto_inputs)
    if not symbolic and fixed is not None and options.batch not in (1, fixed):
        raise ConfigError(
            f"{info.path.name} has a fixed batch of {fixed} (its inputs have no symbolic first axis), so batch {options.batch} cannot be fed; leave the batch at 1.",
            "batch",
        )
    specs = input_specs(info.proto_inputs, options.feed_dims)
    assumed: dict[str, int] = {}
    for spec in specs:
        assumed.update(spec.assumed)
    if options.data:
        names = [s.name for s in specs]
        # .npz arrays (their labels, if any, are for accuracy) or a labelled image folder.
        source = data_source(options.data)
        limit = options.batch * MAX_DATA_FEEDS
        samples = [feed for feed, _ in labelled_samples(info.proto_inputs, source, limit, options.feed_dims)]
        if len(samples) < options.batch:
            raise ConfigError(
                f"{Path(options.data).name} holds {len(samples)} samples, fewer than the batch size {options.batch}.", "data"
            )
        feeds = []
        for start in range(0, len(samples) - options.batch + 1, options.batch):
            chunk = samples[start : start + options.batch]
            feeds.append({n: np.concatenate([s[n] for s in chunk]).astype(_dtype(specs, n), copy=False) for n in names})
    else:
        feeds = [random_inputs(info.proto_inputs, dims=options.feed_dims, seed=options.seed)]
    described = [
        {"name": n, "dtype": str(a.dtype), "shape": list(a.shape)} for n, a in feeds[0].items()
    ]
    first = feeds[0]
    batch_input = next((n for n in symbolic if first[n].ndim), None)
    batch = int(first[batch_input].shape[0]) if batch_input else (fixed or 1)
    return Prepared(feeds=feeds, batch=batch, inputs=described, assumed_dims=assumed)


def _first_axes(proto: onnx.ModelProto) -> tuple[list[str], int | None]:
    """Inputs whose first axis is symbolic (a batch we may set), and the first fixed first-axis size."""
    symbolic: list[str] = []
    fixed: int | None = None
    for value in graph_inputs(proto):
        dims = value.type.tensor_type.shape.dim
        if not dims:
            continue
        if dims[0].HasField("dim_value"):
            fixed = dims[0].dim_value if fixed is None else fixed
        else:
            symbolic.append(value.name)
    return symbolic, fixed


def session_settings(options: ProfileOptions, *, profile_prefix: str | None = None) -> SessionSettings:
    """The session settings these profile options ask for (also used by the overhead benchmark)."""
    return SessionSettings(
        optimization=options.graph_optimization,
        intra_op_threads=options.intra_op_threads,
        inter_op_threads=options.inter_op_threads,
        parallel=options.execution_mode == "parallel",
        memory_arena=options.memory_arena,
        memory_pattern=options.memory_pattern,
        profile_prefix=profile_prefix,
    )


def provider_list(options: ProfileOptions) -> list[Any]:
    """The providers argument for InferenceSession: the chosen one (with options), CPU as fallback."""
    name = canonical_name(options.provider)
    provider_opts = parse_provider_options(options.provider_options)
    chosen: Any = (name, provider_opts) if provider_opts else name
    return [chosen] if name == "CPUExecutionProvider" else [chosen, "CPUExecutionProvider"]


def create_session(path: str | Path, options: ProfileOptions, *, profile_prefix: str | None = None) -> tuple[Any, float]:
    """An InferenceSession and the seconds it took to create; ORT failures become one sentence."""
    path = Path(path)
    settings = session_settings(options, profile_prefix=profile_prefix)
    started = time.perf_counter()
    try:
        session = open_session(path, settings, providers=provider_list(options))
    except Exception as exc:  # noqa: BLE001 - pybind raises Fail/InvalidGraph/NotImplemented/RuntimeError
        raise RuntimeRefused(f"ONNX Runtime cannot load {path.name}: {ort_message(exc)}") from exc
    seconds = time.perf_counter() - started
    wanted = canonical_name(options.provider)
    if wanted not in session.get_providers():
        # ORT silently falls back to CPU when e.g. the CUDA libraries are missing; a CPU
        # figure labelled CUDA would be a lie.
        raise ConfigError(
            f"{wanted} is installed but could not start (missing drivers or libraries?); the session fell back to {', '.join(session.get_providers())}.",
            "provider",
        )
    return session, seconds


def io_binding_wanted(options: ProfileOptions) -> bool:
    """Whether runs go through IO binding: explicit choice, or automatically for GPU providers."""
    if options.io_binding == "auto":
        return is_gpu_provider(canonical_name(options.provider))
    return options.io_binding == "on"


def make_runner(session: Any, feed: dict[str, Any], options: ProfileOptions) -> Callable[[], Any]:
    """A no-argument callable that runs one inference exactly as it will be timed."""
    if not io_binding_wanted(options):
        run = session.run
        return lambda: run(None, feed)
    import onnxruntime as ort

    provider = canonical_name(options.provider)
    device = IO_BINDING_DEVICE.get(provider, "cpu")
    device_id = int(parse_provider_options(options.provider_options).get("device_id", 0))
    # Inputs are copied to the device once, so runs measure the model, not PCIe.
    device_inputs = {
        name: array if device == "cpu" else ort.OrtValue.ortvalue_from_numpy(array, device, device_id)
        for name, array in feed.items()
    }
    output_names = [o.name for o in session.get_outputs()]
    # An IOBinding holds its outputs, so concurrent request threads each need their own.
    local = threading.local()

    def binding() -> Any:
        bound = getattr(local, "binding", None)
        if bound is None:
            bound = local.binding = session.io_binding()
            for name, value in device_inputs.items():
                if device == "cpu":
                    bound.bind_cpu_input(name, value)
                else:
                    bound.bind_ortvalue_input(name, value)
            for name in output_names:
                if device == "cpu":
                    bound.bind_output(name)
                else:
                    bound.bind_output(name, device, device_id)
        return bound

    run_bound = session.run_with_iobinding
    return lambda: run_bound(binding())


def check_runs(runner: Callable[[], Any], model_name: str) -> None:
    """One inference outside any timing, turning an ORT failure into a sentence before measuring."""
    try:
        runner()
    except Exception as exc:  # noqa: BLE001 - wrong shapes/dtypes surface here as pybind errors
        raise RuntimeRefused(f"ONNX Runtime could not run {model_name}: {ort_message(exc)}") from exc




def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__).rstrip(".")


def _dtype(specs: list[Any], name: str) -> Any:
    return next(s.dtype for s in specs if s.name == name)
