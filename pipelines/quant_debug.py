"""Where did quantization hurt? Per-tensor error of a (float, quantized) pair, ranked by node.

Both models are augmented with ONNX Runtime's `qdq_loss_debug.modify_model_output_intermediate_tensors`
so every float tensor becomes an output, then run on the same inputs. Instead of ORT's
`collect_activations` (which keeps every tensor of every sample in memory) the error sums are
accumulated sample by sample; the SQNR formula is ORT's `compute_signal_to_quantization_noice_ratio`
(20·log10 ‖float‖/‖float − quantized‖ over all samples), computed from those sums.

Error accumulates along the graph, so a raw per-tensor SQNR ranks every node after a damaged
one as damaged too. The ranking therefore uses the noise each node *adds*: its output's
noise-to-signal power minus the worst of its inputs'. Tensors the quantizer removed (a Relu
folded into its Q/DQ pair, a BatchNorm folded into a Conv) are not measurable; their nodes are
reported together with the next measured tensor, as one region.
"""
from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from onnx_workbench.pipelines.calibration import Feed, make_samples
from onnx_workbench.pipelines.images import IMAGE_SUFFIXES, class_folders
from onnx_workbench.pipelines.errors import Cancelled, ConfigError
from onnx_workbench.pipelines.inputs import graph_inputs
from onnx_workbench.pipelines.results import QuantErrorReport, TensorError
from onnx_workbench.pipelines.runtime import SessionSettings, open_session
from onnx_workbench.pipelines.verify import FidelityReport, verify_models

# SQNR reported for tensors that came through exactly (no noise at all).
EXACT_SQNR_DB = 200.0
DEFAULT_SAMPLES = 8


def analyze_quantization(
    float_model: str | Path,
    quant_model: str | Path,
    *,
    data: str | Path | None = None,
    samples: int = DEFAULT_SAMPLES,
    on_progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> QuantErrorReport:
    """Run both models on the same inputs and rank the float nodes by the error they add."""
    from onnxruntime.quantization.qdq_loss_debug import modify_model_output_intermediate_tensors
    from onnxruntime.quantization.quant_utils import DEQUANT_OUTPUT_SUFFIX

    from onnx_workbench.pipelines.model import load_model

    float_model, quant_model = Path(float_model), Path(quant_model)
    float_proto = load_model(float_model, infer_shapes=False, weights=False).proto
    qoperator = _qoperator_ops(load_model(quant_model, infer_shapes=False, weights=False).proto)  # also refuses a bad file
    if qoperator:
        # Checked before the shared-tensor test below because ORT versions differ in which ops
        # they leave in float (1.23 keeps Flatten between a DQ/Q pair), so a QOperator model
        # may still share a few float tensors; comparing those alone would be misleading.
        raise ConfigError(
            f"{quant_model.name} is a QOperator model ({', '.join(qoperator[:2])} nodes hide their float tensors); error analysis needs its QDQ or dynamically quantized version."
        )
    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples}.", "samples")
    with tempfile.TemporaryDirectory(prefix="quant-debug.") as scratch:
        augmented = []
        for path in (float_model, quant_model):
            out = Path(scratch) / f"{len(augmented)}_{path.name}"
            modify_model_output_intermediate_tensors(str(path), str(out))
            augmented.append(out)
        sessions = [_debug_session(p) for p in augmented]
        missing = {i.name for i in sessions[1].get_inputs()} - {i.name for i in sessions[0].get_inputs()}
        if missing:
            raise ConfigError(
                f"{quant_model.name} takes input '{sorted(missing)[0]}', which {float_model.name} does not have; compare a model with its own quantized version."
            )
        float_names = {o.name for o in sessions[0].get_outputs()}
        quant_names = {o.name for o in sessions[1].get_outputs()}
        common = sorted(float_names & quant_names)
        ends = {v.name + SAVED for v in [*float_proto.graph.input, *float_proto.graph.output]}
        if not any(name.endswith(SAVED) and name not in ends for name in common):
            raise ConfigError(
                f"{quant_model.name} shares no intermediate float tensor with {float_model.name}; error analysis needs its QDQ or dynamically quantized version (QOperator models hide their tensors)."
            )
        # Compare each float tensor with its dequantized copy where the quantized model has
        # one: the quantizer folds Relu/Clip into the Q/DQ pair, so the tensor under the
        # original name there holds the *pre*-activation values (as ORT's xmodel_err does).
        partner = {
            name: (name[: -len(SAVED)] + DEQUANT_OUTPUT_SUFFIX + SAVED)
            if (name[: -len(SAVED)] + DEQUANT_OUTPUT_SUFFIX + SAVED) in quant_names
            else name
            for name in common
            if name.endswith(SAVED)
        }
        sums = _ErrorSums()
        count = 0
        for feed in _feeds(float_proto, data, samples):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled("Cancelled by the user.")
            if on_progress is not None:
                on_progress(count / samples, f"comparing tensors: sample {count + 1} of {samples}")
            float_out = _run(sessions[0], feed)
            quant_out = _run(sessions[1], feed)
            for name, quant_name in partner.items():
                sums.add(name, float_out[name], quant_out[quant_name])
            count += 1
    producers_q = _producers(onnx.load(str(quant_model), load_external_data=False))
    tensors = _rank(float_proto, sums, producers_q, count)
    return QuantErrorReport(str(float_model), str(quant_model), count, tensors)


