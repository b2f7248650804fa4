"""Fidelity check: run two versions of a model on the same inputs and measure how far apart they are.

Both models run in ONNX Runtime on the CPU with its default session options, graph
optimizations included: that is how the models get deployed, and both sides get the same
treatment, so the figures show what the pass changed rather than what ORT's fusions change.
Outputs are compared as float64 whatever their dtype (an fp16 candidate against an fp32
reference is the common case). Each figure is over every value of all samples together (the
cosine of all values as one vector, say), accumulated sample by sample.

Big models run one after the other: the reference session runs every sample and is closed,
keeping only its outputs, before the candidate's session opens, so memory is bounded by one
model rather than two. It costs no time (the sessions are created one after the other either
way); the report says which way it ran.
"""
from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from onnx_workbench.pipelines.errors import Cancelled, ConfigError, RuntimeRefused
from onnx_workbench.pipelines.inputs import input_specs, random_inputs
from onnx_workbench.pipelines.labelled import AccuracyComparison, DataSource, count_samples, data_source, scores_output
from onnx_workbench.pipelines.labelled import samples as labelled_samples
from onnx_workbench.pipelines.model import load_graph
from onnx_workbench.pipelines.runtime import open_session, unsupported_ir_version
from onnx_workbench.pipelines.worker.protocol import json_float, number

DEFAULT_SAMPLES = 4
# Both sessions are held at once only when the two models together are this small, and take at
# most TOGETHER_MEMORY_FRACTION of the available memory: above it, one model at a time halves
# the peak for free.
TOGETHER_MAX_BYTES = 1 << 30
TOGETHER_MEMORY_FRACTION = 0.5
RAN_TOGETHER = "together"
RAN_SEQUENTIALLY = "one after the other"
# The figures of an output that may be non-finite (written as 'inf'/'nan' strings).
FIGURES = ("max_abs", "mean_abs", "cosine", "snr_db", "top1")


@dataclass(frozen=True)
class Tolerance:
    """Pass/fail thresholds for every output; None switches a check off."""

    min_cosine: float | None = 0.999
    max_abs: float | None = None
    min_snr_db: float | None = None
    # Fraction of samples (rows) whose arg-max agrees; only for outputs that look like class scores.
    min_top1: float | None = None
    # Top-1 accuracy points the candidate may lose on labelled data; ignored without labels.
    max_accuracy_drop: float | None = None

    def __post_init__(self) -> None:
        bounds = {"min_cosine": (-1.0, 1.0), "max_abs": (0.0, math.inf), "min_snr_db": (-math.inf, math.inf), "min_top1": (0.0, 1.0),
                  "max_accuracy_drop": (0.0, 100.0)}
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and low <= value <= high):
                raise ConfigError(f"tolerance {name} must be a number from {low} to {high}, got {value!r}.", name)

    def to_dict(self) -> dict[str, float | None]:
        """Plain data for reports and version metadata."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Tolerance:
        """The tolerance written by `to_dict`."""
        return cls(**{k: values.get(k) for k in cls.__dataclass_fields__})


@dataclass
class OutputFidelity:
    """How close one candidate output is to the reference output, over all samples."""

    name: str
    candidate_name: str
    shape: list[int]
    dtype: str
    candidate_dtype: str
    max_abs: float
    mean_abs: float
    cosine: float
    snr_db: float
    top1: float | None
    # Positions where exactly one side is NaN/Inf, or both are but differ (NaN vs Inf, +Inf vs -Inf).
    nonfinite_mismatches: int
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every enabled tolerance check held."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; infinities and NaN are written as the strings 'inf', '-inf', 'nan'."""
        data = asdict(self)
        for key in FIGURES:
            data[key] = json_float(data[key])
        data["passed"] = self.passed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutputFidelity:
        """The output written by `to_dict`."""
        fields = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        fields.update({k: number(data.get(k)) for k in FIGURES})
        fields["failures"] = list(data.get("failures") or [])
        return cls(**fields)


