"""Issue 15 item 12: Netron's server, even with its token, serves the model and the data files
the model names, never another file beside it."""
from __future__ import annotations

from pathlib import Path

from onnx_workbench.widgets.netron_server import NetronServer
from hostile_inputs import matmul_model


def test_only_the_models_own_data_files_are_served(tmp_path: Path) -> None:
    model = matmul_model(tmp_path / "m.onnx", data_location="m.onnx.data")
    (tmp_path / "secret.txt").write_text("private")
    server = NetronServer()
    server.set_model(model)
    assert server.resource("data/m.onnx") == (model.resolve(), "application/octet-stream")
    assert server.resource("data/m.onnx.data")[0] == (tmp_path / "m.onnx.data").resolve()
    assert server.resource("data/secret.txt") is None
    server.set_model(matmul_model(tmp_path / "inline.onnx"))
    assert server.resource("data/m.onnx.data") is None  # the new model names no data file
