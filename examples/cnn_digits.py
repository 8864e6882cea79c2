"""Classify scikit-learn's 8x8 handwritten digits with a small convolutional network.

Two 3x3 convolutions with batch normalisation, a max pooling and two dense layers reach about
99% test accuracy in 20 epochs. Inputs are channels last, ``(batch, 8, 8, 1)``. Progress,
learning curve (``examples/output/cnn_digits_curve.png``) and checkpoint/resume work as in
``mlp_digits.py``.

    python examples/cnn_digits.py --epochs 20
"""

from __future__ import annotations

from pathlib import Path

from _digits import OUTPUT, fit, load_digits_split, parse_args

import brainstate

nn = brainstate.nn


class CNN(nn.Module):
    """(8, 8, 1) -> conv 16 -> conv 32 -> max pool -> dense 64 -> 10 class scores."""

    def __init__(self, channels: int = 16):
        super().__init__()
        zeros = nn.init.ZeroInit()
        self.features = nn.Sequential(
            nn.Conv2d((8, 8, 1), channels, kernel_size=3, b_init=zeros),
            nn.BatchNorm2d((8, 8, channels), momentum=0.9), nn.ReLU(),
            nn.Conv2d((8, 8, channels), 2 * channels, kernel_size=3, b_init=zeros),
            nn.BatchNorm2d((8, 8, 2 * channels), momentum=0.9), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(start_axis=1), nn.Linear(4 * 4 * 2 * channels, 64), nn.ReLU(), nn.Dropout(0.8), nn.Linear(64, 10),
        )

    def update(self, x):
        images = x.reshape(x.shape[0], 8, 8, 1)
        return self.classifier(self.features(images))


def main(epochs: int = 20, batch_size: int = 64, lr: float = 2e-3, seed: int = 0, channels: int = 16,
         out_dir: Path = OUTPUT, resume: bool = True, progress: bool = True) -> float:
    """Train and return the final test accuracy."""
    brainstate.random.seed(seed)
    model = CNN(channels)
    optimizer = nn.optim.AdamW(lr, weight_decay=1e-4, params=model.states(brainstate.ParamState))
    history = fit(model, optimizer, load_digits_split(seed=seed), name="cnn_digits", epochs=epochs,
                  batch_size=batch_size, seed=seed, out_dir=out_dir, resume=resume, progress=progress)
    return history["test_acc"][-1]


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], epochs=20, lr=2e-3)
    print(CNN())
    print(f"test accuracy: {main(**args):.4f}")
