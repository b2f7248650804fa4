"""Issue 15 item 12: a session folder is untrusted when reopened (it can be copied, edited, shared)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.versions import WORKSPACE_FILE, Workspace
from workbench_toy_passes import build_classifier, toy_passes  # noqa: F401 - autouse fixture: the toy passes


@pytest.fixture()
def session(tmp_path: Path) -> tuple[Path, dict, str]:
    workspace = Workspace.create(build_classifier(tmp_path / "model.onnx"), tmp_path / "session")
    child = workspace.apply("original", "toy-scale", {"factor": 1.0}, verify=False)
    return workspace.root, json.loads((workspace.root / WORKSPACE_FILE).read_text()), child.id


def _tamper(root: Path, data: object) -> str:
    (root / WORKSPACE_FILE).write_text(json.dumps(data))
    with pytest.raises(ConfigError) as caught:
        Workspace.open(root)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_untampered_session_reopens(session) -> None:
    root, _, child = session
    assert Workspace.open(root).recipe_for(child).steps[0].pass_name == "toy-scale"


@pytest.mark.parametrize("mutate", [
    lambda d, c: [d],
    lambda d, c: {"format": 1},
    lambda d, c: {**d, "versions": "all"},
    lambda d, c: {**d, "versions": [{"id": "original"}]},
    lambda d, c: {**d, "versions": [*d["versions"], d["versions"][1]]},
])
def test_malformed_workspace_json_is_refused(session, mutate) -> None:
    root, data, child = session
    assert "is damaged" in _tamper(root, mutate(data, child))


@pytest.mark.parametrize("file", ["/etc/passwd", "../../outside/model.onnx", "versions/original/model.onnx",
                                  "versions/{id}/../../../x.onnx"])
def test_version_files_outside_their_folder_are_refused(session, tmp_path: Path, file: str) -> None:
    root, data, child = session
    data["versions"][1]["file"] = file.format(id=child)
    assert "outside its folder" in _tamper(root, data)
    assert (tmp_path / "model.onnx").exists()  # nothing was deleted or served


def test_a_symlinked_version_folder_is_refused(session, tmp_path: Path) -> None:
    root, data, child = session
    outside = tmp_path / "elsewhere"
    (root / "versions" / child).rename(outside)
    (root / "versions" / child).symlink_to(outside)
    assert "links outside its folder" in _tamper(root, data)


def test_parent_cycles_and_unknown_parents_are_refused(session) -> None:
    root, data, child = session
    data["versions"][1]["parent"] = child
    assert "does not lead back to the original" in _tamper(root, data)
    data["versions"][1]["parent"] = "0123456789ab"
    assert "does not lead back to the original" in _tamper(root, data)


def test_oversized_or_binary_workspace_json_is_refused(session) -> None:
    root, _, _ = session
    (root / WORKSPACE_FILE).write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigError, match="not UTF-8"):
        Workspace.open(root)
    (root / WORKSPACE_FILE).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="is damaged"):
        Workspace.open(root)
