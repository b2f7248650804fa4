"""prune-magnitude: achieved sparsity, scope, exclusions and compressed size."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from prune_models import mlp, run

import onnx_ir as ir

from onnx_workbench.pipelines.passes.engine import make_config, run_pass
from onnx_workbench.pipelines.passes.prune_magnitude import compressed_size, plan_zeroing, zero_on_save
from onnx_workbench.pipelines.errors import ConfigError


def _weights(path) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def test_global_sparsity_on_the_sample_cnn(sample_cnn, tmp_path):
    result = run_pass("prune-magnitude", sample_cnn, tmp_path / "sparse.onnx", {"sparsity": 0.6})
    before, after = _weights(sample_cnn), _weights(result.output)
    tensors = result.details["tensors"]
    # Conv weights and the classifier (>= 1024 elements) are pruned; BatchNorm vectors are not.
    assert set(tensors) == {n for n, a in before.items() if a.ndim >= 2 and a.size >= 1024}
    total = sum(before[n].size for n in tensors)
    zeros = sum(int(np.count_nonzero(after[n] == 0)) for n in tensors)
    assert zeros == int(np.floor(0.6 * total))  # exactly the requested share, ties included
    assert result.details["sparsity"] == pytest.approx(0.6, abs=1e-4)
    # Global scope: the survivors are the largest magnitudes overall.
    kept_min = min(np.abs(after[n][after[n] != 0]).min() for n in tensors)
    dropped_max = max(np.abs(before[n][after[n] == 0]).max() for n in tensors)
    assert kept_min >= dropped_max
    for name in tensors:
        np.testing.assert_array_equal(after[name][after[name] != 0], before[name][after[name] != 0])
    assert {n: a for n, a in after.items() if n not in tensors}.keys() == {n for n in before if n not in tensors}
    assert all(np.array_equal(after[n], before[n]) for n in before if n not in tensors)
    assert result.details["zip_bytes_after"] < 0.8 * result.details["zip_bytes_before"]
    onnx.checker.check_model(onnx.load(str(result.output)), full_check=True)
    feeds = {"input": np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)}
    assert run(str(result.output), feeds)[0].shape == (1, 100)


def test_per_layer_scope_hits_every_tensor(tmp_path):
    source = tmp_path / "mlp.onnx"
    onnx.save(mlp(), str(source))
    result = run_pass(
        "prune-magnitude", source, tmp_path / "sparse.onnx",
        {"sparsity": 0.5, "scope": "per-layer", "min_size": 100, "exclude_nodes": ["fc2"]},
    )
    tensors = result.details["tensors"]
    assert set(tensors) == {"fc1.w"}  # fc2 excluded, fc3 (96 elements) below min_size
    assert tensors["fc1.w"]["sparsity"] == pytest.approx(0.5)
    before, after = _weights(source), _weights(result.output)
    np.testing.assert_array_equal(before["fc2.w"], after["fc2.w"])


def test_zero_sparsity_changes_nothing(tmp_path):
    source = tmp_path / "mlp.onnx"
    onnx.save(mlp(), str(source))
    result = run_pass("prune-magnitude", source, tmp_path / "same.onnx", {"sparsity": 0.0, "min_size": 1})
    assert result.changes.is_empty
    feeds = {"x": np.random.default_rng(0).standard_normal((2, 16)).astype(np.float32)}
    np.testing.assert_array_equal(run(str(source), feeds)[0], run(str(result.output), feeds)[0])


def test_nothing_selected_warns(tmp_path):
    source = tmp_path / "mlp.onnx"
    onnx.save(mlp(), str(source))
    result = run_pass("prune-magnitude", source, tmp_path / "same.onnx", {"op_types": ["Conv"]})
    assert result.warnings and "nothing was pruned" in result.warnings[0]


def test_bad_values_are_refused():
    with pytest.raises(ConfigError, match="sparsity"):
        make_config("prune-magnitude", {"sparsity": 1.0})
    with pytest.raises(ConfigError, match="scope"):
        make_config("prune-magnitude", {"scope": "everywhere"})


def test_plan_zeroes_exactly_the_smallest_across_tensors_with_ties():
    rng = np.random.default_rng(0)
    # Few distinct magnitudes, both signs, a NaN and an inf: many ties at any cut.
    arrays = [rng.integers(-6, 7, size).astype(np.float32) * 0.25 for size in (300, 77, 1000)]
    arrays[0][5], arrays[2][9] = np.nan, -np.inf
    values = [ir.Value(name=f"w{i}", const_value=ir.tensor(a, name=f"w{i}")) for i, a in enumerate(arrays)]
    for sparsity in (0.0, 0.13, 0.5, 0.97):
        plans = plan_zeroing([v.const_value for v in values], sparsity)
        count = int(np.floor(sparsity * sum(a.size for a in arrays)))
        pruned = []
        for value, plan, array in zip(values, plans, arrays):
            fresh = ir.Value(name=value.name, const_value=ir.tensor(array, name=value.name))
            zero_on_save(fresh, plan)
            pruned.append(fresh.const_value.numpy())
            assert plan.zeros == np.count_nonzero(pruned[-1] == 0)
        newly = sum(int(np.count_nonzero((p == 0) & (a != 0))) for p, a in zip(pruned, arrays))
        already = sum(int(np.count_nonzero(a == 0)) for a in arrays)
        assert newly == max(0, count - already) if count else newly == 0
        changed = np.concatenate([np.abs(a[(p == 0) & (a != 0)]) for p, a in zip(pruned, arrays)])
        kept = np.concatenate([np.abs(a[p != 0]) for p, a in zip(pruned, arrays)])
        if changed.size:
            assert changed.max() <= np.nanmin(kept)  # nothing kept is smaller than anything zeroed
        for p, a in zip(pruned, arrays):
            np.testing.assert_array_equal(p[p != 0], a[p != 0])


def test_compressed_size_streams_close_to_zipping_the_file(sample_cnn, monkeypatch):
    import zlib

    import onnx_workbench.pipelines.passes.prune_magnitude as prune_magnitude

    proto = onnx.load(str(sample_cnn))
    whole = len(zlib.compress(proto.SerializeToString(), 6))
    size, estimated = compressed_size(ir.serde.deserialize_model(proto))
    assert not estimated and abs(size - whole) < 0.02 * whole
    # Above the budget, sampled blocks stand for each weight.
    monkeypatch.setattr(prune_magnitude, "_ZIP_BLOCK", 1024)
    monkeypatch.setattr(prune_magnitude, "ZIP_SAMPLE_BYTES", 16 << 10)
    size, estimated = compressed_size(ir.serde.deserialize_model(proto))
    assert estimated and abs(size - whole) < 0.1 * whole
