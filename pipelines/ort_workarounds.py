"""Known ONNX Runtime crashes the workbench steers around when it creates a session (runtime.open_session).

ONNX Runtime 1.32 on x86 CPUs dies with SIGSEGV while creating a session at its highest
optimization level for a float16 Transpose(perm=[1, 0, 2]) feeding a MatMul with a constant
weight: torchvision's ViT-B/16 after to-fp16 (every attention block has one), and a two-node
graph does it too (tests/pipelines/test_ort_workarounds.py). Disabling NchwcTransformer (the
layout transformer of float32 Convs) is enough to avoid it; that transformer only rewrites
float32 Convs, so a model that computes in float16 loses nothing.
"""
from __future__ import annotations

from pathlib import Path

import onnx

from onnx_workbench.pipelines.model_graphs import model_graph

_FLOAT16_CRASH_OPTIMIZERS = ("NchwcTransformer",)


def crashing_optimizers(model: str | Path | bytes) -> list[str]:
    """The ORT optimizers to disable for a model file or serialized model.

    A file's graph is parsed once per file version in a process (pipelines.model_graphs): a step
    opens sessions on the same two files several times (verification, timing), and a model
    with inline weights would cost a full parse each time.
    """
    if isinstance(model, bytes):
        return list(_for_graph(onnx.ModelProto.FromString(model).graph))
    return list(_for_graph(model_graph(model).graph))


def _for_graph(graph: onnx.GraphProto) -> tuple[str, ...]:
    computes_in_float16 = any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.initializer) or any(
        node.op_type == "Cast" and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT16 for a in node.attribute)
        for node in graph.node
    )
    return _FLOAT16_CRASH_OPTIMIZERS if computes_in_float16 else ()
