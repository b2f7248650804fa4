"""quantize-static: calibrated INT8/INT16 quantization with ONNX Runtime (QDQ or QOperator).

The pipeline is: refuse already-quantized models, upgrade an old opset when the options need a
newer one (the known trap: per-channel on opset < 13 writes an invalid model), ORT's
pre-processing (shape inference + basic graph optimization), streaming calibration, quantize.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import onnx

from onnx_workbench.pipelines.images import ImagePreprocessing
from onnx_workbench.pipelines.errors import ConfigError, PassFailed
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, drop_unused_opset_imports, option
from onnx_workbench.pipelines.passes.quantize import (
    OrtQuantization,
    QuantizeJob,
    SourceInfo,
    first_line,
    quiet_ort_tools,
    upgrade_opset,
)

SIXTEEN_BIT = ("int16", "uint16")
# Not set: CalibMaxIntermediateOutputs. In ORT 1.32 MinMaxCalibrater.collect_data clears the
# collected outputs when that count is reached without merging their ranges, so calibration
# silently loses data. MinMax keeps only per-tensor ReduceMin/ReduceMax scalars per sample
# anyway; the histogram methods (entropy, percentile, distribution) keep whole tensors, which
# is why `samples` should stay modest with them.


@dataclass(frozen=True)
class QuantizeStaticConfig(PassConfig):
    """Settings of quantize-static."""

    format: str = option("qdq", help="qdq: Quantize/DequantizeLinear pairs (portable, fast on ORT CPU); qoperator: QLinear* ops", choices=("qdq", "qoperator"))
    activation_type: str = option("uint8", help="integer type of activations: uint8 is the fast one on x86 CPUs (16-bit needs format qdq)", choices=("uint8", "int8", "uint16", "int16"))
    weight_type: str = option("int8", help="integer type of weights (16-bit needs format qdq)", choices=("int8", "uint8", "uint16", "int16"))
    activation_symmetric: bool = option(False, help="symmetric activation ranges (zero point in the middle)")
    weight_symmetric: bool = option(True, help="symmetric weight ranges")
    per_channel: bool = option(False, help="one scale per output channel of each weight (more accurate; needs opset 13)")
    reduce_range: bool = option(False, help="7-bit weights: avoids overflow on CPUs without VNNI")
    method: str = option("minmax", help="how activation ranges are chosen from the calibration data", choices=("minmax", "entropy", "percentile", "distribution"))
    percentile: float = option(99.999, help="percentile of |values| kept (method percentile)", min=90.0, max=100.0)
    nodes_to_exclude: list[str] = option([], help="nodes to keep in float", widget="nodes")
    op_types_to_exclude: list[str] = option([], help="op types to keep in float", widget="op-types")
    preprocess: bool = option(True, help="ONNX Runtime pre-processing first: shape inference and basic graph optimization")
    calibration: str = option("random", help="calibration data: random (a preview only), images (a folder of pictures) or arrays (.npz)", choices=("random", "images", "arrays"))
    data: str = option("", help="folder of images, or a .npz file / folder of .npz files named after the inputs", widget="folder")
    samples: int = option(32, help="calibration samples to use", min=1, max=100000)
    image_resize: int = option(0, help="resize the shorter image side to this before the center crop (0: crop * 256/224)", min=0, max=8192)
    image_color: str = option("RGB", help="channel order the model expects", choices=("RGB", "BGR"))
    image_scale: float = option(1 / 255, help="pixel values are multiplied by this first", min=0.0)
    image_mean: str = option("0.485,0.456,0.406", help="per-channel mean subtracted after scaling (comma-separated)")
    image_std: str = option("0.229,0.224,0.225", help="per-channel std divided by after the mean (comma-separated)")
    image_layout: str = option("auto", help="image tensor layout (auto: from the input shape)", choices=("auto", "NCHW", "NHWC"))

    def validate(self) -> None:
        """Bounds and choices, then the combinations ONNX Runtime cannot quantize."""
        super().validate()
        if self.format == "qoperator" and (self.activation_type in SIXTEEN_BIT or self.weight_type in SIXTEEN_BIT):
            field = "activation_type" if self.activation_type in SIXTEEN_BIT else "weight_type"
            raise ConfigError(f"field '{field}': 16-bit types need format qdq; set format to qdq or choose an 8-bit type.", field)
        if self.activation_type == "int8" and self.weight_type == "uint8":
            raise ConfigError("field 'weight_type': int8 activations with uint8 weights are not supported; use int8 weights.", "weight_type")
        if self.calibration != "random" and not self.data:
            raise ConfigError(f"field 'data' is needed for calibration '{self.calibration}'; give a path or use random.", "data")
        for name in ("image_mean", "image_std"):
            values = self.parse_floats(name)
            if len(values) not in (1, 3):
                raise ConfigError(f"field '{name}' takes 1 or 3 comma-separated numbers; got '{getattr(self, name)}'.", name)
        if any(v == 0 for v in self.parse_floats("image_std")):
            raise ConfigError("field 'image_std' must not contain 0.", "image_std")

    def parse_floats(self, name: str) -> tuple[float, ...]:
        """A comma-separated field as numbers; ConfigError naming the field otherwise."""
        try:
            return tuple(float(v) for v in str(getattr(self, name)).split(",") if v.strip())
        except ValueError:
            raise ConfigError(f"field '{name}' takes comma-separated numbers; got '{getattr(self, name)}'.", name) from None

    def image_preprocessing(self) -> ImagePreprocessing:
        """The image settings as the calibration module wants them."""
        return ImagePreprocessing(
            resize=self.image_resize,
            color=self.image_color,  # type: ignore[arg-type]
            scale=self.image_scale,
            mean=self.parse_floats("image_mean"),
            std=self.parse_floats("image_std"),
            layout=self.image_layout,  # type: ignore[arg-type]
        )


class QuantizeStatic(OrtQuantization, Pass):
    """Calibrated static quantization of weights and activations with ONNX Runtime."""

    name = "quantize-static"
    category = "quantize"
    description = "Calibrated INT8 (or INT16) quantization of weights and activations; best for CNNs on CPU."
    Config = QuantizeStaticConfig
    nothing_quantized = (
        "quantize-static found nothing to quantize with these settings; check op_types_to_exclude and nodes_to_exclude."
    )

    def quantize(self, job: QuantizeJob) -> None:
        """Upgrade the opset if needed, pre-process, calibrate and quantize into `job.staged`."""
        from onnxruntime.quantization import quantize_static

        from onnx_workbench.pipelines.calibration import RANDOM_PREVIEW_WARNING, make_reader

        config, info, output = job.config, job.info, job.output
        assert isinstance(config, QuantizeStaticConfig)
        if config.calibration != "random" and not Path(config.data).exists():
            raise ConfigError(f"{config.data}: no such file or folder; check the data field.", "data")
        model_path, extra = self._upgrade(job.source, info, config, job.scratch, output)
        if config.preprocess:
            model_path = self._preprocess(model_path, job.scratch, info, output, job.ctx)
        reader = make_reader(
            config.calibration,
            info.proto,
            config.data,
            config.samples,
            prep=config.image_preprocessing(),
            ctx=job.ctx,
            span=(0.15, 0.8),
        )
        if config.calibration == "random":
            output.warnings.append(RANDOM_PREVIEW_WARNING)
        index_nodes = index_arithmetic_nodes(onnx.load(str(model_path), load_external_data=False).graph)
        if index_nodes:
            output.details["kept_float_index_arithmetic"] = len(index_nodes)
        job.ctx.progress(0.15, "calibrating")
        quantize_static(
            model_path,
            job.staged,
            calibration_data_reader=reader,
            quant_format=_quant_format(config.format),
            op_types_to_quantize=_op_types(config.op_types_to_exclude),
            per_channel=config.per_channel,
            reduce_range=config.reduce_range,
            activation_type=_quant_type(config.activation_type),
            weight_type=_quant_type(config.weight_type),
            nodes_to_exclude=sorted(set(config.nodes_to_exclude) | index_nodes) or None,
            use_external_data_format=info.large,
            calibrate_method=_calibration_method(config.method),
            extra_options=extra,
        )
        job.ctx.progress(0.85, "quantized")
        output.details["calibration"] = {
            "kind": config.calibration,
            "samples": reader.produced,
            "preview": config.calibration == "random",
        }

    def review(self, quantized: onnx.ModelProto, job: QuantizeJob) -> None:
        """Keep the inputs of excluded nodes float; warn where 8-bit kernels can saturate."""
        assert isinstance(job.config, QuantizeStaticConfig)
        if feed_excluded_nodes_float(quantized, set(job.config.nodes_to_exclude)):
            onnx.save(quantized, str(job.staged))  # graph only: the weights stay where ORT wrote them
        saturation = u8s8_saturation_warning(job.config)
        if saturation:
            job.output.warnings.append(saturation)

    @staticmethod
    def _upgrade(
        source: Path, info: SourceInfo, config: QuantizeStaticConfig, scratch: Path, output: PassOutput
    ) -> tuple[Path, dict]:
        """Convert the opset when the options need a newer one; returns the path and extra_options."""
        extra: dict = {
            "ActivationSymmetric": config.activation_symmetric,
            "WeightSymmetric": config.weight_symmetric,
        }
        if config.method == "percentile":
            extra["CalibPercentile"] = config.percentile
        model_path = source
        if config.per_channel or info.opset < 10:
            reason = "per-channel quantization" if config.per_channel else "QDQ quantization"
            model_path = upgrade_opset(source, 13, reason, scratch, info, output)
        if config.activation_type in SIXTEEN_BIT or config.weight_type in SIXTEEN_BIT:
            current = 13 if model_path != source else info.opset
            if current < 21:
                try:
                    staged_info = SourceInfo(onnx.load(str(model_path), load_external_data=False), current, info.large)
                    model_path = upgrade_opset(model_path, 21, "16-bit quantization", scratch, staged_info, output)
                except PassFailed as exc:
                    # ORT's own com.microsoft Q/DQ ops take 16-bit types at any opset.
                    extra["UseQDQContribOps"] = True
                    output.warnings.append(
                        f"16-bit quantization uses ONNX Runtime's com.microsoft Q/DQ ops because the opset could not be upgraded to 21 ({exc})."
                    )
                    output.flags.append("com.microsoft QuantizeLinear/DequantizeLinear: runs only on ONNX Runtime")
        return model_path, extra

    @staticmethod
    def _preprocess(
        model_path: Path, scratch: Path, info: SourceInfo, output: PassOutput, ctx: PassContext
    ) -> Path:
        """ORT's quant_pre_process (shape inference + basic optimization); warn and skip on failure."""
        from onnxruntime.quantization.shape_inference import quant_pre_process

        ctx.progress(0.05, "pre-processing (shape inference, graph optimization)")
        # Resolved before the working directory changes below: relative paths would otherwise
        # be read against the scratch folder.
        source, prepared = model_path.resolve(), (scratch / f"pre_{model_path.name}").resolve()
        try:
            # ORT's symbolic shape inference dumps 'sym_shape_infer_temp.onnx' and a data file
            # into the *current* folder when it gives up, so it runs with the scratch folder as
            # the working directory (passes run in a single-threaded worker process).
            with quiet_ort_tools(), _working_directory(scratch):
                quant_pre_process(
                    str(source),
                    str(prepared),
                    auto_merge=True,  # merges conflicting symbolic dims (batch/sequence) instead of giving up
                    save_as_external_data=info.large,
                    all_tensors_to_one_file=True,
                )
        except Exception as exc:  # noqa: BLE001 - pre-processing is an optimization, not required
            output.warnings.append(f"pre-processing skipped: {first_line(exc)}.")
            return model_path
        # ORT's optimizer imports every domain it knows (org.pytorch.aten in a CNN); the
        # quantized model would carry them all. Weights stay where they are: only the graph is
        # rewritten, and its external data references are relative to the same folder.
        graph_only = onnx.load(str(prepared), load_external_data=False)
        drop_unused_opset_imports(graph_only, keep={o.domain for o in info.proto.opset_import})
        onnx.save(graph_only, str(prepared))
        return prepared


