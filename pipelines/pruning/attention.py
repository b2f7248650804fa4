"""Recognise multi-head attention blocks so whole heads can be pruned.

The pattern is what exporters write for BERT-style attention:

    x -> MatMul(Wq) [-> Add(bq)] -> Reshape([b, s, H, Dh]) -> Transpose -> MatMul(q, k) -> ...
      -> Softmax -> MatMul(probs, v) -> Transpose -> Reshape([b, s, H*Dh]) -> MatMul(Wo)

A head is a block of Dh columns of Wq/Wk/Wv (and their biases) and Dh rows of Wo. Removing a
head also changes the head count in the split Reshape constants (and the width in the merge
Reshape). A block that differs anywhere is reported with a reason and left alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx_ir as ir

from onnx_workbench.pipelines.pruning.dependency import Group, Member, Space
from onnx_workbench.pipelines.pruning.irutil import const_array, is_initializer

# Ops allowed between the head split and the score MatMul (scaling, layout).
_SPLIT_TO_SCORES = frozenset({"Transpose", "Mul", "Div"})
# Ops allowed between the scores and the context MatMul (scale, mask, softmax).
_SCORES_TO_CONTEXT = frozenset({"Mul", "Div", "Add", "Sub", "Softmax", "Where", "Cast", "Dropout"})


class NotRecognised(Exception):
    """Raised inside the matcher with the reason a candidate block was refused."""


@dataclass
class AttentionBlock:
    """One recognised attention block and the tensors a head removal touches."""

    name: str
    heads: int
    head_dim: int
    split_reshapes: list[ir.Node]
    merge_reshape: ir.Node
    group: Group  # one space of `heads` channels, members sliced in blocks of head_dim
    softmax: list[str] = field(default_factory=list)  # Softmax nodes inside the block


def _single_consumer(value: ir.Value) -> ir.Node:
    consumers = value.consumers()
    if len(consumers) != 1 or value.is_graph_output():
        raise NotRecognised(f"'{value.name}' does not feed exactly one node")
    return consumers[0]


def _is_scalar(value: ir.Value | None) -> bool:
    array = const_array(value)
    return array is not None and array.size == 1


def _projection(reshape: ir.Node) -> tuple[ir.Node, ir.Value, ir.Value | None]:
    """The MatMul (and bias) feeding a head-split Reshape."""
    producer = reshape.inputs[0].producer()
    bias = None
    if producer is not None and producer.op_type == "Add":
        operands = [v for v in producer.inputs if const_array(v) is None]
        constants = [v for v in producer.inputs if const_array(v) is not None]
        if len(operands) != 1 or len(constants) != 1 or const_array(constants[0]).ndim != 1:
            raise NotRecognised(f"Add node '{producer.name}' is not a plain bias")
        bias = constants[0]
        if len(producer.outputs[0].consumers()) != 1:
            raise NotRecognised(f"the biased projection '{producer.name}' has other consumers")
        producer = operands[0].producer()
    if producer is None or producer.op_type != "MatMul":
        raise NotRecognised(f"Reshape node '{reshape.name}' is not fed by a MatMul projection")
    weight = producer.inputs[1]
    array = const_array(weight)
    if array is None or array.ndim != 2 or not is_initializer(weight):
        raise NotRecognised(f"MatMul node '{producer.name}' has no 2-D constant weight")
    if len(producer.outputs[0].consumers()) != 1:
        raise NotRecognised(f"projection '{producer.name}' has other consumers")
    return producer, weight, bias


def _walk(start: ir.Value, allowed: frozenset[str], visited: list[ir.Node] | None = None) -> tuple[ir.Node, int]:
    """Follow single consumers through `allowed` ops (scalar operands only) to a MatMul."""
    value = start
    while True:
        node = _single_consumer(value)
        if visited is not None:
            visited.append(node)
        if node.op_type == "MatMul":
            return node, list(node.inputs).index(value)
        if node.op_type not in allowed:
            raise NotRecognised(f"{node.op_type} node '{node.name}' sits in the attention path")
        others = [v for v in node.inputs if v is not value and v is not None]
        # Before the scores only scalar scaling keeps heads independent; after, masks may broadcast.
        if allowed is _SPLIT_TO_SCORES and node.op_type in ("Mul", "Div") and not all(_is_scalar(v) for v in others):
            raise NotRecognised(f"{node.op_type} node '{node.name}' scales by a non-scalar")
        value = node.outputs[0]


def _split_shape(reshape: ir.Node) -> np.ndarray | None:
    shape = const_array(reshape.inputs[1]) if len(reshape.inputs) > 1 else None
    if shape is None or shape.ndim != 1 or len(shape) != 4:
        return None
    return shape


def _match(score: ir.Node, q_reshape: ir.Node, k_reshape: ir.Node, splits: dict[ir.Node, tuple[ir.Node, int]]) -> AttentionBlock:
    path: list[ir.Node] = []
    context, index = _walk(score.outputs[0], _SCORES_TO_CONTEXT, path)
    if index != 0:
        raise NotRecognised(f"MatMul node '{context.name}' takes the probabilities on the right")
    v_reshape = next((r for r, (m, i) in splits.items() if m is context and i == 1), None)
    if v_reshape is None:
        raise NotRecognised(f"MatMul node '{context.name}' does not take a head-split value")
    transpose = _single_consumer(context.outputs[0])
    if transpose.op_type != "Transpose" or list(transpose.attributes.get_ints("perm", [])) != [0, 2, 1, 3]:
        raise NotRecognised(f"the context of '{context.name}' is not transposed back to [b, s, H, Dh]")
    merge = _single_consumer(transpose.outputs[0])
    merge_shape = const_array(merge.inputs[1]) if merge.op_type == "Reshape" else None
    if merge_shape is None or merge_shape.ndim != 1 or len(merge_shape) != 3:
        raise NotRecognised(f"the heads after '{transpose.name}' are not merged by a constant Reshape")
    out_proj = _single_consumer(merge.outputs[0])
    out_weight = out_proj.inputs[1] if out_proj.op_type == "MatMul" else None
    if out_weight is None or const_array(out_weight) is None or not is_initializer(out_weight):
        raise NotRecognised(f"the merged heads of '{merge.name}' do not feed a constant-weight MatMul")
    projections = [_projection(r) for r in (q_reshape, k_reshape, v_reshape)]
    width = const_array(projections[0][1]).shape[1]
    shape = _split_shape(q_reshape)
    if shape[2] > 0:
        heads = int(shape[2])
    elif shape[3] > 0:
        heads = width // int(shape[3])
    else:
        raise NotRecognised(f"Reshape node '{q_reshape.name}' names neither the head count nor the head size")
    head_dim = width // heads
    for reshape, (_, weight, bias) in zip((q_reshape, k_reshape, v_reshape), projections):
        s = _split_shape(reshape)
        if const_array(weight).shape[1] != width or s[2] not in (heads, -1) or s[3] not in (head_dim, -1):
            raise NotRecognised(f"Reshape node '{reshape.name}' splits a different number of heads")
        if bias is not None and const_array(bias).shape[0] != width:
            raise NotRecognised(f"the bias of '{reshape.name}' has the wrong width")
    if const_array(out_weight).shape[0] != width or merge_shape[2] not in (width, -1):
        raise NotRecognised(f"MatMul node '{out_proj.name}' does not read the {width} merged features")
    tensors = [w for _, w, _ in projections] + [b for _, _, b in projections if b is not None] + [out_weight]
    if any(len(t.uses()) > 1 for t in tensors):
        raise NotRecognised("a projection weight is shared with other nodes")
    space = Space(0, heads, score)
    for _, weight, bias in projections:
        space.members.append(Member(weight, 1, 0, head_dim, "out"))
        if bias is not None:
            space.members.append(Member(bias, 0, 0, head_dim))
    space.members.append(Member(out_weight, 0, 0, head_dim, "in"))
    group = Group(score.name, heads, [space])
    softmax = [n.name for n in path if n.op_type == "Softmax"]
    return AttentionBlock(score.name, heads, head_dim, [q_reshape, k_reshape, v_reshape], merge, group, softmax)


def find_attention_blocks(graph: ir.Graph) -> tuple[list[AttentionBlock], dict[str, str]]:
    """Recognised attention blocks, and a warning per refused candidate (keyed by its score MatMul)."""
    splits: dict[ir.Node, tuple[ir.Node, int]] = {}
    refused: dict[str, str] = {}
    for node in graph:
        if node.op_type == "Reshape" and _split_shape(node) is not None:
            try:
                splits[node] = _walk(node.outputs[0], _SPLIT_TO_SCORES)
            except NotRecognised:
                continue  # a 4-D reshape that is not a head split: not a candidate
    blocks: list[AttentionBlock] = []
    scores = {m for m, i in splits.values() if i == 0}
    for score in sorted(scores, key=lambda n: n.name):
        q = next((r for r, (m, i) in splits.items() if m is score and i == 0), None)
        k = next((r for r, (m, i) in splits.items() if m is score and i == 1), None)
        try:
            if k is None:
                raise NotRecognised(f"MatMul node '{score.name}' does not take head-split keys")
            blocks.append(_match(score, q, k, splits))
        except NotRecognised as reason:
            refused[score.name] = f"Attention block at '{score.name}' was not recognised ({reason}), so its heads were left alone."
    return blocks, refused


def set_head_count(block: AttentionBlock, kept_heads: int, graph: ir.Graph) -> None:
    """Rewrite the split and merge Reshape constants for `kept_heads` heads.

    New initializers are made (one per distinct shape) because the original shape constant is
    often shared, also with other blocks that keep their heads; an old one left unused is dropped.
    """
    made: dict[tuple[int, ...], ir.Value] = {}
    for reshape in [*block.split_reshapes, block.merge_reshape]:
        shape = const_array(reshape.inputs[1]).copy()
        if len(shape) == 4:
            if shape[2] > 0:
                shape[2] = kept_heads
        elif shape[2] > 0:
            shape[2] = kept_heads * block.head_dim
        key = tuple(int(d) for d in shape)
        if key not in made:
            name = f"{reshape.name or reshape.inputs[0].name}.pruned_shape"
            while name in graph.initializers:
                name += "_"
            made[key] = ir.Value(name=name, shape=ir.Shape(shape.shape), type=ir.TensorType(ir.DataType.INT64),
                                 const_value=ir.tensor(shape, name=name))
            graph.register_initializer(made[key])
        old = reshape.inputs[1]
        reshape.replace_input_with(1, made[key])
        if old is not None and not old.uses() and old.is_initializer() and not old.is_graph_output():
            graph.initializers.pop(old.name, None)
