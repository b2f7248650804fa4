"""Train the sample digit classifier and write it with its labelled held-out split.

    /work/corpus/venv/bin/python scripts/train_digits.py      # any environment with the `corpus` extra

scikit-learn's bundled digits (1,797 greyscale 8x8 pictures, 10 classes, nothing downloaded)
are scaled to 0..255 and upsampled to 32x32, then normalised the way the workbench's image
preprocessing does for one channel (pixel / 255, minus 0.485, over 0.229), so an ImageFolder of
these pictures feeds the model as the .npz does. A small CNN (four 3x3 convolutions with batch
norm, about 47 M multiply-adds per picture) is trained on 80% and exported to ONNX (opset 13,
dynamic batch); the other 20% is written as `.npz` with an `image` array and `labels`, the
labelled set `--data` takes. Seeded: the same torch build gives the same files.

Writes assets/models/digits_cnn.onnx and assets/data/digits_test.npz.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIDE = 32
MEAN, STD = 0.485, 0.229
SEED = 0


def load_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels): N x 1 x 32 x 32 float32, normalised."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pixels = torch.tensor(digits.images, dtype=torch.float32)[:, None] * (255.0 / 16.0)
    big = torch.nn.functional.interpolate(pixels, size=(SIDE, SIDE), mode="bilinear", align_corners=False)
    images = ((big / 255.0 - MEAN) / STD).numpy().astype(np.float32)
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, random_state=SEED, stratify=labels)
    return x_train, y_train, x_test, y_test


def build_model():
    """The CNN: 32 -> 64 -> 128 -> 128 channels, two 2x2 max-pools, global average pool, linear."""
    from torch import nn

    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(1, 32), *block(32, 64), nn.MaxPool2d(2),
        *block(64, 128), nn.MaxPool2d(2),
        *block(128, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
    )


def train(model, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    """Adam with a little shift augmentation (a digit moved by up to 2 pixels)."""
    import torch

    generator = torch.Generator().manual_seed(SEED)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    images, labels = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=generator))
            inputs = torch.roll(images[batch], shifts=(dy, dx), dims=(2, 3))
            loss = torch.nn.functional.cross_entropy(model(inputs), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss) * len(batch)
        schedule.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(images):.4f}")


def main() -> None:
    """Train, report held-out accuracy, export the model and the labelled split."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--model", type=Path, default=ROOT / "assets" / "models" / "digits_cnn.onnx")
    parser.add_argument("--data", type=Path, default=ROOT / "assets" / "data" / "digits_test.npz")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    x_train, y_train, x_test, y_test = load_digits_split()
    model = build_model()
    train(model, x_train, y_train, args.epochs)
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(x_test)).argmax(1).numpy()
    print(f"held-out top-1: {(predicted == y_test).mean():.2%} on {len(y_test)} pictures")
    args.model.parent.mkdir(parents=True, exist_ok=True)
    args.data.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model, (torch.from_numpy(x_test[:1]),), str(args.model), dynamo=False, opset_version=13,
        input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
    )
    np.savez_compressed(args.data, image=x_test, labels=y_test)
    print(f"wrote {args.model} and {args.data}")


if __name__ == "__main__":
    main()