@dataclass
class FidelityReport:
    """The comparison of a candidate model with its reference on the same inputs."""

    reference: str
    candidate: str
    outputs: list[OutputFidelity]
    samples: int
    inputs: str  # "random (seed 0)" or the data path
    tolerance: Tolerance
    assumed_dims: dict[str, int] = field(default_factory=dict)
    matched_by: str = "name"  # or "position" when the candidate renamed its outputs
    ran: str = RAN_TOGETHER  # or RAN_SEQUENTIALLY: the reference's outputs were kept, not its session
    accuracy: AccuracyComparison | None = None  # with labelled data

    @property
    def passed(self) -> bool:
        """True when every output is within tolerance (and the accuracy drop within its limit)."""
        return all(o.passed for o in self.outputs) and not (self.accuracy is not None and self.accuracy.failure)

    def worst_cosine(self) -> float:
        """The lowest cosine similarity over all outputs."""
        return min((o.cosine for o in self.outputs), default=1.0)

    def worst_max_abs(self) -> float:
        """The largest absolute error over all outputs."""
        return max((o.max_abs for o in self.outputs), default=0.0)

    def summary(self) -> str:
        """One line such as 'cosine 0.999998, max abs 3.1e-06, SNR 92.4 dB over 4 samples: within tolerance'."""
        snr = min((o.snr_db for o in self.outputs), default=math.inf)
        top1 = [o.top1 for o in self.outputs if o.top1 is not None]
        parts = [
            f"cosine {self.worst_cosine():.6f}",
            f"max abs {self.worst_max_abs():.3g}",
            f"SNR {snr:.1f} dB",
        ]
        if top1:
            parts.append(f"top-1 {min(top1):.1%}")
        if self.accuracy is not None:
            parts.append(f"accuracy {self.accuracy.summary()}")
        failures = [f for o in self.outputs for f in o.failures]
        if self.accuracy is not None and self.accuracy.failure:
            failures.append(self.accuracy.failure)
        verdict = "within tolerance" if self.passed else "OUT OF TOLERANCE (" + "; ".join(failures) + ")"
        way = "; models run one after the other to bound memory" if self.ran == RAN_SEQUENTIALLY else ""
        return f"{', '.join(parts)} over {self.samples} samples{way}: {verdict}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data for reports, `--json` output and version metadata."""
        return {
            "reference": self.reference,
            "candidate": self.candidate,
            "passed": self.passed,
            "summary": self.summary(),
            "samples": self.samples,
            "inputs": self.inputs,
            "matched_by": self.matched_by,
            "ran": self.ran,
            "assumed_dims": self.assumed_dims,
            "tolerance": self.tolerance.to_dict(),
            "outputs": [o.to_dict() for o in self.outputs],
            "accuracy": self.accuracy.to_dict() if self.accuracy is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FidelityReport:
        """The report written by `to_dict` (stored on a version); fields older sessions lack take their defaults."""
        return cls(
            reference=data.get("reference", ""), candidate=data.get("candidate", ""),
            outputs=[OutputFidelity.from_dict(o) for o in data.get("outputs") or []],
            samples=int(data.get("samples") or 0), inputs=data.get("inputs", ""),
            tolerance=Tolerance.from_dict(data.get("tolerance") or {}), assumed_dims=dict(data.get("assumed_dims") or {}),
            matched_by=data.get("matched_by", "name"), ran=data.get("ran", RAN_TOGETHER),
            accuracy=AccuracyComparison.from_dict(data["accuracy"]) if data.get("accuracy") else None,
        )


def verify_models(
    reference: str | Path,
    candidate: str | Path,
    *,
    data: str | Path | None = None,
    samples: int | None = DEFAULT_SAMPLES,
    seed: int = 0,
    dims: dict[str, int] | None = None,
    tolerance: Tolerance = Tolerance(),
    together: bool | None = None,
    on_progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> FidelityReport:
    """Run both models on the same inputs (seeded random, or `data`) and compare every output.

    `data`: .npz arrays, with `labels` for accuracy, or an image folder of classes
    (pipelines.labelled). samples: how many to use; None: every sample of `data`
    (DEFAULT_SAMPLES random ones without data).
    together: hold both sessions at once (True) or run the models one after the other (False);
    None decides from the models' size and the available memory (see `both_fit_comfortably`).
    """
    if data is None and samples is None:
        samples = DEFAULT_SAMPLES
    if samples is not None and samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples}.", "samples")
    reference, candidate = Path(reference), Path(candidate)
    ref_proto = load_graph(reference)  # its inputs; the weights are the sessions' business
    if together is None:
        together = both_fit_comfortably(reference, candidate)
    assumed: dict[str, int] = {}
    source = data_source(data) if data is not None else None
    labels: list[np.ndarray | None] = []  # filled as the feeds are drawn, in sample order
    feeds = _samples(ref_proto, source, samples, seed, dims, assumed, labels)
    expected = samples if samples is not None else count_samples(ref_proto, source)
    step = _Progress(expected if together else 2 * expected, on_progress, is_cancelled)
    ref_session = _session(reference)
    ref_outputs = [o.name for o in ref_session.get_outputs()]
    ref_inputs = [i.name for i in ref_session.get_inputs()]
    if together:
        cand_session = _session(candidate)
        pairs = _run_together(ref_session, cand_session, ref_outputs, ref_inputs, feeds, reference, candidate, data, step)
    else:
        # Keep what the reference computed, not the reference: its session goes before the candidate's opens.
        kept = []
        for index, sample in enumerate(feeds):
            step.check()
            kept.append((sample, _run(ref_session, ref_outputs, sample, reference, index, data)))
            step.done(f"reference, sample {index + 1} of {expected}")
        del ref_session
        gc.collect()
        cand_session = _session(candidate)
        pairs = _run_candidate(cand_session, ref_outputs, ref_inputs, kept, candidate, data, step)
    stats: list[OutputStats] = []
    accuracy = _Accuracy(source, ref_outputs, tolerance.max_accuracy_drop)
    count = 0
    for cand_names, ref_values, cand_values in pairs:
        if not stats:
            # Statistics are accumulated sample by sample: a large model's outputs are never all held.
            stats = [OutputStats(r, c) for r, c in zip(ref_outputs, cand_names)]
        for stat, a, b in zip(stats, ref_values, cand_values):
            stat.add(np.asarray(a), np.asarray(b))
        accuracy.add(ref_values, cand_values, labels[count])
        count += 1
    if count == 0:
        raise ConfigError(f"{data}: the data holds no samples; add at least one row per input.")
    return FidelityReport(
        reference=str(reference),
        candidate=str(candidate),
        outputs=[stat.result(tolerance) for stat in stats],
        samples=count,
        inputs=str(data) if data is not None else f"random (seed {seed})",
        tolerance=tolerance,
        assumed_dims=assumed,
        matched_by=_match_outputs(ref_outputs, [o.name for o in cand_session.get_outputs()], candidate.name),
        ran=RAN_TOGETHER if together else RAN_SEQUENTIALLY,
        accuracy=accuracy.result,
    )


class _Accuracy:
    """Top-1 / top-5 of both models against the labels, when the data has labels."""

    def __init__(self, source: DataSource | None, outputs: list[str], max_drop: float | None) -> None:
        self.source, self.outputs, self.max_drop = source, outputs, max_drop
        self.result: AccuracyComparison | None = None
        self.index: int | None = None

    def add(self, ref_values: list[Any], cand_values: list[Any], labels: np.ndarray | None) -> None:
        """Count one sample for both models (nothing without labels)."""
        if labels is None or self.source is None:
            return
        if self.result is None:
            self.index = scores_output(ref_values, labels)
            if self.index is None:
                raise ConfigError(
                    f"{self.source.path.name} has labels but no output of the model holds class scores "
                    "([samples, classes] floats); verify without labels, or give a classifier.", "data")
            self.result = AccuracyComparison(self.source.describe(), self.outputs[self.index], max_drop=self.max_drop)
        where = self.source.path.name
        self.result.reference.add(np.asarray(ref_values[self.index]), labels, where)
        self.result.candidate.add(np.asarray(cand_values[self.index]), labels, where)


def both_fit_comfortably(reference: Path, candidate: Path) -> bool:
    """True when holding both models' sessions at once is cheap: small models, plenty of memory.

    A session holds about its model's size on disk (weights included).
    """
    from onnx_workbench.pipelines.model_files import model_size_bytes

    pair = model_size_bytes(reference) + model_size_bytes(candidate)
    return pair <= min(TOGETHER_MAX_BYTES, TOGETHER_MEMORY_FRACTION * available_memory_bytes())


def available_memory_bytes() -> int:
    """Memory the system can give without swapping."""
    import psutil

    return int(psutil.virtual_memory().available)


Pairs = Iterator[tuple[list[str], list[Any], list[Any]]]


class _Progress:
    """Counts verification runs for the progress callback; raises Cancelled when asked to stop."""

    def __init__(
        self, total: int, on_progress: Callable[[float, str], None] | None, is_cancelled: Callable[[], bool] | None
    ) -> None:
        self.total, self.count = max(total, 1), 0
        self.on_progress, self.is_cancelled = on_progress, is_cancelled

    def check(self) -> None:
        """Raise Cancelled when the user asked to stop."""
        if self.is_cancelled is not None and self.is_cancelled():
            raise Cancelled("Verification cancelled by the user.")

    def done(self, what: str) -> None:
        """One more run finished."""
        self.count += 1
        if self.on_progress is not None:
            self.on_progress(min(self.count / self.total, 1.0), f"verify: {what}")


def _run_together(
    ref_session: Any, cand_session: Any, ref_outputs: list[str], ref_inputs: list[str],
    feeds: Iterator[dict[str, np.ndarray]], reference: Path, candidate: Path, data: str | Path | None,
    step: _Progress,
) -> Pairs:
    """(candidate output names, reference values, candidate values) per sample, both sessions open."""
    cand_names = _candidate_names(ref_outputs, cand_session, candidate.name)
    cand_feed = _candidate_feed(ref_inputs, cand_session, candidate.name)
    for index, sample in enumerate(feeds):
        step.check()
        ref_values = _run(ref_session, ref_outputs, sample, reference, index, data)
        cand_values = _run(cand_session, cand_names, cand_feed(sample), candidate, index, data)
        step.done(f"sample {index + 1} of {step.total}")
        yield cand_names, ref_values, cand_values


def _run_candidate(
    cand_session: Any, ref_outputs: list[str], ref_inputs: list[str],
    kept: list[tuple[dict[str, np.ndarray], list[Any]]], candidate: Path, data: str | Path | None,
    step: _Progress,
) -> Pairs:
    """The same triples from the reference outputs kept earlier; only the candidate's session is open."""
    cand_names = _candidate_names(ref_outputs, cand_session, candidate.name)
    cand_feed = _candidate_feed(ref_inputs, cand_session, candidate.name)
    kept.reverse()  # popped from the end in sample order: what was compared is freed as we go
    for index in range(len(kept)):
        step.check()
        sample, ref_values = kept.pop()
        cand_values = _run(cand_session, cand_names, cand_feed(sample), candidate, index, data)
        step.done(f"candidate, sample {index + 1} of {index + 1 + len(kept)}")
        yield cand_names, ref_values, cand_values


def _candidate_names(ref_outputs: list[str], cand_session: Any, candidate_name: str) -> list[str]:
    """The candidate outputs that pair with the reference's, by name or else by position."""
    cand_outputs = [o.name for o in cand_session.get_outputs()]
    matched_by = _match_outputs(ref_outputs, cand_outputs, candidate_name)
    return ref_outputs if matched_by == "name" else cand_outputs


class OutputStats:
    """Running statistics of one output over samples; `result` judges them against a tolerance."""

    def __init__(self, name: str, candidate_name: str) -> None:
        self.name, self.candidate_name = name, candidate_name
        self.shape: list[int] | None = None
        self.dtype = self.candidate_dtype = ""
        self.shape_failure = ""
        self.numeric = True
        self.equal = True  # for non-numeric outputs: every sample compared equal
        self.count = self.mismatches = self.elements = 0
        self.sum_abs = self.max_abs = self.dot = self.ref_sq = self.cand_sq = self.err_sq = 0.0
        self.class_scores = True
        self.top1_agree = self.top1_rows = 0

    def add(self, reference: np.ndarray, candidate: np.ndarray) -> None:
        """Fold one sample's reference and candidate arrays into the statistics."""
        if self.shape is None:
            self.shape, self.dtype, self.candidate_dtype = list(reference.shape), str(reference.dtype), str(candidate.dtype)
        if reference.shape != candidate.shape:
            self.shape_failure = self.shape_failure or (
                f"{self.name}: shape {list(candidate.shape)} differs from {list(reference.shape)}"
            )
            return
        if not (_numeric(reference) and _numeric(candidate)):
            # Strings and other non-numbers only compare equal or not.
            self.numeric = False
            self.equal = self.equal and bool(np.array_equal(reference, candidate))
            return
        ref = reference.astype(np.float64).ravel()
        cand = candidate.astype(np.float64).ravel()
        self.elements += int(ref.size)
        finite = np.isfinite(ref) & np.isfinite(cand)
        # Non-finite values agree only when both sides hold the same one (NaN with NaN, +Inf with +Inf).
        same_special = ~finite & ((np.isnan(ref) & np.isnan(cand)) | (ref == cand))
        self.mismatches += int(np.count_nonzero(~finite & ~same_special))
        ref, cand = ref[finite], cand[finite]
        error = np.abs(ref - cand)
        if error.size:
            self.max_abs = max(self.max_abs, float(error.max()))
        self.sum_abs += float(error.sum())
        self.count += int(error.size)
        self.dot += float(np.dot(ref, cand))
        self.ref_sq += float(np.dot(ref, ref))
        self.cand_sq += float(np.dot(cand, cand))
        self.err_sq += float(np.dot(error, error))
        if self.class_scores and looks_like_class_scores(reference.shape, reference.dtype):
            rows_ref = reference.reshape(-1, reference.shape[-1]).astype(np.float64)
            rows_cand = candidate.reshape(-1, candidate.shape[-1]).astype(np.float64)
            self.top1_agree += int(np.count_nonzero(np.argmax(rows_ref, axis=-1) == np.argmax(rows_cand, axis=-1)))
            self.top1_rows += rows_ref.shape[0]
        else:
            self.class_scores = False

    def result(self, tolerance: Tolerance) -> OutputFidelity:
        """The figures over all samples and the tolerance checks that failed."""
        shape = self.shape or []
        if self.shape_failure:
            return OutputFidelity(
                self.name, self.candidate_name, shape, self.dtype, self.candidate_dtype,
                math.nan, math.nan, math.nan, math.nan, None, 0, [self.shape_failure],
            )
        if not self.numeric:
            failures = [] if self.equal else [f"{self.name}: non-numeric values differ"]
            return OutputFidelity(
                self.name, self.candidate_name, shape, self.dtype, self.candidate_dtype,
                0.0 if self.equal else math.inf, 0.0 if self.equal else math.inf, 1.0 if self.equal else 0.0,
                math.inf if self.equal else -math.inf, None, 0, failures,
            )
        cosine = _cosine(self.dot, self.ref_sq, self.cand_sq)
        snr = _snr(self.ref_sq, self.err_sq)
        top1 = self.top1_agree / self.top1_rows if self.class_scores and self.top1_rows else None
        mean_abs = self.sum_abs / self.count if self.count else 0.0
        failures: list[str] = []
        if self.mismatches:
            failures.append(f"{self.name}: {self.mismatches} NaN/Inf values do not match the reference")
        if self.elements and not self.count:
            # Both models gave only NaN/Inf: "cosine 1" would claim agreement that was never measured.
            cosine = snr = math.nan
            failures.append(f"{self.name}: no finite values to compare (every value is NaN or Inf)")
        if tolerance.min_cosine is not None and not cosine >= tolerance.min_cosine:
            failures.append(f"{self.name}: cosine {cosine:.6f} < {tolerance.min_cosine}")
        if tolerance.max_abs is not None and not self.max_abs <= tolerance.max_abs:
            failures.append(f"{self.name}: max abs error {self.max_abs:.3g} > {tolerance.max_abs}")
        if tolerance.min_snr_db is not None and not snr >= tolerance.min_snr_db:
            failures.append(f"{self.name}: SNR {snr:.1f} dB < {tolerance.min_snr_db} dB")
        if tolerance.min_top1 is not None and top1 is not None and not top1 >= tolerance.min_top1:
            failures.append(f"{self.name}: top-1 agreement {top1:.1%} < {tolerance.min_top1:.1%}")
        return OutputFidelity(
            name=self.name,
            candidate_name=self.candidate_name,
            shape=shape,
            dtype=self.dtype,
            candidate_dtype=self.candidate_dtype,
            max_abs=self.max_abs,
            mean_abs=mean_abs,
            cosine=cosine,
            snr_db=snr,
            top1=top1,
            nonfinite_mismatches=self.mismatches,
            failures=failures,
        )


def compare_output(
    name: str,
    candidate_name: str,
    reference: list[np.ndarray],
    candidate: list[np.ndarray],
    tolerance: Tolerance,
) -> OutputFidelity:
    """Statistics and tolerance checks for one output given as one array per sample."""
    stats = OutputStats(name, candidate_name)
    for a, b in zip(reference, candidate):
        stats.add(a, b)
    return stats.result(tolerance)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two arrays taken as flat vectors (1 for two all-zero arrays)."""
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return _cosine(float(np.dot(a, b)), float(np.dot(a, a)), float(np.dot(b, b)))


def snr_db(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Signal-to-noise ratio of the reference against the difference, in dB (inf when identical)."""
    reference, candidate = reference.astype(np.float64).ravel(), candidate.astype(np.float64).ravel()
    error = reference - candidate
    return _snr(float(np.dot(reference, reference)), float(np.dot(error, error)))


def _cosine(dot: float, a_sq: float, b_sq: float) -> float:
    if a_sq == 0.0 and b_sq == 0.0:
        return 1.0
    if a_sq == 0.0 or b_sq == 0.0:
        return 0.0
    # sqrt(a_sq * b_sq) rather than sqrt(a_sq) * sqrt(b_sq): identical vectors then give exactly 1.
    norm = math.sqrt(a_sq * b_sq) if a_sq * b_sq < math.inf else math.sqrt(a_sq) * math.sqrt(b_sq)
    return max(-1.0, min(1.0, dot / norm))


def _snr(signal: float, noise: float) -> float:
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def looks_like_class_scores(shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """Float [batch, classes] or [batch, positions, classes] arrays with at least two classes.

    Feature maps ([N, C, H, W]) and scalars are not class scores; a 3-D output is taken as
    per-position scores (token classification, language-model logits).
    """
    return np.dtype(dtype).kind == "f" and len(shape) in (2, 3) and shape[-1] >= 2


def _numeric(array: np.ndarray) -> bool:
    return array.dtype.kind in "fiub"


def _session(path: Path) -> Any:
    try:
        return open_session(path)
    except Exception as exc:  # noqa: BLE001 - any load failure is one sentence for the user
        ir_hint = unsupported_ir_version(exc)
        if ir_hint:
            raise RuntimeRefused(f"ONNX Runtime cannot load {path.name}: {ir_hint}.") from exc
        raise RuntimeRefused(
            f"ONNX Runtime cannot load {path.name} ({_first_line(exc)}); "
            "check that its operators and opset are supported by ONNX Runtime on the CPU."
        ) from exc


def _run(
    session: Any, names: list[str], feeds: dict[str, np.ndarray], path: Path, index: int, data: str | Path | None
) -> list[Any]:
    """One inference; a runtime failure becomes one sentence naming the model and the sample."""
    try:
        return session.run(names, feeds)
    except Exception as exc:  # noqa: BLE001 - ORT raises its own untyped errors
        detail = _first_line(exc)
        if data is not None:
            raise ConfigError(
                f"{path.name} failed on sample {index + 1} of {data} ({detail}); "
                "check that the arrays have the shapes and types the model expects."
            ) from exc
        raise RuntimeRefused(
            f"ONNX Runtime failed to run {path.name} on sample {index + 1} ({detail}); "
            "give concrete sizes for its dynamic dimensions or check the model."
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).rstrip(".")


def _match_outputs(reference: list[str], candidate: list[str], candidate_name: str) -> str:
    # Passes may rename outputs (a fused node writes a new tensor); same count means same order.
    if set(reference) <= set(candidate):
        return "name"
    if len(reference) == len(candidate):
        return "position"
    raise ConfigError(
        f"{candidate_name} has {len(candidate)} outputs where the reference has "
        f"{len(reference)} with other names, so they cannot be matched; compare models with the same outputs."
    )


def _candidate_feed(
    ref_inputs: list[str], cand_session: Any, candidate_name: str
) -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """Map reference feeds onto the candidate's inputs: by name, else by position; cast dtypes."""
    cand_inputs = cand_session.get_inputs()
    names = [i.name for i in cand_inputs]
    if set(names) <= set(ref_inputs):
        mapping = {name: name for name in names}
    elif len(names) == len(ref_inputs):
        mapping = dict(zip(names, ref_inputs))
    else:
        raise ConfigError(
            f"{candidate_name} takes inputs {', '.join(names)} that do not match the reference "
            f"inputs {', '.join(ref_inputs)}; compare models with the same inputs."
        )
    # A precision pass may turn a float input into float16: feed the same values in its dtype.
    dtypes = {i.name: _ort_numpy_dtype(i.type) for i in cand_inputs}

    def feed(ref_feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = {}
        for name, source in mapping.items():
            value = ref_feeds[source]
            dtype = dtypes[name]
            result[name] = value.astype(dtype) if dtype is not None and value.dtype != dtype else value
        return result

    return feed


_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(int16)": np.int16,
    "tensor(uint16)": np.uint16,
    "tensor(int32)": np.int32,
    "tensor(uint32)": np.uint32,
    "tensor(int64)": np.int64,
    "tensor(uint64)": np.uint64,
    "tensor(bool)": np.bool_,
}


def _ort_numpy_dtype(type_name: str) -> np.dtype | None:
    known = _ORT_TYPES.get(type_name)
    return np.dtype(known) if known is not None else None


def _samples(
    model: Any,
    source: DataSource | None,
    samples: int | None,
    seed: int,
    dims: dict[str, int] | None,
    assumed: dict[str, int],
    labels: list[np.ndarray | None],
) -> Iterator[dict[str, np.ndarray]]:
    """Feeds for the reference model: user data (cast to the input dtypes) or seeded random data.

    Each sample's labels (None without them) are appended to `labels` as the sample is drawn.
    """
    specs = input_specs(model, dims)
    for spec in specs:
        assumed.update(spec.assumed)
    if source is not None:
        for feed, sample_labels in labelled_samples(model, source, samples, dims):
            labels.append(sample_labels)
            yield feed
        return
    assert samples is not None
    for index in range(samples):
        labels.append(None)
        # A different seed per sample; the same seeds for every version, so comparisons line up.
        yield random_inputs(model, dims=dims, seed=seed + index)
