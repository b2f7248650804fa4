"""Recipes: validation before any work, YAML round trip, byte-identical replay."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from onnx_workbench.pipelines.errors import Cancelled, ConfigError, PassFailed
from onnx_workbench.pipelines.recipe import Recipe, load_recipe, parse_recipe, save_recipe
from onnx_workbench.pipelines.replay import StepChecks, run_recipe
from onnx_workbench.pipelines.verify import Tolerance
from workbench_toy_passes import build_classifier, toy_passes  # noqa: F401 - autouse fixture: the toy passes

TWO_STEPS = """
version: 1
steps:
  - pass: toy-rename
    config: {mode: exact}
  - pass: toy-scale
    config: {factor: 1.5}
"""


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    return build_classifier(tmp_path / "model.onnx")


def test_parse_fills_defaults_and_saves_full_config(tmp_path: Path) -> None:
    recipe = parse_recipe(TWO_STEPS)
    assert [s.pass_name for s in recipe.steps] == ["toy-rename", "toy-scale"]
    path = save_recipe(recipe, tmp_path / "r.yaml")
    data = yaml.safe_load(path.read_text())
    assert data["version"] == 1
    # Saved recipes are explicit: every field, defaults included.
    assert data["steps"][0] == {
        "pass": "toy-rename",
        "config": {"mode": "exact", "count": 2, "strict": False, "names": [], "dims": {}},
    }
    assert data["steps"][1]["config"] == {"tensor": "W2", "factor": 1.5}
    assert load_recipe(path) == recipe


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nsteps:\n  - pass: toy-scale\n  - pass: warp-drive\n", r"step 2: unknown pass 'warp-drive'"),
        ("version: 1\nsteps:\n  - pass: toy-scale\n    config: {speed: 2}\n", r"step 1 \(toy-scale\): unknown field 'speed'"),
        ("version: 1\nsteps:\n  - pass: toy-scale\n    config: {factor: fast}\n", r"step 1 \(toy-scale\): field 'factor' must be float"),
        ("version: 1\nsteps:\n  - pass: toy-rename\n  - pass: toy-rename\n    config: {count: 50}\n", r"step 2 \(toy-rename\): field 'count' must be at most 5"),
        ("version: 1\nsteps:\n  - pass: toy-rename\n    config: {mode: turbo}\n", r"field 'mode' must be one of fast, exact"),
        ("version: 2\nsteps: []\n", r"version 2; this release reads version 1"),
        ("version: 1\nstep: []\n", r"unknown key 'step'"),
        ("version: 1\nsteps:\n  - config: {}\n", r"step 1: each step needs a 'pass' name"),
        ("version: 1\nsteps:\n  - pass: toy-scale\n    cfg: {}\n", r"step 1: unknown key 'cfg'"),
        ("version: 1\nsteps: {pass: toy-scale}\n", r"'steps' must be a list"),
        ("- just\n- a list\n", r"must be a mapping"),
        ("version: 1\nsteps: [\n", r"not valid YAML at line"),
    ],
)
def test_validation_errors_name_step_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_recipe(text)


def test_load_recipe_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nsteps:\n  - pass: toy-scale\n    config: {factor: -1}\n")
    with pytest.raises(ConfigError, match=r"recipe bad.yaml, step 1 \(toy-scale\): field 'factor' must be at least 0"):
        load_recipe(path)
    with pytest.raises(ConfigError, match="cannot read recipe"):
        load_recipe(tmp_path / "missing.yaml")


def test_run_recipe_steps_and_byte_identical_replay(model: Path, tmp_path: Path) -> None:
    recipe = parse_recipe(TWO_STEPS)
    progress: list[tuple[float, str]] = []
    first = run_recipe(model, recipe, tmp_path / "a" / "out.onnx", StepChecks(verify=True, tolerance=Tolerance(min_cosine=0.999)),
                       on_progress=lambda f, m: progress.append((f, m)))
    second = run_recipe(model, recipe, tmp_path / "b" / "out.onnx")
    assert (tmp_path / "a" / "out.onnx").read_bytes() == (tmp_path / "b" / "out.onnx").read_bytes()
    assert [r.version.pass_name for r in first] == ["toy-rename", "toy-scale"]
    assert first[0].before.nodes == first[0].after.nodes == 4
    assert first[1].version.summary == "~1 MatMul"
    # Scaling the last weight scales the logits: cosine stays 1, so it passes the cosine tolerance.
    assert first[1].fidelity is not None and first[1].fidelity.passed
    assert second[0].fidelity is None
    assert progress[-1][0] == pytest.approx(1.0) and progress[0][1].startswith("step 1/2")
    assert all(a[0] <= b[0] for a, b in zip(progress, progress[1:]))
    data = first[1].to_dict()
    assert data["step"] == 2 and data["pass"] == "toy-scale" and "output" not in data
    # Scratch files are gone; only the outputs remain.
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["out.onnx"]


def test_failed_step_writes_nothing(model: Path, tmp_path: Path) -> None:
    recipe = Recipe.from_steps([("toy-rename", {}), ("toy-fail", {})])
    out = tmp_path / "out" / "model.onnx"
    with pytest.raises(PassFailed):
        run_recipe(model, recipe, out)
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_cancelled_recipe_writes_nothing(model: Path, tmp_path: Path) -> None:
    recipe = Recipe.from_steps([("toy-slow", {})])
    out = tmp_path / "cancelled.onnx"
    with pytest.raises(Cancelled):
        run_recipe(model, recipe, out, is_cancelled=lambda: True)
    assert not out.exists()


def test_recipe_refuses_to_overwrite_its_input(model: Path) -> None:
    with pytest.raises(ConfigError, match="is the source model"):
        run_recipe(model, Recipe(), model)


def test_empty_recipe_copies_the_model(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.onnx"
    assert run_recipe(model, parse_recipe("version: 1\nsteps: []\n"), out) == []
    assert out.is_file()


def test_external_data_output_lands_beside_the_model(model: Path, tmp_path: Path) -> None:
    """A step that writes external data: the data file follows the model to the output folder."""
    import onnx

    from onnx_workbench.pipelines.model import save_model

    big = tmp_path / "user" / "big.onnx"
    save_model(onnx.load(str(model)), big, external_data=True)
    assert (tmp_path / "user" / "big.onnx.data").is_file()
    out = tmp_path / "out" / "result.onnx"
    run_recipe(big, Recipe.from_steps([("toy-scale", {"factor": 2.0}), ("toy-external", {})]), out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["result.onnx", "result.onnx.data"]
    from onnx_workbench.pipelines.verify import verify_models

    report = verify_models(big, out, samples=1, tolerance=Tolerance(min_cosine=0.999))
    assert report.passed and report.outputs[0].max_abs > 0  # the scaled weights were read from the data file


def test_time_steps_times_each_step_against_the_one_before(model: Path, tmp_path: Path) -> None:
    steps = run_recipe(model, parse_recipe(TWO_STEPS), tmp_path / "out.onnx", StepChecks(time_steps=True))
    assert all(step.latency is not None and step.latency["runs"] == 7 for step in steps)
    assert steps[1].to_dict()["latency"] == steps[1].latency
    assert run_recipe(model, parse_recipe(TWO_STEPS), tmp_path / "again.onnx")[0].latency is None


def test_step_checks_cross_the_worker_boundary_unchanged() -> None:
    checks = StepChecks(verify=True, tolerance=Tolerance(min_cosine=0.99), data="d.npz", samples=3,
                        dims={"batch": 2}, time_steps=True)
    assert StepChecks.from_dict(checks.to_dict()) == checks
    assert StepChecks.from_dict({}) == StepChecks()
