"""Layered (Sugiyama-style) top-to-bottom layout on numpy arrays, sized for 50,000-node graphs.

Steps: longest-path layering (sources pulled down next to their first consumer), dummy nodes
on long edges (capped so a 5,000-layer skip does not create 5,000 dummies), barycenter ordering
and iterative x placement. Ordering and placement update all layers at once (Jacobi style)
with vectorised numpy instead of layer-by-layer Python sweeps: a 50,000-layer chain would
otherwise cost 50,000 Python iterations per sweep. Everything is deterministic.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from onnx_workbench.pipelines.graph_layout.graph import KIND_OP, GraphInfo

# Box metrics in scene units (≈ pixels at 100 % zoom); the view draws text to fit these.
TITLE_CHAR_W = 7.4
TEXT_CHAR_W = 6.2
TITLE_H = 20.0
LINE_H = 13.0
BOX_PAD = 6.0
MIN_OP_W, MAX_OP_W = 76.0, 240.0
IO_H = 34.0
DUMMY_W = 10.0
NODE_GAP = 22.0
LAYER_GAP = 34.0
MARGIN = 20.0
# Long edges get dummies only in their first and last LONG_EDGE_KEEP layers; the middle is drawn
# straight. Keeps dummies O(E) however deep the skip connection.
LONG_EDGE_KEEP = 16
SETTLE_ROUNDS = 8
RUN_LENGTH = 8  # ordering passes in one direction before turning
MIXED_WEIGHT = 2.0  # segment weight between a real node and a dummy


@dataclass
class LayoutResult:
    """Node boxes (top-left x, y, width, height), edge polylines and the bounds of the drawing."""

    graph: GraphInfo
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    h: np.ndarray
    layer: np.ndarray
    edge_offsets: np.ndarray  # edge e's points are edge_points[edge_offsets[e]:edge_offsets[e+1]]
    edge_points: np.ndarray  # (P, 2) float64
    bounds: tuple[float, float, float, float]  # x0, y0, x1, y1

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) array of x, y, w, h."""
        return np.stack([self.x, self.y, self.w, self.h], axis=1)

    def polyline(self, edge: int) -> np.ndarray:
        """The (k, 2) points of one edge, from its source's bottom to its target's top."""
        return self.edge_points[self.edge_offsets[edge] : self.edge_offsets[edge + 1]]

    def index_of(self, name: str) -> int:
        """Index of the node called `name`; KeyError if there is none."""
        return self.graph.names.index(name)


def node_sizes(info: GraphInfo) -> tuple[np.ndarray, np.ndarray]:
    """Width and height of every node box, estimated from its text (no fonts needed)."""
    n = len(info)
    w = np.empty(n)
    h = np.empty(n)
    for i in range(n):
        details = info.details[i]
        longest = max((len(line) for line in details), default=0)
        if info.kinds[i] == KIND_OP:
            width = max(len(info.titles[i]) * TITLE_CHAR_W, longest * TEXT_CHAR_W) + 16.0
            w[i] = min(max(width, MIN_OP_W), MAX_OP_W)
            h[i] = TITLE_H + LINE_H * len(details) + BOX_PAD
        else:
            width = max(len(info.titles[i]) * TEXT_CHAR_W, longest * TEXT_CHAR_W) + 20.0
            w[i] = min(max(width, 48.0), MAX_OP_W)
            h[i] = IO_H
    return w, h