@dataclass
class RequantizeResult:
    """A static quantization redone with the most damaged nodes kept in float."""

    path: Path
    excluded: list[str]
    fidelity: FidelityReport  # the new model against the float model
    before: FidelityReport  # the same figures for the first quantization
    report: QuantErrorReport

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "path": str(self.path),
            "excluded": self.excluded,
            "fidelity": self.fidelity.to_dict(),
            "fidelity_before": self.before.to_dict(),
            "worst": [t.to_dict() for t in self.report.worst(len(self.excluded) or 1)],
        }


def exclude_worst_and_requantize(
    float_model: str | Path,
    config: Any,
    n: int,
    *,
    workdir: str | Path,
    samples: int = DEFAULT_SAMPLES,
) -> RequantizeResult:
    """Quantize statically, find the `n` worst nodes, quantize again without them; return path + fidelity.

    Both quantized models are written into `workdir` (a session or scratch folder, never the
    float model's own folder by default).
    """
    from onnx_workbench.pipelines.passes.engine import run_pass
    from onnx_workbench.pipelines.passes.quantize_static import QuantizeStaticConfig

    if not isinstance(config, QuantizeStaticConfig):
        raise ConfigError("exclude_worst_and_requantize works with quantize-static settings; pass a QuantizeStaticConfig.")
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}.", "n")
    float_model = Path(float_model)
    workdir = Path(workdir)
    first = workdir / f"{float_model.stem}.int8.onnx"
    run_pass("quantize-static", float_model, first, config)
    # Verification and the error analysis take .npz arrays; image folders feed only calibration.
    data = config.data if config.calibration == "arrays" else None
    report = analyze_quantization(float_model, first, data=data, samples=samples)
    excluded = report.worst_quant_nodes(n, skip=config.nodes_to_exclude)
    second = workdir / f"{float_model.stem}.int8.excluded{n}.onnx"
    again = dataclasses.replace(config, nodes_to_exclude=[*config.nodes_to_exclude, *excluded])
    run_pass("quantize-static", float_model, second, again)
    before = verify_models(float_model, first, data=data, samples=samples)
    fidelity = verify_models(float_model, second, data=data, samples=samples)
    return RequantizeResult(second, excluded, fidelity, before, report)


# ----------------------------------------------------------------------------- internals

SAVED = "_ReshapedSavedOutput"  # suffix ORT's augmentation gives each saved tensor


class _ErrorSums:
    """Running ‖reference‖² and ‖reference − candidate‖² per tensor."""

    def __init__(self) -> None:
        self.signal: dict[str, float] = {}
        self.noise: dict[str, float] = {}

    def add(self, name: str, reference: np.ndarray, candidate: np.ndarray) -> None:
        ref = reference.astype(np.float64, copy=False).ravel()
        cand = candidate.astype(np.float64, copy=False).ravel()
        if ref.shape != cand.shape:
            return  # same name, different meaning (rare after graph rewrites): not comparable
        diff = ref - cand
        finite = np.isfinite(diff)
        self.signal[name] = self.signal.get(name, 0.0) + float(np.dot(ref[finite], ref[finite]))
        self.noise[name] = self.noise.get(name, 0.0) + float(np.dot(diff[finite], diff[finite]))

    def noise_ratio(self, name: str) -> float | None:
        """Noise-to-signal power of a tensor, or None when it was not measured."""
        if name not in self.signal:
            return None
        return self.noise[name] / max(self.signal[name], np.finfo(np.float64).tiny)


