"""The `onnx-workbench` command: the GUI without a subcommand, headless subcommands otherwise.

Exit status of every subcommand: 0 on success; 1 when the work ran but failed (a check missed,
a file could not be written); 2 when the input, options or model were refused.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from onnx_workbench.app import __version__
from onnx_workbench.app.commands.text import clean
from onnx_workbench.pipelines.errors import WorkbenchError, WorkFailed, os_error_sentence

# Each module in app.commands declares one subcommand: NAME, HELP, add_arguments(parser) and
# run(args) -> exit code. Listed here so `--help` shows them in a sensible order.
COMMAND_MODULES = (
    "inspect",
    "passes",
    "optimize",
    "quant_debug",
    "prune_scan",
    "profile",
    "compare",
    "render",
    "report",
    "tune",
)

EXIT_FAILED = 1
EXIT_REFUSED = 2
MAX_ERROR_CHARS = 1000


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The argument parser with the subcommands `commands` (module names; default all of them)."""
    parser = argparse.ArgumentParser(
        prog="onnx-workbench",
        description="See, change, verify and measure ONNX models. Without a subcommand, opens the GUI.",
    )
    parser.add_argument("--version", action="version", version=f"onnx-workbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules(commands):
        sub = subparsers.add_parser(
            module.NAME, help=module.HELP, description=module.HELP
        )
        # SUPPRESS: when absent after the subcommand, the top-level `--debug` must stand
        # (a plain store_true default of False would overwrite it).
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `onnx-workbench` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(arg in _command_names() or arg in ("-h", "--help", "--version") for arg in argv):
        # No subcommand: the GUI, optionally on a model path.
        from onnx_workbench.app.gui import run_gui

        gui_parser = argparse.ArgumentParser(prog="onnx-workbench")
        gui_parser.add_argument("model", nargs="?", help="model to open")
        gui_args = gui_parser.parse_args(argv)
        return run_gui(gui_args.model)
    parser = build_parser(_commands_needed(argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except WorkFailed as exc:
        # Accepted input, failed work (a worker died, ONNX Runtime could not run the model).
        return _report(args, str(exc), EXIT_FAILED)
    except WorkbenchError as exc:
        return _report(args, str(exc), EXIT_REFUSED)
    except OSError as exc:
        # Unwritable output, full disk, vanished file: the environment failed, not the input.
        if isinstance(exc, BrokenPipeError):
            return _quiet_broken_pipe()
        return _report(args, os_error_sentence(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        print("onnx-workbench: interrupted.", file=sys.stderr)
        return 130


def _report(args: argparse.Namespace, sentence: str, code: int) -> int:
    """Print one error sentence (model and recipe text in it made terminal-safe) and return `code`."""
    if args.debug:
        traceback.print_exc()
    # Error sentences quote node names, recipe fields and paths: an ESC or BEL in them must not
    # reach the terminal, and a megabyte-long value must not flood it.
    print(f"onnx-workbench: {clean(sentence, MAX_ERROR_CHARS)}", file=sys.stderr)
    return code


def _quiet_broken_pipe() -> int:
    # The reader went away (e.g. `| head`): not an error of ours. Point stdout at devnull
    # so the interpreter's final flush does not raise again.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _command_modules(commands: Sequence[str]) -> list:
    return [importlib.import_module(f"onnx_workbench.app.commands.{name}") for name in commands]


def _commands_needed(argv: Sequence[str]) -> Sequence[str]:
    """Just the subcommand being run, or all of them for the top-level help.

    Every command module imports what its work needs (onnx-ir, ONNX Runtime's tools); a quick
    command such as `inspect` must not pay for all of them.
    """
    for arg in argv:
        if arg in ("-h", "--help", "--version"):
            return COMMAND_MODULES
        if arg in _command_names():
            return [arg.replace("-", "_")]
    return COMMAND_MODULES


def _command_names() -> set[str]:
    # Derived from the module names, not by importing them: the GUI path must not pay for
    # every command's imports (onnx-ir, ONNX Runtime tools) before the window opens.
    return {name.replace("_", "-") for name in COMMAND_MODULES}


if __name__ == "__main__":
    sys.exit(main())
