"""Dependency groups of coupled channels (Torch-Pruning's dependency-graph idea, on ONNX).

Every Conv (mode "channels") or constant-weight MatMul/Gemm (mode "neurons") creates a
*channel space*: the set of its output channels. Walking the graph in order, each tensor gets
a *layout* saying which spaces its channel axis is made of (Concat joins several, with
offsets). Ops that keep channels (BatchNorm, activations, pooling, depthwise Conv) pass the
layout on and add their per-channel weights as *members*; consumers (Conv, Gemm/MatMul, also
after Flatten where each channel is a block of spatial columns) add their input weights as
members. Elementwise ops joining two layouts (residual Add, Mul, Sub) couple the spaces: they
must lose the same channels, so coupled spaces are merged into one group (union-find).
Anything we do not understand blocks the spaces it touches, with a reason that names it.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import onnx_ir as ir

from onnx_workbench.pipelines.pruning.irutil import const_array, ints_attribute_or_input, is_initializer, rank, static_shape

Mode = Literal["channels", "neurons"]

# Ops whose output has the same channels as their first input, one for one.
PASS_THROUGH = frozenset(
    {
        "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu",
        "Selu", "Celu", "Softplus", "Softsign", "Gelu", "Erf", "Mish", "Swish", "ThresholdedRelu",
        "Identity", "Dropout", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Floor",
        "Ceil", "Round", "Sin", "Cos", "Cast",
    }
)
POOLING = frozenset(
    {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}
)
ELEMENTWISE_BINARY = frozenset({"Add", "Sub", "Mul", "Div", "PRelu", "Max", "Min", "Sum", "Pow"})
REDUCE = frozenset({"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL2", "ReduceL1"})
NORM_PER_CHANNEL = {"BatchNormalization": (1, 2, 3, 4), "InstanceNormalization": (1, 2)}

FIXED = -1  # space id of a Concat segment that is not prunable (e.g. a graph input)


@dataclass
class Member:
    """One constant tensor that must be sliced when a space loses channels."""

    value: ir.Value
    axis: int
    offset: int = 0
    block: int = 1
    role: str = "param"  # "out" / "in" (weights, used for importance), "bn-scale", "param"
    # Grouped Conv weights hold one slot per in-group channel: channel c is slot c % modulo.
    modulo: int = 0


@dataclass
class Space:
    """The output channels of one producer node."""

    id: int
    size: int
    origin: ir.Node
    members: list[Member] = field(default_factory=list)
    # Grouped convs split the channels into `fold` equal chunks that must lose the same positions.
    fold: int = 1


@dataclass(frozen=True)
class Layout:
    """How a tensor's channel axis is made: (space id, size) segments along `axis` (negative)."""

    axis: int
    segments: tuple[tuple[int, int], ...]
    block: int = 1

    @property
    def total(self) -> int:
        """Number of channels along the axis (in units of `block`)."""
        return sum(size for _, size in self.segments)

    def spaces(self) -> list[int]:
        """The prunable spaces in this layout."""
        return [sid for sid, _ in self.segments if sid != FIXED]

    def offsets(self) -> Iterable[tuple[int, int, int]]:
        """(space id, size, offset in units of elements along the axis) per prunable segment."""
        offset = 0
        for sid, size in self.segments:
            if sid != FIXED:
                yield sid, size, offset * self.block
            offset += size


@dataclass
class Group:
    """Coupled spaces that must lose the same channel indices."""

    name: str
    size: int
    spaces: list[Space]
    blocked: str = ""  # why it cannot be pruned; empty when it can
    fold: int = 1  # channels are pruned in `fold` chunks with the same positions removed in each

    @property
    def layers(self) -> list[str]:
        """Names of the producer nodes in the group (what users name in per-layer settings)."""
        return [s.origin.name for s in self.spaces]

    @property
    def members(self) -> list[Member]:
        """Every tensor slice that moves with this group."""
        return [m for s in self.spaces for m in s.members]


