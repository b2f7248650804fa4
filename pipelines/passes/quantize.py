"""Quantization passes built on ONNX Runtime's tools: dynamic INT8, FP16 and weight-only 4/8-bit.

Static (calibrated) quantization lives in `quantize_static.py`; the helpers here (refusing
models that are already quantized, opset upgrades, quiet ORT tools, size details)
are shared by all four passes.
"""
from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx

from onnx_workbench.pipelines.errors import ConfigError, PassFailed
from onnx_workbench.pipelines.model import (
    EXTERNAL_DATA_THRESHOLD_BYTES,
    ir_model,
    load_model,
    pin_external_locations,
    save_ir_model,
    save_model,
)
from onnx_workbench.pipelines import units
from onnx_workbench.pipelines.model_files import model_size_bytes
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option
from onnx_workbench.pipelines.staging import scratch_folder, staged_model

if TYPE_CHECKING:
    import onnx_ir as ir

# Ops that only appear in a model that was quantized already; quantizing twice compounds error
# and ORT's tools mis-handle these graphs, so every quantization pass refuses them.
QUANTIZED_OP_TYPES = frozenset(
    {
        "QuantizeLinear",
        "DequantizeLinear",
        "DynamicQuantizeLinear",
        "MatMulNBits",
        "MatMulInteger",
        "ConvInteger",
        "DynamicQuantizeMatMul",
        "GatherBlockQuantized",
        "QGemm",
    }
)


@dataclass
class SourceInfo:
    """What the passes need to know about an input file before touching it."""

    proto: onnx.ModelProto  # graph only: external tensors are not loaded
    opset: int
    large: bool  # has external data or is big enough that it must keep it


def inspect_source(path: Path) -> SourceInfo:
    """Read the graph of `path` (not its external tensors), its opset and whether it is large."""
    # load_model refuses missing, corrupt or hostile files (external data outside the folder)
    # with one sentence; the pass itself works on files, so the weights are not read.
    loaded = load_model(path, infer_shapes=False, weights=False)
    large = loaded.has_external_data or loaded.size_bytes > EXTERNAL_DATA_THRESHOLD_BYTES
    return SourceInfo(loaded.proto, default_opset(loaded.proto), large)


def default_opset(model: onnx.ModelProto) -> int:
    """The version of the default ('' or 'ai.onnx') operator set."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def quantized_ops(model: onnx.ModelProto) -> list[str]:
    """Op types in `model` that show it is quantized already (QDQ, QLinear*, integer kernels)."""
    found = {
        n.op_type for n in model.graph.node if n.op_type in QUANTIZED_OP_TYPES or n.op_type.startswith("QLinear")
    }
    return sorted(found)


def refuse_quantized(model: onnx.ModelProto, pass_name: str) -> None:
    """Raise ConfigError when the model (its graph is enough) is quantized already or holds no float32 weights."""
    found = quantized_ops(model)
    if found:
        raise ConfigError(
            f"this model is already quantized (it has {', '.join(found[:3])} nodes); apply {pass_name} to the float version instead."
        )
    kinds = {t.data_type for t in model.graph.initializer}
    if onnx.TensorProto.FLOAT not in kinds and kinds & {onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}:
        # ORT's quantizers only read float32 weights; a half-precision model would come out unchanged.
        raise ConfigError(
            f"this model's weights are 16-bit floats, which {pass_name} cannot read; apply it to the float32 version instead."
        )


def upgrade_opset(
    source: Path, needed: int, reason: str, workdir: Path, info: SourceInfo, output: PassOutput
) -> Path:
    """Return `source`, or a copy converted to opset `needed` when it is older; says so in warnings."""
    if info.opset >= needed:
        return source
    from onnx_workbench.pipelines.passes.opset import convert_opset

    # Graph-only load: the weights are memory-mapped and streamed into the copy's data file.
    loaded = load_model(source, infer_shapes=False, weights=False)
    try:
        converted = convert_opset(ir_model(loaded), needed)
    except PassFailed as exc:
        raise PassFailed(
            f"the model is opset {info.opset} and {reason} needs opset {needed}, but converting it failed ({first_line(exc)}); convert it with convert-opset first."
        ) from exc
    upgraded = workdir / f"opset{needed}_{source.name}"
    save_ir_model(converted, upgraded, external_data=info.large)
    output.warnings.append(f"model upgraded from opset {info.opset} to {needed} because {reason} needs it.")
    return upgraded


def size_details(output: PassOutput, source: Path, target: Path) -> None:
    """Record file sizes before and after (external data included)."""
    output.details["size_bytes"] = {"parent": model_size_bytes(source), "quantized": model_size_bytes(target)}


@contextlib.contextmanager
def quiet_ort_tools() -> Iterator[None]:
    """Keep ORT quantization tools from reconfiguring logging or printing on stdout.

    `matmul_nbits_quantizer` calls logging.basicConfig(level=INFO) at import, which would make
    the whole application log at INFO, so the root logger's handlers and level are restored.
    The calibrators and RTN print progress with print(); stdout carries `--json` output and
    worker messages, so those prints go to stderr.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, without a trailing full stop."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__).rstrip(".")


