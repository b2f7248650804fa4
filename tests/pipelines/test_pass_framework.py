"""The pass framework: declarations, config validation, registry, running, cancelling, failing."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx
import pytest

from onnx_workbench.pipelines.errors import Cancelled, ConfigError, PassFailed
from onnx_workbench.pipelines.config import parse_field_text
from onnx_workbench.pipelines.passes.base import REGISTRY, Pass, PassConfig, option
from onnx_workbench.pipelines.passes.engine import all_passes, get_pass, make_config, run_pass
from workbench_toy_passes import build_classifier, toy_passes  # noqa: F401 - autouse fixture: the toy passes


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    return build_classifier(tmp_path / "model.onnx")


def test_config_defaults_and_field_specs() -> None:
    config = make_config("toy-rename")
    assert config.to_dict() == {"mode": "fast", "count": 2, "strict": False, "names": [], "dims": {}}
    specs = {s.name: s for s in get_pass("toy-rename").Config.fields()}
    assert specs["mode"].choices == ("fast", "exact")
    assert specs["count"].type == "int" and specs["count"].min == 1 and specs["count"].max == 5
    assert specs["names"].type == "list[str]" and specs["dims"].type == "dict[str,int]"
    described = get_pass("toy-rename").describe()
    assert described["category"] == "cleanup" and [f["name"] for f in described["config"]][:2] == ["mode", "count"]


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"speed": 1}, "speed", "unknown field 'speed'"),
        ({"count": "3"}, "count", "must be int"),
        ({"count": True}, "count", "must be int"),
        ({"count": 9}, "count", "at most 5"),
        ({"count": 0}, "count", "at least 1"),
        ({"mode": "slow"}, "mode", "must be one of fast, exact"),
        ({"names": "a,b"}, "names", "must be a list"),
        ({"dims": {"batch": "1"}}, "dims", "whole numbers"),
    ],
)
def test_config_validation_names_the_field(values: dict, field: str, text: str) -> None:
    with pytest.raises(ConfigError, match=text) as info:
        make_config("toy-rename", values)
    assert info.value.field == field
    assert "pass 'toy-rename'" in str(info.value)


def test_float_field_accepts_int_and_parse_field_text() -> None:
    config = make_config("toy-scale", {"factor": 3})
    assert config.factor == 3.0 and isinstance(config.factor, float)
    specs = {s.name: s for s in get_pass("toy-rename").Config.fields()}
    assert parse_field_text(specs["strict"], "yes") is True
    assert parse_field_text(specs["names"], "a, b,") == ["a", "b"]
    assert parse_field_text(specs["dims"], "batch:1,seq:128") == {"batch": 1, "seq": 128}
    with pytest.raises(ConfigError, match="whole number"):
        parse_field_text(specs["count"], "two")


def test_registry_rejects_bad_declarations() -> None:
    with pytest.raises(TypeError, match="declared twice"):
        type("Again", (Pass,), {"name": "toy-scale", "category": "convert", "description": "x"})
    with pytest.raises(TypeError, match="kebab-case"):
        type("Bad", (Pass,), {"name": "Bad_Name", "category": "convert", "description": "x"})
    with pytest.raises(TypeError, match="unknown category"):
        type("Odd", (Pass,), {"name": "toy-odd", "category": "magic", "description": "x"})
    assert "toy-odd" not in REGISTRY


def test_unknown_pass_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown pass 'nope'.*toy-scale"):
        get_pass("nope")
    names = [p.name for p in all_passes()]
    assert "toy-scale" in names and "toy-rename" in names


def test_run_pass_writes_new_file_and_reports_changes(model: Path, tmp_path: Path) -> None:
    before = model.read_bytes()
    target = tmp_path / "out" / "renamed.onnx"
    target.parent.mkdir()
    result = run_pass("toy-rename", model, target, {"mode": "exact"})
    assert model.read_bytes() == before  # the source is never written
    assert [n.name for n in onnx.load(str(target)).graph.node][0] == "matmul_exact_0"
    assert result.changes.removed_by_op == {"MatMul": 2, "Add": 1, "Relu": 1}
    assert result.warnings == ["renamed 4 nodes"] and result.config["mode"] == "exact"
    scaled = run_pass("toy-scale", model, tmp_path / "scaled.onnx", {"factor": 2.0})
    assert scaled.changes.changed == ["fc2"] and scaled.changes.summary() == "~1 MatMul"


def test_failing_pass_leaves_no_output(model: Path, tmp_path: Path) -> None:
    target = tmp_path / "failed.onnx"
    with pytest.raises(PassFailed, match=r"pass 'toy-fail' failed: the tool crashed\.$"):
        run_pass("toy-fail", model, target)
    assert not target.exists()
    with pytest.raises(PassFailed, match="no initializer named Nope"):
        run_pass("toy-scale", model, target, {"tensor": "Nope"})
    assert not target.exists()


def test_pass_that_writes_no_model_fails(model: Path, tmp_path: Path) -> None:
    target = tmp_path / "garbage.onnx"
    with pytest.raises(PassFailed, match=r"pass 'toy-garbage' wrote no loadable model \(garbage.onnx") as info:
        run_pass("toy-garbage", model, target)
    assert not target.exists() and "\n" not in str(info.value)


def test_cancellation_stops_the_pass(model: Path, tmp_path: Path) -> None:
    seen: list[float] = []

    def cancel_after_three() -> bool:
        return len(seen) >= 3

    target = tmp_path / "slow.onnx"
    with pytest.raises(Cancelled):
        run_pass("toy-slow", model, target, on_progress=lambda f, m: seen.append(f), is_cancelled=cancel_after_three)
    assert not target.exists() and len(seen) == 3


def test_pass_refuses_to_overwrite_its_input(model: Path) -> None:
    with pytest.raises(ConfigError, match="must write a new file"):
        run_pass("toy-rename", model, model)


def test_config_subclass_cross_field_validate() -> None:
    @dataclass(frozen=True)
    class RangeConfig(PassConfig):
        low: int = option(0, help="low")
        high: int = option(10, help="high")

        def validate(self) -> None:
            super().validate()
            if self.low > self.high:
                raise ConfigError("field 'low' must not exceed 'high'.", "low")

    with pytest.raises(ConfigError, match="must not exceed"):
        RangeConfig.from_dict({"low": 20})


def test_the_quirks_check_and_the_diff_share_one_parse(model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """to-fp16 overrides apply, so the engine runs its quirks check (passes on the default apply skip it).

    Parses of the source: the engine's one (quirks check and diff) and the pass's load; before,
    the quirks check and the diff parsed it apart, and the size figure's look for data files
    parsed it again (now it reads the graph the engine's load kept, pipelines.model_files).
    """
    import onnx_workbench.pipelines.model as model_io

    parsed: list[Path] = []
    real_parse, real_load = model_io._parse, onnx.load
    monkeypatch.setattr(model_io, "_parse", lambda path, label: parsed.append(Path(path)) or real_parse(path, label))
    monkeypatch.setattr(onnx, "load", lambda path, *a, **k: parsed.append(Path(path)) or real_load(path, *a, **k))
    run_pass("to-fp16", model, tmp_path / "half.onnx")
    assert parsed.count(model.absolute()) == 2
