"""Settings declared once: each field carries its help, bounds and choices.

Pass configs, profile options and every other settings dataclass subclass `PassConfig` and
declare their fields with `option`; the CLI flags, the recipe schema and the GUI forms are all
generated from that declaration, and values from any of them are validated here.
"""
from __future__ import annotations

import dataclasses
import math
import reprlib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from onnx_workbench.pipelines.errors import ConfigError

# Fields older recipes and session folders may still carry, ignored when read: measure_speed
# (the quantization passes timed themselves; the engine times every step now).
RETIRED_FIELDS = frozenset({"measure_speed"})

# Extra hints a GUI form needs beyond the Python type.
Widget = Literal["", "file", "folder", "nodes", "op-types"]


def option(
    default: Any,
    *,
    help: str,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]] | None = None,
    widget: Widget = "",
    label: str = "",
) -> Any:
    """Declare one config field with its default, help text, bounds and choices.

    `choices` that depend on the machine (ONNX Runtime's providers) are given as a function,
    called when the field is first described or checked, so declaring the field imports
    nothing. `label` names the field in the GUI form where its name says too little
    ("check_n"); by default the name is spelled out (field_label).
    """
    metadata = {"help": help, "min": min, "max": max, "choices": choices, "widget": widget, "label": label}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


# Words a field name abbreviates, spelled as a form label shows them.
_LABEL_WORDS = {"mb": "(MB)", "bn": "BatchNorm", "io": "I/O", "ms": "(ms)", "fp16": "FP16", "fp32": "FP32",
                "int8": "INT8", "qdq": "QDQ", "num": "number of", "n": "count", "op": "op", "ort": "ONNX Runtime"}


def field_label(name: str) -> str:
    """'tensor_size_threshold_mb' -> 'Tensor size threshold (MB)': a config field's name for people."""
    words = [_LABEL_WORDS.get(word, word) for word in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class FieldSpec:
    """What a form, a CLI flag or a recipe validator needs to know about one config field."""

    name: str
    type: str  # int, float, bool, str, list[str], list[int], dict[str,int]
    default: Any
    help: str
    min: float | None
    max: float | None
    choices: tuple[Any, ...] | None
    widget: Widget
    label: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for `passes --json`."""
        data = dataclasses.asdict(self)
        data["choices"] = list(self.choices) if self.choices is not None else None
        return data


@dataclass(frozen=True)
class PassConfig:
    """Base of every pass config; subclasses add fields declared with `option`."""

    @classmethod
    def fields(cls) -> list[FieldSpec]:
        """The declared fields with their resolved types and metadata."""
        hints = typing.get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            specs.append(
                FieldSpec(
                    name=f.name,
                    type=_type_name(hints[f.name]),
                    default=default,
                    help=f.metadata.get("help", ""),
                    min=f.metadata.get("min"),
                    max=f.metadata.get("max"),
                    choices=_resolved(f.metadata.get("choices")),
                    widget=f.metadata.get("widget", ""),
                    label=f.metadata.get("label") or field_label(f.name),
                )
            )
        return specs

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "") -> PassConfig:
        """Build a validated config; unknown fields, wrong types and bad values raise ConfigError."""
        specs = {s.name: s for s in cls.fields()}
        prefix = f"{where}: " if where else ""
        values = {name: value for name, value in values.items() if name not in RETIRED_FIELDS or name in specs}
        unknown = sorted(set(values) - set(specs))
        if unknown:
            known = ", ".join(specs) or "none"
            raise ConfigError(
                f"{prefix}unknown field {_shown(unknown[0])} (known fields: {known}).", str(unknown[0])[:MAX_SHOWN]
            )
        coerced = {name: _coerce(specs[name], value, prefix) for name, value in values.items()}
        config = cls(**coerced)
        config.validate()
        return config

    def validate(self) -> None:
        """Check bounds and choices of every field; subclasses add cross-field checks."""
        for spec in self.fields():
            _check_value(spec, getattr(self, spec.name), "")

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data, as written into recipes."""
        return dataclasses.asdict(self)



def parse_field_text(spec: FieldSpec, text: str) -> Any:
    """Parse a `KEY=VALUE` value from the command line according to the field's type."""
    if spec.type == "bool":
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"field '{spec.name}' takes true or false, not {_shown(text)}.", spec.name)
    if spec.type == "int":
        return _parse_number(spec, text, int)
    if spec.type == "float":
        return _parse_number(spec, text, float)
    if spec.type.startswith("list["):
        items = [item.strip() for item in text.split(",") if item.strip()]
        if spec.type == "list[int]":
            return [_parse_number(spec, item, int) for item in items]
        return items
    if spec.type == "dict[str,int]":
        # NAME:VALUE pairs separated by commas, e.g. "batch:1,sequence:128"
        result: dict[str, int] = {}
        for item in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = item.rpartition(":")
            if not sep or not key:
                raise ConfigError(
                    f"field '{spec.name}' takes NAME:VALUE pairs separated by commas, not {_shown(text)}.",
                    spec.name,
                )
            result[key] = _parse_number(spec, value, int)
        return result
    return text


