"""Issue 15 items 6, 10 and 13: .npz data files are untrusted (one-sentence refusals, bounded
memory), and verification never claims agreement on NaN/Inf."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import onnx_workbench.pipelines.inputs as inputs
from hostile_inputs import matmul_model, npz_variants
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.verify import Tolerance, compare_output, verify_models

EXPECTED = {
    "nan": "holds NaN or infinite values",
    "inf": "holds NaN or infinite values",
    "strings": "holds <U1 values, which this model input cannot take",
    "zero_d": "is a single value",
    "pickled": "holds Python objects (pickled data)",
    "not_zip": "is not a .npz archive",
    "lying_header": "claims shape [400000000]",
    "zip_bomb": "inflates to",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return npz_variants(tmp_path_factory.mktemp("npz"), bomb_mb=64)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_hostile_data_is_refused_in_one_sentence(hostile: dict[str, Path], tmp_path: Path, monkeypatch, case: str) -> None:
    monkeypatch.setattr(inputs, "MAX_DATA_ARRAY_BYTES", 16 << 20)  # the 64 MB bomb stands for a 2 GB one
    model = matmul_model(tmp_path / "m.onnx")
    with pytest.raises(ConfigError) as caught:
        verify_models(model, model, data=hostile[case])
    message = str(caught.value)
    assert EXPECTED[case] in message and "\n" not in message and hostile[case].name in message


def test_the_zip_bomb_is_refused_before_it_inflates(hostile: dict[str, Path], monkeypatch) -> None:
    import resource

    monkeypatch.setattr(inputs, "MAX_DATA_ARRAY_BYTES", 16 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigError):
        inputs.read_npz(hostile["zip_bomb"], ["x"])
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 32 << 10  # KB: far less than 64 MB


def test_good_data_still_reads(tmp_path: Path) -> None:
    np.savez(tmp_path / "ok.npz", x=np.ones((3, 4), np.float32))
    model = matmul_model(tmp_path / "m.onnx")
    assert verify_models(model, model, data=tmp_path / "ok.npz").samples == 3


def test_all_nan_outputs_never_count_as_agreement() -> None:
    nan = [np.full((1, 10), np.nan, np.float32)]
    result = compare_output("y", "y", nan, nan, Tolerance())
    assert not result.passed and "no finite values to compare" in " ".join(result.failures)
