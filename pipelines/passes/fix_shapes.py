"""fix-shapes: pin dynamic dimensions to sizes, or make the batch dimension dynamic."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import onnx
from onnx import numpy_helper

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.inputs import graph_inputs
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option

if TYPE_CHECKING:
    import onnx_ir as ir

BATCH_DIM = "batch"
_SHAPE_ENTRY = re.compile(r"^(?P<name>.+):(?P<dims>\d+(?:x\d+)*)$")


def parse_input_shapes(entries: list[str], pass_name: str) -> dict[str, list[int]]:
    """Parse 'NAME:1x3x224x224' entries into {name: [1, 3, 224, 224]}; ConfigError names the bad one."""
    shapes: dict[str, list[int]] = {}
    for entry in entries:
        match = _SHAPE_ENTRY.match(entry.strip())
        if not match:
            raise ConfigError(
                f"pass '{pass_name}': input shape '{entry}' should look like NAME:1x3x224x224.", "input_shapes"
            )
        shapes[match["name"]] = [int(d) for d in match["dims"].split("x")]
    return shapes


def dim_params(model: onnx.ModelProto) -> set[str]:
    """Every named (symbolic) dimension on the graph's inputs and outputs."""
    values = list(model.graph.input) + list(model.graph.output)
    return {d.dim_param for v in values for d in v.type.tensor_type.shape.dim if d.dim_param}


def fix_dims(model: onnx.ModelProto, dims: dict[str, int], input_shapes: dict[str, list[int]], pass_name: str) -> None:
    """Set named dims and whole input shapes in place (ONNX Runtime's make_dynamic_shape_fixed helpers)."""
    from onnxruntime.tools.onnx_model_utils import make_dim_param_fixed, make_input_shape_fixed

    known = dim_params(model)
    unknown = sorted(set(dims) - known)
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            f"pass '{pass_name}': the model has no dimension named '{unknown[0]}' (named dimensions: {listed}).", "dims"
        )
    for name, size in sorted(dims.items()):
        make_dim_param_fixed(model.graph, name, size)
    real_inputs = {i.name for i in graph_inputs(model)}
    for name, shape in input_shapes.items():
        if name not in real_inputs:
            raise ConfigError(
                f"pass '{pass_name}': the model has no input named '{name}' (inputs: {', '.join(sorted(real_inputs))}).",
                "input_shapes",
            )
        try:
            make_input_shape_fixed(model.graph, name, shape)
        except ValueError as exc:
            raise ConfigError(f"pass '{pass_name}': input '{name}': {str(exc).rstrip('.')}.", "input_shapes") from exc


def make_batch_dynamic(model: onnx.ModelProto, output: PassOutput) -> None:
    """Name the first axis of every input and output 'batch'; warn about Reshapes that pin it."""
    fixed_batches = set()
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name in {t.name for t in model.graph.initializer}:
            continue
        dims = value.type.tensor_type.shape.dim
        if not dims:
            continue
        if dims[0].HasField("dim_value"):
            fixed_batches.add(dims[0].dim_value)
        dims[0].Clear()
        dims[0].dim_param = BATCH_DIM
    constants = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Reshape" and len(node.input) > 1 and node.input[1] in constants:
            shape = numpy_helper.to_array(constants[node.input[1]])
            if shape.size and int(shape.flat[0]) in fixed_batches and int(shape.flat[0]) > 1:
                output.warnings.append(
                    f"fix-shapes: Reshape '{node.name or node.output[0]}' pins the first axis to {int(shape.flat[0])}; "
                    "other batch sizes may fail."
                )


class FixShapes(Pass):
    """Make dynamic dimensions fixed, or the batch dimension dynamic, consistently across the graph."""

    name = "fix-shapes"
    category = "convert"
    # Concrete intermediate shapes are what this pass is for: keep them in the output.
    writes_value_info = True
    description = "Fix dynamic dimensions to given sizes (by name or per input), or make the batch dimension dynamic."

    @dataclass(frozen=True)
    class Config(PassConfig):
        dims: dict[str, int] = option({}, help="Named dimensions to fix, e.g. batch:1,sequence:128.", min=1)
        input_shapes: list[str] = option([], help="Whole input shapes, e.g. input_ids:1x128.")
        make_batch_dynamic: bool = option(False, help="Name the first axis of every input and output 'batch'.")

        def validate(self) -> None:
            """Fields are checked one by one, then the combinations that contradict each other."""
            super().validate()
            for size in self.dims.values():
                if size < 1:
                    raise ConfigError(f"field 'dims' sizes must be at least 1; got {size}.", "dims")
            parse_input_shapes(self.input_shapes, "fix-shapes")
            if self.make_batch_dynamic and (self.dims or self.input_shapes):
                raise ConfigError(
                    "fix-shapes: make_batch_dynamic cannot be combined with dims or input_shapes; run the pass twice.",
                    "make_batch_dynamic",
                )

    def transform_ir(self, model_ir: ir.Model, config: PassConfig, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Apply the shape changes, then recompute every intermediate shape from the new inputs."""
        from onnx_workbench.pipelines.ir_weights import attach_weights, detach_weights

        assert isinstance(config, FixShapes.Config)
        # ONNX Runtime's shape helpers and onnx's shape inference work on a ModelProto: they get
        # the graph with stand-ins that carry the weights' shapes, never their data.
        model, weights = detach_weights(model_ir)
        before = sorted(dim_params(model))
        if config.make_batch_dynamic:
            make_batch_dynamic(model, output)
        elif config.dims or config.input_shapes:
            fix_dims(model, config.dims, parse_input_shapes(config.input_shapes, self.name), self.name)
        else:
            output.warnings.append("fix-shapes: no dims, input_shapes or make_batch_dynamic given; nothing changed.")
            return model_ir
        # Intermediate shapes were inferred from the old inputs; infer them again from the new
        # ones (the graph outputs too). data_prop follows Shape -> Gather -> Slice chains, which
        # dynamic-length models use.
        del model.graph.value_info[:]
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
        output.details.update({"dynamic_before": before, "dynamic_after": sorted(dim_params(model))})
        return attach_weights(model, weights)
