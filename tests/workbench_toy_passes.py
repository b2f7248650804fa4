"""Test-only passes and a tiny classifier model, so engine tests do not depend on the real passes.

The passes are in the registry only while the `toy_passes` fixture is active (import it into a
test module; it is autouse), so tests elsewhere that walk every registered pass never see them.
tests/ is on sys.path because tests/conftest.py lives there.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_workbench.pipelines.passes.base import REGISTRY, Pass, PassConfig, PassContext, PassOutput, option


def build_classifier(path: Path, *, seed: int = 0, classes: int = 5, features: int = 8) -> Path:
    """x[batch, features] -> MatMul -> Add -> Relu -> MatMul -> logits[batch, classes]; saved to `path`."""
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.standard_normal((features, 16)).astype(np.float32), "W1")
    b1 = numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "B1")
    w2 = numpy_helper.from_array(rng.standard_normal((16, classes)).astype(np.float32), "W2")
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"], name="fc1"),
        helper.make_node("Add", ["h", "B1"], ["hb"], name="bias1"),
        helper.make_node("Relu", ["hb"], ["a"], name="relu1"),
        helper.make_node("MatMul", ["a", "W2"], ["logits"], name="fc2"),
    ]
    graph = helper.make_graph(
        nodes,
        "toy_classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        initializer=[w1, b1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="toy")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


_BEFORE = set(REGISTRY)


@dataclass(frozen=True)
class ToyScaleConfig(PassConfig):
    tensor: str = option("W2", help="initializer to scale")
    factor: float = option(1.0, help="multiply the tensor by this", min=0.0, max=100.0)


class ToyScale(Pass):
    """Multiplies one weight: factor 1 keeps fidelity, anything else degrades it."""

    name = "toy-scale"
    category = "convert"
    description = "Scale one initializer (test only)."
    Config = ToyScaleConfig

    def transform(self, model, config, ctx, output):
        for index, tensor in enumerate(model.graph.initializer):
            if tensor.name == config.tensor:
                scaled = numpy_helper.to_array(tensor) * np.float32(config.factor)
                model.graph.initializer[index].CopyFrom(numpy_helper.from_array(scaled, tensor.name))
                return model
        raise ValueError(f"no initializer named {config.tensor}")


@dataclass(frozen=True)
class ToyOptionsConfig(PassConfig):
    mode: str = option("fast", help="how", choices=("fast", "exact"))
    count: int = option(2, help="how many", min=1, max=5)
    strict: bool = option(False, help="be strict")
    names: list[str] = option([], help="node names")
    dims: dict[str, int] = option({}, help="dim sizes")


class ToyRename(Pass):
    """Renames nodes and the doc string; with its options, a test of every field type."""

    name = "toy-rename"
    category = "cleanup"
    description = "Rename nodes after their op type (test only)."
    Config = ToyOptionsConfig

    def transform(self, model, config, ctx, output):
        for index, node in enumerate(model.graph.node):
            node.name = f"{node.op_type.lower()}_{config.mode}_{index}"
        output.warnings.append(f"renamed {len(model.graph.node)} nodes")
        return model


class ToyFail(Pass):
    """Writes half a file, then fails, like a tool crashing mid-write."""

    name = "toy-fail"
    category = "cleanup"
    description = "Always fails (test only)."

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        target.write_bytes(b"half a model")
        raise RuntimeError("the tool crashed\nwith a long traceback")


class ToySlow(Pass):
    """Reports progress in many small steps, so it can be cancelled midway."""

    name = "toy-slow"
    category = "cleanup"
    description = "Progress in ten steps (test only)."

    def transform(self, model, config, ctx, output):
        for step in range(10):
            ctx.progress(step / 10, f"step {step}")
        return model


class ToyBreak(Pass):
    """Produces a valid protobuf that ONNX Runtime refuses (an op from an unknown domain)."""

    name = "toy-break"
    category = "convert"
    description = "Swap Relu for an unknown custom op (test only)."

    def transform(self, model, config, ctx, output):
        for node in model.graph.node:
            if node.op_type == "Relu":
                node.op_type, node.domain = "Mystery", "com.example"
        model.opset_import.append(helper.make_opsetid("com.example", 1))
        return model


class ToyGarbage(Pass):
    """Claims success but writes bytes that are no model."""

    name = "toy-garbage"
    category = "cleanup"
    description = "Writes a broken file and reports success (test only)."

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        target.write_bytes(b"\x08\x07 not a protobuf at all")
        return PassOutput()


class ToyExternal(Pass):
    """Re-saves the model with its weights in an external data file."""

    name = "toy-external"
    category = "convert"
    description = "Move the weights to '<name>.data' (test only)."

    def apply(self, source: Path, target: Path, config: PassConfig, ctx: PassContext) -> PassOutput:
        from onnx_workbench.pipelines.model import load_model, save_model

        save_model(load_model(source).proto, target, external_data=True)
        return PassOutput()


# Declaring a Pass registers it; take the toy ones out again until a test asks for them.
TOY_PASSES: dict[str, type[Pass]] = {name: REGISTRY.pop(name) for name in set(REGISTRY) - _BEFORE}


@pytest.fixture(autouse=True)
def toy_passes() -> Iterator[dict[str, type[Pass]]]:
    """Put the toy passes in the registry for one test, then take them out."""
    REGISTRY.update(TOY_PASSES)
    try:
        yield TOY_PASSES
    finally:
        for name in TOY_PASSES:
            REGISTRY.pop(name, None)


def run_recipe_with_toy_passes(params: dict, emit) -> dict:  # noqa: ANN001 - a worker job
    """The "run-recipe" worker job with the toy passes registered (loaded by file path in the worker)."""
    from onnx_workbench.pipelines.builtin_jobs import run_recipe

    REGISTRY.update(TOY_PASSES)
    return run_recipe(params, emit)


@pytest.fixture()
def toy_passes_in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recipes replayed by the CLI run in a worker process: give that worker the toy passes too."""
    from onnx_workbench.pipelines.worker.jobs import ENV_EXTRA_JOBS

    monkeypatch.setenv(ENV_EXTRA_JOBS, f"run-recipe={Path(__file__).resolve()}:run_recipe_with_toy_passes")
