"""The fidelity tolerance a chain of steps is held to when the user sets none.

Every step is verified against the original model, so the error of a chain accumulates:
the model after fold-batchnorm then quantize-static is held to the looser (INT8) bound.
Each pass declares its own default (`Pass.min_cosine`, by category unless the pass says).
"""
from __future__ import annotations

from collections.abc import Sequence

from onnx_workbench.pipelines.passes.engine import get_pass
from onnx_workbench.pipelines.verify import Tolerance


def default_tolerance(pass_names: Sequence[str]) -> Tolerance:
    """The default tolerance of the model made by `pass_names` in order (the loosest step's)."""
    if not pass_names:
        return Tolerance()
    return Tolerance(min_cosine=min(get_pass(name).min_cosine for name in pass_names))