def quantized_bytes(model: onnx.ModelProto, outputs: tuple[str, ...]) -> int:
    """Bytes of the constant inputs (packed weights, scales, zero points) of the nodes writing `outputs`."""
    from onnx_workbench.pipelines.validation import tensor_bytes

    initializers = {t.name: t for t in model.graph.initializer}
    wanted = set(outputs)
    return sum(
        tensor_bytes(initializers[name])
        for node in model.graph.node
        if wanted.intersection(node.output)
        for name in node.input
        if name in initializers
    )


@dataclass
class QuantizeJob:
    """What a quantization pass's hooks work with: the files, the source's facts, the settings, the output."""

    source: Path
    staged: Path  # where the quantizer writes; moved beside the target, data files first, on success
    scratch: Path  # for intermediates (opset upgrades, pre-processing), removed afterwards
    info: SourceInfo
    config: PassConfig
    ctx: PassContext
    output: PassOutput


class OrtQuantization:
    """The one skeleton of the passes built on ONNX Runtime's quantizers, which read and write files.

    Mixed into a Pass (`class QuantizeDynamic(OrtQuantization, Pass)`): refuse a model that is
    quantized already, give the quantizer a scratch folder and a staged output, keep it quiet,
    refuse a result that quantized nothing, record the sizes. A pass says how it quantizes
    (`quantize`), what to say when nothing was (`nothing_quantized`), what it notes about the
    result (`review`) and where the result runs well (`runs_on`).
    """

    name: str
    nothing_quantized = ""  # the sentence when the quantizer left the model without quantized ops
    runs_on = ""  # a version flag: where the quantized model runs fast, or only

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        """Quantize `source` into `target` through the pass's hooks."""
        info = inspect_source(source)
        refuse_quantized(info.proto, self.name)
        output = PassOutput()
        with scratch_folder(target, "quant") as scratch, staged_model(target) as staged:
            job = QuantizeJob(source, staged, scratch, info, config, ctx, output)
            with quiet_ort_tools():
                self.quantize(job)
            ctx.check_cancelled()
            quantized = onnx.load(str(staged), load_external_data=False)  # the graph: weights stay on disk
            if not quantized_ops(quantized):
                raise PassFailed(self.nothing_quantized)
            self.review(quantized, job)
        if self.runs_on:
            output.flags.append(self.runs_on)
        size_details(output, source, target)
        return output

    def quantize(self, job: QuantizeJob) -> None:
        """Write the quantized model (and its external data) at `job.staged`."""
        raise NotImplementedError

    def review(self, quantized: onnx.ModelProto, job: QuantizeJob) -> None:
        """Note what the quantized graph shows (warnings, details); may rewrite the graph at `job.staged`."""


# --------------------------------------------------------------------------- quantize-dynamic


