"""Calibration readers: image preprocessing, .npz arrays, random previews, streaming, cancel."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image
from quant_models import nhwc_model

from onnx_workbench.pipelines.calibration import (
    ImagePreprocessing,
    StreamingReader,
    image_input,
    make_reader,
    make_samples,
)
from onnx_workbench.pipelines.errors import Cancelled, ConfigError
from onnx_workbench.pipelines.passes.base import PassContext


@pytest.fixture(scope="module")
def cnn(sample_cnn: Path) -> onnx.ModelProto:
    return onnx.load(str(sample_cnn))


def _solid(folder: Path, name: str, rgb: tuple[int, int, int], size: tuple[int, int] = (100, 80)) -> None:
    folder.mkdir(exist_ok=True)
    Image.new("RGB", size, rgb).save(folder / name)


def test_image_is_resized_cropped_normalized_in_nchw(cnn: onnx.ModelProto, tmp_path: Path) -> None:
    _solid(tmp_path, "red.png", (255, 0, 0))
    (sample,) = list(make_samples("images", cnn, str(tmp_path), 4, ImagePreprocessing()))
    image = sample["input"]
    assert image.shape == (1, 3, 64, 64) and image.dtype == np.float32
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = (np.array([1.0, 0.0, 0.0]) - mean) / std
    np.testing.assert_allclose(image[0, :, 32, 32], expected, rtol=1e-5)


def test_bgr_order_and_plain_scaling(cnn: onnx.ModelProto, tmp_path: Path) -> None:
    _solid(tmp_path, "a.jpg", (200, 100, 0))
    prep = ImagePreprocessing(color="BGR", scale=1.0, mean=(0.0,), std=(1.0,))
    (sample,) = list(make_samples("images", cnn, str(tmp_path), 1, prep))
    blue, green, red = sample["input"][0, :, 32, 32]
    assert blue == pytest.approx(0, abs=3) and green == pytest.approx(100, abs=3) and red == pytest.approx(200, abs=3)


def test_center_crop_keeps_the_middle(cnn: onnx.ModelProto, tmp_path: Path) -> None:
    # A wide picture: black left and right thirds, white middle. The crop must be all white.
    pixels = np.zeros((64, 192, 3), np.uint8)
    pixels[:, 64:128] = 255
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    prep = ImagePreprocessing(resize=64, scale=1.0, mean=(0.0,), std=(1.0,))
    (sample,) = list(make_samples("images", cnn, str(tmp_path), 1, prep))
    assert sample["input"].min() == pytest.approx(255)


def test_nhwc_layout_is_detected(tmp_path: Path) -> None:
    model = onnx.load(str(nhwc_model(tmp_path / "nhwc.onnx", side=32)))
    assert image_input(model)[:5] == ("image", "NHWC", 3, 32, 32)
    _solid(tmp_path / "pics", "x.png", (10, 20, 30))
    (sample,) = list(make_samples("images", model, str(tmp_path / "pics"), 1, ImagePreprocessing()))
    assert sample["image"].shape == (1, 32, 32, 3)


def test_image_calibration_needs_an_image_model(sample_transformer: Path, tmp_path: Path) -> None:
    _solid(tmp_path, "x.png", (1, 2, 3))
    with pytest.raises(ConfigError, match="not a 4-D float image tensor"):
        make_reader("images", onnx.load(str(sample_transformer)), str(tmp_path), 4)


def test_arrays_stream_one_sample_at_a_time_and_convert_same_kind(cnn: onnx.ModelProto, tmp_path: Path) -> None:
    data = np.random.default_rng(0).standard_normal((3, 3, 64, 64))  # float64 on disk
    np.savez(tmp_path / "a.npz", input=data)
    np.savez(tmp_path / "b.npz", input=data[:2])
    samples = list(make_samples("arrays", cnn, str(tmp_path), 10))
    assert len(samples) == 5
    assert all(s["input"].shape == (1, 3, 64, 64) and s["input"].dtype == np.float32 for s in samples)
    np.testing.assert_allclose(samples[4]["input"][0], data[1].astype(np.float32))


def test_arrays_with_wrong_names_or_types_are_refused(cnn: onnx.ModelProto, tmp_path: Path) -> None:
    np.savez(tmp_path / "named.npz", pixels=np.zeros((2, 3, 64, 64), np.float32))
    with pytest.raises(ConfigError, match="no array named 'input'"):
        make_reader("arrays", cnn, str(tmp_path / "named.npz"), 4)
    np.savez(tmp_path / "text.npz", input=np.array([["a"] * 64] * 2))
    with pytest.raises(ConfigError):
        list(make_samples("arrays", cnn, str(tmp_path / "text.npz"), 4))


def test_random_samples_differ_per_sample_and_repeat_per_run(cnn: onnx.ModelProto) -> None:
    first = [s["input"] for s in make_samples("random", cnn, "", 3)]
    again = [s["input"] for s in make_samples("random", cnn, "", 3)]
    assert not np.array_equal(first[0], first[1])
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_reader_pulls_lazily_and_reports_progress() -> None:
    pulled: list[int] = []

    def source():
        for index in range(5):
            pulled.append(index)
            yield {"x": np.full((1,), index, np.float32)}

    progress: list[float] = []
    ctx = PassContext(workdir=Path("."), on_progress=lambda f, m: progress.append(f))
    reader = StreamingReader(source(), 5, ctx, span=(0.2, 0.7))
    assert reader.get_next()["x"][0] == 0
    assert pulled == [0]  # nothing read ahead
    assert [feed["x"][0] for feed in reader] == [1, 2, 3, 4]
    assert reader.get_next() is None and reader.produced == 5
    assert progress[0] == pytest.approx(0.2) and progress == sorted(progress) and max(progress) <= 0.7


def test_reader_stops_when_cancelled() -> None:
    state = {"stop": False}
    ctx = PassContext(workdir=Path("."), is_cancelled=lambda: state["stop"])
    reader = StreamingReader(iter([{"x": np.zeros(1)}] * 3), 3, ctx)
    reader.get_next()
    state["stop"] = True
    with pytest.raises(Cancelled):
        reader.get_next()


def test_missing_data_path_is_refused(cnn: onnx.ModelProto, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        make_reader("images", cnn, str(tmp_path / "nope"), 4)
    with pytest.raises(ConfigError, match="no .npz data"):
        make_reader("arrays", cnn, str(tmp_path), 4)
