"""convert-opset: move a model to another ONNX opset with onnx's version converter."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import onnx
import onnx.defs
import onnx.version_converter

from onnx_workbench.pipelines.errors import PassFailed
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option

if TYPE_CHECKING:
    import onnx_ir as ir

# The converter has adapters back to opset 7 at most for most ops.
MIN_OPSET = 7


def default_opset(model: ir.Model) -> int:
    """The model's opset for the default ONNX domain."""
    for domain in ("", "ai.onnx"):
        if domain in model.opset_imports:
            return model.opset_imports[domain]
    raise PassFailed("pass 'convert-opset': the model imports no standard ONNX opset, so there is nothing to convert.")


def _converter_error(exc: Exception, source: int, target: int) -> PassFailed:
    """One sentence from the converter's C++ assertion text, naming the op when it says which."""
    text = str(exc)
    op = re.search(r"for (\w+)\s*$", text.strip()) or re.search(r"[Oo]p(?:erator)? (\w+)", text)
    if "No Adapter" in text and op:
        return PassFailed(
            f"pass 'convert-opset': onnx cannot convert {op.group(1)} from opset {source} to {target}; "
            "pick an opset between the two or keep the current one."
        )
    detail = text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
    detail = re.sub(r"^.*?Assertion `.*?` failed: ", "", detail).rstrip(".")
    return PassFailed(f"pass 'convert-opset': onnx cannot convert this model from opset {source} to {target} ({detail}).")


class ConvertOpset(Pass):
    """Rewrite every node to the form it takes in the target opset."""

    name = "convert-opset"
    category = "convert"
    description = "Convert the model to another ONNX opset version with onnx's version converter."

    @dataclass(frozen=True)
    class Config(PassConfig):
        opset: int = option(
            17,
            help="Target opset of the default ONNX domain.",
            min=MIN_OPSET,
            max=onnx.defs.onnx_opset_version(),
        )

    def transform_ir(self, model_ir: ir.Model, config: PassConfig, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Convert, or keep the model unchanged with a note when it is already at the target opset."""
        assert isinstance(config, ConvertOpset.Config)
        source = default_opset(model_ir)
        output.details.update({"from_opset": source, "to_opset": config.opset})
        if source == config.opset:
            output.warnings.append(f"convert-opset: the model is already at opset {source}; nothing changed.")
            return model_ir
        return convert_opset(model_ir, config.opset)


def convert_opset(model: ir.Model, opset: int) -> ir.Model:
    """`model` at `opset` (onnx's version converter), its weights untouched; PassFailed says why not."""
    import onnx_ir as ir

    from onnx_workbench.pipelines.ir_weights import call_without_weights

    source = default_opset(model)
    # onnx's C++ converter knows every opset pair (onnxscript's own converter only upgrades
    # from opset 18), but it takes a ModelProto: it gets the graph with the weights turned
    # into graph inputs, and the weights are put back by name.
    inputs = len(model.graph.inputs)
    try:
        proto = call_without_weights(functools.partial(onnx.version_converter.convert_version, target_version=opset), model)
    except Exception as exc:  # noqa: BLE001 - the converter raises bare RuntimeErrors
        raise _converter_error(exc, source, opset) from exc
    converted = ir.serde.deserialize_model(proto)
    for value in converted.graph.inputs[inputs:]:
        weight = model.graph.initializers.get(value.name or "")
        if weight is not None and value.name not in converted.graph.initializers:
            value.const_value = weight.const_value
            converted.graph.register_initializer(value)
    del converted.graph.inputs[inputs:]
    # The converter keeps the old ir_version; newer opsets need a newer IR to load in ORT.
    converted.ir_version = max(converted.ir_version, min_ir_version(opset))
    try:
        call_without_weights(onnx.checker.check_model, converted)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0].rstrip(".")
        raise PassFailed(f"pass 'convert-opset': the model converted to opset {opset} is not valid ONNX ({first}).") from exc
    return converted


def min_ir_version(opset: int) -> int:
    """The lowest IR version that may import `opset` (onnx's own release table)."""
    for _release, ir_version, ai_onnx, *_ in onnx.helper.VERSION_TABLE:
        if ai_onnx >= opset:
            return ir_version
    return onnx.IR_VERSION
