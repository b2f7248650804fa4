"""convert-opset: move a model to another ONNX opset with onnx's version converter."""
from __future__ import annotations

import re
from dataclasses import dataclass

import onnx
import onnx.defs
import onnx.version_converter

from pipelines.errors import PassFailed
from pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option

# The converter has adapters back to opset 7 at most for most ops.
MIN_OPSET = 7


def default_opset(model: onnx.ModelProto) -> int:
    """The model's opset for the default ONNX domain."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
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

    def transform(
        self, model: onnx.ModelProto, config: PassConfig, ctx: PassContext, output: PassOutput
    ) -> onnx.ModelProto:
        """Convert, or copy unchanged with a note when the model is already at the target opset."""
        assert isinstance(config, ConvertOpset.Config)
        source = default_opset(model)
        output.details.update({"from_opset": source, "to_opset": config.opset})
        if source == config.opset:
            output.warnings.append(f"convert-opset: the model is already at opset {source}; nothing changed.")
            return model
        try:
            converted = onnx.version_converter.convert_version(model, config.opset)
        except Exception as exc:  # noqa: BLE001 - the converter raises bare RuntimeErrors
            raise _converter_error(exc, source, config.opset) from exc
        # The converter keeps the old ir_version; newer opsets need a newer IR to load in ORT.
        converted.ir_version = max(converted.ir_version, min_ir_version(config.opset))
        try:
            onnx.checker.check_model(converted)
        except onnx.checker.ValidationError as exc:
            first = str(exc).strip().splitlines()[0].rstrip(".")
            raise PassFailed(
                f"pass 'convert-opset': the model converted to opset {config.opset} is not valid ONNX ({first})."
            ) from exc
        return converted


def min_ir_version(opset: int) -> int:
    """The lowest IR version that may import `opset` (onnx's own release table)."""
    for _release, ir_version, ai_onnx, *_ in onnx.helper.VERSION_TABLE:
        if ai_onnx >= opset:
            return ir_version
    return onnx.IR_VERSION
