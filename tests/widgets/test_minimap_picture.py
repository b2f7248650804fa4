"""The minimap's picture: every node box is one block of its colour, drawn either way round."""
from __future__ import annotations

import numpy as np
import pytest

from onnx_workbench.widgets.minimap import rasterize


def _one_block_at_a_time(boxes: np.ndarray, colours: np.ndarray,
                         bounds: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The plain reference: the scaled box of each node, filled in order; and how many blocks cover each pixel."""
    image, sx, sy = rasterize(boxes[:0], colours[:0], bounds)
    height, width, _ = image.shape
    cover = np.zeros((height, width), dtype=int)
    for (x, y, w, h), colour in zip(boxes, colours):
        left = min(max(int((x - bounds[0]) * sx), 0), width - 1)
        top = min(max(int((y - bounds[1]) * sy), 0), height - 1)
        right = min(max(int(np.ceil((x + w - bounds[0]) * sx)), left + 1), width)
        bottom = min(max(int(np.ceil((y + h - bounds[1]) * sy)), top + 1), height)
        image[top:bottom, left:right] = colour
        cover[top:bottom, left:right] += 1
    return image, cover


@pytest.mark.parametrize("count", [3, 3000])  # a few big blocks; many one- or two-pixel ones
def test_the_picture_has_each_node_block_in_its_colour(count: int) -> None:
    rng = np.random.default_rng(count)
    # A layout's boxes never overlap: nodes on a grid of 160 x 80 cells, some of them empty.
    columns = int(np.ceil(np.sqrt(count * 2)))
    cells = rng.choice(columns * columns, count, replace=False)
    boxes = np.column_stack([cells % columns * 160.0, cells // columns * 80.0, np.full(count, 120.0), np.full(count, 40.0)])
    colours = rng.integers(0, 255, (count, 3), dtype=np.uint8)
    bounds = (0.0, 0.0, columns * 160.0, columns * 80.0)

    picture, _sx, _sy = rasterize(boxes, colours, bounds)

    expected, cover = _one_block_at_a_time(boxes, colours, bounds)
    # Scaled down, neighbours' rounded blocks can share an edge pixel; either colour will do there.
    np.testing.assert_array_equal(picture[cover <= 1], expected[cover <= 1])
    assert (cover <= 1).mean() > 0.5
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > min(count, 3)  # the nodes are drawn, not just background