def _longest_path_layers(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Layer per node: longest path from a source (Kahn's order; cycles broken by node index)."""
    order = np.argsort(src, kind="stable")
    succ = dst[order].tolist()
    starts = np.searchsorted(src[order], np.arange(n + 1)).tolist()
    indeg = np.bincount(dst, minlength=n).tolist()
    layer = [0] * n
    done = [False] * n
    queue = deque(i for i in range(n) if indeg[i] == 0)
    remaining = n
    next_forced = 0
    while remaining:
        if not queue:
            # A cycle (only in broken models): release the first unfinished node.
            while done[next_forced]:
                next_forced += 1
            indeg[next_forced] = 0
            queue.append(next_forced)
        u = queue.popleft()
        if done[u]:
            continue
        done[u] = True
        remaining -= 1
        lu = layer[u] + 1
        for v in succ[starts[u] : starts[u + 1]]:
            if done[v]:
                continue
            if layer[v] < lu:
                layer[v] = lu
            indeg[v] -= 1
            if indeg[v] == 0:
                queue.append(v)
    layers = np.asarray(layer, dtype=np.int64)
    # Sources (inputs, Constants) sit right above their first consumer instead of on layer 0,
    # which would give every late-used weight or mask a long edge.
    has_in = np.bincount(dst, minlength=n) > 0
    if len(src):
        first_use = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_use, src, layers[dst])
        movable = ~has_in & (first_use < np.iinfo(np.int64).max)
        layers[movable] = np.maximum(first_use[movable] - 1, 0)
    return layers


def _add_dummies(
    n: int, src: np.ndarray, dst: np.ndarray, layer: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dummy layers for long edges; returns (dummy layers, chain offsets, chain nodes, dummy counts)."""
    span = layer[dst] - layer[src]
    need = np.clip(span - 1, 0, None)
    counts = np.minimum(need, 2 * LONG_EDGE_KEEP)
    total = int(counts.sum())
    edge_of = np.repeat(np.arange(len(src)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)])
    j = np.arange(total) - starts[edge_of]
    capped = need[edge_of] > 2 * LONG_EDGE_KEEP
    dummy_layer = np.where(
        capped & (j >= LONG_EDGE_KEEP),
        layer[dst][edge_of] - (2 * LONG_EDGE_KEEP - j),
        layer[src][edge_of] + 1 + j,
    )
    # Chains: [src, dummies…, dst] per edge, flattened.
    chain_len = counts + 2
    chain_offsets = np.concatenate([[0], np.cumsum(chain_len)])
    chain = np.empty(int(chain_offsets[-1]), dtype=np.int64)
    chain[chain_offsets[:-1]] = src
    chain[chain_offsets[1:] - 1] = dst
    dummy_slots = chain_offsets[:-1][edge_of] + 1 + j
    chain[dummy_slots] = n + np.arange(total)
    return dummy_layer.astype(np.int64), chain_offsets, chain, counts


def _order_in_layers(
    layer: np.ndarray, key: np.ndarray, seg_a: np.ndarray, seg_b: np.ndarray, weight: np.ndarray,
    iterations: int,
) -> np.ndarray:
    """Rank of each node within its layer after alternating down/up barycenter passes."""
    count = np.bincount(layer)
    half = (count[layer] - 1) / 2.0
    perm = np.lexsort((key, layer))
    starts = np.concatenate([[0], np.cumsum(count)])

    def centred(perm: np.ndarray) -> np.ndarray:
        rank = np.empty(len(perm))
        rank[perm] = np.arange(len(perm)) - starts[layer[perm]]
        return rank - half

    pos = centred(perm)
    size = len(layer)
    # All layers move at once, so a change travels one layer per pass: passes go in runs of the
    # same direction (down ×k, up ×k, …). Alternating every pass would undo each change at
    # once (a reorder seen from below on the next, opposite, pass) and never settle.
    run = RUN_LENGTH
    for it in range(iterations):
        a, b = (seg_a, seg_b) if (it // run) % 2 == 0 else (seg_b, seg_a)
        total = np.bincount(b, weights=pos[a] * weight, minlength=size)
        norm = np.bincount(b, weights=weight, minlength=size)
        bary = np.where(norm > 0, total / np.maximum(norm, 1e-12), pos)
        perm = np.lexsort((pos, bary, layer))
        pos = centred(perm)
    return pos


def _first_per_group(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Index of the best row per group value: rows sorted by group then keys, first one kept."""
    order = np.lexsort((*reversed(keys), group))
    g = group[order]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = g[1:] != g[:-1]
    return order[keep]


def _vertical_blocks(
    layer: np.ndarray, pos: np.ndarray, seg_a: np.ndarray, seg_b: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Block id per node: chains of nodes that will share one x (Brandes–Köpf style alignment).

    Each node pairs with one neighbour in the layer above (heaviest segment, closest in order),
    mutually; pairs that would cross another pair are dropped so blocks never swap sides. Blocks
    make a spine of a network straight at once, where averaging alone would need as many rounds
    as the spine is long.
    """
    size = len(layer)
    adjacent = layer[seg_b] == layer[seg_a] + 1
    a, b = seg_a[adjacent], seg_b[adjacent]
    # Like pairs align first (dummy–dummy keeps long edges straight, real–real keeps the main
    # path straight); a real node never follows a skip edge's dummy when a real partner exists.
    w = weight[adjacent]
    w = np.where(w == MIXED_WEIGHT, 0.0, w)
    up = np.arange(size)
    if len(a) == 0:
        return up
    # Each lower node picks its upper partner, then each upper node keeps one of its suitors.
    rows = _first_per_group(b, -w, np.abs(pos[a] - pos[b]), pos[a])
    rows = rows[_first_per_group(a[rows], -w[rows], np.abs(pos[a[rows]] - pos[b[rows]]), pos[b[rows]])]
    pa, pb = a[rows], b[rows]
    # Drop pairs that cross an earlier pair of the same layer pair (greedy, left to right).
    order = np.lexsort((pos[pa], layer[pa]))
    pa, pb = pa[order], pb[order]
    lay = layer[pa].astype(float)
    spread = float(pos.max() - pos.min()) + 1.0
    running = np.maximum.accumulate(pos[pb] + lay * spread) - lay * spread
    keep = pos[pb] >= running
    up[pb[keep]] = pa[keep]
    # Pointer jumping: every node learns its block's top node in O(log depth) numpy steps.
    root = up
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def _place_x(
    layer: np.ndarray, pos: np.ndarray, width: np.ndarray, seg_a: np.ndarray, seg_b: np.ndarray,
    weight: np.ndarray, iterations: int,
) -> np.ndarray:
    """Centre x of every node: blocks pulled towards their neighbours, then pushed apart per layer."""
    perm = np.lexsort((pos, layer))
    lay = layer[perm]
    ws = width[perm]
    sep = np.zeros(len(perm))
    same = lay[1:] == lay[:-1]
    sep[1:] = np.where(same, ws[:-1] / 2 + NODE_GAP + ws[1:] / 2, 0.0)
    cum = np.cumsum(sep)
    first = np.concatenate([[0], np.flatnonzero(~same) + 1])
    last = np.concatenate([first[1:] - 1, [len(perm) - 1]])
    layer_id = np.repeat(np.arange(len(first)), np.diff(np.concatenate([first, [len(perm)]])))
    cum -= cum[first][layer_id]
    xs = cum - cum[last][layer_id] / 2  # each layer centred on 0 to start
    size = len(layer)
    block = _vertical_blocks(layer, pos, seg_a, seg_b, weight)
    _, block = np.unique(block, return_inverse=True)
    n_blocks = int(block.max()) + 1
    members = np.bincount(block, minlength=n_blocks)
    # Pull between different blocks only; links inside a block are already straight.
    outside = block[seg_a] != block[seg_b]
    both_a = np.concatenate([seg_a[outside], seg_b[outside]])
    both_b = np.concatenate([seg_b[outside], seg_a[outside]])
    both_w = np.concatenate([weight[outside], weight[outside]])
    norm = np.bincount(block[both_b], weights=both_w, minlength=n_blocks)
    has = norm > 0
    x = np.empty(size)
    x[perm] = xs
    bx = np.bincount(block, weights=x, minlength=n_blocks) / members

    def pack(bx: np.ndarray) -> np.ndarray:
        """Each layer's nodes at their block's x, pushed apart just enough (order kept)."""
        free = bx[block][perm] - cum
        # Segmented running max/min: offset each layer by more than the spread of values so
        # that one accumulate over the whole array never leaks across a layer boundary.
        big = float(free.max() - free.min()) + 1.0
        offset = layer_id * big
        left = np.maximum.accumulate(free + offset) - offset
        right = np.minimum.accumulate((free + offset)[::-1])[::-1] - offset
        packed = np.empty(size)
        packed[perm] = (left + right) / 2 + cum
        return packed

    for _ in range(iterations):
        target = np.bincount(block[both_b], weights=bx[block[both_a]] * both_w, minlength=n_blocks)
        bx = np.where(has, 0.5 * bx + 0.5 * target / np.maximum(norm, 1e-12), bx)
        bx = np.bincount(block, weights=pack(bx), minlength=n_blocks) / members
    # Without the pull, repeated packing settles blocks that still overlap somewhere, so that a
    # block keeps one x (a straight line) instead of jogging around each collision.
    for _ in range(SETTLE_ROUNDS):
        bx = np.bincount(block, weights=pack(bx), minlength=n_blocks) / members
    return pack(bx)


def layout_graph_info(info: GraphInfo) -> LayoutResult:
    """Lay out an extracted graph; see the module docstring for the steps."""
    n = len(info)
    src, dst = info.edge_src, info.edge_dst
    w, h = node_sizes(info)
    if n == 0:
        empty = np.zeros(0)
        return LayoutResult(info, empty, empty, empty, empty, np.zeros(0, np.int64),
                            np.zeros(1, np.int64), np.zeros((0, 2)), (0.0, 0.0, 1.0, 1.0))
    layer = _longest_path_layers(n, src, dst)
    dummy_layer, chain_offsets, chain, counts = _add_dummies(n, src, dst, layer)
    all_layer = np.concatenate([layer, dummy_layer])
    size = len(all_layer)
    width = np.concatenate([w, np.full(len(dummy_layer), DUMMY_W)])

    # Segments between consecutive chain members; dummy–dummy ones weigh most so that long
    # edges run straight (the usual Sugiyama priority: 1 real–real, 2 mixed, 8 dummy–dummy).
    not_last = np.ones(len(chain), dtype=bool)
    not_last[chain_offsets[1:] - 1] = False
    seg_a = chain[not_last]
    seg_b = chain[np.flatnonzero(not_last) + 1]
    weight = 1.0 + (seg_a >= n) + (seg_b >= n) + 4.0 * ((seg_a >= n) & (seg_b >= n))
    # Segments of cycle edges in broken models point upwards; they do not steer the order.
    downward = all_layer[seg_b] > all_layer[seg_a]
    seg_a, seg_b, weight = seg_a[downward], seg_b[downward], weight[downward]

    # Start from the model's own node order (ONNX is topologically sorted, so branches arrive
    # grouped); a dummy starts next to its edge's source.
    edge_of_dummy = np.repeat(np.arange(len(src)), counts)
    key = np.concatenate([np.arange(n, dtype=float), src[edge_of_dummy] + 0.5])
    # Two or four direction runs; bigger graphs get fewer passes (each pass is O(V + E)).
    iterations = 4 * RUN_LENGTH if size < 20_000 else 2 * RUN_LENGTH
    pos = _order_in_layers(all_layer, key, seg_a, seg_b, weight, iterations)
    cx = _place_x(all_layer, pos, width, seg_a, seg_b, weight, 2 * iterations)

    n_layers = int(all_layer.max()) + 1
    layer_h = np.zeros(n_layers)
    np.maximum.at(layer_h, layer, h)
    layer_top = np.concatenate([[0.0], np.cumsum(layer_h + LAYER_GAP)[:-1]])
    x0 = float((cx - width / 2).min()) - MARGIN
    cx = cx - x0
    top = layer_top[layer] + (layer_h[layer] - h) / 2 + MARGIN
    node_x = cx[:n] - w / 2

    # Polylines: source bottom-centre, each dummy's layer band (top and bottom), target top-centre.
    is_dummy = chain >= n
    lay = all_layer[chain]
    y_in = np.where(is_dummy, layer_top[lay] + MARGIN, 0.0)
    y_out = np.where(is_dummy, layer_top[lay] + layer_h[lay] + MARGIN, 0.0)
    starts_mask = np.zeros(len(chain), dtype=bool)
    starts_mask[chain_offsets[:-1]] = True
    real = np.minimum(chain, n - 1)
    y_in = np.where(starts_mask, top[real] + h[real], np.where(is_dummy, y_in, top[real]))
    y_out = np.where(is_dummy, y_out, y_in)
    xs = cx[chain]
    points = np.stack([np.stack([xs, y_in], 1), np.stack([xs, y_out], 1)], axis=1).reshape(-1, 2)
    keep = np.stack([np.ones(len(chain), dtype=bool), is_dummy], axis=1).reshape(-1)
    edge_points = points[keep]
    edge_offsets = np.concatenate([[0], np.cumsum(2 + 2 * counts)]).astype(np.int64)

    x1 = float(max((node_x + w).max(), edge_points[:, 0].max() if len(edge_points) else 0.0))
    y1 = float((top + h).max())
    bounds = (0.0, 0.0, x1 + MARGIN, y1 + MARGIN)
    return LayoutResult(info, node_x, top, w, h, layer, edge_offsets, edge_points, bounds)
