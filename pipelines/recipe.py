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
name the step number and the field. Running a recipe: pipelines.replay.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes.base import PassConfig
from onnx_workbench.pipelines.passes.engine import get_pass
from onnx_workbench.pipelines.safe_write import write_text_atomic

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
        import yaml  # here and below, not at the top: the window imports this module at start-up, where PyYAML costs 30-40 ms

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


def parse_recipe(text: str, where: str = "recipe") -> Recipe:
    """Parse and validate recipe YAML text (size, nesting and alias expansion limited first)."""
    import yaml

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
    import yaml

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


def _make_step(number: int, name: str, values: dict[str, Any], where: str) -> RecipeStep:
    try:
        pass_cls = get_pass(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}, step {number}: {exc}", exc.field) from None
    config = pass_cls.Config.from_dict(values, where=f"{where}, step {number} ({name})")
    return RecipeStep(name, config)
