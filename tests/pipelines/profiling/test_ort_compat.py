"""Differences between ONNX Runtime versions (1.23 is the newest on Python 3.10): profile files, IR versions."""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from onnx_workbench.pipelines.errors import ModelRefused
from onnx_workbench.pipelines.profiling import perop
from onnx_workbench.pipelines.profiling.options import ProfileOptions
from onnx_workbench.pipelines.profiling.session import create_session

# Two events as ORT 1.23 writes them: the node name (quotes, backslash, HTML) is not escaped.
RAW_PROFILE = """[
{"cat" : "Session","pid" :1,"tid" :1,"dur" :65,"ts" :2624,"ph" : "X","name" :"model_run","args" : {}},
{"cat" : "Node","pid" :1,"tid" :1,"dur" :39,"ts" :2640,"ph" : "X","name" :"<script>alert("a\\b")</script>_kernel_time","args" : {"output_size" : "16","op_name" : "MatMul"}}
]
"""


def test_load_events_reads_unescaped_node_names(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(RAW_PROFILE, encoding="utf-8")
    with pytest.raises(json.JSONDecodeError):
        json.loads(RAW_PROFILE)
    events = perop.load_events(path)
    assert [e["name"] for e in events] == ["model_run", '<script>alert("a\\b")</script>_kernel_time']
    assert events[1]["args"]["op_name"] == "MatMul"


def test_load_events_does_not_unescape_twice(tmp_path: Path) -> None:
    # Newer ORT escapes names itself; a valid file must be read exactly as written.
    event = {"cat": "Node", "name": 'a"b\\c_kernel_time', "args": {}}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps([event]), encoding="utf-8")
    assert perop.load_events(path) == [event]


def test_a_model_newer_than_ort_names_its_ir_version(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 99  # newer than any ONNX Runtime supports
    path = tmp_path / "future.onnx"
    onnx.save(model, path)
    with pytest.raises(ModelRefused) as caught:
        create_session(path, ProfileOptions())
    message = str(caught.value)
    assert message.startswith("ONNX Runtime cannot load future.onnx: its IR version 99 is newer than ONNX Runtime ")
    assert "upgrade onnxruntime" in message and "\n" not in message and "onnxruntime::" not in message
