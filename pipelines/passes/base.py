"""The pass framework: every optimization step is declared once, here is how.

A pass is a subclass of `Pass` with a kebab-case `name`, a `category`, a one-line
`description` and a `Config` dataclass whose fields carry their help, bounds and choices
(see `option`). Subclassing registers the pass; the CLI flags, the recipe schema and the GUI
form are all generated from that declaration.
"""
from __future__ import annotations

import dataclasses
import math
import reprlib
import re
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import onnx

from pipelines.errors import Cancelled, ConfigError, PassFailed, WorkbenchError

if TYPE_CHECKING:
    import onnx_ir as ir  # imported by the passes that use it: `passes` and `--help` stay quick

Category = Literal["cleanup", "fusion", "prune", "quantize", "convert"]
CATEGORIES: tuple[Category, ...] = typing.get_args(Category)

# Extra hints a GUI form needs beyond the Python type.
Widget = Literal["", "file", "folder", "nodes", "op-types"]


def option(
    default: Any,
    *,
    help: str,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[Any, ...] | None = None,
    widget: Widget = "",
    label: str = "",
) -> Any:
    """Declare one config field with its default, help text, bounds and choices.

    `label` names the field in the GUI form where its name says too little ("check_n");
    by default the name is spelled out (field_label).
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
                    choices=f.metadata.get("choices"),
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

    def changed_fields(self) -> dict[str, Any]:
        """Only the fields that differ from their defaults (what a recipe needs to say)."""
        return {
            s.name: getattr(self, s.name)
            for s in self.fields()
            if getattr(self, s.name) != s.default
        }


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


@dataclass
class PassContext:
    """What a running pass may use: progress reporting, cancellation and a scratch folder."""

    workdir: Path
    on_progress: Callable[[float, str], None] | None = None
    is_cancelled: Callable[[], bool] | None = None

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1]; also a cancellation point."""
        self.check_cancelled()
        if self.on_progress is not None:
            self.on_progress(min(max(fraction, 0.0), 1.0), message)

    def check_cancelled(self) -> None:
        """Raise Cancelled when the user asked to stop."""
        if self.is_cancelled is not None and self.is_cancelled():
            raise Cancelled("Cancelled by the user.")


@dataclass
class PassOutput:
    """What a pass implementation reports besides the model file it wrote."""

    warnings: list[str] = field(default_factory=list)
    # Flags such as "runs only on ONNX Runtime (CPUExecutionProvider)".
    flags: list[str] = field(default_factory=list)
    # Pass-specific figures (fusions applied, sparsity per tensor, ...); plain JSON data.
    details: dict[str, Any] = field(default_factory=dict)


# The fidelity a step of each kind is held to by default: the lowest cosine similarity of every
# output to the original's. Rewrites that keep the math differ by float rounding only; INT8
# quantization and pruning change values by design (the sample CNN, INT8 per channel after
# fold-batchnorm on random calibration data: cosine 0.989, top-1 unchanged).
DEFAULT_MIN_COSINE: dict[str, float] = {
    "cleanup": 0.9999, "fusion": 0.9999, "convert": 0.9999, "quantize": 0.98, "prune": 0.95,
}