def _resolved(choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]] | None) -> tuple[Any, ...] | None:
    return choices() if callable(choices) else choices


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is list:
        return f"list[{typing.get_args(hint)[0].__name__}]"
    if origin is dict:
        key, value = typing.get_args(hint)
        return f"dict[{key.__name__},{value.__name__}]"
    if origin is Literal:
        return "str"
    return hint.__name__


def _parse_number(spec: FieldSpec, text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(
            f"field '{spec.name}' takes {'a whole number' if kind is int else 'a number'}, not {_shown(text)}.",
            spec.name,
        ) from None


# Values quoted in error sentences are cut: a recipe's bad value can be megabytes of YAML.
MAX_SHOWN = 60
_SHOWN = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict, _SHOWN.maxstring, _SHOWN.maxother = 2, 4, 4, MAX_SHOWN, MAX_SHOWN


def _shown(value: Any) -> str:
    """A bad value as quoted in an error sentence: its repr, cut short."""
    return _SHOWN.repr(value)


def _coerce(spec: FieldSpec, value: Any, prefix: str) -> Any:
    expected = {"int": int, "float": (int, float), "bool": bool, "str": str}
    if spec.type in expected:
        ok = isinstance(value, expected[spec.type]) and not (
            spec.type in ("int", "float") and isinstance(value, bool)
        )
        if not ok:
            raise ConfigError(
                f"{prefix}field '{spec.name}' must be {spec.type}, got {_shown(value)}.", spec.name
            )
        value = float(value) if spec.type == "float" else value
        if spec.type == "float" and not math.isfinite(value):
            # NaN passes every bound check (all comparisons are false): refuse it by name.
            raise ConfigError(f"{prefix}field '{spec.name}' must be a finite number, got {value}.", spec.name)
    elif spec.type.startswith("list["):
        if not isinstance(value, list):
            raise ConfigError(f"{prefix}field '{spec.name}' must be a list, got {_shown(value)}.", spec.name)
        item_type = int if spec.type == "list[int]" else str
        if not all(isinstance(v, item_type) and not isinstance(v, bool) for v in value):
            raise ConfigError(
                f"{prefix}field '{spec.name}' must be a list of {item_type.__name__}.", spec.name
            )
    elif spec.type == "dict[str,int]":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in value.items()
        ):
            raise ConfigError(
                f"{prefix}field '{spec.name}' must map names to whole numbers.", spec.name
            )
    _check_value(spec, value, prefix)
    return value


def _check_value(spec: FieldSpec, value: Any, prefix: str) -> None:
    values = value if isinstance(value, list) else [value]
    for item in values:
        if spec.choices is not None and item not in spec.choices:
            allowed = ", ".join(str(c) for c in spec.choices)
            raise ConfigError(
                f"{prefix}field '{spec.name}' must be one of {allowed}; got {_shown(item)}.", spec.name
            )
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if spec.min is not None and item < spec.min:
                raise ConfigError(
                    f"{prefix}field '{spec.name}' must be at least {spec.min}; got {item}.", spec.name
                )
            if spec.max is not None and item > spec.max:
                raise ConfigError(
                    f"{prefix}field '{spec.name}' must be at most {spec.max}; got {item}.", spec.name
                )
