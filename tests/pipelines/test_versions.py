"""The version tree: cache hits, branches, recipes, failures, persistence."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest

import onnx_workbench.pipelines.versions as versions_module
from onnx_workbench.pipelines.errors import Cancelled, ConfigError, ModelRefused, PassFailed
from onnx_workbench.pipelines.model_graphs import external_data_files
from onnx_workbench.pipelines.recipe import load_recipe
from onnx_workbench.pipelines.replay import run_recipe
from onnx_workbench.pipelines.verify import Tolerance, verify_models
from onnx_workbench.pipelines.versions import FLAG_NOT_VERIFIED, FLAG_OUT_OF_TOLERANCE, ROOT_ID, Workspace, version_id
from workbench_toy_passes import build_classifier, toy_passes  # noqa: F401 - autouse fixture: the toy passes


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    return build_classifier(tmp_path / "user" / "model.onnx")


@pytest.fixture()
def workspace(source: Path, tmp_path: Path) -> Workspace:
    return Workspace.create(source, tmp_path / "session", samples=2)


def test_create_copies_the_source_as_version_zero(source: Path, workspace: Workspace) -> None:
    before = source.read_bytes()
    original = workspace.original
    assert original.id == ROOT_ID and original.parent is None and original.number == 0
    assert workspace.path_of(ROOT_ID).read_bytes() == before
    assert workspace.path_of(ROOT_ID) != source
    assert original.metrics["nodes"] == 4 and original.metrics["size_bytes"] == len(before)
    assert original.metrics["params"] == 8 * 16 + 16 + 16 * 5
    assert (workspace.root / "workspace.json").is_file()
    with pytest.raises(ConfigError, match="already holds a session"):
        Workspace.create(source, workspace.root)


def test_apply_records_changes_metrics_and_fidelity(source: Path, workspace: Workspace) -> None:
    progress: list[float] = []
    version = workspace.apply(ROOT_ID, "toy-scale", {"factor": 2.0}, on_progress=lambda f, m: progress.append(f))
    assert version.parent == ROOT_ID and version.number == 1 and version.pass_name == "toy-scale"
    assert version.config == {"tensor": "W2", "factor": 2.0}
    assert version.id == version_id(ROOT_ID, "toy-scale", {"tensor": "W2", "factor": 2.0})
    assert version.summary == "~1 MatMul" and version.changes["changed"] == ["fc2"]
    assert workspace.path_of(version.id).is_file()
    fidelity = version.metrics["fidelity"]
    assert fidelity["passed"] is True and fidelity["samples"] == 2  # scaled logits: cosine 1
    assert fidelity["candidate"] == str(workspace.path_of(version.id))
    assert version.fidelity_passed is True and version.flags == []
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    # Stricter tolerance: the cached version is re-judged and flagged, not hidden.
    strict = workspace.apply(ROOT_ID, "toy-scale", {"factor": 2.0}, tolerance=Tolerance(max_abs=1e-3))
    assert strict is version and strict.flags == [FLAG_OUT_OF_TOLERANCE] and strict.fidelity_passed is False


def test_repeating_a_step_is_a_cache_hit(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    first = workspace.apply(ROOT_ID, "toy-rename", {"mode": "exact"})

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cached step ran again")

    monkeypatch.setattr(versions_module, "run_pass", must_not_run)
    # Same config spelled out in full is the same step.
    again = workspace.apply(ROOT_ID, "toy-rename", {"mode": "exact", "count": 2})
    assert again is first and len(workspace.versions) == 2


def test_branch_after_going_back_and_recipe_export(source: Path, workspace: Workspace, tmp_path: Path) -> None:
    a = workspace.apply(ROOT_ID, "toy-rename", {"mode": "exact"})
    b = workspace.apply(a.id, "toy-scale", {"factor": 0.5})
    c = workspace.apply(ROOT_ID, "toy-scale", {"factor": 0.5})  # back to the original, other branch
    assert c.id != b.id and c.parent == ROOT_ID
    assert [v.id for v in workspace.children(ROOT_ID)] == [a.id, c.id]
    assert [v.id for v in workspace.path_to(b.id)] == [ROOT_ID, a.id, b.id]
    assert [v.id for v in workspace.path_to(c.id)] == [ROOT_ID, c.id]
    recipe = workspace.recipe_for(b.id)
    assert [(s.pass_name, s.config.to_dict()) for s in recipe.steps] == [
        ("toy-rename", a.config), ("toy-scale", b.config)
    ]
    assert workspace.recipe_for(ROOT_ID).steps == ()
    # The exported recipe rebuilds the version byte for byte from the user's file.
    out = tmp_path / "rebuilt.onnx"
    run_recipe(source, recipe, out)
    assert out.read_bytes() == workspace.path_of(b.id).read_bytes()


def test_failed_or_cancelled_pass_adds_no_version(workspace: Workspace) -> None:
    with pytest.raises(PassFailed):
        workspace.apply(ROOT_ID, "toy-fail")
    with pytest.raises(Cancelled):
        workspace.apply(ROOT_ID, "toy-slow", is_cancelled=lambda: True)
    with pytest.raises(ConfigError, match="field 'factor'"):
        workspace.apply(ROOT_ID, "toy-scale", {"factor": -2})
    assert [v.id for v in workspace.versions] == [ROOT_ID]
    assert sorted(p.name for p in workspace.root.iterdir()) == ["versions", "workspace.json"]
    assert [p.name for p in (workspace.root / "versions").iterdir()] == [ROOT_ID]


def test_model_runtime_cannot_run_is_flagged_not_hidden(workspace: Workspace) -> None:
    version = workspace.apply(ROOT_ID, "toy-break")
    assert version.metrics["fidelity"] is None and version.fidelity_passed is None
    assert version.flags[0].startswith(FLAG_NOT_VERIFIED) and "ONNX Runtime cannot load" in version.flags[0]


def test_throwaway_workspace_reads_the_source_in_place_and_refuses_what_it_cannot_verify(
    source: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    workspace = Workspace.throwaway(source, scratch, model_file="out.onnx", samples=2)
    assert workspace.path_of(ROOT_ID) == source.absolute() and list(scratch.iterdir()) == []  # nothing copied
    step = workspace.apply(ROOT_ID, "toy-rename", save=False, time_step=False)
    assert workspace.path_of(step.id).name == "out.onnx" and step.fidelity_passed
    workspace.drop_files(step.id)
    workspace.drop_files(ROOT_ID)  # never the user's file
    assert not workspace.path_of(step.id).exists() and source.is_file()
    assert not (scratch / "workspace.json").exists()
    with pytest.raises(ModelRefused, match="ONNX Runtime cannot load"):
        workspace.apply(ROOT_ID, "toy-break", save=False, time_step=False)


def test_save_open_rename_delete(workspace: Workspace) -> None:
    a = workspace.apply(ROOT_ID, "toy-rename")
    b = workspace.apply(a.id, "toy-scale", {"factor": 3.0}, verify=False)
    workspace.rename(b.id, "  tripled  ")
    workspace.update_metrics(b.id, latency={"median_ms": 0.1})
    reopened = Workspace.open(workspace.root)
    assert [v.to_dict() for v in reopened.versions] == [v.to_dict() for v in workspace.versions]
    assert reopened.get(b.id).label == "tripled" and "fidelity" not in reopened.get(b.id).metrics
    assert reopened.get(b.id).metrics["latency"] == {"median_ms": 0.1}
    assert reopened.source == workspace.source and reopened.tolerance is None
    removed = reopened.delete(a.id)
    assert removed == [a.id, b.id] and [v.id for v in reopened.versions] == [ROOT_ID]
    assert not (reopened.root / "versions" / a.id).exists()
    assert [v.id for v in Workspace.open(workspace.root).versions] == [ROOT_ID]
    with pytest.raises(ConfigError, match="cannot be deleted"):
        reopened.delete(ROOT_ID)
    with pytest.raises(ConfigError, match="no version 'zzz'"):
        reopened.get("zzz")
    # After deleting, the same step runs again and lands at the same id.
    assert reopened.apply(ROOT_ID, "toy-rename").id == a.id


def test_open_refuses_folders_without_a_session(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no session"):
        Workspace.open(tmp_path)
    (tmp_path / "workspace.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="is damaged"):
        Workspace.open(tmp_path)


def test_external_data_is_copied_along(tmp_path: Path) -> None:
    user = tmp_path / "user"
    model = onnx.load(str(build_classifier(tmp_path / "plain.onnx")))
    user.mkdir()
    onnx.save(model, str(user / "big.onnx"), save_as_external_data=True, location="big.weights", size_threshold=0)
    workspace = Workspace.create(user / "big.onnx", tmp_path / "session")
    copied = workspace.path_of(ROOT_ID).parent / "big.weights"
    assert copied.read_bytes() == (user / "big.weights").read_bytes()
    assert workspace.original.metrics["size_bytes"] == (user / "big.onnx").stat().st_size + copied.stat().st_size
    version = workspace.apply(ROOT_ID, "toy-scale", {"factor": 1.0})
    assert version.metrics["fidelity"]["passed"] is True


def test_external_data_outside_the_folder_is_refused(tmp_path: Path) -> None:
    model = onnx.load(str(build_classifier(tmp_path / "plain.onnx")))
    (tmp_path / "user").mkdir()
    onnx.save(model, str(tmp_path / "outside.bin.onnx"), save_as_external_data=True, location="outside.bin", size_threshold=0)
    hostile = onnx.load(str(tmp_path / "outside.bin.onnx"), load_external_data=False)
    for tensor in hostile.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../outside.bin"
    onnx.save(hostile, str(tmp_path / "user" / "hostile.onnx"))
    with pytest.raises(ModelRefused, match="outside"):
        Workspace.create(tmp_path / "user" / "hostile.onnx", tmp_path / "session")


def test_real_passes_on_the_sample_cnn(sample_cnn: Path, tmp_path: Path) -> None:
    """Integration with the built-in passes: a branch of cleanup then fold-batchnorm."""
    workspace = Workspace.create(sample_cnn, tmp_path / "session", samples=2)
    cleaned = workspace.apply(ROOT_ID, "cleanup")
    folded = workspace.apply(cleaned.id, "fold-batchnorm")
    bn = sum(1 for n in onnx.load(str(sample_cnn)).graph.node if n.op_type == "BatchNormalization")
    assert bn > 0 and folded.changes["removed_by_op"]["BatchNormalization"] == bn
    assert folded.metrics["nodes"] == cleaned.metrics["nodes"] - bn
    assert folded.metrics["params"] < cleaned.metrics["params"]  # BN scale/shift/mean/var are gone
    fidelity = folded.metrics["fidelity"]
    assert fidelity["passed"] and fidelity["outputs"][0]["cosine"] > 0.99999
    out = tmp_path / "replayed.onnx"
    run_recipe(sample_cnn, workspace.recipe_for(folded.id), out)
    assert out.read_bytes() == workspace.path_of(folded.id).read_bytes()


def test_export_model_and_recipe(source: Path, workspace: Workspace, tmp_path: Path) -> None:
    version = workspace.apply(ROOT_ID, "toy-scale", {"factor": 0.5}, verify=False)
    out = workspace.export(version.id, tmp_path / "export" / "half.onnx", tmp_path / "export" / "half.yaml")
    assert out.read_bytes() == workspace.path_of(version.id).read_bytes()
    assert load_recipe(tmp_path / "export" / "half.yaml") == workspace.recipe_for(version.id)
    with pytest.raises(ConfigError, match="opened from"):
        workspace.export(version.id, source)


def test_export_beside_a_source_with_external_data_leaves_its_weights_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace's data file is 'model.onnx.data'; exported beside a user's model.onnx it must not replace theirs."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    import onnx_workbench.pipelines.model as model_io
    from onnx_workbench.pipelines.model import save_model

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32), "W2")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W2"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    user = tmp_path / "user" / "model.onnx"
    save_model(model, user, external_data=True)
    user_data = user.with_name("model.onnx.data")
    before = user_data.read_bytes()
    workspace = Workspace.create(user, tmp_path / "session", samples=2)
    version = workspace.apply(ROOT_ID, "toy-scale", {"factor": 0.5}, verify=False)
    assert external_data_files(workspace.path_of(version.id)), "the version keeps external data"
    limits: list[int | None] = []
    real_read = model_io.read_external_tensors
    monkeypatch.setattr(
        model_io, "read_external_tensors", lambda *a, **k: limits.append(k.get("max_bytes")) or real_read(*a, **k)
    )
    out = workspace.export(version.id, user.with_name("optimized.onnx"))
    assert limits and None not in limits  # streamed file to file, never read into a protobuf
    assert user_data.read_bytes() == before
    assert [p.name for p in external_data_files(out)] == ["optimized.onnx.data"]
    report = verify_models(workspace.path_of(version.id), out, samples=1)
    assert report.passed and report.outputs[0].max_abs == 0


def test_a_step_reads_the_weights_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    import onnx_ir as ir

    import onnx_workbench.pipelines.model as model_io

    monkeypatch.setattr(model_io, "EXTERNAL_DATA_MIN_TENSOR_BYTES", 0)  # the toy's weights go external
    monkeypatch.setattr(model_io, "SMALL_TENSOR_BYTES", 0)  # and all count as weights
    source = tmp_path / "user" / "model.onnx"
    model_io.save_model(onnx.load(str(build_classifier(tmp_path / "inline.onnx"))), source, external_data=True)
    weights = {t.name for t in onnx.load(str(source), load_external_data=False).graph.initializer}
    assert weights == {"W1", "B1", "W2"}
    full_reads: list[int] = []
    real_read = model_io.read_external_tensors
    monkeypatch.setattr(
        model_io, "read_external_tensors", lambda *a, **k: full_reads.append(real_read(*a, **k)) or full_reads[-1]
    )
    mapped, copied = Counter(), Counter()
    real_load, real_tofile = ir.ExternalTensor._load, ir.ExternalTensor.tofile
    monkeypatch.setattr(ir.ExternalTensor, "_load", lambda self: mapped.update([self.name]) or real_load(self))
    monkeypatch.setattr(ir.ExternalTensor, "tofile", lambda self, f: copied.update([self.name]) or real_tofile(self, f))
    workspace = Workspace.create(source, tmp_path / "session", samples=2)
    version = workspace.apply(ROOT_ID, "cleanup", verify=True)
    assert version.metrics["fidelity"]["passed"]
    assert sum(full_reads) == 0  # no weight was read into a protobuf: not by the pass, diff, measure or verify
    assert set(copied) == weights and max(copied.values()) == 1  # the save streams each weight once
    assert max(mapped.values(), default=0) <= 1  # dedup hashed each one once, from its memory map
    assert external_data_files(workspace.path_of(version.id))  # external data stays external


def test_version_0_is_linked_not_copied_and_an_in_place_rewrite_is_refused(tmp_path, sample_cnn) -> None:
    import shutil

    source = tmp_path / "mine.onnx"
    shutil.copyfile(sample_cnn, source)
    ws = Workspace.create(source, tmp_path / "ws", samples=2)
    original = ws.root / ws.original.file
    assert original.stat().st_ino == source.stat().st_ino  # no bytes copied into the cache
    ws.apply(ROOT_ID, "cleanup")  # works while the user's file is untouched
    with open(source, "r+b") as handle:  # a tool rewriting the user's file in place
        handle.seek(0, 2)
        handle.write(b"\0")
    with pytest.raises(ConfigError, match="was changed on disk after the session started"):
        ws.apply(ROOT_ID, "fold-batchnorm")


def test_the_engine_times_each_step_against_its_parent(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    version = workspace.apply(ROOT_ID, "toy-scale", {"factor": 2.0})
    latency = version.metrics["step_latency"]
    assert latency["parent_ms"] > 0 and latency["child_ms"] > 0 and latency["runs"] == 7
    assert latency["speedup"] == pytest.approx(latency["parent_ms"] / latency["child_ms"], rel=0.01)
    # A slower model says so beside the result; how a step was timed is not part of its id.
    import onnx_workbench.pipelines.speed as speed

    # Slower in the median but faster in three rounds of seven: noise on a busy machine, no verdict.
    monkeypatch.setattr(speed, "interleaved_timings", lambda *a, **k: [[10**6] * 7, [15 * 10**5] * 4 + [5 * 10**5] * 3])
    assert not any("slower" in w for w in workspace.apply(ROOT_ID, "toy-scale", {"factor": 4.0}).warnings)
    monkeypatch.setattr(speed, "interleaved_timings", lambda *a, **k: [[10**6] * 7, [2 * 10**6] * 7])
    slower = workspace.apply(ROOT_ID, "toy-scale", {"factor": 3.0})
    assert slower.metrics["step_latency"]["speedup"] == 0.5
    assert any("runs slower than its parent" in w for w in slower.warnings)
    untimed = workspace.apply(slower.id, "toy-rename", {"mode": "exact"}, time_step=False, verify=False)
    assert "step_latency" not in untimed.metrics
    assert untimed.id == version_id(slower.id, "toy-rename", untimed.config)


def test_a_pair_too_big_for_memory_is_not_timed_together(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx_workbench.pipelines.verify as verify

    monkeypatch.setattr(verify, "available_memory_bytes", lambda: 1000)  # nothing fits beside anything
    version = workspace.apply(ROOT_ID, "toy-scale", {"factor": 2.0}, verify=False)
    assert version.metrics["step_latency"] is None
    assert any("latency not compared with the parent" in w and "memory" in w for w in version.warnings)


def test_a_step_id_changes_with_the_tools_that_wrote_it(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"factor": 2.0}
    before = version_id(ROOT_ID, "toy-scale", config)
    monkeypatch.setattr(versions_module, "tool_versions", lambda: {"onnxruntime": "99.0"})
    assert version_id(ROOT_ID, "toy-scale", config) != before


def test_recipes_from_before_the_engine_timed_steps_still_load(source: Path, tmp_path: Path) -> None:
    # Older recipes and session folders carry measure_speed in quantization configs.
    recipe_file = tmp_path / "old.yaml"
    recipe_file.write_text("version: 1\nsteps:\n  - pass: quantize-dynamic\n    config: {measure_speed: false}\n")
    assert load_recipe(recipe_file).steps[0].pass_name == "quantize-dynamic"
