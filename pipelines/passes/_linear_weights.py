"""Show ONNX Runtime's weight-only quantizer the linear layers that exporters hide from it.

`MatMulNBitsQuantizer` only quantizes a `MatMul` whose second input is a constant [K, N]
initializer. Real exports spell linear layers other ways: the dynamo exporter writes `Gemm`
(often with transB=1, the [N, K] layout of torch.nn.Linear) and `MatMul(x, Transpose(W))`,
and a tied LM head multiplies by a Transpose of the token embedding that a `Gather` also
reads. This module rewrites those, in onnx-ir, into `MatMul(x, W_kn)` (+ `Add` for a bias) so
the quantizer sees them. Declares no pass; the engine imports it like any pass module.

Direct onnx-ir surgery rather than onnxscript rewrite rules: onnxscript's own
`gemm_to_matmul_add_rule` only takes Reshape-Gemm-Reshape with transB=0 and alpha=beta=1,
its matcher refuses a Transpose whose output feeds several MatMuls, and the quantizer's
`nodes_to_exclude` needs the rewritten MatMul to keep the Gemm's node name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx_ir as ir

from onnx_workbench.pipelines.passes._rewrite import remove_dead_code


@dataclass(frozen=True)
class TiedCopy:
    """A transposed copy made of a constant that other nodes still read as it is (a tied LM head)."""

    source: str  # the shared constant, e.g. the token embedding
    copy: str  # the new [K, N] initializer the MatMul reads
    matmul_outputs: tuple[str, ...]  # outputs of the MatMuls that read the copy


@dataclass
class ExposedWeights:
    """What `expose_linear_weights` rewrote."""

    gemms: int = 0  # Gemm linears now MatMul (+ Add)
    transposes: int = 0  # MatMuls whose Transpose(constant) weight is now a constant
    tied: list[TiedCopy] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Linear layers made visible to the quantizer."""
        return self.gemms + self.transposes


def expose_linear_weights(model: ir.Model, exclude: frozenset[str] = frozenset()) -> ExposedWeights:
    """Rewrite Gemm linears and MatMul(x, Transpose(constant)) in the main graph into MatMul(x, constant [K, N]).

    Nodes named in `exclude` are left alone (the user keeps them in float, so no copy is made).
    """
    graph = model.graph
    names = _NameSource(graph)
    result = ExposedWeights()
    copies: dict[ir.Value, ir.Value] = {}  # new [K, N] initializer -> the constant it was made from
    for node in list(graph):
        if node.op_type == "Gemm" and node.domain in ("", "ai.onnx") and node.name not in exclude:
            result.gemms += _gemm_to_matmul(graph, node, names, copies)
    by_transpose: dict[ir.Value, ir.Value] = {}  # Transpose output -> its constant replacement
    for node in list(graph):
        if node.op_type != "MatMul" or node.domain not in ("", "ai.onnx") or node.name in exclude:
            continue
        transposed = node.inputs[1]
        weight = _transposed_constant(transposed)
        if weight is None:
            continue
        if transposed not in by_transpose:
            by_transpose[transposed] = _new_initializer(graph, names, f"{weight.name}_transposed", _array(weight).T)
            copies[by_transpose[transposed]] = weight
        node.replace_input_with(1, by_transpose[transposed])
        result.transposes += 1
    if result.total:
        remove_dead_code(model)
    for copy, source in copies.items():
        if source.uses():  # still read as it is: a Gather of a tied embedding, an excluded node
            outputs = tuple(c.outputs[0].name for c in copy.consumers())
            result.tied.append(TiedCopy(source.name, copy.name, outputs))
    return result


def _gemm_to_matmul(graph: ir.Graph, gemm: ir.Node, names: _NameSource, copies: dict[ir.Value, ir.Value]) -> bool:
    """Replace one Gemm with a constant weight by MatMul(A, alpha * op(B)) [+ Add(beta * C)]."""
    a, b = gemm.inputs[0], gemm.inputs[1]
    c = gemm.inputs[2] if len(gemm.inputs) > 2 else None
    attrs = gemm.attributes
    if attrs.get_int("transA", 0) or not _is_constant_matrix(b):
        return False
    alpha, beta = attrs.get_float("alpha", 1.0), attrs.get_float("beta", 1.0)
    trans_b = bool(attrs.get_int("transB", 0))
    if c is not None and beta != 1.0 and c.const_value is None:
        return False  # beta * C with C computed at run time: not a plain linear layer
    if not trans_b and alpha == 1.0:
        weight = b  # already [K, N]: no copy
    else:
        array = _array(b).T if trans_b else _array(b)
        weight = _new_initializer(graph, names, f"{b.name}_kn", (array * np.float32(alpha)).astype(array.dtype))
        copies[weight] = b
    matmul = ir.node("MatMul", [a, weight], name=gemm.name, outputs=[ir.Value(name=names.fresh(f"{gemm.name}_matmul"))])
    new_nodes = [matmul]
    result = matmul.outputs[0]
    if c is not None:
        bias = c
        if beta != 1.0:
            bias_array = _array(c)
            bias = _new_initializer(graph, names, f"{c.name}_scaled", (bias_array * np.float32(beta)).astype(bias_array.dtype))
        add = ir.node("Add", [result, bias], name=names.fresh(f"{gemm.name}_bias"))
        new_nodes.append(add)
        result = add.outputs[0]
    ir.convenience.replace_nodes_and_values(graph, gemm, [gemm], new_nodes, [gemm.outputs[0]], [result])
    return True


def _transposed_constant(value: ir.Value | None) -> ir.Value | None:
    """The constant matrix W when `value` is Transpose(W) with perm [1, 0] (or the default)."""
    producer = value.producer() if value is not None else None
    if producer is None or producer.op_type != "Transpose" or producer.domain not in ("", "ai.onnx"):
        return None
    weight = producer.inputs[0]
    perm = producer.attributes.get_ints("perm", None)
    if not _is_constant_matrix(weight) or (perm is not None and list(perm) != [1, 0]):
        return None
    return weight


def _is_constant_matrix(value: ir.Value | None) -> bool:
    """A float 2-D initializer that no caller can feed (IR < 4 graphs also list weights as inputs)."""
    return (
        value is not None
        and value.const_value is not None
        and value.is_initializer()
        and not value.is_graph_input()
        and len(value.const_value.shape) == 2
        and value.const_value.dtype in (ir.DataType.FLOAT, ir.DataType.FLOAT16, ir.DataType.BFLOAT16)
    )


def _array(value: ir.Value) -> np.ndarray:
    assert value.const_value is not None
    return value.const_value.numpy()


def _new_initializer(graph: ir.Graph, names: _NameSource, name: str, array: np.ndarray) -> ir.Value:
    value = ir.Value(name=names.fresh(name), const_value=ir.tensor(np.ascontiguousarray(array)))
    value.const_value.name = value.name
    value.shape = ir.Shape(array.shape)
    value.type = ir.TensorType(value.const_value.dtype)
    graph.register_initializer(value)
    return value


class _NameSource:
    """Unique value and node names for one graph."""

    def __init__(self, graph: ir.Graph) -> None:
        self._taken = {v.name for n in graph for v in n.outputs if v.name}
        self._taken |= {n.name for n in graph if n.name}
        self._taken |= {v.name for v in graph.inputs if v.name} | set(graph.initializers)

    def fresh(self, wanted: str) -> str:
        name, index = wanted, 1
        while name in self._taken:
            name, index = f"{wanted}_{index}", index + 1
        self._taken.add(name)
        return name
