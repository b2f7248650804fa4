"""`onnx-workbench inspect`: what a model is and what it costs, as text or JSON.

    onnx-workbench inspect model.onnx
    onnx-workbench inspect model.onnx --json --dim batch=8 --dim sequence=256
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from onnx_workbench.app.commands.text import MAX_NAME_WIDTH, clean, parse_dims
from onnx_workbench.pipelines.analysis import ModelAnalysis, TensorInfo, analyze
from onnx_workbench.pipelines.model import LoadedModel, load_model
from onnx_workbench.pipelines.units import count as human_count
from onnx_workbench.pipelines.units import size as human_bytes

NAME = "inspect"
HELP = "summarize a model: inputs, outputs, opsets, parameters, MACs/FLOPs, heaviest layers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `inspect` subcommand."""
    parser.add_argument("model", help="the .onnx file to inspect")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--dim", action="append", default=[], metavar="NAME=VALUE",
        help="size of a symbolic dim for counting, e.g. batch=8 (repeatable; default batch=1, others 128)",
    )
    parser.add_argument("--top", type=int, default=10, metavar="N", help="heaviest layers to list (default 10)")


def run(args: argparse.Namespace) -> int:
    """Load, validate and analyze the model, then print the summary."""
    dims = parse_dims(args.dim)
    loaded = load_model(args.model, weights=False)  # the summary needs no weight
    analysis = analyze(loaded.proto, dims, path=loaded.path)
    if args.json:
        print(json.dumps(inspect_dict(loaded, analysis), indent=2))
    else:
        print(summary_text(loaded, analysis, top=max(0, args.top)))
    return 0


def inspect_dict(loaded: LoadedModel, analysis: ModelAnalysis) -> dict[str, Any]:
    """The JSON object: the analysis plus what loading found (file, IR version, warnings)."""
    data = analysis.to_dict()
    data["size_bytes"] = loaded.size_bytes  # model file plus external data, as measured by load
    data.update(
        model=str(loaded.path),
        ir_version=loaded.proto.ir_version,
        producer=f"{loaded.proto.producer_name} {loaded.proto.producer_version}".strip(),
        has_external_data=loaded.has_external_data,
        warnings=[*loaded.warnings, *analysis.warnings],
        normalized=loaded.notes,  # exporter quirks normalised in memory (pipelines/quirks.py)
    )
    return data


def summary_text(loaded: LoadedModel, analysis: ModelAnalysis, *, top: int = 10) -> str:
    """A readable multi-line summary for a terminal."""
    proto = loaded.proto
    lines = [f"{clean(loaded.path.name)}  ({human_bytes(loaded.size_bytes)} on disk"
             + (", with external data)" if loaded.has_external_data else ")")]
    producer = f"{proto.producer_name} {proto.producer_version}".strip()
    opsets = ", ".join(f"{clean(domain)} {version}" for domain, version in analysis.opsets.items())
    lines.append(f"  IR version {proto.ir_version}; opsets {opsets or 'none'}" + (f"; producer {clean(producer)}" if producer else ""))
    lines.append("")
    for title, tensors in (("Inputs", analysis.inputs), ("Outputs", analysis.outputs)):
        lines.append(f"{title}:")
        lines.extend(f"  {_tensor_line(t)}" for t in tensors)
        if not tensors:
            lines.append("  (none)")
    lines.append("")
    by_dtype = ", ".join(f"{dtype} {human_bytes(size)}" for dtype, size in analysis.bytes_by_dtype.items())
    rows = [
        ("Nodes", f"{analysis.nodes:,}"),
        ("Parameters", f"{analysis.params:,} ({human_bytes(analysis.param_bytes)}" + (f": {by_dtype})" if by_dtype else ")")),
        ("MACs", f"{human_count(analysis.macs)} ({analysis.macs:,})"),
        ("FLOPs", f"{human_count(analysis.flops)} ({analysis.flops:,})"),
        ("Activations", human_bytes(analysis.activation_bytes) + " (sum of all node outputs)"),
    ]
    if analysis.assumed_dims:
        assumed = ", ".join(f"{clean(k)}={v}" for k, v in analysis.assumed_dims.items())
        rows.append(("Assumed dims", f"{assumed} (set with --dim NAME=VALUE)"))
    width = max(len(label) for label, _ in rows)
    lines.extend(f"{label:<{width}}  {value}" for label, value in rows)
    lines.append("")
    common = list(analysis.op_types.items())[:10]
    lines.append("Top op types: " + ", ".join(f"{clean(op)} {n}" for op, n in common) if common else "Top op types: (none)")
    heaviest = [layer for layer in analysis.heaviest(top) if layer.macs or layer.flops]
    if heaviest:
        lines.append("")
        lines.append(f"Heaviest layers (by MACs, top {len(heaviest)}):")
        name_width = min(MAX_NAME_WIDTH, max(len(clean(layer.name)) for layer in heaviest))
        for layer in heaviest:
            share = f"{100 * layer.macs / analysis.macs:5.1f}%" if analysis.macs else "   - "
            shape = layer.output_shapes[0] if layer.output_shapes else None
            lines.append(
                f"  {clean(layer.name):<{name_width}}  {clean(layer.op_type):<14} {human_count(layer.macs):>8} MACs {share}"
                f"  {human_count(layer.params):>7} params  out {clean(shape, 200) if shape is not None else '?'}"
            )
    warnings = [*loaded.warnings, *analysis.warnings]
    if warnings or loaded.notes:
        lines.append("")
        lines.extend(f"Normalised: {clean(note, 300)}" for note in loaded.notes)
        lines.extend(f"Warning: {clean(w, 300)}" for w in warnings)
    return "\n".join(lines)


def _tensor_line(tensor: TensorInfo) -> str:
    shape = "[" + ", ".join(clean(str(d)) for d in tensor.shape) + "]" if tensor.shape is not None else "[?]"
    line = f"{clean(tensor.name)}  {tensor.dtype} {shape}"
    if tensor.concrete_shape is not None and tensor.shape is not None and list(tensor.concrete_shape) != tensor.shape:
        line += f"  (counted as {tensor.concrete_shape})"
    return line

