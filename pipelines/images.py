"""Pictures as model inputs: the image folders users give, and the Pillow preprocessing that turns a
picture into an image tensor (resize, centre crop, scale, normalise, lay out).

Shared by calibration (pipelines.calibration) and labelled data (pipelines.labelled); free of
ONNX Runtime, so verification can read pictures without importing its quantization tools.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import onnx

from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.inputs import graph_inputs, input_specs

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# Used when an image input leaves height/width symbolic: the usual classifier crop.
DEFAULT_IMAGE_SIDE = 224


@dataclass(frozen=True)
class ImagePreprocessing:
    """How pictures become an image input: resize, crop, channel order, scaling, layout."""

    resize: int = 0  # shorter side before the crop; 0 = crop size * 256 / 224 (ImageNet habit)
    color: Literal["RGB", "BGR"] = "RGB"
    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    layout: Literal["auto", "NCHW", "NHWC"] = "auto"


def class_folders(folder: Path) -> list[tuple[str, list[Path]]]:
    """(class name, pictures) for every sub-folder holding pictures, sorted by name (the ImageFolder
    convention of labelled image sets); [] when none do."""
    classes = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        pictures = sorted(p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if pictures:
            classes.append((sub.name, pictures))
    return classes


def image_input(
    model: onnx.ModelProto, layout: str = "auto"
) -> tuple[str, str, int, int, int, np.dtype]:
    """(name, layout, channels, height, width, dtype) of the model's single image input."""
    inputs = graph_inputs(model)
    if len(inputs) != 1:
        raise ConfigError(
            f"image calibration needs a model with one image input, this one has {len(inputs)}; use arrays instead.",
            "calibration",
        )
    value = inputs[0]
    spec = input_specs(model)[0]
    if spec.dtype.kind != "f" or len(spec.shape) != 4:
        raise ConfigError(
            f"input '{value.name}' is not a 4-D float image tensor; calibrate with arrays instead.", "calibration"
        )
    dims = value.type.tensor_type.shape.dim
    if layout == "auto":
        # The channel axis is the small fixed one: 1 or 3 (4 for RGBA) at axis 1 or axis 3.
        c1 = dims[1].dim_value if dims[1].HasField("dim_value") else 0
        layout = "NCHW" if c1 in (1, 3, 4) else "NHWC"
    channel_axis, h_axis, w_axis = (1, 2, 3) if layout == "NCHW" else (3, 1, 2)
    channels = dims[channel_axis].dim_value if dims[channel_axis].HasField("dim_value") else 3
    if channels not in (1, 3):
        raise ConfigError(
            f"input '{value.name}' has {channels} channels in {layout} layout; images give 1 or 3, so check the layout field.",
            "layout",
        )
    height = dims[h_axis].dim_value if dims[h_axis].HasField("dim_value") else DEFAULT_IMAGE_SIDE
    width = dims[w_axis].dim_value if dims[w_axis].HasField("dim_value") else DEFAULT_IMAGE_SIDE
    return value.name, layout, channels, height, width, spec.dtype


def load_image(
    file: Path, layout: str, channels: int, height: int, width: int, dtype: np.dtype, prep: ImagePreprocessing
) -> np.ndarray:
    """One picture as a batch-of-one tensor: resize shorter side, center crop, normalize, lay out."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            resize = prep.resize or round(max(height, width) * 256 / 224)
            image = _resize_shorter_side(image, max(resize, height, width))
            image = _center_crop(image, height, width)
            pixels = np.asarray(image, dtype=np.float32)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ConfigError(f"{file.name} is not a readable image ({exc}); remove or replace it.", "data") from exc
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if channels == 3 and prep.color == "BGR":
        pixels = pixels[:, :, ::-1]
    pixels = pixels * prep.scale
    mean = np.asarray(prep.mean[:channels] if len(prep.mean) >= channels else prep.mean[:1] * channels, np.float32)
    std = np.asarray(prep.std[:channels] if len(prep.std) >= channels else prep.std[:1] * channels, np.float32)
    pixels = (pixels - mean) / std
    if layout == "NCHW":
        pixels = pixels.transpose(2, 0, 1)
    return np.ascontiguousarray(pixels[None]).astype(dtype)


def _resize_shorter_side(image, side: int):
    from PIL import Image

    w, h = image.size
    if min(w, h) == side:
        return image
    ratio = side / min(w, h)
    return image.resize((max(side, round(w * ratio)), max(side, round(h * ratio))), Image.Resampling.BILINEAR)


def _center_crop(image, height: int, width: int):
    w, h = image.size
    left, top = (w - width) // 2, (h - height) // 2
    return image.crop((left, top, left + width, top + height))
