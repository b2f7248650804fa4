"""Which passes apply to a model, decided from what the graph contains (no weights read).

A rule answers for one (model, pass): does the pass apply, and if not, the real reason in
words ("no Conv to prune"); if it does, the config to run it with and whether the pass must
change the graph. A pass that applies, expects a change and leaves the graph as it was is a
failure of the pass (fold-batchnorm folding 0 of 53 BatchNormalization nodes is a bug, not a
result). Pure onnx: the coverage tests check these rules on helper-built models without torch.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import onnx

from onnx_workbench.pipelines.inputs import graph_inputs

# convert-opset's default target; models at or above it have nothing to upgrade.
UPGRADE_OPSET = 17
# Ops whose constant weight makes a linear layer (quantize-weights, prune-magnitude).
LINEAR_OPS = ("MatMul", "Gemm")
# Ops through which a weight stays a weight: a transposed, reshaped or cast constant.
CONSTANT_VIEWS = ("Transpose", "Reshape", "Unsqueeze", "Squeeze", "Cast", "Identity")
# Ops a hidden neuron passes through unchanged in position: activations (also decomposed ones),
# bias and scale arithmetic, dropout, and the reshapes exporters put around rank-3 Gemms.
ELEMENTWISE = frozenset({
    "Relu", "LeakyRelu", "PRelu", "Gelu", "Erf", "Tanh", "Sigmoid", "HardSigmoid", "HardSwish", "Clip",
    "Softplus", "Elu", "Selu", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Cast", "Identity", "Dropout",
    "Reshape", "Flatten",
})
# Passes that must not change what the model computes (their outputs should match closely).
EXACT_CATEGORIES = ("cleanup", "fusion", "convert")
# prune-magnitude's default min_size: smaller weights (biases) are left alone.
PRUNE_MIN_SIZE = 1024


@dataclass(frozen=True)
class ModelFacts:
    """What the rules look at: op counts, constants, producers and the inputs' dynamic dims."""

    ops: Counter[str]
    opset: int
    # Names of tensors that are constants: initializers, Constant outputs and constant views.
    constants: frozenset[str]
    # Element count of every initializer (0 when its dims are unknown).
    sizes: dict[str, int]
    producers: dict[str, onnx.NodeProto]
    consumers: dict[str, list[onnx.NodeProto]]
    nodes: tuple[onnx.NodeProto, ...]
    dynamic_dims: tuple[str, ...]
    float_tensors: bool

    @classmethod
    def of(cls, model: onnx.ModelProto) -> ModelFacts:
        """Facts of the main graph of `model` (its weights need not be loaded)."""
        graph = model.graph
        sizes = {t.name: _count(t.dims) for t in graph.initializer}
        constants = set(sizes)
        # Copies: a node of the loaded model would keep all of it (weights included) alive.
        nodes = tuple(_copy(n) for n in graph.node)
        producers: dict[str, onnx.NodeProto] = {}
        consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in nodes:  # topological order: a view's input is classified before it
            for name in node.output:
                producers[name] = node
            for name in node.input:
                consumers.setdefault(name, []).append(node)
            if node.op_type == "Constant" or (
                node.op_type in CONSTANT_VIEWS and node.input and node.input[0] in constants
            ):
                constants.update(node.output)
        inputs = graph_inputs(model)
        dynamic = tuple(
            dim.dim_param or f"{value.name}[{axis}]"
            for value in inputs
            for axis, dim in enumerate(value.type.tensor_type.shape.dim)
            if not dim.HasField("dim_value")
        )
        floats = any(t.data_type == onnx.TensorProto.FLOAT for t in graph.initializer) or any(
            v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for v in inputs
        )
        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
        return cls(
            ops=Counter(n.op_type for n in nodes),
            opset=opset,
            constants=frozenset(constants),
            sizes=sizes,
            producers=producers,
            consumers=consumers,
            nodes=nodes,
            dynamic_dims=tuple(dict.fromkeys(dynamic)),
            float_tensors=floats,
        )

    def weight_size(self, name: str) -> int:
        """Elements of the initializer behind constant `name`, through views; 0 if not a weight."""
        seen = 0
        while name not in self.sizes and name in self.producers and seen < 8:
            node = self.producers[name]
            if node.op_type not in CONSTANT_VIEWS or not node.input:
                return 0
            name, seen = node.input[0], seen + 1
        return self.sizes.get(name, 0)

    def linear_layers(self) -> list[onnx.NodeProto]:
        """MatMul/Gemm nodes with a constant 2-D-or-more weight as one operand."""
        return [
            n for n in self.nodes
            if n.op_type in LINEAR_OPS and any(i in self.constants for i in n.input[:2])
        ]

    def followed_by(self, op_type: str, producers: tuple[str, ...]) -> int:
        """How many `op_type` nodes take their first input straight from one of `producers`."""
        return sum(
            1 for n in self.nodes
            if n.op_type == op_type and n.input and n.input[0] in self.producers
            and self.producers[n.input[0]].op_type in producers
        )