@dataclass(frozen=True)
class QuantizeDynamicConfig(PassConfig):
    """Settings of quantize-dynamic."""

    op_types: list[str] = option(
        [], help="op types to quantize (empty: every type ONNX Runtime can quantize dynamically)", widget="op-types"
    )
    per_channel: bool = option(False, help="one scale per output channel of each weight (needs opset 13)")
    reduce_range: bool = option(False, help="7-bit weights: avoids overflow on CPUs without VNNI")
    weight_type: str = option("int8", help="integer type of the weights", choices=("int8", "uint8"))
    nodes_to_exclude: list[str] = option([], help="nodes to keep in float", widget="nodes")


class QuantizeDynamic(OrtQuantization, Pass):
    """Weights to INT8 ahead of time, activations quantized on the fly; no calibration data."""

    name = "quantize-dynamic"
    category = "quantize"
    description = "INT8 weights, activations quantized at run time (best for transformers and RNNs on CPU)."
    Config = QuantizeDynamicConfig
    nothing_quantized = (
        "quantize-dynamic found nothing to quantize (no MatMul, Gemm, Conv, Attention, LSTM or GRU with constant weights); check op_types and nodes_to_exclude."
    )
    runs_on = "integer kernels: fastest on ONNX Runtime CPU"

    def quantize(self, job: QuantizeJob) -> None:
        """onnxruntime.quantization.quantize_dynamic, after an opset upgrade where the settings need one."""
        from onnxruntime.quantization import QuantType, quantize_dynamic

        config, info = job.config, job.info
        assert isinstance(config, QuantizeDynamicConfig)
        model_path = job.source
        if config.per_channel:
            # Per-channel scales on opset < 13 produce an invalid model (DequantizeLinear
            # gained its axis attribute in 13).
            model_path = upgrade_opset(job.source, 13, "per-channel quantization", job.scratch, info, job.output)
        elif info.opset < 11:
            model_path = upgrade_opset(job.source, 13, "dynamic quantization", job.scratch, info, job.output)
        job.ctx.progress(0.2, "quantizing weights")
        quantize_dynamic(
            model_path,
            job.staged,
            op_types_to_quantize=config.op_types or None,
            per_channel=config.per_channel,
            reduce_range=config.reduce_range,
            weight_type=QuantType.QInt8 if config.weight_type == "int8" else QuantType.QUInt8,
            nodes_to_exclude=config.nodes_to_exclude or None,
            use_external_data_format=info.large,
        )

    def review(self, quantized: onnx.ModelProto, job: QuantizeJob) -> None:
        """Warn about dynamically quantized Conv layers."""
        if "ConvInteger" in quantized_ops(quantized):
            # Measured here: the dynamically quantized sample CNN ran at 0.1-0.2x FP32 speed.
            job.output.warnings.append(
                "Conv layers were quantized dynamically (ConvInteger), which is slow on ONNX Runtime CPU; use quantize-static for CNNs or set op_types to MatMul,Gemm."
            )


# --------------------------------------------------------------------------- to-fp16


@dataclass(frozen=True)
class ToFp16Config(PassConfig):
    """Settings of to-fp16."""

    keep_io_types: bool = option(True, help="keep float32 inputs and outputs (casts are added inside)")
    op_block_list: list[str] = option(
        [], help="op types to keep in float32 (empty: ONNX Runtime's default list)", widget="op-types"
    )
    node_block_list: list[str] = option([], help="nodes to keep in float32", widget="nodes")