_INTEGER_TYPES = frozenset(
    {
        onnx.TensorProto.BOOL, onnx.TensorProto.INT8, onnx.TensorProto.INT16, onnx.TensorProto.INT32,
        onnx.TensorProto.INT64, onnx.TensorProto.UINT8, onnx.TensorProto.UINT16, onnx.TensorProto.UINT32,
        onnx.TensorProto.UINT64,
    }
)


def index_arithmetic_nodes(graph: onnx.GraphProto) -> set[str]:
    """Names of the nodes whose outputs only feed a Cast to an integer type: index arithmetic to keep in float.

    Float maths that ends in a Cast to an integer computes indices (T5's relative-position
    buckets: Log(|i - j| / 8) * 8 cast to int64, then used by a Gather). Quantizing it moves
    values across integer boundaries, so the model gathers other rows; worse, T5's Log(0) on
    the diagonal is -inf (discarded later by a Where), the calibrated range is infinite, the
    scale NaN, and the Cast turns NaN into an index of -2**63, so the model does not run.
    These few scalar-sized ops gain nothing from INT8 either. Found in one reverse pass over
    the (topologically sorted) graph: a node joins when everything its outputs feed has joined.
    """
    graph_outputs = {o.name for o in graph.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    joined: set[int] = {
        id(node)
        for node in graph.node
        if node.op_type == "Cast"
        and node.domain in ("", "ai.onnx")
        and any(a.name == "to" and a.i in _INTEGER_TYPES for a in node.attribute)
    }
    excluded: set[str] = set()
    for node in reversed(graph.node):
        if id(node) in joined or not node.output or any(o in graph_outputs for o in node.output):
            continue
        readers = [reader for o in node.output if o for reader in consumers.get(o, [])]
        if readers and all(id(reader) in joined for reader in readers):
            joined.add(id(node))
            if node.name:
                excluded.add(node.name)
    return excluded


def feed_excluded_nodes_float(model: onnx.ModelProto, excluded: set[str]) -> bool:
    """Feed each excluded node the float tensor its input was quantized from; True when any changed.

    ORT's quantizer leaves an excluded node reading the dequantized copy of a quantized
    tensor (DQ -> Conv -> Relu -> Q). Since ONNX Runtime 1.20 the basic-level session
    transformer WeightBiasQuantization takes exactly that pattern for a QDQ node unit and
    quantizes the float Conv/ConvTranspose/Gemm weight itself (per tensor, int8) when the
    session is created, so the node was quantized after all: an excluded outlier layer came
    back worse than before (cosine 0.90 where the first quantization had 0.99). Reading the
    float source instead breaks the pattern and is what "keep in float" means anyway.
    The graph is rewired by tensor name on the graph-only proto (weights are not loaded).
    """
    if not excluded:
        return False
    producers = {out: node for node in model.graph.node for out in node.output}
    changed = False
    for node in model.graph.node:
        if node.name not in excluded:
            continue
        for index, name in enumerate(node.input):
            dq = producers.get(name)
            q = producers.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
            if q is not None and q.op_type == "QuantizeLinear":
                node.input[index] = q.input[0]
                changed = True
    if changed:
        _drop_unconsumed_qdq(model)
    return changed


def _drop_unconsumed_qdq(model: onnx.ModelProto) -> None:
    """Remove Q/DQ nodes whose outputs nothing reads any more (after rewiring)."""
    outputs = {o.name for o in model.graph.output}
    while True:
        consumed = {name for node in model.graph.node for name in node.input} | outputs
        unused = [
            node
            for node in model.graph.node
            if node.op_type in ("QuantizeLinear", "DequantizeLinear") and not any(o in consumed for o in node.output)
        ]
        if not unused:
            return
        for node in unused:
            model.graph.node.remove(node)


def u8s8_saturation_warning(config: QuantizeStaticConfig) -> str:
    """A warning when these settings overflow ORT's 8-bit kernels on this CPU ('' when they do not).

    On x86 CPUs without VNNI, ORT's u8 x s8 kernels add pairs of products in 16 bits
    (vpmaddubsw), which saturates when full-range int8 weights meet large activations.
    Per-channel scales put a +-127 weight in every channel, so the damage is measurable
    (cosine 0.987 instead of 0.994 on the sample CNN; the same model gives 0.994 with
    session.x64quantprecision=1). 7-bit weights (reduce_range) or uint8 weights avoid it.
    """
    from onnx_workbench.pipelines.machine import x86_without_vnni

    eight_bit_int = config.weight_type == "int8" and config.activation_type in ("uint8", "int8")
    if not (config.per_channel and eight_bit_int and not config.reduce_range and x86_without_vnni()):
        return ""
    return (
        "this CPU has no VNNI, so ONNX Runtime's 8-bit kernels can saturate with full-range per-channel "
        "int8 weights and lose accuracy here; set reduce_range=true (or weight_type uint8) for CPUs like it."
    )


@contextlib.contextmanager
def _working_directory(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _quant_type(name: str):
    from onnxruntime.quantization import QuantType

    return {
        "int8": QuantType.QInt8,
        "uint8": QuantType.QUInt8,
        "int16": QuantType.QInt16,
        "uint16": QuantType.QUInt16,
    }[name]


def _quant_format(name: str):
    from onnxruntime.quantization import QuantFormat

    return QuantFormat.QDQ if name == "qdq" else QuantFormat.QOperator


def _calibration_method(name: str):
    from onnxruntime.quantization import CalibrationMethod

    return {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
        "distribution": CalibrationMethod.Distribution,
    }[name]


def _op_types(excluded: list[str]) -> list[str] | None:
    """Every op type ORT can quantize statically minus the excluded ones (None: all)."""
    if not excluded:
        return None
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    return sorted((set(QDQRegistry) | set(QLinearOpsRegistry)) - set(excluded))
