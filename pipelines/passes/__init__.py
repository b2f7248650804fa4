"""Optimization passes: the framework (`base`), the runner (`engine`) and the built-in passes."""
from onnx_workbench.pipelines.passes.base import Pass, PassConfig, PassContext, PassOutput, option
from onnx_workbench.pipelines.passes.engine import PassResult, all_passes, get_pass, make_config, run_pass

__all__ = [
    "Pass",
    "PassConfig",
    "PassContext",
    "PassOutput",
    "PassResult",
    "all_passes",
    "get_pass",
    "make_config",
    "option",
    "run_pass",
]