class Pass:
    """Base of every pass. Subclasses declare name, category, description and Config."""

    name: ClassVar[str]
    category: ClassVar[Category]
    description: ClassVar[str]
    Config: ClassVar[type[PassConfig]] = PassConfig
    # Whether `transform` gets the model shape-inferred (every intermediate shape known).
    infer_shapes: ClassVar[bool] = True
    # Whether the output's value_info is the pass's result (fix-shapes) rather than a by-product.
    writes_value_info: ClassVar[bool] = False
    # Default fidelity tolerance of a step (cosine to the original); its category's unless declared.
    min_cosine: ClassVar[float]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cls.name):
            raise TypeError(f"pass name {cls.name!r} is not kebab-case")
        if cls.category not in CATEGORIES:
            raise TypeError(f"pass {cls.name}: unknown category {cls.category!r}")
        if "min_cosine" not in cls.__dict__:
            cls.min_cosine = DEFAULT_MIN_COSINE[cls.category]
        if cls.name in REGISTRY:
            raise TypeError(f"pass {cls.name} is declared twice")
        REGISTRY[cls.name] = cls

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        """Read `source`, write the transformed model to `target`; never touch `source`.

        The default loads the model once, calls `transform_ir` (or `transform`) and saves the
        result once, in the source's layout (external data stays external); passes built on
        tools that work on files (ONNX Runtime, onnxsim) override this instead.
        """
        from pipelines.model import ir_model, load_model, save_ir_model, save_model

        if self.works_on_ir():
            # The graph is parsed; the weights stay memory-mapped in the source's data file until
            # the save streams them into the new one. No protobuf of the whole model is built.
            loaded = load_model(source, infer_shapes=self.infer_shapes, weights=False)
            output = PassOutput(warnings=list(loaded.notes))  # what the front door normalised
            result = self.transform_ir(ir_model(loaded), config, ctx, output)
            keep = loaded.declared_value_info
            edit = None if self.writes_value_info else (lambda proto: drop_inferred_value_info(proto.graph, keep=keep))
            save_ir_model(result, target, external_data=True if loaded.has_external_data else None, edit=edit)
            return output
        loaded = load_model(source, infer_shapes=self.infer_shapes)
        output = PassOutput(warnings=list(loaded.notes))
        new_model = self.transform(loaded.proto, config, ctx, output)
        if not self.writes_value_info:
            drop_inferred_value_info(new_model.graph, keep=loaded.declared_value_info)
        save_model(new_model, target, external_data=True if loaded.has_external_data else None)
        return output

    @classmethod
    def works_on_ir(cls) -> bool:
        """True when the pass implements `transform_ir` (the in-memory onnx-ir contract)."""
        return cls.transform_ir is not Pass.transform_ir

    def transform_ir(self, model: ir.Model, config: PassConfig, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Return the transformed onnx-ir model (`model` itself, edited, or a new one).

        Preferred over `transform`: external weights arrive memory-mapped and are written once
        by the save, so a pass works on models of any size.
        """
        raise NotImplementedError(f"pass {self.name} does not implement transform_ir")

    def transform(
        self, model: onnx.ModelProto, config: PassConfig, ctx: PassContext, output: PassOutput
    ) -> onnx.ModelProto:
        """Return the transformed model (a new object or `model` itself, which is a private copy).

        The protobuf contract: every weight is read into `model` first. Passes that can work in
        onnx-ir implement `transform_ir` instead.
        """
        raise NotImplementedError(f"pass {self.name} implements neither apply nor transform")

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Plain-data description for `passes --json` and the GUI."""
        return {
            "name": cls.name,
            "category": cls.category,
            "description": cls.description,
            "min_cosine": cls.min_cosine,
            "config": [s.to_dict() for s in cls.Config.fields()],
        }


REGISTRY: dict[str, type[Pass]] = {}

# Domains whose ops ONNX shape inference knows; outputs of any other op cannot be re-inferred.
_STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")


def drop_unused_opset_imports(model: onnx.ModelProto, keep: Collection[str] = ()) -> None:
    """Remove opset imports of domains no node uses (tools such as onnxsim and ORT's optimizer
    import every domain they know), except the domains in `keep` (e.g. the source's own)."""
    from pipelines.validation import iter_graphs

    used = {node.domain for graph in iter_graphs(model.graph) for node in graph.node}
    used |= {node.domain for function in model.functions for node in function.node}
    imports = [o for o in model.opset_import if o.domain in used or o.domain in keep or o.domain in ("", "ai.onnx")]
    if len(imports) != len(model.opset_import):
        del model.opset_import[:]
        model.opset_import.extend(imports)


def drop_inferred_value_info(graph: onnx.GraphProto, keep: frozenset[str]) -> None:
    """Remove the value_info that load-time shape inference added, where ONNX can infer it again.

    Written into the output, those annotations change what ONNX Runtime fuses (measured: the
    sample transformer ran 20% slower after a no-op cleanup). They are kept where they carry
    knowledge nothing can recompute: tensors computed by, or downstream of, ops outside the
    standard domains (e.g. ONNX Runtime's fused Attention), which later passes such as
    quantization need typed.
    """
    uninferable: set[str] = set()
    for node in graph.node:  # ONNX graphs are topologically sorted
        if node.domain not in _STANDARD_DOMAINS or uninferable.intersection(node.input):
            uninferable.update(node.output)
    kept = [v for v in graph.value_info if v.name in keep or v.name in uninferable]
    if len(kept) != len(graph.value_info):
        del graph.value_info[:]
        graph.value_info.extend(kept)


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


__all__ = [
    "CATEGORIES",
    "Cancelled",
    "Category",
    "ConfigError",
    "FieldSpec",
    "Pass",
    "PassConfig",
    "PassContext",
    "PassFailed",
    "PassOutput",
    "REGISTRY",
    "WorkbenchError",
    "option",
    "parse_field_text",
]
