"""Recipes: the list of passes and configs that turns a model into an optimized version.

The file is YAML::

    version: 1
    steps:
      - pass: fold-batchnorm
        config: {}
      - pass: quantize-dynamic
        config: {weight_type: int8, per_channel: true}

Saved recipes write every field of every config, defaults included: a recipe must rebuild the
same model even after a later release changes a default. Loaded recipes may leave fields out
(they take the current default). Every step is validated before any work starts, and errors
name the step number and the field.
"""
from __future__ import annotations

import contextlib
import copy
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines.errors import ConfigError, WorkbenchError
from pipelines.model_files import model_size_bytes
from pipelines.passes.base import PassConfig
from pipelines.passes.engine import PassResult, get_pass, run_pass
from pipelines.safe_write import check_targets, source_files, write_text_atomic
from pipelines.speed import step_latency
from pipelines.staging import publish_model, scratch_folder
from pipelines.tolerances import default_tolerance
from pipelines.verify import FidelityReport, Tolerance, verify_models

RECIPE_VERSION = 1
# Recipes are untrusted input: limits far above any real one (a preset has ~5 steps and a few
# dozen values), checked before the YAML is built into objects.
MAX_RECIPE_BYTES = 1 << 20
MAX_RECIPE_DEPTH = 32
MAX_RECIPE_VALUES = 100_000  # YAML nodes once aliases are expanded ("billion laughs")
MAX_RECIPE_STEPS = 256


@dataclass(frozen=True)
class RecipeStep:
    """One validated step: a registered pass and its config."""

    pass_name: str
    config: PassConfig

    def to_dict(self) -> dict[str, Any]:
        """The step as written into the YAML file (full config)."""
        return {"pass": self.pass_name, "config": self.config.to_dict()}


