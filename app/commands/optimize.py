"""`onnx-workbench optimize`: apply a recipe, or passes given on the command line, headless.

    onnx-workbench optimize model.onnx --pass fold-batchnorm --pass quantize-dynamic \\
        --set per_channel=true -o model.opt.onnx --verify --save-recipe opt.yaml

Each `--set KEY=VALUE` configures the latest `--pass` before it. Exit status: 0 on success,
1 when --verify found a step out of tolerance (the model is still written), 2 when the input,
recipe or options are refused.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from onnx_workbench.app.commands.text import DATA_HELP, clean, parse_dims
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.config import parse_field_text
from onnx_workbench.pipelines.passes.engine import get_pass
from onnx_workbench.pipelines.recipe import Recipe, load_recipe, save_recipe
from onnx_workbench.pipelines.replay import StepChecks, run_recipe_in_worker
from onnx_workbench.pipelines.safe_write import check_targets, source_files
from onnx_workbench.pipelines.units import size
from onnx_workbench.pipelines.verify import Tolerance

NAME = "optimize"
HELP = "apply passes or a recipe to a model and write the optimized model"
# Step summaries are sentences, not names: cut them much later than a name column.
LONG = 400


class _StartStep(argparse.Action):
    """`--pass NAME`: open a new step; later `--set` options belong to it."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        steps = list(getattr(namespace, self.dest, None) or [])
        steps.append((values, []))
        setattr(namespace, self.dest, steps)