def sqnr_db(noise_ratio: float) -> float:
    """Signal-to-quantization-noise ratio in dB from a noise-to-signal power ratio."""
    if noise_ratio <= 0:
        return EXACT_SQNR_DB
    return min(-10.0 * math.log10(noise_ratio), EXACT_SQNR_DB)


def _rank(
    model: onnx.ModelProto, sums: _ErrorSums, producers_q: dict[str, onnx.NodeProto], count: int
) -> list[TensorError]:
    producers = _producers(model)
    constants = {t.name for t in model.graph.initializer}
    measured = {name[: -len(SAVED)]: sums.noise_ratio(name) for name in sums.signal if name.endswith(SAVED)}
    entries = []
    for tensor, ratio in measured.items():
        node = producers.get(tensor)
        if node is None or ratio is None:
            continue  # graph inputs carry no quantization error of their own
        region, frontier = _region(node, producers, measured, constants)
        inputs = [measured[t] or 0.0 for t in frontier]
        added = max(ratio - max(inputs, default=0.0), 0.0)
        quant = producers_q.get(tensor)
        entries.append(
            TensorError(
                tensor=tensor,
                node=node.name or tensor,
                op_type=node.op_type,
                region=region,
                quant_node=quant.name if quant is not None else "",
                sqnr_db=sqnr_db(ratio),
                relative_error=math.sqrt(ratio),
                added_noise=added,
            )
        )
    entries.sort(key=lambda e: (-e.added_noise, e.sqnr_db))
    return entries


def _region(
    node: onnx.NodeProto,
    producers: dict[str, onnx.NodeProto],
    measured: dict[str, float | None],
    constants: set[str],
) -> tuple[list[str], list[str]]:
    """Float nodes from `node` back to the nearest measured tensors, and those tensors."""
    region: list[str] = []
    frontier: list[str] = []
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        key = current.name or current.output[0]
        if key in seen:
            continue
        seen.add(key)
        region.append(key)
        for name in current.input:
            if not name or name in constants:
                continue
            if name in measured or name not in producers:
                if name in measured and name not in frontier:
                    frontier.append(name)
                continue
            stack.append(producers[name])
    return region, frontier


def _qoperator_ops(model: onnx.ModelProto) -> list[str]:
    """Op types of static QOperator quantization (QLinear*, QGemm) found in `model`."""
    return sorted({n.op_type for n in model.graph.node if n.op_type.startswith("QLinear") or n.op_type == "QGemm"})


def _producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in model.graph.node for out in node.output}


def _debug_session(path: Path):
    # No graph optimization: fusions would rename or remove the tensors being compared.
    return open_session(path, SessionSettings(optimization="disabled"))


def _run(session, feed: Feed) -> dict[str, np.ndarray]:
    # Each session gets the feed in its own input types (a float16 model takes float16 data).
    typed = {}
    for arg in session.get_inputs():
        value = feed[arg.name]
        if arg.type == "tensor(float16)":
            value = value.astype(np.float16)
        elif arg.type == "tensor(float)":
            value = value.astype(np.float32)
        typed[arg.name] = value
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, typed)))


def _feeds(model: onnx.ModelProto, data: str | Path | None, samples: int) -> Iterator[Feed]:
    """Random (seeded) samples, a .npz file or folder of them, or a folder of images."""
    if data is None or str(data) == "":
        return make_samples("random", model, "", samples)
    path = Path(data)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder; check --data.", "data")
    # A flat folder of pictures, or a labelled one (a sub-folder per class).
    is_images = path.is_dir() and (any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()) or bool(class_folders(path)))
    if is_images and not any(path.glob("*.npz")):
        return make_samples("images", model, str(path), samples)
    names = [v.name for v in graph_inputs(model)]
    if not names:
        raise ConfigError("the model has no inputs to feed.")
    return make_samples("arrays", model, str(path), samples)