@dataclass(frozen=True)
class Recipe:
    """An ordered list of validated steps."""

    steps: tuple[RecipeStep, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the file format."""
        return {"version": RECIPE_VERSION, "steps": [s.to_dict() for s in self.steps]}

    def to_yaml(self) -> str:
        """The recipe as YAML text, keys in declaration order."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)

    @classmethod
    def from_steps(cls, steps: list[tuple[str, dict[str, Any]]], where: str = "recipe") -> Recipe:
        """Validate (pass name, config values) pairs into a recipe; errors name the step."""
        return cls(tuple(_make_step(i, name, values, where) for i, (name, values) in enumerate(steps, 1)))

    @classmethod
    def from_dict(cls, data: Any, where: str = "recipe") -> Recipe:
        """Validate parsed YAML data; every problem raises ConfigError before any work starts."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a mapping with 'version' and 'steps'.")
        unknown = sorted(set(data) - {"version", "steps"})
        if unknown:
            raise ConfigError(f"{where} has an unknown key '{unknown[0]}'; only 'version' and 'steps' are allowed.")
        if data.get("version") != RECIPE_VERSION:
            raise ConfigError(
                f"{where} has version {data.get('version')!r}; this release reads version {RECIPE_VERSION}."
            )
        steps = data.get("steps")
        if steps is None:
            steps = []
        if not isinstance(steps, list):
            raise ConfigError(f"{where}: 'steps' must be a list of {{pass: NAME, config: {{...}}}} entries.")
        if len(steps) > MAX_RECIPE_STEPS:
            raise ConfigError(f"{where} has {len(steps)} steps; recipes are limited to {MAX_RECIPE_STEPS}.")
        pairs: list[tuple[str, dict[str, Any]]] = []
        for number, entry in enumerate(steps, 1):
            if not isinstance(entry, dict) or not isinstance(entry.get("pass"), str):
                raise ConfigError(f"{where}, step {number}: each step needs a 'pass' name.")
            extra = sorted(set(entry) - {"pass", "config"})
            if extra:
                raise ConfigError(
                    f"{where}, step {number}: unknown key '{extra[0]}'; a step has only 'pass' and 'config'."
                )
            config = entry.get("config") or {}
            if not isinstance(config, dict):
                raise ConfigError(f"{where}, step {number} ({entry['pass']}): 'config' must be a mapping.")
            pairs.append((entry["pass"], config))
        return cls.from_steps(pairs, where)


@dataclass(frozen=True)
class StepChecks:
    """What the engine checks after every step of a recipe, as the window's session does."""

    verify: bool = False  # compare with the original, held to `tolerance`
    tolerance: Tolerance | None = None  # None: the default of the steps so far (pipelines.tolerances)
    data: str | None = None  # inputs for verification: .npz (labels add accuracy) or an image folder; None: random
    samples: int | None = 4  # None: every sample of `data`
    dims: dict[str, int] = field(default_factory=dict)
    time_steps: bool = False  # a few interleaved runs against the step's parent (StepResult.latency)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a worker job's params."""
        return {
            "verify": self.verify, "tolerance": self.tolerance.to_dict() if self.tolerance is not None else None,
            "data": self.data, "samples": self.samples, "dims": dict(self.dims), "time_steps": self.time_steps,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepChecks:
        """The checks a worker job was sent (missing keys: defaults)."""
        tolerance = data.get("tolerance")
        return cls(
            verify=bool(data.get("verify")), tolerance=Tolerance.from_dict(tolerance) if tolerance else None,
            data=str(data["data"]) if data.get("data") else None,
            samples=None if data.get("samples", 4) is None else int(data.get("samples", 4)),
            dims=dict(data.get("dims") or {}), time_steps=bool(data.get("time_steps")),
        )


@dataclass
class StepResult:
    """What one recipe step did to the model."""

    index: int
    result: PassResult
    size_before: int
    size_after: int
    nodes_before: int
    nodes_after: int
    fidelity: FidelityReport | None
    latency: dict[str, Any] | None = None  # LatencyComparison.to_dict() against the parent step

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `optimize --json`; the intermediate file path is left out (it is gone)."""
        data = self.result.to_dict()
        data.pop("output", None)
        return {
            "step": self.index,
            **data,
            "size_before": self.size_before,
            "size_after": self.size_after,
            "nodes_before": self.nodes_before,
            "nodes_after": self.nodes_after,
            "fidelity": self.fidelity.to_dict() if self.fidelity is not None else None,
            "latency": self.latency,
        }


def parse_recipe(text: str, where: str = "recipe") -> Recipe:
    """Parse and validate recipe YAML text (size, nesting and alias expansion limited first)."""
    try:
        _check_yaml_limits(text, where)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where} is not valid YAML{line}; check its indentation and colons.") from None
    return Recipe.from_dict(data, where)


def _check_yaml_limits(text: str, where: str) -> None:
    """Refuse YAML that is too large, too deep or expands too far, from its event stream.

    PyYAML's parser walks events without recursion, so this costs one pass over the text;
    building the objects (`safe_load`) recurses per nesting level and expands every alias.
    """
    if len(text) > MAX_RECIPE_BYTES:
        raise ConfigError(f"{where} is {len(text)} characters; recipes are limited to {MAX_RECIPE_BYTES}.")
    too_deep = f"{where} is nested more than {MAX_RECIPE_DEPTH} levels deep; a recipe is a flat list of steps."
    # PyYAML's scanner is quadratic in the depth of flow brackets ("[[[[..."), before the first
    # event: count brackets first (an upper bound: brackets inside quotes count too).
    brackets = 0
    for match in re.finditer(r"[\[\]{}]", text):
        brackets = brackets + 1 if match.group() in "[{" else max(brackets - 1, 0)
        if brackets > MAX_RECIPE_DEPTH:
            raise ConfigError(too_deep)
    depth = expanded = 0
    starts: list[tuple[str | None, int]] = []  # open collections: anchor, `expanded` when opened
    sizes: dict[str, int] = {}  # expanded node count of every anchored node
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_RECIPE_DEPTH:
                raise ConfigError(too_deep)
            starts.append((event.anchor, expanded))
            expanded += 1
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
            anchor, opened = starts.pop()
            if anchor is not None:
                sizes[anchor] = expanded - opened
        elif isinstance(event, yaml.ScalarEvent):
            expanded += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            expanded += sizes.get(event.anchor, 1)
        if expanded > MAX_RECIPE_VALUES:
            raise ConfigError(
                f"{where} expands to more than {MAX_RECIPE_VALUES} values (nested YAML aliases?); refused."
            )


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file (UTF-8, at most MAX_RECIPE_BYTES)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_RECIPE_BYTES + 1)  # never more: the path may be a device or a pipe
    except OSError as exc:
        raise ConfigError(f"cannot read recipe {path} ({exc.strerror}); check the path.") from None
    if len(raw) > MAX_RECIPE_BYTES:
        raise ConfigError(f"recipe {path.name} is larger than {MAX_RECIPE_BYTES} bytes; refused.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"recipe {path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
    return parse_recipe(text, where=f"recipe {path.name}")


def save_recipe(recipe: Recipe, path: str | Path, protected: Iterable[Path] = ()) -> Path:
    """Write the recipe as YAML atomically, never over a `protected` file."""
    return write_text_atomic(path, recipe.to_yaml(), protected)


def run_recipe(
    model_path: str | Path,
    recipe: Recipe,
    out_path: str | Path,
    checks: StepChecks = StepChecks(),
    *,
    on_progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    scratch: str | Path | None = None,
) -> list[StepResult]:
    """Apply every step in order to `model_path`, write the last model to `out_path`.

    Intermediate models live in a scratch folder next to `out_path` (same file system, so the
    final move is a rename; `scratch` names one the caller owns) and only the latest one is
    kept. `checks` says what is measured after each step (StepChecks). Nothing is written to
    `out_path` unless every step succeeds, and never over the source or its data files.
    """
    from pipelines.model import load_model, save_model

    model_path, out_path = Path(model_path), Path(out_path)
    protected = source_files(model_path)
    check_targets([out_path, out_path.with_name(f"{out_path.name}.data")], protected)
    original = load_model(model_path, infer_shapes=False, weights=False)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results: list[StepResult] = []
    total = max(len(recipe.steps), 1)
    with contextlib.ExitStack() as stack:
        if scratch is None:
            scratch = stack.enter_context(scratch_folder(out_path, "recipe"))
        current = model_path
        size, nodes = model_size_bytes(model_path), len(original.proto.graph.node)
        for index, step in enumerate(recipe.steps, 1):
            # Named like the output: external data a pass writes ('<name>.data') keeps a name
            # that cannot clash with another model's data in the output folder.
            target = Path(scratch) / f"step-{index}" / out_path.name
            target.parent.mkdir()

            def progress(fraction: float, message: str, _i: int = index) -> None:
                if on_progress is not None:
                    on_progress((_i - 1 + fraction) / total, f"step {_i}/{total}: {message}")

            with _scratch_named(scratch, index, step.pass_name):
                result = run_pass(
                    step.pass_name, current, target, step.config,
                    on_progress=progress, is_cancelled=is_cancelled,
                )
                new_size = model_size_bytes(target)
                new_nodes = len(load_model(target, infer_shapes=False, weights=False).proto.graph.node)
                fidelity = latency = None
                if checks.verify:
                    fidelity = verify_models(
                        model_path, target, data=checks.data, samples=checks.samples, dims=checks.dims or None,
                        tolerance=checks.tolerance or default_tolerance([s.pass_name for s in recipe.steps[:index]]),
                        is_cancelled=is_cancelled,
                    )
                if checks.time_steps:
                    latency, slower = step_latency(current, target)
                    if slower:
                        result.warnings.append(slower)
            results.append(StepResult(index, result, size, new_size, nodes, new_nodes, fidelity, latency))
            if current != model_path:
                # Only the latest model is needed: a long recipe must not keep every intermediate.
                shutil.rmtree(current.parent, ignore_errors=True)
            current, size, nodes = target, new_size, new_nodes
        if not recipe.steps:
            # An empty recipe still yields a file: the original, re-saved (external data inlined).
            save_model(load_model(model_path, infer_shapes=False).proto, out_path, source=model_path)
        else:
            publish_model(current, out_path, protected)
    return results


def run_recipe_in_worker(
    model_path: str | Path,
    recipe: Recipe,
    out_path: str | Path,
    checks: StepChecks = StepChecks(),
    *,
    on_progress: Callable[[float, str], None] | None = None,
) -> list[dict[str, Any]]:
    """`run_recipe` in a worker process; returns each step's `StepResult.to_dict()`.

    A pass or ONNX Runtime crashing in native code (a hostile attribute can raise SIGFPE) ends
    the worker, not the caller: it surfaces as WorkerCrashed, one sentence. The scratch folder
    belongs to this process, so a killed worker leaves nothing behind in the output folder.
    """
    from pipelines.worker.client import run_job

    model_path, out_path = Path(model_path), Path(out_path)
    # Refused here, before a worker starts: the same check run_recipe makes.
    check_targets([out_path, out_path.with_name(f"{out_path.name}.data")], source_files(model_path))
    out_path.parent.mkdir(parents=True, exist_ok=True)

    def forward(record: dict[str, Any]) -> None:
        if on_progress is not None and record.get("kind") == "progress":
            on_progress(float(record.get("fraction", 0.0)), str(record.get("message", "")))

    with scratch_folder(out_path, "recipe") as scratch:
        params = {
            "model": str(model_path.absolute()), "recipe": recipe.to_dict(), "output": str(out_path.absolute()),
            "checks": checks.to_dict(), "scratch": str(scratch),
        }
        return run_job("run-recipe", params, forward)["steps"]


@contextlib.contextmanager
def _scratch_named(scratch: str | Path, index: int, pass_name: str) -> Iterator[None]:
    """Errors of a step name the step, not the scratch folder the user never sees."""
    try:
        yield
    except WorkbenchError as exc:
        text = str(exc).replace(str(Path(scratch).resolve() / f"step-{index}") + os.sep, "")
        text = text.replace(str(Path(scratch) / f"step-{index}") + os.sep, "")
        if text == str(exc):
            raise
        clone = copy.copy(exc)
        clone.args = (f"step {index} ({pass_name}): {text}", *exc.args[1:])
        raise clone from exc.__cause__


def _make_step(number: int, name: str, values: dict[str, Any], where: str) -> RecipeStep:
    try:
        pass_cls = get_pass(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}, step {number}: {exc}", exc.field) from None
    config = pass_cls.Config.from_dict(values, where=f"{where}, step {number} ({name})")
    return RecipeStep(name, config)
