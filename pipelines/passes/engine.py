"""Run one registered pass on a model file: validate, apply, diff, time."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx

from onnx_workbench.pipelines.diff import GraphDiff, diff_graphs
from onnx_workbench.pipelines.errors import Cancelled, ConfigError, ModelRefused, PassFailed, WorkbenchError, WorkFailed
from onnx_workbench.pipelines.passes.base import REGISTRY, Pass, PassConfig, PassContext
from onnx_workbench.pipelines.quirks import needs_file_normalizing
from onnx_workbench.pipelines.staging import scratch_folder


@dataclass
class PassResult:
    """A finished step: the new model file and everything that changed."""

    pass_name: str
    config: dict[str, Any]
    output: Path
    changes: GraphDiff
    seconds: float
    warnings: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and version metadata."""
        return {
            "pass": self.pass_name,
            "config": self.config,
            "output": str(self.output),
            "changes": self.changes.to_dict(),
            "summary": self.changes.summary(),
            "seconds": round(self.seconds, 4),
            "warnings": self.warnings,
            "flags": self.flags,
            "details": self.details,
        }


def get_pass(name: str) -> type[Pass]:
    """The registered pass class called `name`, or ConfigError listing the known ones."""
    _load_builtin_passes()
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(f"unknown pass '{name}' (known passes: {known}).") from None


def all_passes() -> list[type[Pass]]:
    """Every registered pass, in category then name order."""
    _load_builtin_passes()
    from onnx_workbench.pipelines.passes.base import CATEGORIES

    return sorted(REGISTRY.values(), key=lambda p: (CATEGORIES.index(p.category), p.name))


def make_config(name: str, values: dict[str, Any] | None = None, where: str = "") -> PassConfig:
    """Validate `values` against pass `name`'s config before any work starts."""
    return get_pass(name).Config.from_dict(values or {}, where=where or f"pass '{name}'")


def run_pass(
    name: str,
    source: str | Path,
    target: str | Path,
    config: PassConfig | dict[str, Any] | None = None,
    *,
    on_progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> PassResult:
    """Apply pass `name` to the model at `source`, writing `target`; `source` is never modified."""
    from onnx_workbench.pipelines.model import load_model

    # Absolute from here on: tools that change the working directory (ORT's quantization
    # pre-processing does) must not reinterpret a user's relative paths.
    source, target = Path(source).absolute(), Path(target).absolute()
    pass_cls = get_pass(name)
    if not isinstance(config, PassConfig):
        config = make_config(name, config)
    if source.resolve() == target.resolve():
        raise ConfigError(f"pass '{name}' must write a new file, not over its input {source.name}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    ctx = PassContext(workdir=target.parent, on_progress=on_progress, is_cancelled=is_cancelled)
    # The source's graph as written, parsed once: the quirks check reads it and the diff compares
    # against it (the file as written, so the diff also shows what the front door normalised).
    before = load_model(source, infer_shapes=False, weights=False, normalize=False).proto
    started = time.perf_counter()
    try:
        ctx.progress(0.0, f"{name}: starting")
        # The default apply reads through load_model, which normalises in memory: only a pass
        # that hands the file itself to a tool needs the normalised copy (for a 530 MB legacy
        # VGG the copy cost 14 s of a 60 s cleanup).
        reads_file = pass_cls.apply is not Pass.apply
        quirk_free = _quirk_free(source, before, target) if reads_file else contextlib.nullcontext((source, []))
        with quirk_free as (pass_source, notes):
            output = pass_cls().apply(pass_source, target, config, ctx)
        output.warnings[:0] = notes
        ctx.progress(1.0, f"{name}: done")
    except (Cancelled, WorkbenchError):
        target.unlink(missing_ok=True)
        raise
    except OSError as exc:
        # A full disk or an unwritable folder: the work failed (exit 1), the input was fine.
        target.unlink(missing_ok=True)
        raise WorkFailed(f"pass '{name}' could not write its model: {_first_line(exc)}") from exc
    except Exception as exc:  # noqa: BLE001 - any tool failure becomes one sentence
        target.unlink(missing_ok=True)
        raise PassFailed(f"pass '{name}' failed: {_first_line(exc)}") from exc
    seconds = time.perf_counter() - started
    try:  # the graph alone: the weights are not read again
        after = load_model(target, infer_shapes=False, weights=False).proto
    except ModelRefused as exc:
        # The pass "succeeded" but left nothing usable: that is the pass failing, not the input.
        target.unlink(missing_ok=True)
        raise PassFailed(f"pass '{name}' wrote no loadable model ({str(exc).rstrip('.')}).") from exc
    return PassResult(
        pass_name=name,
        config=config.to_dict(),
        output=target,
        changes=diff_graphs(before.graph, after.graph),
        seconds=seconds,
        warnings=output.warnings,
        flags=output.flags,
        details=output.details,
    )


@contextlib.contextmanager
def _quirk_free(source: Path, graph: onnx.ModelProto, target: Path) -> Iterator[tuple[Path, list[str]]]:
    """`source`, or a normalised copy of it when tools that read files would trip on its quirks.

    Passes built on files (ONNX Runtime's quantizer and optimizer, onnxsim) never see
    pipelines.model.load_model's in-memory normalisation, so a model whose weights are graph
    inputs (or with legacy attributes) is written normalised into a scratch folder beside the
    target first; the notes say what changed. Checked on the graph alone: most models need
    no copy. `graph`: the source as written, without its weights.
    """
    from onnx_workbench.pipelines.model import ir_model, load_model, save_ir_model

    if not needs_file_normalizing(graph):
        yield source, []
        return
    with scratch_folder(target, "normalized") as scratch:
        # The weights are streamed from the source's data file into the copy's, never read here.
        loaded = load_model(source, infer_shapes=False, weights=False)
        external = True if loaded.has_external_data else None
        copy = save_ir_model(ir_model(loaded), scratch / source.name, external_data=external)
        notes = list(loaded.notes)
        del loaded
        yield copy, notes


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__).rstrip(".") + "."


def _load_builtin_passes() -> None:
    # Importing a pass module registers its passes (Pass.__init_subclass__); every public
    # module in this package other than the framework itself declares passes.
    import importlib
    import pkgutil

    import onnx_workbench.pipelines.passes as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("base", "engine") and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