class ToFp16(Pass):
    """Float32 weights and activations to float16 (half the size; fast on GPUs, not on most CPUs)."""

    name = "to-fp16"
    category = "quantize"
    description = "Convert float32 tensors to float16: half the size; fast on GPUs, usually not on CPUs."
    Config = ToFp16Config
    min_cosine = 0.999  # float16 rounds every value to 11 significant bits: closer than INT8

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        """Convert in memory (transform_ir), then record the sizes of the saved files."""
        output = super().apply(source, target, config, ctx)
        output.flags.append("float16: fast on GPUs; most CPUs compute it through casts")
        size_details(output, source, target)
        return output

    def transform_ir(self, model_ir: ir.Model, config: PassConfig, ctx: PassContext, output: PassOutput) -> ir.Model:
        """Run ONNX Runtime's convert_float_to_float16 on the graph; each weight is converted as it is saved."""
        # onnxruntime.transformers/__init__ only extends sys.path and float16 imports numpy and
        # onnx only, so this does not pull in torch (unlike transformers.optimizer).
        from onnx_ir.passes.common import TopologicalSortPass
        from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

        from onnx_workbench.pipelines.ir_weights import attach_weights, detach_weights

        assert isinstance(config, ToFp16Config)
        # The converter rewrites a ModelProto and would convert every weight in it at once
        # (reading each data-file weight in): it gets the graph with empty stand-ins for the
        # weights, and each weight it turned into float16 is converted alone when the save
        # writes it. The load inferred every shape already, so it need not infer them again.
        graph, weights = detach_weights(model_ir, keep_shapes=False)
        refuse_quantized(graph, self.name)
        if not any(t.data_type == onnx.TensorProto.FLOAT for t in graph.graph.initializer) and not any(
            v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for v in graph.graph.input
        ):
            raise ConfigError("this model has no float32 tensors to convert; it may be float16 already.")
        ctx.progress(0.1, "converting to float16")
        converted = convert_float_to_float16(
            graph,
            keep_io_types=config.keep_io_types,
            op_block_list=config.op_block_list or list(DEFAULT_OP_BLOCK_LIST),
            node_block_list=config.node_block_list or None,
            disable_shape_infer=True,
        )
        ctx.check_cancelled()
        result = attach_weights(converted, weights, adapt=_float16_on_save)
        # The converter appends its Cast nodes at the end of the graph; ONNX wants them sorted.
        TopologicalSortPass()(result)
        return result


# Elements converted at a time: ONNX Runtime's clamping conversion makes several temporary
# copies of what it is given, so a weight of hundreds of MB goes through it in slices.
_FLOAT16_SLICE = 1 << 22


def _float16_on_save(weight: ir.TensorProtocol, dtype: ir.DataType) -> ir.TensorProtocol:
    """`weight` (float32) as a float16 tensor computed when it is written, with ONNX Runtime's clamping."""
    import onnx_ir as ir
    from onnxruntime.transformers.float16 import convert_np_to_float16

    def convert() -> ir.TensorProtocol:
        values = weight.numpy().reshape(-1)
        result = np.empty(values.shape, np.float16)
        for start in range(0, values.size, _FLOAT16_SLICE):
            result[start : start + _FLOAT16_SLICE] = convert_np_to_float16(values[start : start + _FLOAT16_SLICE])
        return ir.tensor(result.reshape(weight.shape.numpy()), name=weight.name)

    assert dtype == ir.DataType.FLOAT16 and weight.dtype == ir.DataType.FLOAT, (weight.dtype, dtype)
    return ir.LazyTensor(convert, dtype=dtype, shape=weight.shape, name=weight.name)


# --------------------------------------------------------------------------- quantize-weights


@dataclass(frozen=True)
class QuantizeWeightsConfig(PassConfig):
    """Settings of quantize-weights."""

    bits: int = option(4, help="bits per weight", choices=(4, 8))
    block_size: int = option(128, help="weights sharing one scale (a power of two, at least 16)", min=16, max=4096)
    symmetric: bool = option(True, help="symmetric blocks (no zero point)")
    accuracy_level: int = option(
        0, help="MatMulNBits compute precision: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 (fastest on CPU)", min=0, max=4
    )
    # HQQ is left out on purpose: ORT's HQQ quantizer computes with torch, which we do not ship.
    algorithm: str = option("default", help="default: min/max per block; rtn: round-to-nearest (4-bit only)", choices=("default", "rtn"))
    nodes_to_exclude: list[str] = option([], help="MatMul or Gemm nodes to keep in float", widget="nodes")

    def validate(self) -> None:
        """Bounds, plus: block size a power of two; RTN only writes 4-bit weights."""
        super().validate()
        if self.block_size & (self.block_size - 1):
            raise ConfigError(f"field 'block_size' must be a power of two (16, 32, 64, ...); got {self.block_size}.", "block_size")
        if self.algorithm == "rtn" and self.bits != 4:
            raise ConfigError("field 'bits' must be 4 with algorithm rtn; use algorithm default for 8-bit.", "bits")


