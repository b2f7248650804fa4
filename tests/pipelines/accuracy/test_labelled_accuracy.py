"""Accuracy on labelled data: .npz with labels and image folders, through verify, profile and compare."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.labelled import AccuracyCounter, data_source
from onnx_workbench.pipelines.labelled import samples as labelled_samples
from onnx_workbench.pipelines.verify import FidelityReport, Tolerance, verify_models

BIASED_CLASS = 3


def _top1(model: Path, images: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 in percent computed here, directly with ONNX Runtime."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    scores = session.run(None, {"image": images})[0]
    return 100.0 * float(np.mean(scores.argmax(1) == labels))


@pytest.fixture(scope="module")
def biased(digits_cnn: Path, tmp_path_factory) -> Path:
    """The classifier with a large bias added to one class score: it then says 'three' for everything."""
    model = onnx.load(str(digits_cnn))
    gemm = next(n for n in model.graph.node if n.op_type == "Gemm")
    bias = next(t for t in model.graph.initializer if t.name == gemm.input[2])
    values = numpy_helper.to_array(bias).copy()
    values[BIASED_CLASS] += 1000.0
    bias.CopyFrom(numpy_helper.from_array(values, bias.name))
    path = tmp_path_factory.mktemp("biased") / "biased.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def held_out(digits_data: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(digits_data) as data:
        return data["image"], data["labels"]


def test_npz_with_labels_gives_top1_of_both_models_and_the_drop(digits_cnn, digits_data, biased, held_out):
    images, labels = held_out
    report = verify_models(digits_cnn, biased, data=digits_data, samples=None, tolerance=Tolerance(max_accuracy_drop=0.5))
    accuracy = report.to_dict()["accuracy"]
    assert accuracy["samples"] == len(labels) == report.samples
    assert accuracy["reference"]["top1"] == pytest.approx(_top1(digits_cnn, images, labels))
    assert accuracy["candidate"]["top1"] == pytest.approx(100.0 * np.mean(labels == BIASED_CLASS))
    assert accuracy["top1_drop"] == pytest.approx(accuracy["reference"]["top1"] - accuracy["candidate"]["top1"])
    assert not report.passed and "top-1 accuracy dropped" in report.summary()
    # As stored on a version and read back (the version tree's badge, a session's report): still failed.
    stored = FidelityReport.from_dict(report.to_dict())
    assert stored.to_dict() == report.to_dict() and not stored.passed


def test_a_model_against_itself_loses_nothing_and_passes(digits_cnn, digits_data):
    report = verify_models(digits_cnn, digits_cnn, data=digits_data, samples=40, tolerance=Tolerance(max_accuracy_drop=0.0))
    accuracy = report.to_dict()["accuracy"]
    assert accuracy["samples"] == 40 and accuracy["top1_drop"] == 0.0 and accuracy["reference"]["top5"] == 100.0
    assert report.passed


def test_unlabelled_data_has_no_accuracy(digits_cnn, tmp_path, held_out):
    images, _ = held_out
    plain = tmp_path / "plain.npz"
    np.savez(plain, image=images[:5])
    report = verify_models(digits_cnn, digits_cnn, data=plain, samples=None)
    assert report.samples == 5 and report.accuracy is None


def test_image_folder_classes_are_sorted_folder_names(digits_cnn, biased, tmp_path, held_out):
    from PIL import Image

    images, labels = held_out
    names = [f"digit-{index}" for index in range(10)]
    for number, (image, label) in enumerate(zip(images[:60], labels[:60])):
        pixels = np.clip((image[0] * 0.229 + 0.485) * 255.0, 0, 255).astype(np.uint8)
        folder = tmp_path / "digits" / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(folder / f"{number}.png")
    source = data_source(tmp_path / "digits")
    assert source.kind == "images" and source.labelled and list(source.classes) == names
    model = onnx.load(str(digits_cnn), load_external_data=False)
    drawn = list(labelled_samples(model, source, limit=10))
    assert sorted(int(lab[0]) for _, lab in drawn) == list(range(10))  # round-robin: one of each class first
    assert drawn[0][0]["image"].shape == (1, 1, 32, 32)
    report = verify_models(digits_cnn, biased, data=tmp_path / "digits", samples=None)
    accuracy = report.to_dict()["accuracy"]
    # Resize and crop differ slightly from the arrays, but a wrong class order would give ~10%.
    assert accuracy["samples"] == 60 and accuracy["reference"]["top1"] > 90.0
    assert accuracy["candidate"]["top1"] == pytest.approx(100.0 * np.mean(labels[:60] == BIASED_CLASS))


@pytest.mark.parametrize(("labels", "words"), [
    (np.array([-1, 2]), "negative class"),
    (np.array([0.5, 2.0]), "whole class numbers"),
    (np.array([0, 12]), "scores only 10 classes"),
])
def test_bad_labels_are_refused_in_one_sentence(digits_cnn, tmp_path, held_out, labels, words):
    images, _ = held_out
    path = tmp_path / "bad.npz"
    np.savez(path, image=images[:2], labels=labels)
    with pytest.raises(ConfigError, match=words):
        verify_models(digits_cnn, digits_cnn, data=path, samples=None)


def test_top5_counts_a_label_among_the_five_best_scores():
    counter = AccuracyCounter()
    scores = np.array([[0.0, 1, 2, 3, 4, 5, 6], [6.0, 5, 4, 3, 2, 1, 0]])
    counter.add(scores, np.array([2, 2]), "test")
    assert counter.to_dict() == {"top1": 0.0, "top5": 100.0}
    counter.add(scores, np.array([6, 6]), "test")
    assert counter.to_dict() == {"top1": 25.0, "top5": 75.0}