class DependencyGraph:
    """Channel spaces, layouts and groups of one onnx-ir graph."""

    def __init__(self, graph: ir.Graph, mode: Mode = "channels") -> None:
        self.graph = graph
        self.mode = mode
        self.spaces: list[Space] = []
        self.layouts: dict[ir.Value, Layout] = {}
        self.blocked: dict[int, str] = {}
        self.parent: list[int] = []
        # Depthwise convs whose `group` attribute must follow their channel count.
        self.depthwise: list[ir.Node] = []
        self._handled: set[ir.Node] = set()
        self._trace()

    # ---- building -------------------------------------------------------------------------

    def _new_space(self, size: int, origin: ir.Node) -> Space:
        space = Space(len(self.spaces), size, origin)
        self.spaces.append(space)
        self.parent.append(space.id)
        return space

    def _find(self, sid: int) -> int:
        while self.parent[sid] != sid:
            self.parent[sid] = self.parent[self.parent[sid]]
            sid = self.parent[sid]
        return sid

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def _block(self, layout: Layout | None, reason: str) -> None:
        if layout is None:
            return
        for sid in layout.spaces():
            self.blocked.setdefault(sid, reason)

    def _add_members(self, layout: Layout, value: ir.Value, axis: int, role: str, node: ir.Node) -> bool:
        """Attach `value` sliced along `axis` to every space of `layout`; False if it cannot be."""
        if not is_initializer(value):
            self._block(layout, f"{node.op_type} node '{node.name}' has a per-channel input that is not an initializer")
            return False
        if len(value.uses()) > 1:
            self._block(layout, f"weight '{value.name}' is shared by several nodes")
            return False
        for sid, _, offset in layout.offsets():
            self.spaces[sid].members.append(Member(value, axis, offset, layout.block, role))
        return True

    def _own(self, space: Space, value: ir.Value | None, axis: int, role: str = "param") -> None:
        """Attach a producer's own weight or bias to its new space (blocked if the tensor is shared)."""
        if not is_initializer(value):
            return
        if len(value.uses()) > 1:
            self.blocked.setdefault(space.id, f"weight '{value.name}' is shared by several nodes")
        space.members.append(Member(value, axis, role=role))

    def _trace(self) -> None:
        for node in self.graph:
            self._handled.add(node)
            inputs = [self.layouts.get(v) if v is not None else None for v in node.inputs]
            if node.domain not in ("", "ai.onnx"):
                self._unknown(node, inputs)
            elif node.op_type == "Conv":
                self._conv(node, inputs[0])
            elif node.op_type in ("MatMul", "Gemm"):
                self._linear(node, inputs)
            elif node.op_type in PASS_THROUGH or (node.op_type in POOLING and self.mode == "channels"):
                self._pass_through(node, inputs)
            elif node.op_type in ELEMENTWISE_BINARY:
                self._elementwise(node, inputs)
            elif node.op_type in NORM_PER_CHANNEL:
                self._norm(node, inputs)
            elif node.op_type == "Concat":
                self._concat(node, inputs)
            elif node.op_type in ("Flatten", "Reshape"):
                self._flatten(node, inputs)
            elif node.op_type in REDUCE:
                self._reduce(node, inputs)
            elif node.op_type in ("Resize", "Upsample"):
                self._resize(node, inputs)
            elif node.op_type == "Pad":
                self._pad(node, inputs)
            else:
                self._unknown(node, inputs)
        for value, layout in self.layouts.items():
            if value.is_graph_output():
                self._block(layout, f"they reach the graph output '{value.name}'")
            for consumer in value.consumers():
                if consumer not in self._handled:
                    self._block(layout, f"{consumer.op_type} node '{consumer.name}' in a subgraph uses them")

    def _unknown(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        for layout in inputs:
            self._block(layout, f"{node.op_type} node '{node.name}' consumes them and cannot follow a channel change")

    def _conv(self, node: ir.Node, layout: Layout | None) -> None:
        weight = node.inputs[1]
        w = const_array(weight)
        if w is None or not is_initializer(weight):
            self._block(layout, f"Conv node '{node.name}' has no constant weight")
            return
        bias = node.inputs[2] if len(node.inputs) > 2 else None
        groups = node.attributes.get_int("group", 1)
        out_channels, in_per_group = w.shape[0], w.shape[1]
        if layout is not None and (layout.axis != -w.ndim + 1 or layout.block != 1):
            self._block(layout, f"Conv node '{node.name}' reads them on an unexpected axis")
            layout = None
        if groups == 1:
            if layout is not None:
                self._add_members(layout, weight, 1, "in", node)
            if self.mode == "channels":
                space = self._new_space(out_channels, node)
                self._own(space, weight, 0, "out")
                self._own(space, bias, 0)
                self.layouts[node.outputs[0]] = Layout(1 - w.ndim, ((space.id, out_channels),))
            return
        if in_per_group == 1 and out_channels == groups and layout is not None and layout.total == groups:
            # Depthwise: channel c in gives channel c out, so the layout passes through and the
            # conv's own filters (and its `group`) shrink with it.
            if self._add_members(layout, weight, 0, "out", node):
                if is_initializer(bias):
                    self._add_members(layout, bias, 0, "param", node)
                self.depthwise.append(node)
                self.layouts[node.outputs[0]] = layout
            return
        self._grouped_conv(node, layout, weight, bias, groups)

    def _grouped_conv(self, node: ir.Node, layout: Layout | None, weight: ir.Value, bias: ir.Value | None, groups: int) -> None:
        """A grouped conv keeps `group`, so every group must lose the same input and output positions."""
        w = const_array(weight)
        out_channels, in_per_group = w.shape[0], w.shape[1]
        if layout is not None:
            if len(layout.segments) != 1 or layout.segments[0][0] == FIXED or layout.total != groups * in_per_group:
                self._block(layout, f"grouped Conv node '{node.name}' (group={groups}) reads them across a Concat")
            elif self._add_members(layout, weight, 1, "in", node):
                sid = layout.segments[0][0]
                self.spaces[sid].members[-1].modulo = in_per_group
                self.spaces[sid].fold = math.lcm(self.spaces[sid].fold, groups)
        if self.mode != "channels" or out_channels % groups:
            return
        space = self._new_space(out_channels, node)
        space.fold = groups
        self._own(space, weight, 0, "out")
        self._own(space, bias, 0)
        self.layouts[node.outputs[0]] = Layout(1 - w.ndim, ((space.id, out_channels),))

    def _linear(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        b = node.inputs[1]
        weight = const_array(b)
        layout = inputs[0]
        if inputs[1] is not None:
            self._block(inputs[1], f"{node.op_type} node '{node.name}' uses them as its right operand")
        trans_a = node.attributes.get_int("transA", 0) if node.op_type == "Gemm" else 0
        trans_b = node.attributes.get_int("transB", 0) if node.op_type == "Gemm" else 0
        if weight is None or weight.ndim != 2 or not is_initializer(b) or trans_a:
            self._block(layout, f"{node.op_type} node '{node.name}' has no plain 2-D constant weight")
            return
        in_axis, out_axis = (1, 0) if trans_b else (0, 1)
        if layout is not None:
            if layout.axis != -1:
                self._block(layout, f"{node.op_type} node '{node.name}' reads them on an unexpected axis")
            else:
                self._add_members(layout, b, in_axis, "in", node)
        if self.mode != "neurons":
            return
        size = weight.shape[out_axis]
        space = self._new_space(size, node)
        self._own(space, b, out_axis, "out")
        if node.op_type == "Gemm" and len(node.inputs) > 2 and node.inputs[2] is not None:
            bias = node.inputs[2]
            c = const_array(bias)
            if c is None or not is_initializer(bias):
                self.blocked[space.id] = f"Gemm node '{node.name}' has a bias we cannot slice"
            elif c.ndim >= 1 and c.shape[-1] == size:
                self._own(space, bias, c.ndim - 1)
            elif c.ndim >= 1 and c.shape[-1] != 1:
                self.blocked[space.id] = f"Gemm node '{node.name}' has a bias we cannot slice"
        self.layouts[node.outputs[0]] = Layout(-1, ((space.id, size),))

    def _pass_through(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        layout = inputs[0] if inputs else None
        for other in inputs[1:]:
            self._block(other, f"{node.op_type} node '{node.name}' uses them as a parameter")
        if layout is not None:
            if node.op_type in POOLING and len(node.outputs) > 1 and node.outputs[1].consumers():
                self._block(layout, f"{node.op_type} node '{node.name}' also returns indices")
                return
            self.layouts[node.outputs[0]] = layout

    def _elementwise(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        present = [layout for layout in inputs if layout is not None]
        if not present:
            return
        first = present[0]
        for other in present[1:]:
            if (other.axis, other.block) != (first.axis, first.block) or [s for _, s in other.segments] != [
                s for _, s in first.segments
            ]:
                for layout in present:
                    self._block(layout, f"{node.op_type} node '{node.name}' joins differently laid out channels")
                return
        out_rank = rank(node.outputs[0])
        for value, layout in zip(node.inputs, inputs):
            if layout is not None or value is None:
                continue
            array_rank = rank(value)
            if array_rank is None:
                self._block(first, f"{node.op_type} node '{node.name}' has an operand of unknown rank")
                return
            axis = array_rank + first.axis
            dim = value.shape[axis] if axis >= 0 else 1
            if dim == 1:
                continue  # broadcast along the channel axis: nothing to slice
            # Per-channel constants behind Unsqueeze/Reshape (caffe2-style BatchNorm) arrive
            # here as initializers: pipelines.quirks folds them when the model is loaded.
            if const_array(value) is not None and dim == first.total * first.block:
                if not self._add_members(first, value, axis, "param", node):
                    return
                continue
            self._block(first, f"{node.op_type} node '{node.name}' combines them with '{value.name}', whose channels cannot change")
            return
        for other in present[1:]:
            for (a, _), (b, _) in zip(first.segments, other.segments):
                if a != FIXED and b != FIXED:
                    self._union(a, b)
                elif a != b:
                    self._block(first, f"{node.op_type} node '{node.name}' adds them to channels that cannot change")
                    self._block(other, f"{node.op_type} node '{node.name}' adds them to channels that cannot change")
        if out_rank is not None and any(rank(v) not in (None, out_rank) for v, l in zip(node.inputs, inputs) if l):
            self._block(first, f"{node.op_type} node '{node.name}' broadcasts them to another rank")
            return
        self.layouts[node.outputs[0]] = first

    def _norm(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        layout = inputs[0]
        for other in inputs[1:]:
            self._block(other, f"{node.op_type} node '{node.name}' uses them as a parameter")
        if layout is None:
            return
        if layout.block != 1 or rank(node.inputs[0]) is None or layout.axis != 1 - rank(node.inputs[0]):
            self._block(layout, f"{node.op_type} node '{node.name}' normalizes along another axis")
            return
        for index in NORM_PER_CHANNEL[node.op_type]:
            if index < len(node.inputs) and node.inputs[index] is not None:
                role = "bn-scale" if index == 1 else "param"
                if not self._add_members(layout, node.inputs[index], 0, role, node):
                    return
        self.layouts[node.outputs[0]] = layout

    def _concat(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        out_rank = rank(node.outputs[0])
        present = [layout for layout in inputs if layout is not None]
        if not present:
            return
        axis = node.attributes.get_int("axis", 0)
        if out_rank is None:
            self._unknown(node, inputs)
            return
        if axis >= 0:
            axis -= out_rank
        if any(layout.axis != axis or layout.block != 1 for layout in present):
            self._unknown(node, inputs)
            return
        segments: list[tuple[int, int]] = []
        for value, layout in zip(node.inputs, inputs):
            if layout is not None:
                segments.extend(layout.segments)
                continue
            shape = static_shape(value) if value is not None else None
            if shape is None:
                for other in present:
                    self._block(other, f"Concat node '{node.name}' joins them with '{value.name if value else '?'}' of unknown size")
                return
            segments.append((FIXED, shape[axis]))
        self.layouts[node.outputs[0]] = Layout(axis, tuple(segments))

    def _flatten(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        layout = inputs[0]
        for other in inputs[1:]:
            self._block(other, f"{node.op_type} node '{node.name}' uses them as a shape")
        if layout is None:
            return
        value_shape = node.inputs[0].shape
        shape = tuple(value_shape) if value_shape is not None else None
        in_rank = rank(node.inputs[0])
        if node.op_type == "Flatten":
            ok = node.attributes.get_int("axis", 1) == 1
        else:
            # Reshape to [batch, -1] is a Flatten; any other target spells out a channel count.
            target = const_array(node.inputs[1])
            ok = (
                target is not None and target.ndim == 1 and len(target) == 2 and int(target[1]) == -1
                and (int(target[0]) == 0 or (shape is not None and isinstance(shape[0], int) and int(target[0]) == shape[0]))
            )
        # Only the dims after the channel axis must be known: each channel becomes a block of them.
        if not ok or shape is None or not all(isinstance(d, int) for d in shape[2:]) or layout.axis != 1 - in_rank:
            self._block(layout, f"{node.op_type} node '{node.name}' reshapes them to a shape that depends on the channel count")
            return
        spatial = int(np.prod(shape[2:], dtype=np.int64))
        self.layouts[node.outputs[0]] = Layout(-1, layout.segments, layout.block * spatial)

    def _data_input(self, node: ir.Node, inputs: list[Layout | None], use: str) -> tuple[Layout, int] | None:
        """The layout and rank of `node`'s first input, if it carries channels; channels in the
        other inputs (which the op uses as `use`) are blocked."""
        for other in inputs[1:]:
            self._block(other, f"{node.op_type} node '{node.name}' uses them as {use}")
        layout, in_rank = inputs[0], rank(node.inputs[0])
        return None if layout is None or in_rank is None else (layout, in_rank)

    def _reduce(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        """Reducing other axes (x.mean((2, 3))) keeps channels; reducing the channel axis does not."""
        data = self._data_input(node, inputs, "axes")
        if data is None:
            return
        layout, in_rank = data
        axes = ints_attribute_or_input(node, "axes", 1)
        channel = in_rank + layout.axis
        axes = None if axes is None else sorted(a % in_rank for a in axes)
        if not axes or channel in axes or layout.block != 1:
            self._block(layout, f"{node.op_type} node '{node.name}' reduces across them")
            return
        if node.attributes.get_int("keepdims", 1):
            self.layouts[node.outputs[0]] = layout
            return
        position = channel - sum(1 for a in axes if a < channel)
        self.layouts[node.outputs[0]] = Layout(position - (in_rank - len(axes)), layout.segments)

    def _resize(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        """Resizing with scales keeps channels; a `sizes` input spells out the channel count."""
        layout = inputs[0]
        for other in inputs[1:]:
            self._block(other, f"{node.op_type} node '{node.name}' uses them as a parameter")
        if layout is None:
            return
        in_rank = rank(node.inputs[0])
        scales_index = 1 if node.op_type == "Upsample" or len(node.inputs) == 2 else 2
        sizes = node.inputs[3] if len(node.inputs) > 3 else None
        scales = const_array(node.inputs[scales_index]) if len(node.inputs) > scales_index else None
        if sizes is not None or scales is None or in_rank is None or scales.size != in_rank or scales[in_rank + layout.axis] != 1:
            self._block(layout, f"{node.op_type} node '{node.name}' resizes to a size that depends on the channel count")
            return
        self.layouts[node.outputs[0]] = layout

    def _pad(self, node: ir.Node, inputs: list[Layout | None]) -> None:
        """Padding only other axes (the legacy exporter's Pad before AveragePool) keeps channels."""
        data = self._data_input(node, inputs, "a parameter")
        if data is None:
            return
        layout, in_rank = data
        pads = ints_attribute_or_input(node, "pads", 1)
        axes: list[int] | None = list(range(in_rank))
        if len(node.inputs) > 3 and node.inputs[3] is not None:  # opset 18: the axes the pads are for
            axes = ints_attribute_or_input(node, "axes", 3)
        axes = None if axes is None else [a % in_rank for a in axes]
        channel = in_rank + layout.axis
        if pads is None or axes is None or layout.block != 1:
            self._block(layout, f"Pad node '{node.name}' has pads that are not constant")
            return
        if channel in axes and (pads[axes.index(channel)] or pads[axes.index(channel) + len(axes)]):
            self._block(layout, f"Pad node '{node.name}' pads the channel axis")
            return
        self.layouts[node.outputs[0]] = layout

    # ---- results --------------------------------------------------------------------------

    def groups(self) -> list[Group]:
        """Coupled spaces as groups, in graph order, each named after its first producer."""
        by_root: dict[int, list[Space]] = {}
        for space in self.spaces:
            by_root.setdefault(self._find(space.id), []).append(space)
        result = []
        for root in sorted(by_root):
            spaces = by_root[root]
            name = spaces[0].origin.name or f"group{root}"
            sizes = {s.size for s in spaces}
            reasons = [self.blocked[s.id] for s in spaces if s.id in self.blocked]
            blocked = reasons[0] if reasons else ""
            if len(sizes) > 1:
                blocked = blocked or "its coupled layers have different channel counts"
            fold = math.lcm(*(s.fold for s in spaces))
            if spaces[0].size % fold:
                blocked = blocked or f"its grouped convs need {fold} equal chunks of {spaces[0].size} channels"
            result.append(Group(name, spaces[0].size, spaces, blocked, fold))
        return result