class QuantizeWeights(OrtQuantization, Pass):
    """Weight-only block quantization of linear-layer weights to 4 or 8 bits (MatMulNBits)."""

    name = "quantize-weights"
    category = "quantize"
    description = "4- or 8-bit block-wise weight-only quantization of MatMul and Gemm weights (LLM style, ONNX Runtime MatMulNBits)."
    Config = QuantizeWeightsConfig
    nothing_quantized = (
        "quantize-weights found no MatMul or Gemm with a constant 2-D weight to quantize; this pass is for transformer-style models."
    )
    runs_on = "MatMulNBits: runs only on ONNX Runtime (com.microsoft domain)"

    def quantize(self, job: QuantizeJob) -> None:
        """Replace linear layers with constant weights by MatMulNBits via ORT's MatMulNBitsQuantizer.

        Gemm linears and transposed (also tied) weights are first rewritten to MatMul(x, W[K, N]),
        the only form the quantizer recognises.
        """
        from onnxruntime.quantization.matmul_nbits_quantizer import (
            DefaultWeightOnlyQuantConfig,
            MatMulNBitsQuantizer,
            RTNWeightOnlyQuantConfig,
        )

        from onnx_workbench.pipelines.passes._linear_weights import expose_linear_weights
        from onnx_workbench.pipelines.passes._rewrite import to_proto

        config, source = job.config, job.source
        assert isinstance(config, QuantizeWeightsConfig)
        job.ctx.progress(0.1, f"quantizing MatMul weights to {config.bits} bits")
        accuracy_level = config.accuracy_level or None
        if config.algorithm == "rtn":
            algo_config = RTNWeightOnlyQuantConfig()
        else:
            # Built here rather than by MatMulNBitsQuantizer because ORT 1.23 (the newest on
            # Python 3.10) has no `bits` argument there; the config class takes `bits` in all
            # versions, and this is exactly the config newer versions build from their arguments.
            algo_config = DefaultWeightOnlyQuantConfig(
                block_size=config.block_size,
                is_symmetric=config.symmetric,
                accuracy_level=accuracy_level,
                bits=config.bits,
            )
        read_all = config.algorithm == "rtn"  # RTN goes through the whole model in memory
        # As written (normalize=False): expose_linear_weights recognises the exporters' own spellings.
        model_ir = ir_model(load_model(source, infer_shapes=False, weights=read_all, normalize=False))
        exposed = expose_linear_weights(model_ir, frozenset(config.nodes_to_exclude))
        job.ctx.check_cancelled()
        model = to_proto(model_ir)  # untouched external weights stay references into their data file
        del model_ir
        if not read_all:
            # The default algorithm reads each MatMul weight alone (memory-mapped through onnx-ir):
            # with the data file's absolute location the float weights are never all in memory.
            pin_external_locations(model, source.parent)
        quantizer = MatMulNBitsQuantizer(
            model,
            block_size=config.block_size,
            is_symmetric=config.symmetric,
            accuracy_level=accuracy_level,
            nodes_to_exclude=config.nodes_to_exclude,
            algo_config=algo_config,
        )
        quantizer.process()
        job.ctx.check_cancelled()
        model = quantizer.model.model
        if not any(o.domain == "com.microsoft" for o in model.opset_import):
            # ORT's RTN path writes MatMulNBits nodes without importing their domain.
            model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
        save_model(model, job.staged, external_data=job.info.large)
        job.output.details["matmuls_quantized"] = sum(1 for n in model.graph.node if n.op_type == "MatMulNBits")
        job.output.details["linears_exposed"] = {"gemm": exposed.gemms, "transposed_weight": exposed.transposes}
        for tied in exposed.tied:
            copy_bytes = quantized_bytes(model, tied.matmul_outputs)
            job.output.details.setdefault("tied_copies", {})[tied.copy] = {"source": tied.source, "bytes": copy_bytes}
            job.output.warnings.append(
                f"'{tied.source}' is shared with other nodes (a tied embedding): the MatMul that read it transposed "
                f"now has its own {config.bits}-bit transposed copy ({units.size(copy_bytes)} more), and "
                f"'{tied.source}' stays float for the others."
            )
