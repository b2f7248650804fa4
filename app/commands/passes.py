"""`onnx-workbench passes`: every registered pass with its config fields."""
from __future__ import annotations

import argparse
import json

from onnx_workbench.pipelines.passes.engine import all_passes

NAME = "passes"
HELP = "list the optimization passes and their options"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `passes` subcommand."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    """Print the pass catalogue as text or JSON."""
    described = [p.describe() for p in all_passes()]
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    category = None
    for entry in described:
        if entry["category"] != category:
            category = entry["category"]
            print(f"\n[{category}]" if category != described[0]["category"] else f"[{category}]")
        print(f"  {entry['name']}: {entry['description']}")
        print(f"      fidelity: cosine to the original >= {entry['min_cosine']} by default")
        for field in entry["config"]:
            print(f"      --set {field['name']}=<{field['type']}>  {_field_help(field)}")
    return 0


def _field_help(field: dict) -> str:
    """'help text (default 8; 1..16; one of a, b)'."""
    notes = [f"default {_show(field['default'])}"]
    if field["min"] is not None or field["max"] is not None:
        low = _show(field["min"]) if field["min"] is not None else ""
        high = _show(field["max"]) if field["max"] is not None else ""
        notes.append(f"{low}..{high}")
    if field["choices"]:
        notes.append("one of " + ", ".join(_show(c) for c in field["choices"]))
    return f"{field['help']} ({'; '.join(notes)})"


def _show(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(empty)"
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items()) or "(empty)"
    if value == "":
        return '""'
    return str(value)
