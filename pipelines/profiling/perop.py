"""Per-operator time from ONNX Runtime's profiling JSON, mapped back to the model's nodes.

ORT writes one "Node" event per kernel run named "<node>_kernel_time". The node name is the
model's when ORT kept the node; optimizers rename what they create: fused or layout-converted
nodes are named after an output ("r1_nchwc"), unnamed model nodes become "<OpType>_<index>",
and ORT inserts nodes of its own (ReorderOutput, MemcpyToHost). We map what we can and say
how each entry was matched.
"""
from __future__ import annotations

import bisect
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

KERNEL_SUFFIX = "_kernel_time"
# Suffixes ORT's optimizers append to the names of nodes they rewrite.
_ORT_SUFFIX = re.compile(r"(_nchwc|_token_\d+|_fused|_\d+)$")
_INDEX_NAME = re.compile(r"(?P<op>[A-Za-z][A-Za-z0-9]*)_(?P<index>\d+)$")


# How far up a fused chain we look for the node whose op ORT reports (Conv+Add+Relu: 2 steps).
MAX_FUSION_DEPTH = 4


class NodeRow(NamedTuple):
    """One model node: identity (pipelines.analysis.node_keys), name, op type, inputs, outputs."""

    key: str
    name: str
    op_type: str
    inputs: list[str]
    outputs: list[str]


class NodeTable:
    """Lookups from ORT's names to model node identities (see pipelines.analysis.node_keys)."""

    def __init__(self, nodes: Sequence[NodeRow]) -> None:
        self.rows = {row.key: row for row in nodes}
        self.by_name = {row.name: row.key for row in nodes if row.name}
        self.by_output = {out: row.key for row in nodes for out in row.outputs if out}
        self.op_by_index = [(row.key, row.op_type, bool(row.name)) for row in nodes]

    def fused_origin(self, key: str, op_type: str) -> tuple[str, list[str]]:
        """For a fused kernel named after the chain's last output, the node of the reported op and the chain."""
        chain = [key]
        current = self.rows[key]
        for _ in range(MAX_FUSION_DEPTH):
            if current.op_type == op_type or not op_type:
                return current.key, chain
            producers = [self.by_output[i] for i in current.inputs if i in self.by_output]
            if not producers:
                break
            # Fused activations/adds sit after the main op; any producer of the same op type wins.
            current = next((self.rows[p] for p in producers if self.rows[p].op_type == op_type), self.rows[producers[0]])
            chain.insert(0, current.key)
        return key, [key]

    def match(self, ort_name: str, op_type: str) -> tuple[str | None, str]:
        """The model node an ORT node name stands for and how it was found: name, output, index or runtime."""
        if ort_name in self.by_name:
            return self.by_name[ort_name], "name"
        index_match = _INDEX_NAME.fullmatch(ort_name)
        if index_match:
            index = int(index_match["index"])
            if index < len(self.op_by_index):
                key, op, named = self.op_by_index[index]
                if not named and op == index_match["op"]:
                    return key, "index"
        candidate = ort_name
        while True:
            if candidate in self.by_name:
                return self.by_name[candidate], "fused"
            if candidate in self.by_output:
                return self.by_output[candidate], "output" if candidate == ort_name else "fused"
            stripped = _ORT_SUFFIX.sub("", candidate)
            if stripped == candidate or not stripped:
                return None, "runtime"
            candidate = stripped


# One event as ORT writes it, one per line: `{"cat" : ..., "name" :"<raw>","args" : {...}},`.
_EVENT_NAME = re.compile(r'^(?P<head>\{.*?"name" :")(?P<name>.*?)(?P<tail>","args" : \{.*)$')


def load_events(path: str | Path) -> list[dict[str, Any]]:
    """The event list of an ORT profile file."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = json.loads(_escape_event_names(text))
    # Older ORT versions wrap events in {"traceEvents": [...]}.
    return data["traceEvents"] if isinstance(data, dict) else data


def _escape_event_names(text: str) -> str:
    """The profile with each event's name JSON-escaped.

    ORT up to 1.23 (the newest for Python 3.10) writes node names into the profile verbatim,
    so a name holding a quote or backslash makes the file invalid JSON. Only called when the
    strict parse failed, so names that newer versions escaped are never escaped twice.
    """
    lines = []
    for line in text.splitlines():
        match = _EVENT_NAME.match(line)
        if match:
            line = match["head"][:-1] + json.dumps(match["name"]) + match["tail"][1:]
        lines.append(line)
    return "\n".join(lines)


def aggregate(events: Iterable[dict[str, Any]], table: NodeTable, *, skip_first_run: bool = True) -> dict[str, Any]:
    """Per-node and per-op-type time per run, with shares of the total kernel time.

    A node's time per run is the median over runs of its kernel time in that run, so one
    preempted kernel on a busy machine does not make it look like the bottleneck. The first
    run pays for allocations and caches, so it is dropped when the profile holds more than one.
    """
    events = list(events)
    starts = sorted(e["ts"] for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")
    first_counted = 1 if skip_first_run and len(starts) > 1 else 0
    counted_runs = max(len(starts) - first_counted, 1)
    per_node: dict[str, dict[str, Any]] = {}
    for event in events:
        name = event.get("name", "")
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        # ORT logs a run's "model_run" event at its start, kernels after it.
        run_index = max(bisect.bisect_right(starts, event.get("ts", 0)) - 1, 0)
        if run_index < first_counted:
            continue
        args = event.get("args", {})
        ort_name = name[: -len(KERNEL_SUFFIX)]
        entry = per_node.get(ort_name)
        if entry is None:
            op_type = args.get("op_name", "")
            model_node, matched = table.match(ort_name, op_type)
            chain = [model_node] if model_node else []
            if model_node is not None and matched in ("output", "fused"):
                model_node, chain = table.fused_origin(model_node, op_type)
            entry = per_node[ort_name] = {
                "node": ort_name,
                "model_node": model_node,
                "model_nodes": chain,
                "match": matched,
                "op_type": op_type,
                "provider": args.get("provider", ""),
                "calls": 0,
                "us_by_run": defaultdict(float),
            }
        entry["calls"] += 1
        entry["us_by_run"][run_index] += float(event.get("dur", 0))
    nodes = []
    for entry in per_node.values():
        by_run = entry.pop("us_by_run")
        per_run = [by_run.get(i, 0.0) for i in range(first_counted, first_counted + counted_runs)] if starts else list(by_run.values())
        nodes.append({**entry, "ms_per_run": float(statistics.median(per_run)) / 1e3})
    total_ms = sum(n["ms_per_run"] for n in nodes)
    for node in nodes:
        node["share"] = node["ms_per_run"] / total_ms if total_ms else 0.0
    nodes.sort(key=lambda n: n["ms_per_run"], reverse=True)
    by_op: dict[str, dict[str, Any]] = defaultdict(lambda: {"ms_per_run": 0.0, "share": 0.0, "nodes": 0})
    for node in nodes:
        slot = by_op[node["op_type"]]
        slot["ms_per_run"] += node["ms_per_run"]
        slot["share"] += node["share"]
        slot["nodes"] += 1
    op_types = sorted(({"op_type": op, **v} for op, v in by_op.items()), key=lambda o: o["ms_per_run"], reverse=True)
    return {
        "runs": counted_runs,
        "kernel_ms_per_run": total_ms,
        "nodes": nodes,
        "op_types": op_types,
        "unmapped": [n["node"] for n in nodes if n["model_node"] is None],
    }