@dataclass(frozen=True)
class Verdict:
    """Whether a pass applies; the reason if not; the config and the change expected if so."""

    applies: bool
    reason: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    # What the pass works on, in words, when it must change the graph ("" when a no-op is fine).
    expects: str = ""
    # An op type whose count the pass must lower (fold-batchnorm: BatchNormalization).
    removes_op: str = ""
    # Whether the pass must leave fewer nodes than it found (fusions).
    shrinks: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a pass run did, as the cell's worker reports it."""

    changed: bool
    removed_by_op: dict[str, int]
    added_by_op: dict[str, int]
    cosine: float | None


def judge(rule: Verdict, outcome: Outcome, pass_name: str, category: str, min_cosine: float) -> tuple[bool, str]:
    """(failed, sentence): whether a pass that ran did its job, and what to say about it.

    The sentence names the failure, or is a note on a cell that is fine ("no change", or a
    lossy pass under its tolerance: random weights and calibration make that expected).
    """
    removed, added = sum(outcome.removed_by_op.values()), sum(outcome.added_by_op.values())
    if not outcome.changed:
        return (True, f"the pass changed nothing although {rule.expects}.") if rule.expects else (False, "no change")
    if rule.removes_op and outcome.removed_by_op.get(rule.removes_op, 0) <= outcome.added_by_op.get(rule.removes_op, 0):
        return True, f"the pass left every {rule.removes_op} in place although {rule.expects}."
    if rule.shrinks and removed <= added:
        return True, f"the pass fused nothing (-{removed} +{added} nodes) although {rule.expects}."
    if outcome.cosine is not None and outcome.cosine < min_cosine:
        if category in EXACT_CATEGORIES:
            return True, f"the outputs changed (worst cosine {outcome.cosine:.4f}, tolerance {min_cosine}) though {pass_name} should keep what the model computes."
        return False, f"under its tolerance {min_cosine}"
    return False, ""


def refuse(reason: str) -> Verdict:
    """A pass that does not apply, for `reason`."""
    return Verdict(False, reason)


def run(config: dict[str, Any] | None = None, *, expects: str = "", removes_op: str = "", shrinks: bool = False) -> Verdict:
    """A pass that applies with `config`; `expects` names what it must change, if anything."""
    return Verdict(True, config=config or {}, expects=expects, removes_op=removes_op, shrinks=shrinks)


# Every rule takes the facts and returns a verdict; passes without a rule always apply.
Rule = Callable[[ModelFacts], Verdict]


def _fold_batchnorm(facts: ModelFacts) -> Verdict:
    folds = facts.followed_by("BatchNormalization", ("Conv", "ConvTranspose", "Gemm"))
    if not folds:
        return refuse("no BatchNormalization follows a Conv, ConvTranspose or Gemm")
    return run(expects=f"{folds} BatchNormalization follow a Conv, ConvTranspose or Gemm", removes_op="BatchNormalization")


def _fix_shapes(facts: ModelFacts) -> Verdict:
    if not facts.dynamic_dims:
        return refuse("every input shape is already fixed")
    # Fix what verification assumes anyway: batch 1, every other dynamic dim 128 (pipelines.inputs).
    dims = {name: 1 if index == 0 else 128 for index, name in enumerate(facts.dynamic_dims) if "[" not in name}
    if not dims:
        return refuse("the dynamic dimensions have no names to fix them by")
    return run({"dims": dims}, expects=f"the inputs have the dynamic dimensions {', '.join(dims)}")


def _fuse_matmul_add(facts: ModelFacts) -> Verdict:
    found = (
        facts.followed_by("Add", ("MatMul",))
        + facts.followed_by("Transpose", ("Transpose",))
        + facts.followed_by("Reshape", ("Reshape",))
    )
    return run() if found else refuse("no MatMul + Add, Transpose pair or Reshape pair to fuse")


def _transformer_fusion(facts: ModelFacts) -> Verdict:
    # Attention: scores from a MatMul (maybe scaled or masked first) into a Softmax.
    attention = sum(
        1 for n in facts.nodes if n.op_type == "Softmax" and _upstream_op(facts, n.input[0], "MatMul", depth=4)
    )
    if not attention:
        return refuse("no attention (MatMul into Softmax) to fuse")
    return run(expects=f"the model has {attention} attention blocks (MatMul into Softmax)", shrinks=True)


def _prune_channels(facts: ModelFacts) -> Verdict:
    convs = [n for n in facts.nodes if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in facts.constants]
    if not convs:
        return refuse("no Conv to prune")
    if len(convs) == 1:
        return refuse("one Conv only, so no channel feeds another prunable layer")
    return run(expects=f"the model has {len(convs)} Conv layers with constant weights")


