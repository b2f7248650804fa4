"""Issue 15 items 5, 10 and 13: recipes are untrusted input with limits on size, depth, expansion
and step count, refused in one sentence; values quoted in errors are cut short."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from hostile_inputs import billion_laughs_recipe, deep_recipe
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.recipe import MAX_RECIPE_BYTES, MAX_RECIPE_STEPS, Recipe, load_recipe, parse_recipe
from onnx_workbench.pipelines.replay import run_recipe
from workbench_toy_passes import build_classifier, toy_passes  # noqa: F401 - autouse fixture: the toy passes


def _refusal(path: Path) -> str:
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        load_recipe(path)
    assert time.perf_counter() - started < 5  # generous: the hostile files took minutes before
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300
    return message


def test_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    assert "expands to more than" in _refusal(billion_laughs_recipe(tmp_path / "lol.yaml", depth=8))


@pytest.mark.parametrize("depth", [40, 5000, 400_000])
def test_deep_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    assert "nested more than" in _refusal(deep_recipe(tmp_path / "deep.yaml", depth=min(depth, MAX_RECIPE_BYTES // 2 - 20)))


def test_deep_block_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "block.yaml"
    path.write_text("version: 1\nsteps:\n" + "".join("  " * i + "- \n" for i in range(1, 200)))
    assert "nested more than" in _refusal(path)


def test_invalid_utf8_and_oversized_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"version: 1\nsteps: [\xff\xfe]\n")
    assert "is not UTF-8" in _refusal(bad)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_RECIPE_BYTES + 1))
    assert "larger than" in _refusal(big)


def test_too_many_steps_are_refused() -> None:
    text = "version: 1\nsteps:\n" + "  - pass: toy-scale\n" * (MAX_RECIPE_STEPS + 1)
    with pytest.raises(ConfigError, match="limited to"):
        parse_recipe(text)


def test_a_huge_bad_value_is_quoted_short() -> None:
    text = "version: 1\nsteps: [{pass: toy-scale, config: {factor: '" + "x" * 100_000 + "'}}]\n"
    with pytest.raises(ConfigError) as caught:
        parse_recipe(text)
    assert "field 'factor' must be float" in str(caught.value) and len(str(caught.value)) < 200


@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_nan_and_infinity_are_refused_for_float_settings(value: str) -> None:
    with pytest.raises(ConfigError, match="field 'factor' must be a finite number"):
        parse_recipe(f"version: 1\nsteps: [{{pass: toy-scale, config: {{factor: {value}}}}}]\n")


def test_only_the_latest_intermediate_model_is_kept(tmp_path: Path) -> None:
    model = build_classifier(tmp_path / "model.onnx")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    seen: list[int] = []
    recipe = Recipe.from_steps([("toy-scale", {"factor": 1.0})] * 4)

    def count_step_folders(fraction: float, message: str) -> None:
        # The parent step's model and the one being built: never the whole chain.
        seen.append(len(list((scratch / "versions").iterdir())))

    run_recipe(model, recipe, tmp_path / "out" / "o.onnx", scratch=scratch, on_progress=count_step_folders)
    assert max(seen) <= 2 and (tmp_path / "out" / "o.onnx").is_file()


def test_errors_name_the_step_not_the_scratch_folder(tmp_path: Path) -> None:
    # ONNX Runtime quotes the full path of a model it cannot load; the user never saw that folder.
    from onnx_workbench.pipelines.errors import PassFailed
    from onnx_workbench.pipelines.replay import _errors_name_step

    scratch = tmp_path / ".o.onnx.recipe.abc"
    staged = scratch / "versions" / ".0123456789ab.staging.xyz" / "o.onnx"
    with pytest.raises(PassFailed) as caught, _errors_name_step(scratch, 2, "simplify"):
        raise PassFailed(f"Load model from {staged} failed: bad graph.")
    assert str(caught.value) == "step 2 (simplify): Load model from o.onnx failed: bad graph."