class _SetOption(argparse.Action):
    """`--set KEY=VALUE`: a config value of the latest `--pass` (argparse keeps argv order)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        steps = getattr(namespace, self.dest, None)
        if not steps:
            parser.error(f"--set {values} must come after the --pass it configures")
        steps[-1][1].append(values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the `optimize` subcommand."""
    parser.add_argument("model", help="the ONNX model to optimize (never modified)")
    source = parser.add_argument_group("what to apply (a recipe, or one or more --pass)")
    source.add_argument("--recipe", metavar="R.yaml", help="apply the steps of this recipe")
    source.add_argument("--pass", dest="steps", action=_StartStep, metavar="NAME",
                        help="apply this pass (repeat for several, in order); see `onnx-workbench passes`")
    source.add_argument("--set", dest="steps", action=_SetOption, metavar="KEY=VALUE",
                        help="a config value for the latest --pass (repeatable)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="where to write the result")
    parser.add_argument("--save-recipe", metavar="R.yaml", help="also write the steps as a recipe file")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    check = parser.add_argument_group("fidelity check (with --verify)")
    check.add_argument("--verify", action="store_true", help="compare every step's model with the original in ONNX Runtime")
    check.add_argument("--samples", type=int, help="input samples to compare on (default: 4 random ones, or every sample of --data)")
    check.add_argument("--data", metavar="PATH", help=DATA_HELP)
    check.add_argument("--time-steps", action="store_true",
                       help="time every step's model against the one before it (a few interleaved runs on the CPU)")
    check.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE", help="size of a dynamic dimension, e.g. batch=8")
    check.add_argument("--min-cosine", type=float,
                       help="lowest cosine similarity per output (default: the steps' own, e.g. 0.9999 for "
                            "fusions, 0.99 for INT8; see `passes`). Give any threshold and only those given are checked")
    check.add_argument("--max-abs", type=float, help="largest absolute error per output")
    check.add_argument("--min-snr", type=float, help="lowest signal-to-noise ratio in dB")
    check.add_argument("--min-top1", type=float, help="lowest top-1 agreement (0..1) for class-score outputs")
    check.add_argument("--max-accuracy-drop", type=float, metavar="PTS",
                       help="most top-1 accuracy points a step may lose against the original (needs labelled --data)")


def run(args: argparse.Namespace) -> int:
    """Validate everything, run the steps, print what each changed."""
    recipe = _recipe_from_args(args)
    thresholds = {"min_cosine": args.min_cosine, "max_abs": args.max_abs, "min_snr_db": args.min_snr,
                  "min_top1": args.min_top1, "max_accuracy_drop": args.max_accuracy_drop}
    # No threshold given: every step is held to its passes' default (pipelines.tolerances).
    tolerance = Tolerance(**thresholds) if any(v is not None for v in thresholds.values()) else None
    dims = parse_dims(args.dim)
    # Every output is checked before any work: none may be the source, its data or another output.
    protected = source_files(args.model)
    check_targets([args.output, f"{args.output}.data", args.save_recipe], protected)
    # The passes run in a worker: a native crash in one is a sentence here, not a dead command.
    checks = StepChecks(verify=args.verify, tolerance=tolerance, data=args.data, samples=args.samples,
                        dims=dims, time_steps=args.time_steps)
    steps = run_recipe_in_worker(args.model, recipe, args.output, checks)
    if args.save_recipe:
        save_recipe(recipe, args.save_recipe, protected)
    passed = all(s["fidelity"]["passed"] for s in steps if s["fidelity"] is not None)
    if args.json:
        print(json.dumps(_json_summary(args, steps, passed), indent=2))
    else:
        _print_steps(steps)
        print(f"wrote {args.output}" + (f" and recipe {args.save_recipe}" if args.save_recipe else ""))
        if not passed:
            print("fidelity below tolerance in at least one step (model written anyway).")
    return 0 if passed else 1


def _recipe_from_args(args: argparse.Namespace) -> Recipe:
    """The recipe file, or the --pass/--set steps, validated before any work starts."""
    steps = args.steps or []
    if args.recipe and steps:
        raise ConfigError("give either --recipe or --pass steps, not both.")
    if args.recipe:
        return load_recipe(args.recipe)
    if not steps:
        raise ConfigError("nothing to apply; give --recipe R.yaml or at least one --pass NAME.")
    pairs = []
    for number, (name, settings) in enumerate(steps, 1):
        try:
            specs = {s.name: s for s in get_pass(name).Config.fields()}
        except ConfigError as exc:
            raise ConfigError(f"command line, step {number}: {exc}") from None
        values: dict[str, Any] = {}
        for text in settings:
            key, sep, value = text.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(f"--pass {name}: --set takes KEY=VALUE, not '{text}'.")
            if key not in specs:
                known = ", ".join(specs) or "none"
                raise ConfigError(f"--pass {name}: unknown field '{key}' (known fields: {known}).", key)
            values[key] = parse_field_text(specs[key], value)
        pairs.append((name, values))
    return Recipe.from_steps(pairs, where="command line")


def _print_steps(steps: list[dict[str, Any]]) -> None:
    for step in steps:
        print(f"step {step['step']}  {clean(step['pass'])}  ({step['seconds']:.2f} s)")
        # Summaries, warnings and flags quote node and tensor names: untrusted model text.
        print(f"  changes:  {clean(step['summary'], LONG)}")
        print(
            f"  size:     {size(step['size_before'])} -> {size(step['size_after'])} "
            f"({_percent(step['size_before'], step['size_after'])}), nodes {step['nodes_before']} -> {step['nodes_after']}"
        )
        if step["fidelity"] is not None:
            print(f"  fidelity: {clean(step['fidelity']['summary'], LONG)}")
        if step.get("latency"):
            latency = step["latency"]
            print(f"  latency:  {latency['parent_ms']:.2f} ms -> {latency['child_ms']:.2f} ms "
                  f"({latency['speedup']:.2f}x, {latency['runs']} interleaved runs)")
        for warning in step["warnings"]:
            print(f"  warning:  {clean(warning, LONG)}")
        for flag in step["flags"]:
            print(f"  flag:     {clean(flag, LONG)}")


def _json_summary(args: argparse.Namespace, steps: list[dict[str, Any]], passed: bool) -> dict[str, Any]:
    return {
        "model": args.model,
        "output": args.output,
        "recipe": args.save_recipe,
        "passed": passed,
        "size_before": steps[0]["size_before"] if steps else None,
        "size_after": steps[-1]["size_after"] if steps else None,
        "steps": steps,
    }


def _percent(before: int, after: int) -> str:
    if before == 0:
        return "n/a"
    return f"{(after - before) / before:+.1%}"
