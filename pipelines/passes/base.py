"""The pass framework: every optimization step is declared once, here is how.

A pass is a subclass of `Pass` with a kebab-case `name`, a `category`, a one-line
`description` and a `Config` dataclass whose fields carry their help, bounds and choices
(see `option`). Subclassing registers the pass; the CLI flags, the recipe schema and the GUI
form are all generated from that declaration.

A pass module imports its tools (onnx-ir, onnxscript, ONNX Runtime and the implementation
modules built on them) where the pass runs, not at the top: every declaration is imported by
`passes` and by the GUI process, which runs no pass, and those imports take ~2 s and hold the
GIL for up to 115 ms at a time, a stall of the window even from a thread.
"""
from __future__ import annotations

import re
import typing
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import onnx

from onnx_workbench.pipelines.config import FieldSpec, PassConfig, option, parse_field_text
from onnx_workbench.pipelines.errors import Cancelled, ConfigError, PassFailed, WorkbenchError
from onnx_workbench.pipelines.step_context import PassContext

if TYPE_CHECKING:
    import onnx_ir as ir

Category = Literal["cleanup", "fusion", "prune", "quantize", "convert"]
CATEGORIES: tuple[Category, ...] = typing.get_args(Category)


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
        from onnx_workbench.pipelines.model import ir_model, load_model, save_ir_model, save_model

        if self.uses_ir(source):
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

    def uses_ir(self, source: Path) -> bool:
        """Whether `apply` runs `transform_ir` on this source (a pass with both forms may choose by size)."""
        return self.works_on_ir()

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
    from onnx_workbench.pipelines.validation import iter_graphs

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


# Passes declare their Config and get their context from here; the pieces live in the modules
# that profiling and calibration share (pipelines.config, pipelines.step_context).
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
