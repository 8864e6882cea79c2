"""Classify scikit-learn's 8x8 handwritten digits with a multi-layer perceptron.

Reaches about 98% test accuracy in 40 epochs (a few seconds on a CPU). Progress is shown with
tqdm, the learning curve goes to ``examples/output/mlp_digits_curve.png`` and a checkpoint is
written after every epoch: run the script again (with more ``--epochs``) to resume from it,
or pass ``--no-resume`` to start over.

    python examples/mlp_digits.py --epochs 40
"""

from __future__ import annotations

from pathlib import Path

from _digits import OUTPUT, fit, load_digits_split, parse_args

import brainstate


class MLP(brainstate.nn.Module):
    """64 pixels -> two hidden ReLU layers with dropout -> 10 class scores."""

    def __init__(self, hidden: int = 128, keep_prob: float = 0.9):
        super().__init__()
        self.layers = brainstate.nn.Sequential(
            brainstate.nn.Linear(64, hidden), brainstate.nn.ReLU(), brainstate.nn.Dropout(keep_prob),
            brainstate.nn.Linear(hidden, hidden), brainstate.nn.ReLU(), brainstate.nn.Dropout(keep_prob),
            brainstate.nn.Linear(hidden, 10),
        )

    def update(self, x):
        return self.layers(x)


def main(epochs: int = 40, batch_size: int = 64, lr: float = 1e-3, seed: int = 0, hidden: int = 128,
         out_dir: Path = OUTPUT, resume: bool = True, progress: bool = True) -> float:
    """Train and return the final test accuracy."""
    brainstate.random.seed(seed)
    model = MLP(hidden)
    optimizer = brainstate.nn.optim.Adam(lr, params=model.states(brainstate.ParamState))
    history = fit(model, optimizer, load_digits_split(seed=seed), name="mlp_digits", epochs=epochs,
                  batch_size=batch_size, seed=seed, out_dir=out_dir, resume=resume, progress=progress)
    return history["test_acc"][-1]


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], epochs=40, lr=1e-3)
    print(MLP())
    print(f"test accuracy: {main(**args):.4f}")
