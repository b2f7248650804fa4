"""One front door for what real exporters write: recognise it and normalise it in memory.

Models from the ONNX model zoo, caffe2 and torch's legacy exporter carry habits that make
weights look like something else, so analysis, fusion, pruning and quantization would not
see them as constants:

- weights listed as graph inputs (IR 3, where it was required, and torch's
  `keep_initializers_as_inputs=True`): ONNX Runtime then folds nothing, the onnxscript
  rewriter refuses to touch them and ORT's quantizer writes an invalid model. They become
  plain initializers (and the IR version at least 4, the first where that is legal);
- operator sets older than 7, the oldest ONNX Runtime runs (`is_test` on BatchNormalization
  and Dropout, `consumed_inputs`): upgraded to 7 with onnx's version converter, which knows
  each op's change;
- `BatchNormalization(spatial=1)` of opsets 7 and 8: the attribute is dropped (it is the only
  meaning BatchNormalization has from opset 9 on, and the one every fold assumes);
- constant sub-graphs (`Constant`, and `Unsqueeze`/`Reshape`/`Cast`/`Transpose`/... of
  initializers, a Dropout's `ratio` input): folded into initializers with onnxscript's
  constant folder.

Inference Dropout itself is left to the cleanup pass: it is an optimization, not a quirk.

`normalize` changes a loaded protobuf in place and returns one readable note per kind of
change; `pipelines.model.load_model` calls it, so the user's file is never written.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import onnx
import onnx.version_converter

from onnx_workbench.pipelines.shape_folding import BROADCASTING_OPS, output_within
from onnx_workbench.pipelines.validation import iter_graphs, node_subgraphs

if TYPE_CHECKING:
    import onnx_ir as ir

# ONNX Runtime runs opset 7 and newer; onnx's converter takes older models up to it.
MIN_RUNNABLE_OPSET = 7
# IR 4 is the first version whose initializers need not be graph inputs.
MIN_IR_FOR_PLAIN_INITIALIZERS = 4
# Ops that only move or re-type a tensor: folding them over a weight read by nothing else
# creates no second copy, so they fold whatever the weight's size.
_LAYOUT_OPS = frozenset({"Unsqueeze", "Squeeze", "Reshape", "Cast", "Transpose", "Identity", "Flatten"})
# Never evaluated ahead of time: they produce new randomness or make big tensors from small
# shapes (onnxscript itself keeps ConstantOfShape and Q/DQ).
_NEVER_FOLD = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "ConstantOfShape", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}
)
_STANDARD_DOMAINS = ("", "ai.onnx")
# Ops whose output size follows from their inputs' values or shapes, not from one input's size.
SIZE_FROM_VALUES_OPS = frozenset({"Expand", "Range", "Tile"}) | BROADCASTING_OPS


def normalize(model: onnx.ModelProto) -> list[str]:
    """Normalise `model` in place; one human-readable note per kind of change (empty: none)."""
    notes: list[str] = []
    for step in (_upgrade_pre_runtime_opset, _weights_out_of_inputs, _drop_spatial_attribute, _fold_constant_subgraphs):
        note = step(model)
        if note:
            notes.append(note)
    return notes


def weights_listed_as_inputs(model: onnx.ModelProto) -> list[str]:
    """Names of initializers that the graph also lists as inputs."""
    initializers = {t.name for t in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name in initializers]


def needs_file_normalizing(model: onnx.ModelProto) -> bool:
    """True when file-based tools (ORT's quantizer and optimizer, onnxsim) would trip on `model`.

    Checked on the graph alone (no weights needed). Constant sub-graphs are not among them:
    those tools fold constants themselves.
    """
    return (
        bool(weights_listed_as_inputs(model))
        or 0 < _default_opset(model) < MIN_RUNNABLE_OPSET
        or any(_has_spatial_one(node) for node in model.graph.node)
    )


# ----------------------------------------------------------------------------- steps


def _upgrade_pre_runtime_opset(model: onnx.ModelProto) -> str:
    opset = _default_opset(model)
    if not 0 < opset < MIN_RUNNABLE_OPSET:
        return ""
    try:
        converted = onnx.version_converter.convert_version(model, MIN_RUNNABLE_OPSET)
    except Exception as exc:  # noqa: BLE001 - the converter raises bare RuntimeErrors
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return f"opset {opset} predates ONNX Runtime (7+) and onnx could not upgrade it ({reason[:120]})."
    model.CopyFrom(converted)
    return f"opset {opset} upgraded to {MIN_RUNNABLE_OPSET} (the oldest ONNX Runtime runs; drops is_test/consumed_inputs)."


def _weights_out_of_inputs(model: onnx.ModelProto) -> str:
    # Plain protobuf edits: a round trip through onnx-ir would copy every weight for what is
    # a change to the list of graph inputs.
    listed = set(weights_listed_as_inputs(model))
    if not listed:
        return ""
    kept = [v for v in model.graph.input if v.name not in listed]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    ir_note = ""
    if model.ir_version < MIN_IR_FOR_PLAIN_INITIALIZERS:
        ir_note = f"; IR version {model.ir_version} -> {MIN_IR_FOR_PLAIN_INITIALIZERS}"
        model.ir_version = MIN_IR_FOR_PLAIN_INITIALIZERS
    return (
        f"{len(listed)} weights listed as graph inputs are treated as constants and written only as "
        f"initializers{ir_note}."
    )


def _drop_spatial_attribute(model: onnx.ModelProto) -> str:
    count = 0
    for node in model.graph.node:
        if _has_spatial_one(node):
            kept = [a for a in node.attribute if a.name != "spatial"]
            del node.attribute[:]
            node.attribute.extend(kept)
            count += 1
    return f"{count} BatchNormalization spatial=1 attributes dropped (the opset-9 meaning)." if count else ""


def _fold_constant_subgraphs(model: onnx.ModelProto) -> str:
    """Evaluate nodes whose inputs are all constants and splice the results in as initializers.

    onnxscript's constant folder does the evaluation (with its size limits) on a small model
    made of those nodes only: folding the whole model through onnx-ir would copy every weight
    on the way back to protobuf, which a multi-GB model cannot afford at load time.
    """
    graph = model.graph
    candidates = _constant_nodes(graph)
    if not candidates:
        return ""
    uses = _use_counts(graph)
    try:
        folded = _evaluate(model, candidates, uses)
    except Exception as exc:  # noqa: BLE001 - folding only helps; a model must still open without it
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"constant sub-graphs were left as they are (folding them failed: {first[:120]})."
    if not folded:
        return ""
    graph.initializer.extend(folded.values())
    removed = _drop_dead_nodes(graph, candidates, set(folded))
    _drop_unused_initializers(graph, {name for node in removed for name in node.input})
    counts = Counter(node.op_type for node in removed)
    listing = ", ".join(f"{op} x{n}" for op, n in counts.most_common())
    return f"{len(removed)} constant nodes folded into initializers ({listing})." if removed else ""


# ----------------------------------------------------------------------------- internals


def _default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in _STANDARD_DOMAINS), 0)


def _has_spatial_one(node: onnx.NodeProto) -> bool:
    return node.op_type == "BatchNormalization" and any(a.name == "spatial" and a.i == 1 for a in node.attribute)


def _subgraphs(nodes: Iterable[onnx.NodeProto]) -> Iterator[onnx.GraphProto]:
    """Every graph nested in `nodes`, at any depth."""
    for node in nodes:
        for sub in node_subgraphs(node):
            yield from iter_graphs(sub)


def _constant_nodes(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Standard deterministic nodes whose every input is an initializer or another such node's output."""
    constant = {t.name for t in graph.initializer} - {v.name for v in graph.input}
    found = []
    for node in graph.node:  # topologically sorted (load_model re-sorts when needed)
        if node.domain not in _STANDARD_DOMAINS or node.op_type in _NEVER_FOLD or any(node_subgraphs(node)):
            continue
        if all(not name or name in constant for name in node.input):
            found.append(node)
            constant.update(o for o in node.output if o)
    return found


def _use_counts(graph: onnx.GraphProto) -> Counter[str]:
    """How many times each name is read: node inputs, subgraph bodies and graph outputs."""
    counts: Counter[str] = Counter(name for node in graph.node for name in node.input if name)
    for sub in _subgraphs(graph.node):
        counts.update(name for node in sub.node for name in node.input if name)
    counts.update(v.name for v in graph.output)
    return counts


def _evaluate(model: onnx.ModelProto, candidates: list[onnx.NodeProto], uses: Counter[str]) -> dict[str, onnx.TensorProto]:
    """Run onnxscript's folder on a model of the candidate nodes; tensors of the needed outputs."""
    import onnx_ir as ir
    from onnx_ir.passes.common import LiftConstantsToInitializersPass
    from onnxscript.optimizer import fold_constants

    graph = model.graph
    produced = {o for node in candidates for o in node.output if o}
    read_inside = Counter(name for node in candidates for name in node.input if name)
    # Outputs something outside the candidate set reads: those are what the main graph needs.
    needed = [name for name in sorted(produced) if uses[name] > read_inside[name]]
    if not needed:
        return {}
    inputs = {name for node in candidates for name in node.input if name} - produced
    sub = onnx.helper.make_model(
        onnx.helper.make_graph(
            list(candidates),
            "constants",
            [],
            [onnx.helper.make_empty_tensor_value_info(name) for name in needed],
            [t for t in graph.initializer if t.name in inputs],
        ),
        opset_imports=list(model.opset_import),
        ir_version=max(model.ir_version, MIN_IR_FOR_PLAIN_INITIALIZERS),
    )
    sub_ir = ir.serde.deserialize_model(sub)

    def should_fold(node: ir.Node) -> bool | None:
        big = [v for v in node.inputs if v is not None and v.const_value is not None and v.const_value.size > 8192]
        if any(uses[v.name] > 1 for v in big):
            return False  # a weight read elsewhere too: folding would store it twice
        if node.op_type in SIZE_FROM_VALUES_OPS and not _output_fits(node):
            return False  # small inputs can make a huge output (a 25 KB model broadcast to 4 GB)
        return True if node.op_type in _LAYOUT_OPS else None

    fold_constants(sub_ir, should_fold=should_fold)
    LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(sub_ir)
    result: dict[str, onnx.TensorProto] = {}
    for name, value in zip(needed, sub_ir.graph.outputs):
        while value.const_value is None and value.producer() is not None and value.producer().op_type == "Identity":
            value = value.producer().inputs[0]
        if value.const_value is not None:
            tensor = ir.serde.serialize_tensor(value.const_value)
            tensor.name = name
            result[name] = tensor
    return result


def _output_fits(node: ir.Node) -> bool:
    """Whether the node's output stays within onnxscript's own output limit, judged before evaluating it."""
    from onnxscript.optimizer._constant_folding import DEFAULT_CONSTANT_FOLD_OUTPUT_SIZE_LIMIT

    inputs = [v.const_value.numpy() if v is not None and v.const_value is not None else None for v in node.inputs]
    return output_within(node.op_type, inputs, DEFAULT_CONSTANT_FOLD_OUTPUT_SIZE_LIMIT)


def _drop_dead_nodes(graph: onnx.GraphProto, candidates: list[onnx.NodeProto], folded: set[str]) -> list[onnx.NodeProto]:
    """Remove candidate nodes nothing needs once `folded` outputs are initializers; the removed ones."""
    candidate_ids = {id(node) for node in candidates}
    needed: set[str] = {v.name for v in graph.output} - folded
    for node in graph.node:
        if id(node) not in candidate_ids:
            needed.update(node.input)
    for sub in _subgraphs(n for n in graph.node if id(n) not in candidate_ids):
        needed.update(name for node in sub.node for name in node.input)
    keep_ids = set()
    for node in reversed(candidates):
        if any(o in needed and o not in folded for o in node.output):
            keep_ids.add(id(node))
            needed.update(node.input)
    removed = [node for node in candidates if id(node) not in keep_ids]
    removed_ids = {id(node) for node in removed}
    kept = [node for node in graph.node if id(node) not in removed_ids]
    del graph.node[:]
    graph.node.extend(kept)
    return removed


def _drop_unused_initializers(graph: onnx.GraphProto, names: set[str]) -> None:
    """Remove the initializers among `names` that nothing reads any more."""
    unused = names - set(_use_counts(graph))
    if unused:
        kept = [t for t in graph.initializer if t.name not in unused]
        del graph.initializer[:]
        graph.initializer.extend(kept)