def _prune_magnitude(facts: ModelFacts) -> Verdict:
    weights = [
        i for n in facts.nodes if n.op_type in ("Conv", "Gemm", "MatMul")
        for i in n.input[:2] if facts.weight_size(i) >= PRUNE_MIN_SIZE
    ]
    if not weights:
        return refuse(f"no Conv, Gemm or MatMul weight of {PRUNE_MIN_SIZE} or more values")
    return run(expects=f"the model has {len(weights)} Conv, Gemm or MatMul weights of {PRUNE_MIN_SIZE} or more values")


def _prune_neurons(facts: ModelFacts) -> Verdict:
    pairs = sum(1 for node in facts.linear_layers() if _feeds_linear(facts, node))
    if not pairs:
        return refuse("no linear layer feeds another through an activation, so no hidden neurons to remove")
    return run(expects=f"{pairs} linear layers feed another linear layer through an activation")


def _quantizable(facts: ModelFacts) -> str:
    """'the model has 53 Conv and 1 Gemm ...' or '' when nothing has a constant weight."""
    linears = len(facts.linear_layers())
    convs = sum(1 for n in facts.nodes if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in facts.constants)
    return f"the model has {convs} Conv and {linears} MatMul/Gemm layers with constant weights" if convs + linears else ""


def _quantize_dynamic(facts: ModelFacts) -> Verdict:
    found = _quantizable(facts)
    if not found:
        return refuse("no MatMul, Gemm or Conv with constant weights to quantize")
    return run({}, expects=found)


def _quantize_static(facts: ModelFacts) -> Verdict:
    found = _quantizable(facts)
    if not found:
        return refuse("no MatMul, Gemm or Conv with constant weights to quantize")
    # Calibration on a few random samples: a preview of the pass, cut to fit the run's time.
    return run({"samples": 4}, expects=found)


def _quantize_weights(facts: ModelFacts) -> Verdict:
    linears = len(facts.linear_layers())
    if not linears:
        return refuse("no MatMul or Gemm with a constant weight to quantize")
    return run({}, expects=f"the model has {linears} MatMul/Gemm layers with constant weights")


def _to_fp16(facts: ModelFacts) -> Verdict:
    if not facts.float_tensors:
        return refuse("no float32 tensors to convert")
    return run({}, expects="the model has float32 tensors")


def _convert_opset(facts: ModelFacts) -> Verdict:
    if facts.opset >= UPGRADE_OPSET:
        return refuse(f"already at opset {facts.opset}, not below the default target {UPGRADE_OPSET}")
    return run({"opset": UPGRADE_OPSET}, expects=f"the model is at opset {facts.opset}")


RULES: dict[str, Rule] = {
    "fold-batchnorm": _fold_batchnorm,
    "fix-shapes": _fix_shapes,
    "fuse-matmul-add": _fuse_matmul_add,
    "transformer-fusion": _transformer_fusion,
    "prune-channels": _prune_channels,
    "prune-magnitude": _prune_magnitude,
    "prune-neurons": _prune_neurons,
    "quantize-dynamic": _quantize_dynamic,
    "quantize-static": _quantize_static,
    "quantize-weights": _quantize_weights,
    "to-fp16": _to_fp16,
    "convert-opset": _convert_opset,
}


def verdict(facts: ModelFacts, pass_name: str) -> Verdict:
    """Whether `pass_name` applies to the model described by `facts` (passes without a rule always do)."""
    rule = RULES.get(pass_name)
    return rule(facts) if rule is not None else run()


def _feeds_linear(facts: ModelFacts, node: onnx.NodeProto, depth: int = 10) -> bool:
    """True when `node`'s output reaches another linear layer's data input through element-wise
    ops and reshapes only (an MLP: Gemm, Relu, Gemm; a decomposed GELU or SiLU counts too)."""
    frontier, seen = [node.output[0]], set()
    for _ in range(depth):
        following = []
        for name in frontier:
            for consumer in facts.consumers.get(name, []):
                if id(consumer) in seen:
                    continue
                seen.add(id(consumer))
                if consumer.op_type in LINEAR_OPS and consumer.input[0] == name and consumer.input[1] in facts.constants:
                    return True
                if consumer.op_type in ELEMENTWISE:
                    following.extend(consumer.output)
        frontier = following
    return False


def _upstream_op(facts: ModelFacts, name: str, op_type: str, depth: int) -> bool:
    """True when `op_type` produces `name` within `depth` single-input steps back (Div, Add, Where...)."""
    for _ in range(depth):
        node = facts.producers.get(name)
        if node is None:
            return False
        if node.op_type == op_type:
            return True
        name = next((i for i in node.input if i and i not in facts.constants), "")
    return False


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    return copy


def _count(dims: Any) -> int:
    total = 1
    for d in dims:
        total *= int(d)
    return total
