"""Entry point of the frozen app: the `onnx-workbench` command, or a worker process when asked.

Worker processes are started as `python -m onnx_workbench.pipelines.worker KIND`; a PyInstaller bundle has
no interpreter that understands `-m`, so pipelines.worker.client.worker_command() starts the
app binary itself with the first argument WORKER_ARG instead, and this launcher dispatches it.
"""
from __future__ import annotations

import sys

WORKER_ARG = "__worker__"


def main(argv: list[str] | None = None) -> int:
    """Run the worker for `__worker__ KIND`, otherwise the normal command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [WORKER_ARG]:
        from onnx_workbench.pipelines.worker.__main__ import main as worker_main

        return worker_main(args[1:])
    from onnx_workbench.app.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
